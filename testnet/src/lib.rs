#![doc = include_str!("../README.md")]

mod accounts;
mod layout;
mod supervisor;

pub use accounts::{read_accounts, write_accounts, TestAccount};
pub use layout::{NodePorts, TestnetLayout};
pub use supervisor::{NodeProcess, Testnet};
