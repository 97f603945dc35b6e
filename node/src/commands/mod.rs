//! One module per CLI command family; each turns parsed arguments into work and output.
pub mod genesis;
pub mod init;
pub mod keys;
pub mod load;
pub mod query;
pub mod snapshot;
pub mod testnet;
pub mod tx;
