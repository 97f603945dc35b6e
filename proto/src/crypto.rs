//! ed25519 with domain separation: signing, and one verification rule for single and batch
//! checks alike.
//!
//! The rule is ZIP-215 (as in Zcash, Penumbra and CometBFT): `s` must be below the group order
//! `l`; `A` and `R` must be encodings of curve points, canonical or not; and the equation is the
//! cofactored `[8][s]B = [8]R + [8][k]A` with `k = SHA-512(R || A || message)` over the bytes as
//! sent. The batch equation multiplies by the cofactor too, so a signature passes a batch
//! exactly when it passes alone — every node reaches the same verdict on every signature,
//! whatever the batch it arrives in or the random weights drawn. (RFC 8032's strict checks and
//! a cofactorless batch, as ed25519-dalek has them, disagree on signatures whose `R` or `A` has
//! a small-order component, which any key holder can make.)
//!
//! Both checks are written here on curve25519-dalek 5, line for line as `ed25519-zebra` 4 and
//! `ed25519-consensus` have them (the arithmetic backend, AVX-512 IFMA where the CPU has it,
//! else AVX2, is chosen at run time: `.cargo/config.toml`), with one difference: the signer's
//! decompressed `A` comes from the process-wide key cache (`key_cache`), in the batch too.
//! Decompressing a point is a field square root; a profile of a loaded validator showed the
//! batch verifier decompressing every repeat signer's key again, ≈ 7 % of its CPU.
//! `tests/it/zip215.rs` checks every verdict against `ed25519-consensus`.
//!
//! Signing is plain RFC 8032 (deterministic): its signatures verify under any of these rules.
use crate::{Address, DecodeError, VerifyError};
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::{Signer, SigningKey};
use rand::RngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha512};
use std::collections::HashMap;
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

    /// Verification (ZIP-215, see the module doc) of `domain || payload` under `signer`.
    pub fn verify(&self, signer: &Address, domain: SignatureDomain, payload: &[u8]) -> Result<(), VerifyError> {
        verify_one((signer, &domain.message(payload), self))
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

/// A signer's key: the encoding as signed over, and the point it decodes to (any encoding of a
/// curve point, canonical or not, as ZIP-215 has it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PublicKey {
    pub bytes: [u8; 32],
    pub point: EdwardsPoint,
}

impl PublicKey {
    pub(crate) fn decompress(bytes: [u8; 32]) -> Option<Self> {
        CompressedEdwardsY(bytes).decompress().map(|point| PublicKey { bytes, point })
    }
}

fn public_key(a: &Address) -> Result<PublicKey, VerifyError> {
    crate::key_cache::public_key(a).ok_or_else(|| VerifyError::BadPublicKey(a.to_hex()))
}

/// `R` and `s` of a signature: `R` any encoding of a point, `s` canonical (below `l`).
fn split(sig: &Signature) -> Result<(EdwardsPoint, Scalar), VerifyError> {
    let (r, s) = sig.0.split_at(32);
    let r = CompressedEdwardsY(r.try_into().expect("32 bytes")).decompress();
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s.try_into().expect("32 bytes")));
    r.zip(s).ok_or(VerifyError::BadSignature)
}

/// `k = SHA-512(R || A || message)`, over the bytes as sent.
fn challenge(sig: &Signature, key: &PublicKey, msg: &[u8]) -> Scalar {
    let digest = Sha512::new().chain_update(&sig.0[..32]).chain_update(key.bytes).chain_update(msg).finalize();
    Scalar::from_bytes_mod_order_wide(&digest.into())
}

/// The curve arithmetic this process's signature checks run on: `avx512ifma` when the build
/// has that backend (`.cargo/config.toml`) and the CPU the instructions, else `avx2`, else
/// `portable`. curve25519-dalek makes the same choice at run time; this only reports it, so an
/// operator can tell why one machine checks signatures at half the speed of another.
pub fn signature_backend() -> &'static str {
    #[cfg(all(target_arch = "x86_64", curve25519_dalek_backend = "avx512"))]
    if std::arch::is_x86_feature_detected!("avx512ifma") && std::arch::is_x86_feature_detected!("avx512vl") {
        return "avx512ifma";
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return "avx2";
    }
    "portable"
}

