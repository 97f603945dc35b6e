//! The genesis file: chain id, start time, validators and funded accounts.
use crate::{Address, Hash, Validator, ValidatorSet};
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
}

impl Genesis {
    pub fn from_json(s: &str) -> Result<Self, String> {
        let g: Genesis = serde_json::from_str(s).map_err(|e| format!("genesis is not valid JSON: {e}"))?;
        g.validator_set()?;
        if g.chain_id.is_empty() {
            return Err("genesis chain_id is empty".into());
        }
        Ok(g)
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
