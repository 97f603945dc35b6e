#![doc = include_str!("../README.md")]

pub mod bench;
pub mod client;
mod error;
mod plan;
mod report;
mod resubmit;
mod run;
mod sender;
mod tracker;
mod watcher;

pub use client::RpcClient;
pub use error::{LoadError, Result};
pub use report::{Latency, Report, SecondLatency};
pub use run::{run, LoadArgs, LoadRun};
