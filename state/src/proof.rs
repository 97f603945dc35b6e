//! Account proofs against a state root, and the pure verifiers clients run
//! (the algorithm is specified in the crate README, "Verifying a proof").
use crate::tree::node::{bit, common_prefix_bits, internal_hash, key_of, leaf_hash, value_hash, EMPTY_HASH};
use cairn_proto::{pb, Account, Address, DecodeError, Hash};
use serde::{Deserialize, Serialize};

/// The deepest a path can go: one level per key bit.
pub const MAX_DEPTH: usize = 256;

/// Another account's leaf where the proven key's path ends: proves that key absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherLeaf {
    /// `blake3(address)` of the other account.
    pub key: Hash,
    /// `blake3(encoded Account)` of the other account.
    pub value_hash: Hash,
}

/// A sparse-merkle proof for one address: the sibling hashes from the root down to the depth
/// where the address's path ends, and — for a proof of absence that ends at another
/// account's leaf — that leaf.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountProof {
    pub siblings: Vec<Hash>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_leaf: Option<OtherLeaf>,
}

/// Why a proof does not prove the claimed account against the root.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("proof has {got} siblings, more than the {max} levels of the tree")]
    TooDeep { got: usize, max: usize },
    #[error("proof of a present account must not carry another leaf")]
    UnexpectedOtherLeaf,
    #[error("the other leaf has the proven key itself")]
    OtherLeafIsSameKey,
    #[error("the other leaf shares {shared} bits with the key, fewer than the proof depth {depth}")]
    OtherLeafOffPath { shared: usize, depth: usize },
    #[error("proof computes root {computed}, expected {expected}")]
    RootMismatch { expected: Hash, computed: Hash },
}

impl AccountProof {
    pub fn to_pb(&self) -> pb::AccountProof {
        let other = self.other_leaf.as_ref();
        pb::AccountProof {
            siblings: self.siblings.iter().map(|s| s.0.to_vec().into()).collect(),
            other_leaf_key: other.map(|o| o.key.0.to_vec()).unwrap_or_default().into(),
            other_leaf_value_hash: other.map(|o| o.value_hash.0.to_vec()).unwrap_or_default().into(),
        }
    }

    pub fn from_pb(p: pb::AccountProof) -> Result<Self, DecodeError> {
        if p.siblings.len() > MAX_DEPTH {
            return Err(DecodeError::TooLarge("proof siblings", p.siblings.len(), MAX_DEPTH));
        }
        let siblings = p.siblings.iter().map(|s| Hash::from_slice(s)).collect::<Result<Vec<_>, _>>()?;
        let other_leaf = match (p.other_leaf_key.is_empty(), p.other_leaf_value_hash.is_empty()) {
            (true, true) => None,
            _ => Some(OtherLeaf {
                key: Hash::from_slice(&p.other_leaf_key)?,
                value_hash: Hash::from_slice(&p.other_leaf_value_hash)?,
            }),
        };
        Ok(AccountProof { siblings, other_leaf })
    }
}

/// Checks that `proof` shows `address` holding `account` (or, with `None`, holding nothing)
/// in the state whose root is `root`. Pure: no I/O, no state.
pub fn verify_proof(
    root: &Hash,
    address: &Address,
    account: Option<&Account>,
    proof: &AccountProof,
) -> Result<(), ProofError> {
    let depth = proof.siblings.len();
    if depth > MAX_DEPTH {
        return Err(ProofError::TooDeep { got: depth, max: MAX_DEPTH });
    }
    let key = key_of(address);
    let mut current = match (account, &proof.other_leaf) {
        (Some(_), Some(_)) => return Err(ProofError::UnexpectedOtherLeaf),
        (Some(a), None) => leaf_hash(&key, &value_hash(a)),
        (None, None) => EMPTY_HASH,
        (None, Some(other)) => {
            if other.key == key {
                return Err(ProofError::OtherLeafIsSameKey);
            }
            let shared = common_prefix_bits(&other.key, &key);
            if shared < depth {
                return Err(ProofError::OtherLeafOffPath { shared, depth });
            }
            leaf_hash(&other.key, &other.value_hash)
        }
    };
    for (i, sibling) in proof.siblings.iter().enumerate().rev() {
        current = if bit(&key, i) { internal_hash(sibling, &current) } else { internal_hash(&current, sibling) };
    }
    if current == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch { expected: *root, computed: current })
    }
}

/// What a verified proof showed about an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proven {
    /// The account is in the state with exactly the claimed value (which may be all zero).
    Present,
    /// The account is not in the state: shown by a proof of absence.
    Absent,
}

/// Checks a server's answer `(claimed, proof)` about `address` against `root`: present with
/// the claimed value, or — only when the claim is all zero, which is how an absent account
/// reads — absent. Absence is concluded from a proof of absence only, never from the zeros: an
/// existing account with balance 0 and nonce 0 has a leaf and is proven present.
pub fn verify_account_proof(
    root: &Hash,
    address: &Address,
    claimed: &Account,
    proof: &AccountProof,
) -> Result<Proven, ProofError> {
    let present = verify_proof(root, address, Some(claimed), proof);
    if present.is_ok() {
        return Ok(Proven::Present);
    }
    if *claimed != Account::default() {
        return present.map(|()| Proven::Present);
    }
    match verify_proof(root, address, None, proof) {
        Ok(()) => Ok(Proven::Absent),
        // A proof ending at another leaf only ever argues absence: its error says more.
        Err(e) if proof.other_leaf.is_some() => Err(e),
        Err(_) => present.map(|()| Proven::Present),
    }
}
