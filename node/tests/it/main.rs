//! End-to-end and CLI tests of the `cairn` binary: real processes, real RocksDB directories,
//! real libp2p sockets and real RPC clients, on loopback.
mod bench;
mod chromium;
mod cli;
mod dashboard;
mod deploy;
mod e2e;
mod faults;
mod hosts;
mod load;
mod lying;
mod net;
mod netns;
mod peers;
mod staking;
mod state_sync;
