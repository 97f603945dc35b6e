//! Serde helpers for the crates' configuration structs, so that one struct serves both the
//! crate's API and the node's `config.toml`: a `Duration` is a whole number of milliseconds
//! (`millis`) or seconds (`secs`) in TOML, under a key that says which (`…_ms`, `…_secs`).
use serde::{Deserialize, Deserializer, Serializer};
use std::time::Duration;

pub mod millis {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis().try_into().unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

pub mod secs {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct C {
        #[serde(rename = "timeout_ms", with = "millis")]
        timeout: Duration,
        #[serde(rename = "ttl_secs", with = "secs")]
        ttl: Duration,
    }

    #[test]
    fn durations_are_whole_units_under_their_keys() {
        let c = C { timeout: Duration::from_millis(1500), ttl: Duration::from_secs(600) };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, r#"{"timeout_ms":1500,"ttl_secs":600}"#);
        assert_eq!(serde_json::from_str::<C>(&json).unwrap(), c);
        assert!(serde_json::from_str::<C>(r#"{"timeout_ms":-1,"ttl_secs":1}"#).is_err());
    }
}
