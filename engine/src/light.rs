//! Light verification: follow a chain's validator sets from one trusted set (the genesis set)
//! without executing anything. Each block's certificate must carry more than 2/3 of the power
//! of the set trusted for its height; its header then names, by hash, the set of the next
//! height (`next_validators_hash`), so a set fetched from an untrusted server is believed only
//! when its hash is the one the previous set certified. Every height is checked in turn
//! (sequential verification): no trusting period, no skipping, so a server cannot jump the
//! client to a set that no certified header named.
use cairn_proto::{Certificate, Hash, Header, ValidatorSet};
use thiserror::Error;

/// Why a step of light verification failed: the server is lying or serves another chain.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LightError {
    #[error("block {height} is from chain {got:?}, not {want:?}")]
    ChainId { height: u64, got: String, want: String },
    #[error("expected block {want}, got block {got}")]
    Height { want: u64, got: u64 },
    #[error("the certificate of block {height} is not for its header")]
    CertificateMismatch { height: u64 },
    #[error("the certificate of block {height} does not verify against the set trusted for it: {reason}")]
    Certificate { height: u64, reason: String },
    #[error("the validator set offered for height {height} has hash {got}, but block {} certified {want}", height - 1)]
    SetHash { height: u64, got: Hash, want: Hash },
}

/// The trusted position: the set that signs `height`, the next height to verify.
#[derive(Clone, Debug)]
pub struct LightChain {
    chain_id: String,
    height: u64,
    set: ValidatorSet,
    /// Set changes followed so far.
    transitions: u64,
}

impl LightChain {
    /// Trusting `genesis`, the set that signs block 1.
    pub fn from_genesis(chain_id: &str, genesis: ValidatorSet) -> Self {
        LightChain { chain_id: chain_id.to_string(), height: 1, set: genesis, transitions: 0 }
    }

    /// The next height to verify.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// The set trusted to sign [`LightChain::height`].
    pub fn set(&self) -> &ValidatorSet {
        &self.set
    }

    /// How many set changes were followed.
    pub fn transitions(&self) -> u64 {
        self.transitions
    }

    /// Checks block `height()`: its chain, its height, and a certificate for it signed by more
    /// than 2/3 of the trusted set. It does not move on: see [`LightChain::advance`].
    pub fn verify(&self, header: &Header, certificate: &Certificate) -> Result<(), LightError> {
        let height = self.height;
        if header.chain_id != self.chain_id {
            return Err(LightError::ChainId { height, got: header.chain_id.clone(), want: self.chain_id.clone() });
        }
        if header.height != height || certificate.height != height {
            return Err(LightError::Height { want: height, got: header.height });
        }
        if certificate.block_hash != header.hash() {
            return Err(LightError::CertificateMismatch { height });
        }
        certificate
            .verify(&self.chain_id, &self.set)
            .map_err(|e| LightError::Certificate { height, reason: e.to_string() })
    }

    /// Whether moving past `header` needs the full next set (its hash names another set).
    pub fn needs_set(&self, header: &Header) -> bool {
        header.next_validators_hash != self.set.hash()
    }

    /// Moves past a block `verify` accepted; `next` is the set the caller fetched for the next
    /// height, needed only when `needs_set` (otherwise the trusted set goes on). Refuses a set
    /// whose hash is not the one the header names.
    pub fn advance(&mut self, header: &Header, next: Option<ValidatorSet>) -> Result<(), LightError> {
        let want = header.next_validators_hash;
        match next {
            Some(set) if set.hash() == want => {
                if set != self.set {
                    self.transitions += 1;
                }
                self.set = set;
            }
            Some(set) => return Err(LightError::SetHash { height: self.height + 1, got: set.hash(), want }),
            None if want != self.set.hash() => {
                return Err(LightError::SetHash { height: self.height + 1, got: self.set.hash(), want })
            }
            None => {}
        }
        self.height += 1;
        Ok(())
    }
}