/// One item of a batch: who signed, what (already domain-prefixed) message, which signature.
pub type BatchItem<'a> = (&'a Address, &'a [u8], &'a Signature);

/// The single check of one item: the ZIP-215 rule that [`verify_batch`] applies too,
/// `[8](R − ([s]B − [k]A)) = 0`.
pub fn verify_one((signer, msg, sig): BatchItem<'_>) -> Result<(), VerifyError> {
    let key = public_key(signer)?;
    let (r, s) = split(sig)?;
    let k = challenge(sig, &key, msg);
    let r_prime = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-key.point, &s);
    if (r - r_prime).mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

/// Verifies many signatures at once; `Ok` exactly when [`verify_one`] accepts every one of
/// them, whatever the random weights: ZIP-215 makes the batch equation cofactored, as the
/// single one is, so a valid signature never fails a batch, and an invalid one passes only if
/// 128-bit random weights happen to cancel it (probability ≈ 2⁻¹²⁸). On `Err`, callers check
/// the items one by one to find the bad ones.
///
/// The equation, with a random 128-bit `z_i` per signature:
/// `[8]([−Σ z_i·s_i]B + Σ [z_i]R_i + Σ [z_i·k_i]A_i) = 0`, the `A` terms of one signer summed
/// into one (a multiscalar multiplication of n + m + 1 points for n signatures by m signers).
pub fn verify_batch(items: &[BatchItem<'_>]) -> Result<(), VerifyError> {
    let mut rng = rand::thread_rng();
    let mut b_coeff = Scalar::ZERO;
    let (mut r_coeffs, mut rs) = (Vec::with_capacity(items.len()), Vec::with_capacity(items.len()));
    let (mut a_coeffs, mut keys) = (Vec::<Scalar>::new(), Vec::<EdwardsPoint>::new());
    let mut signer_at: HashMap<[u8; 32], usize, foldhash::fast::RandomState> =
        HashMap::with_capacity_and_hasher(items.len(), Default::default());
    for &(signer, msg, sig) in items {
        let key = public_key(signer).map_err(|_| VerifyError::BadSignature)?;
        let (r, s) = split(sig)?;
        let k = challenge(sig, &key, msg);
        let z = Scalar::from(u128::from(rng.next_u64()) | u128::from(rng.next_u64()) << 64);
        b_coeff -= z * s;
        rs.push(r);
        r_coeffs.push(z);
        let at = *signer_at.entry(key.bytes).or_insert_with(|| {
            keys.push(key.point);
            a_coeffs.push(Scalar::ZERO);
            keys.len() - 1
        });
        a_coeffs[at] += z * k;
    }
    let check = EdwardsPoint::vartime_multiscalar_mul(
        std::iter::once(&b_coeff).chain(&a_coeffs).chain(&r_coeffs),
        std::iter::once(&ED25519_BASEPOINT_POINT).chain(&keys).chain(&rs),
    );
    if check.mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
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
    fn a_key_that_is_no_point_is_refused_singly_and_in_a_batch() {
        // y = 2 has no x on the curve.
        let mut bytes = [0u8; 32];
        bytes[0] = 2;
        let (nowhere, sig) = (Address(bytes), Keypair::from_seed([1; 32]).sign(SignatureDomain::Tx, b"m"));
        let msg = SignatureDomain::Tx.message(b"m");
        assert!(matches!(sig.verify(&nowhere, SignatureDomain::Tx, b"m"), Err(VerifyError::BadPublicKey(_))));
        assert_eq!(verify_batch(&[(&nowhere, &msg, &sig)]), Err(VerifyError::BadSignature));
    }
}
