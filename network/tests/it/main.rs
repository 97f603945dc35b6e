//! Integration tests of cairn-network: real swarms on loopback TCP sockets.
mod common;
mod dns;
mod gossip;
mod misbehaviour;
mod reconnect;
mod sync;
