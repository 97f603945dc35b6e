//! ed25519 with domain separation: signing, strict single verification, and batch verification
//! that accepts exactly what strict verification accepts.
use crate::{Address, DecodeError, VerifyError};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// What a signature is for. Every signed message starts with the domain's tag, so a signature
/// made for one purpose can never be replayed as another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureDomain {
    Tx,
    Vote,
    Proposal,
    /// A validator's signed entry for a genesis (`GenesisEntry`).
    GenesisEntry,
}

impl SignatureDomain {
    pub fn tag(self) -> &'static [u8] {
        match self {
            SignatureDomain::Tx => b"cairn/tx/v1",
            SignatureDomain::Vote => b"cairn/vote/v1",
            SignatureDomain::Proposal => b"cairn/proposal/v1",
            SignatureDomain::GenesisEntry => b"cairn/genesis-entry/v1",
        }
    }

    /// The bytes actually signed: the domain tag followed by `payload`.
    pub fn message(self, payload: &[u8]) -> Vec<u8> {
        let tag = self.tag();
        let mut m = Vec::with_capacity(tag.len() + payload.len());
        m.extend_from_slice(tag);
        m.extend_from_slice(payload);
        m
    }
}

/// A 64-byte ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    pub fn from_slice(b: &[u8]) -> Result<Self, DecodeError> {
        <[u8; 64]>::try_from(b).map(Signature).map_err(|_| DecodeError::WrongLength {
            field: "signature",
            expected: 64,
            got: b.len(),
        })
    }

    /// Strict ed25519 verification of `domain || payload` under `signer`.
    pub fn verify(&self, signer: &Address, domain: SignatureDomain, payload: &[u8]) -> Result<(), VerifyError> {
        let key = verifying_key(signer)?;
        key.verify_strict(&domain.message(payload), &ed25519_dalek::Signature::from_bytes(&self.0))
            .map_err(|_| VerifyError::BadSignature)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", hex::encode(&self.0[..6]))
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let v = hex::decode(s).map_err(serde::de::Error::custom)?;
        Signature::from_slice(&v).map_err(serde::de::Error::custom)
    }
}

/// A validator's or an account's signing key (a 32-byte ed25519 seed).
#[derive(Clone)]
pub struct Keypair(SigningKey);

impl Keypair {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Keypair(SigningKey::from_bytes(&seed))
    }

    /// Parses 64 hex characters of seed.
    pub fn from_hex(s: &str) -> Result<Self, DecodeError> {
        let v = hex::decode(s.trim()).map_err(|e| DecodeError::Hex(format!("secret key: {e}")))?;
        let seed = <[u8; 32]>::try_from(v.as_slice()).map_err(|_| DecodeError::WrongLength {
            field: "secret key",
            expected: 32,
            got: v.len(),
        })?;
        Ok(Self::from_seed(seed))
    }

    pub fn generate() -> Self {
        Keypair(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn address(&self) -> Address {
        Address(self.0.verifying_key().to_bytes())
    }

    pub fn sign(&self, domain: SignatureDomain, payload: &[u8]) -> Signature {
        Signature(self.0.sign(&domain.message(payload)).to_bytes())
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({})", self.address())
    }
}

fn verifying_key(a: &Address) -> Result<VerifyingKey, VerifyError> {
    crate::key_cache::verifying_key(a).map_err(|_| VerifyError::BadPublicKey(a.to_hex()))
}

/// The encodings of the eight small-order points of edwards25519, canonical and not.
/// Strict verification rejects them as `R` or `A`; batch verification does not, so we do.
const SMALL_ORDER_ENCODINGS: [[u8; 32]; 14] = {
    const fn enc(first: u8, fill: u8, last: u8) -> [u8; 32] {
        let mut e = [fill; 32];
        e[0] = first;
        e[31] = last;
        e
    }
    const fn full(b: &[u8; 32], last: u8) -> [u8; 32] {
        let mut e = *b;
        e[31] = last;
        e
    }
    const ORDER8_A: [u8; 32] = [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20,
        0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
    ];
    const ORDER8_B: [u8; 32] = [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf,
        0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
    ];
    [
        enc(0x01, 0x00, 0x00), // identity, y = 1
        enc(0x01, 0x00, 0x80),
        enc(0xee, 0xff, 0x7f), // y = p + 1 (non-canonical identity)
        enc(0xee, 0xff, 0xff),
        enc(0xec, 0xff, 0x7f), // y = -1, order 2
        enc(0xec, 0xff, 0xff),
        enc(0x00, 0x00, 0x00), // y = 0, order 4
        enc(0x00, 0x00, 0x80),
        enc(0xed, 0xff, 0x7f), // y = p (non-canonical 0)
        enc(0xed, 0xff, 0xff),
        ORDER8_A,
        full(&ORDER8_A, 0xfa),
        ORDER8_B,
        full(&ORDER8_B, 0x85),
    ]
};

fn is_small_order(encoding: &[u8]) -> bool {
    SMALL_ORDER_ENCODINGS.iter().any(|e| e.as_slice() == encoding)
}

/// One item of a batch: who signed, what (already domain-prefixed) message, which signature.
pub type BatchItem<'a> = (&'a Address, &'a [u8], &'a Signature);

