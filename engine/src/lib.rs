#![doc = include_str!("../README.md")]

mod config;
mod engine;
mod error;
mod future;
pub mod light;
mod ports;
mod rules;
mod signing;
pub mod sync;

pub use config::EngineConfig;
pub use engine::{Engine, Event, Held};
pub use error::{EngineError, InvalidBlock, SyncError};
pub use future::Refused;
pub use ports::{Clock, Committed, Host, Journal, Network, Observer, Pool, Signers, Store, Timer, Tip};
pub use rules::BlockRules;
pub use signing::{first_signable_height, SignPoint};
