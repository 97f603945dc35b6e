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
    /// Upper bound of `encode().len()`: two tagged varints of at most 10 bytes each.
    pub const MAX_ENCODED_LEN: usize = 22;

    /// Canonical protobuf encoding (`cairn.v1.Account`), the bytes the state tree hashes.
    pub fn encode(&self) -> Vec<u8> {
        pb::Account { balance: self.balance, nonce: self.nonce }.encode_to_vec()
    }

    /// The same bytes as `encode`, written into `buf` without allocating; returns their length.
    pub fn encode_into(&self, buf: &mut [u8; Self::MAX_ENCODED_LEN]) -> usize {
        let mut rest = &mut buf[..];
        pb::Account { balance: self.balance, nonce: self.nonce }
            .encode(&mut rest)
            .expect("an account's encoding fits MAX_ENCODED_LEN");
        Self::MAX_ENCODED_LEN - rest.len()
    }

    pub fn decode(b: &[u8]) -> Result<Self, crate::DecodeError> {
        let a = pb::Account::decode(b)?;
        Ok(Account { balance: a.balance, nonce: a.nonce })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_into_writes_the_canonical_encoding_up_to_the_longest() {
        for (balance, nonce) in [(0, 0), (1, 0), (0, 7), (300, 1 << 35), (u64::MAX, u64::MAX)] {
            let a = Account { balance, nonce };
            let mut buf = [0u8; Account::MAX_ENCODED_LEN];
            let len = a.encode_into(&mut buf);
            assert_eq!(&buf[..len], a.encode().as_slice(), "{a:?}");
        }
        assert_eq!(Account { balance: u64::MAX, nonce: u64::MAX }.encode().len(), Account::MAX_ENCODED_LEN);
    }
}