/// Verifies many signatures at once; `Ok` exactly when every one would pass strict
/// verification. On `Err`, callers fall back to `Signature::verify` to find the bad ones.
pub fn verify_batch(items: &[BatchItem<'_>]) -> Result<(), VerifyError> {
    let mut keys = Vec::with_capacity(items.len());
    let mut sigs = Vec::with_capacity(items.len());
    let mut msgs = Vec::with_capacity(items.len());
    for (addr, msg, sig) in items {
        if is_small_order(&addr.0) || is_small_order(&sig.0[..32]) {
            return Err(VerifyError::BadSignature);
        }
        keys.push(verifying_key(addr)?);
        sigs.push(ed25519_dalek::Signature::from_bytes(&sig.0));
        msgs.push(*msg);
    }
    ed25519_dalek::verify_batch(&msgs, &sigs, &keys).map_err(|_| VerifyError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_roundtrip_and_domain_separation() {
        let k = Keypair::from_seed([7; 32]);
        let s = k.sign(SignatureDomain::Vote, b"x");
        assert!(s.verify(&k.address(), SignatureDomain::Vote, b"x").is_ok());
        assert_eq!(s.verify(&k.address(), SignatureDomain::Proposal, b"x"), Err(VerifyError::BadSignature));
        assert_eq!(s.verify(&k.address(), SignatureDomain::Vote, b"y"), Err(VerifyError::BadSignature));
    }

    #[test]
    fn batch_accepts_good_and_rejects_one_bad() {
        let keys: Vec<_> = (0..8u8).map(|i| Keypair::from_seed([i; 32])).collect();
        let addrs: Vec<_> = keys.iter().map(Keypair::address).collect();
        let msgs: Vec<Vec<u8>> = (0..8u8).map(|i| SignatureDomain::Tx.message(&[i])).collect();
        let mut sigs: Vec<_> = keys.iter().zip(0..8u8).map(|(k, i)| k.sign(SignatureDomain::Tx, &[i])).collect();
        let items: Vec<BatchItem> = (0..8).map(|i| (&addrs[i], msgs[i].as_slice(), &sigs[i])).collect();
        assert!(verify_batch(&items).is_ok());
        sigs[3].0[40] ^= 1;
        let items: Vec<BatchItem> = (0..8).map(|i| (&addrs[i], msgs[i].as_slice(), &sigs[i])).collect();
        assert!(verify_batch(&items).is_err());
    }

    #[test]
    fn small_order_public_key_is_rejected_by_batch_and_strict() {
        let weak = Address(SMALL_ORDER_ENCODINGS[0]);
        let sig = Signature([0; 64]);
        let msg = SignatureDomain::Tx.message(b"m");
        assert!(verify_batch(&[(&weak, &msg, &sig)]).is_err());
        assert!(sig.verify(&weak, SignatureDomain::Tx, b"m").is_err());
    }
}
