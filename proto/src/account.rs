//! An account's state: balance and nonce. Absent accounts read as zero.
use crate::pb;
use prost::Message;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub balance: u64,
    pub nonce: u64,
}

impl Account {
    /// Canonical protobuf encoding (`cairn.v1.Account`), the bytes the state tree hashes.
    pub fn encode(&self) -> Vec<u8> {
        pb::Account { balance: self.balance, nonce: self.nonce }.encode_to_vec()
    }

    pub fn decode(b: &[u8]) -> Result<Self, crate::DecodeError> {
        let a = pb::Account::decode(b)?;
        Ok(Account { balance: a.balance, nonce: a.nonce })
    }
}
