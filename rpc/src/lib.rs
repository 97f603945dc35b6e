#![doc = include_str!("../README.md")]

mod api;
mod client_ip;
mod coalesce;
mod config;
mod conn_limit;
mod dashboard;
mod error;
mod grpc;
mod jsonrpc;
mod metrics;
mod node_metrics;
mod ratelimit;
mod server;
mod subscriptions;

pub use api::{AccountInfo, ApiError, BlockInfo, MempoolInfo, NewHead, NodeApi, NodeStatus, PeerInfo, TxStatus};
pub use config::RpcConfig;
pub use dashboard::DASHBOARD_PATH;
pub use error::RpcError;
pub use grpc::{rejection_status, CODE_METADATA, REASON_METADATA};
pub use jsonrpc::{
    METHODS, NEW_HEAD_NOTIFICATION, NOT_FOUND_CODE, RATE_LIMITED_CODE, TIMEOUT_CODE, TOO_MANY_SUBSCRIPTIONS_CODE,
};
pub use server::{serve, RpcHandle};
