//! An account's state: balance, nonce and stake. Absent accounts read as zero.
use crate::pb;
use prost::Message;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub balance: u64,
    pub nonce: u64,
    /// Bonded stake: the voting power it gives is `staking::power_of`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bonded: u64,
    /// Unbonded stake not yet paid back.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unbonding: u64,
    /// The height whose execution pays `unbonding` back (0 when nothing is unbonding).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub release_height: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Account {
    /// Upper bound of `encode().len()`: five tagged varints of at most 11 bytes each.
    pub const MAX_ENCODED_LEN: usize = 55;

    /// An account that never staked.
    pub const fn new(balance: u64, nonce: u64) -> Self {
        Account { balance, nonce, bonded: 0, unbonding: 0, release_height: 0 }
    }

    pub fn to_pb(self) -> pb::Account {
        pb::Account {
            balance: self.balance,
            nonce: self.nonce,
            bonded: self.bonded,
            unbonding: self.unbonding,
            release_height: self.release_height,
        }
    }

    /// Canonical protobuf encoding (`cairn.v1.Account`), the bytes the state tree hashes. An
    /// account that never staked encodes as `{balance, nonce}` alone (zero fields are omitted).
    pub fn encode(&self) -> Vec<u8> {
        self.to_pb().encode_to_vec()
    }

    /// The same bytes as `encode`, written into `buf` without allocating; returns their length.
    pub fn encode_into(&self, buf: &mut [u8; Self::MAX_ENCODED_LEN]) -> usize {
        let mut rest = &mut buf[..];
        self.to_pb().encode(&mut rest).expect("an account's encoding fits MAX_ENCODED_LEN");
        Self::MAX_ENCODED_LEN - rest.len()
    }

    pub fn decode(b: &[u8]) -> Result<Self, crate::DecodeError> {
        Ok(Self::from_pb(pb::Account::decode(b)?))
    }

    pub fn from_pb(a: pb::Account) -> Self {
        Account {
            balance: a.balance,
            nonce: a.nonce,
            bonded: a.bonded,
            unbonding: a.unbonding,
            release_height: a.release_height,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_into_writes_the_canonical_encoding_up_to_the_longest() {
        let staked = |v| Account { balance: v, nonce: v, bonded: v, unbonding: v, release_height: v };
        let cases = [(0, 0), (1, 0), (0, 7), (300, 1 << 35), (u64::MAX, u64::MAX)].map(|(b, n)| Account::new(b, n));
        for a in cases.into_iter().chain([staked(5), staked(u64::MAX)]) {
            let mut buf = [0u8; Account::MAX_ENCODED_LEN];
            let len = a.encode_into(&mut buf);
            assert_eq!(&buf[..len], a.encode().as_slice(), "{a:?}");
        }
        assert_eq!(staked(u64::MAX).encode().len(), Account::MAX_ENCODED_LEN);
    }

    #[test]
    fn an_account_that_never_staked_keeps_its_two_field_encoding() {
        let a = Account::new(300, 2);
        assert_eq!(a.encode(), pb::Account { balance: 300, nonce: 2, ..Default::default() }.encode_to_vec());
        assert_eq!(a.encode(), [0x08, 0xac, 0x02, 0x10, 0x02]);
    }
}
