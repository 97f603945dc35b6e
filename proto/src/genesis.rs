//! The genesis file: chain id, start time, validators and funded accounts; and, when it was
//! assembled by a ceremony of validators on different hosts, each validator's signed entry
//! (as CometBFT's gentx), which every node checks when it loads the genesis.
use crate::{Address, Hash, Keypair, Signature, SignatureDomain, Validator, ValidatorSet};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisValidator {
    pub address: Address,
    pub power: u64,
    #[serde(default)]
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisAccount {
    pub address: Address,
    pub balance: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    pub chain_id: String,
    /// Unix milliseconds; block 1's timestamp must be later.
    pub genesis_time_ms: u64,
    pub validators: Vec<GenesisValidator>,
    pub accounts: Vec<GenesisAccount>,
    /// The signed entries the validators were collected from (`cairn genesis collect`); when
    /// present there is exactly one per validator, signed by it, agreeing with `validators`.
    /// Absent from the JSON when empty, so genesis files without them keep their hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gentxs: Vec<GenesisEntry>,
}

/// A validator's request to be in the genesis of `chain_id`, made on its own host and signed
/// with its own key (`cairn genesis gentx`): the collector cannot add a validator, or change
/// one's power, name or address, without that validator's key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisEntry {
    pub chain_id: String,
    pub address: Address,
    pub power: u64,
    pub name: String,
    /// Where other validators reach this one (`/dns4/host/tcp/26600/p2p/<peer id>`), or empty.
    #[serde(default)]
    pub p2p_addr: String,
    /// ed25519 by `address` over `"cairn/genesis-entry/v1"` followed by `sign_bytes()`.
    pub signature: Signature,
}

/// The signed part of a `GenesisEntry`, serialized as compact JSON in this field order.
#[derive(Serialize)]
struct EntrySignBytes<'a> {
    chain_id: &'a str,
    address: &'a Address,
    power: u64,
    name: &'a str,
    p2p_addr: &'a str,
}

impl GenesisEntry {
    pub fn new_signed(key: &Keypair, chain_id: &str, power: u64, name: &str, p2p_addr: &str) -> Self {
        let mut e = GenesisEntry {
            chain_id: chain_id.to_string(),
            address: key.address(),
            power,
            name: name.to_string(),
            p2p_addr: p2p_addr.to_string(),
            signature: Signature([0; 64]),
        };
        e.signature = key.sign(SignatureDomain::GenesisEntry, &e.sign_bytes());
        e
    }

    /// The bytes signed (after the domain tag): `{"chain_id":…,"address":…,"power":…,"name":…,"p2p_addr":…}`.
    pub fn sign_bytes(&self) -> Vec<u8> {
        let b = EntrySignBytes {
            chain_id: &self.chain_id,
            address: &self.address,
            power: self.power,
            name: &self.name,
            p2p_addr: &self.p2p_addr,
        };
        serde_json::to_vec(&b).expect("entry serializes")
    }

    /// Checks the signature and that the entry is for `chain_id` with positive power.
    pub fn verify(&self, chain_id: &str) -> Result<(), String> {
        let who = format!("genesis entry of {} ({})", self.name, self.address);
        if self.chain_id != chain_id {
            return Err(format!("{who} is for chain {:?}, not {chain_id:?}", self.chain_id));
        }
        if self.power == 0 {
            return Err(format!("{who} has power 0"));
        }
        self.signature
            .verify(&self.address, SignatureDomain::GenesisEntry, &self.sign_bytes())
            .map_err(|e| format!("{who}: signature does not verify ({e})"))
    }
}

impl Genesis {
    pub fn from_json(s: &str) -> Result<Self, String> {
        let g: Genesis = serde_json::from_str(s).map_err(|e| format!("genesis is not valid JSON: {e}"))?;
        g.validator_set()?;
        if g.chain_id.is_empty() {
            return Err("genesis chain_id is empty".into());
        }
        g.check_entries()?;
        Ok(g)
    }

