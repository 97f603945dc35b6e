#![doc = include_str!("../README.md")]

pub mod cli;
pub mod commands;
pub mod config;
pub mod config_doc;
pub mod home;
pub mod logging;
pub mod node;
pub mod progress;
