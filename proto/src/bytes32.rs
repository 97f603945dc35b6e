//! 32-byte values shown as lowercase hex: account addresses and hashes.
use crate::DecodeError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

macro_rules! bytes32 {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            pub const ZERO: $name = $name([0; 32]);

            /// Takes exactly 32 bytes, or says which field was the wrong length.
            pub fn from_slice(b: &[u8]) -> Result<Self, DecodeError> {
                <[u8; 32]>::try_from(b).map($name).map_err(|_| DecodeError::WrongLength {
                    field: $field,
                    expected: 32,
                    got: b.len(),
                })
            }

            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = DecodeError;
            /// 64 hex characters; a leading `0x` is tolerated.
            fn from_str(s: &str) -> Result<Self, DecodeError> {
                let s = s.strip_prefix("0x").unwrap_or(s);
                let v = hex::decode(s).map_err(|e| DecodeError::Hex(format!("{}: {e}", $field)))?;
                Self::from_slice(&v)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({}…)", stringify!($name), &self.to_hex()[..12])
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

bytes32!(
    /// An account address: the account's 32-byte ed25519 public key.
    Address,
    "address"
);
bytes32!(
    /// A blake3 hash.
    Hash,
    "hash"
);

impl Hash {
    /// blake3 of `data`.
    pub fn of(data: &[u8]) -> Hash {
        Hash(*blake3::hash(data).as_bytes())
    }
}