    /// With signed entries: each verifies, and they name exactly the validators (address,
    /// power, name), one entry each.
    pub fn check_entries(&self) -> Result<(), String> {
        if self.gentxs.is_empty() {
            return Ok(());
        }
        for e in &self.gentxs {
            e.verify(&self.chain_id)?;
        }
        let mut entries: Vec<(Address, u64, &str)> =
            self.gentxs.iter().map(|e| (e.address, e.power, e.name.as_str())).collect();
        let mut validators: Vec<(Address, u64, &str)> =
            self.validators.iter().map(|v| (v.address, v.power, v.name.as_str())).collect();
        entries.sort();
        validators.sort();
        if let Some(w) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(format!("two genesis entries for validator {}", w[0].0));
        }
        if let Some((a, p, n)) = validators.iter().find(|v| !entries.contains(v)) {
            return Err(format!("validator {n} {a} with power {p} has no signed genesis entry that says so"));
        }
        if let Some((a, p, n)) = entries.iter().find(|e| !validators.contains(e)) {
            return Err(format!("the signed genesis entry of {n} {a} (power {p}) is not among the validators"));
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("genesis serializes")
    }

    pub fn validator_set(&self) -> Result<ValidatorSet, String> {
        ValidatorSet::new(self.validators.iter().map(|v| Validator { address: v.address, power: v.power }).collect())
    }

    /// blake3 of the canonical JSON: peers on different genesis files refuse each other.
    pub fn hash(&self) -> Hash {
        Hash::of(serde_json::to_string(self).expect("genesis serializes").as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ceremony(keys: &[Keypair]) -> Genesis {
        let gentxs: Vec<GenesisEntry> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| GenesisEntry::new_signed(k, "c", 1, &format!("v{i}"), &format!("/dns4/v{i}/tcp/26600")))
            .collect();
        Genesis {
            chain_id: "c".into(),
            genesis_time_ms: 1,
            validators: gentxs
                .iter()
                .map(|e| GenesisValidator { address: e.address, power: e.power, name: e.name.clone() })
                .collect(),
            accounts: vec![],
            gentxs,
        }
    }

    #[test]
    fn signed_entries_are_checked_when_the_genesis_loads() {
        let keys: Vec<Keypair> = (1..=4).map(|i| Keypair::from_seed([i; 32])).collect();
        let good = ceremony(&keys);
        assert_eq!(Genesis::from_json(&good.to_json()).unwrap(), good);

        let mut forged = good.clone();
        forged.gentxs[1].power = 10;
        forged.validators[1].power = 10;
        let err = Genesis::from_json(&forged.to_json()).unwrap_err();
        assert!(err.contains("signature does not verify"), "{err}");

        let mut added = good.clone();
        added.validators.push(GenesisValidator {
            address: Keypair::from_seed([9; 32]).address(),
            power: 1,
            name: "x".into(),
        });
        let err = Genesis::from_json(&added.to_json()).unwrap_err();
        assert!(err.contains("has no signed genesis entry"), "{err}");

        let mut dropped = good.clone();
        dropped.validators.pop();
        let err = Genesis::from_json(&dropped.to_json()).unwrap_err();
        assert!(err.contains("is not among the validators"), "{err}");

        let mut other_chain = good.clone();
        other_chain.gentxs[0] = GenesisEntry::new_signed(&keys[0], "other", 1, "v0", "");
        let err = Genesis::from_json(&other_chain.to_json()).unwrap_err();
        assert!(err.contains("is for chain \"other\""), "{err}");
    }

    #[test]
    fn a_genesis_without_entries_keeps_its_json_and_hash() {
        let mut g = ceremony(&[Keypair::from_seed([1; 32])]);
        g.gentxs.clear();
        let json = g.to_json();
        assert!(!json.contains("gentxs"), "{json}");
        assert_eq!(Genesis::from_json(&json).unwrap().hash(), g.hash());
    }
}
