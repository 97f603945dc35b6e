//! One verdict per signature: single and batch verification accept exactly the same signatures,
//! by the ZIP-215 rule (cofactored equation `[8][s]B = [8]R + [8][k]A`, `s < l`, any point
//! encoding of `A` and `R` accepted, canonical or not).
//!
//! The cases are the ones on which ed25519 implementations disagree: the ZIP-215 small-order
//! vectors (every small-order `A` with every small-order `R`, canonical and non-canonical
//! encodings, `s = 0`), signatures whose `R` or `A` carries a small-order component (anyone can
//! make them for their own key; a cofactorless batch with random weights accepts them some of
//! the time while strict single verification never does), non-canonical `s`, keys that are not
//! points, and plain good and bad signatures. For each, the single check, the check in a batch
//! of its own, and the check in a batch among good signatures must give the same verdict — the
//! one ZIP-215 prescribes, and the one of `ed25519-consensus`, the reference implementation.
use cairn_proto::{verify_batch, Address, Keypair, Signature, SignatureDomain};
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

/// The small-order encodings of the ZIP-215 test vectors (the data of ed25519-consensus's
/// `tests/small_order.rs`): the canonical encodings of the eight points of order dividing 8,
/// then the six non-canonical encodings of small-order points.
const SMALL_ORDER: [&str; 14] = [
    // canonical
    "0100000000000000000000000000000000000000000000000000000000000000",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    // non-canonical
    "0100000000000000000000000000000000000000000000000000000000000080",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
];

const PAYLOAD: &[u8] = b"one verdict per signature";

fn bytes32(hex_str: &str) -> [u8; 32] {
    hex::decode(hex_str).unwrap().try_into().unwrap()
}

/// One case: who, what signature, and whether ZIP-215 accepts it.
struct Case {
    name: String,
    signer: Address,
    signature: Signature,
    valid: bool,
}

/// `k = H(R_bytes || A_bytes || message)` over the domain-prefixed message, as the verifier computes it.
fn challenge(r_bytes: &[u8; 32], a_bytes: &[u8; 32]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(a_bytes);
    h.update(SignatureDomain::Tx.message(PAYLOAD));
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

fn signature(r_bytes: [u8; 32], s: [u8; 32]) -> Signature {
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_bytes);
    sig[32..].copy_from_slice(&s);
    Signature(sig)
}

/// A signature by the holder of `a` under the key `A = aB + torsion_a`, with nonce point
/// `R = rB + torsion_r`: valid under the cofactored equation whatever the torsion, and under the
/// cofactorless one only when `torsion_r + k·torsion_a` happens to be zero.
fn mixed_order(a: u64, r: u64, torsion_a: &EdwardsPoint, torsion_r: &EdwardsPoint) -> (Address, Signature) {
    let (a, r) = (Scalar::from(a) * Scalar::from(0x1234_5678_9abc_u64), Scalar::from(r) + Scalar::from(77u64));
    let a_bytes = (EdwardsPoint::mul_base(&a) + torsion_a).compress().to_bytes();
    let r_bytes = (EdwardsPoint::mul_base(&r) + torsion_r).compress().to_bytes();
    let s = r + challenge(&r_bytes, &a_bytes) * a;
    (Address(a_bytes), signature(r_bytes, s.to_bytes()))
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    // The ZIP-215 small-order vectors: [8]R = [8][k]A = 0 and s = 0, so all valid.
    for (i, a) in SMALL_ORDER.iter().enumerate() {
        for (j, r) in SMALL_ORDER.iter().enumerate() {
            cases.push(Case {
                name: format!("small-order A#{i}, R#{j}, s = 0"),
                signer: Address(bytes32(a)),
                signature: signature(bytes32(r), [0; 32]),
                valid: true,
            });
        }
    }
    // Small-order components on R, on A, and on both, over every torsion point.
    let none = EdwardsPoint::default();
    for (t, torsion) in EIGHT_TORSION.iter().enumerate() {
        for (what, ta, tr) in [("R", &none, torsion), ("A", torsion, &none), ("A and R", torsion, torsion)] {
            for seed in 1..=4u64 {
                let (signer, signature) = mixed_order(seed + 10 * t as u64, seed, ta, tr);
                cases.push(Case {
                    name: format!("torsion #{t} on {what}, key {seed}"),
                    signer,
                    signature,
                    valid: true,
                });
            }
        }
    }
    // s + l: the same equation, but s is not reduced; ZIP-215 requires s < l.
    let key = Keypair::from_seed([5; 32]);
    let good = key.sign(SignatureDomain::Tx, PAYLOAD);
    let l = Scalar::ZERO - Scalar::ONE; // l - 1
    let mut s_plus_l = [0u8; 32];
    let (s, lm1) = (&good.0[32..], l.to_bytes());
    let mut carry = 1u16; // s + (l - 1) + 1
    for i in 0..32 {
        let v = s[i] as u16 + lm1[i] as u16 + carry;
        s_plus_l[i] = v as u8;
        carry = v >> 8;
    }
    assert_eq!(carry, 0, "s + l fits 256 bits");
    cases.push(Case {
        name: "non-canonical s (s + l)".into(),
        signer: key.address(),
        signature: signature(good.0[..32].try_into().unwrap(), s_plus_l),
        valid: false,
    });
    cases.push(Case { name: "honest signature".into(), signer: key.address(), signature: good, valid: true });
    let mut flipped = good;
    flipped.0[40] ^= 1;
    cases.push(Case { name: "flipped bit in s".into(), signer: key.address(), signature: flipped, valid: false });
    let mut other_r = good;
    other_r.0[3] ^= 1;
    cases.push(Case { name: "flipped bit in R".into(), signer: key.address(), signature: other_r, valid: false });
    // y = 2 has no x on the curve: not a key at all.
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    assert!(CompressedEdwardsY(not_a_point).decompress().is_none());
    cases.push(Case { name: "key is not a point".into(), signer: Address(not_a_point), signature: good, valid: false });
    cases.push(Case {
        name: "R is not a point".into(),
        signer: key.address(),
        signature: signature(not_a_point, good.0[32..].try_into().unwrap()),
        valid: false,
    });
    // A small-order key with a non-zero s: [8][s]B is not the identity, so invalid.
    cases.push(Case {
        name: "small-order A, small-order R, s = 1".into(),
        signer: Address(bytes32(SMALL_ORDER[1])),
        signature: signature(bytes32(SMALL_ORDER[3]), Scalar::ONE.to_bytes()),
        valid: false,
    });
    cases
}

fn single(c: &Case) -> bool {
    c.signature.verify(&c.signer, SignatureDomain::Tx, PAYLOAD).is_ok()
}

fn batch(items: &[(&Address, &Signature)]) -> bool {
    let msg = SignatureDomain::Tx.message(PAYLOAD);
    let items: Vec<_> = items.iter().map(|(a, s)| (*a, msg.as_slice(), *s)).collect();
    verify_batch(&items).is_ok()
}

#[test]
fn the_small_order_vectors_are_the_zip215_ones() {
    for (i, e) in SMALL_ORDER.iter().enumerate() {
        let bytes = bytes32(e);
        let p = CompressedEdwardsY(bytes).decompress().unwrap_or_else(|| panic!("#{i} decodes"));
        assert!(p.is_small_order(), "#{i} is of small order");
        assert_eq!(p.compress().to_bytes() == bytes, i < 8, "#{i}: the first eight are canonical, the rest not");
    }
}

#[test]
fn single_and_batch_agree_with_zip215_on_every_case() {
    let good_keys: Vec<Keypair> = (0..7u8).map(|i| Keypair::from_seed([100 + i; 32])).collect();
    let good: Vec<(Address, Signature)> =
        good_keys.iter().map(|k| (k.address(), k.sign(SignatureDomain::Tx, PAYLOAD))).collect();
    let cases = cases();
    assert_eq!(cases.len(), 14 * 14 + 8 * 3 * 4 + 7);
    let mut wrong = Vec::new();
    for c in &cases {
        let alone = batch(&[(&c.signer, &c.signature)]);
        // Among good signatures, in the middle of the batch.
        let mut mixed: Vec<(&Address, &Signature)> = good.iter().map(|(a, s)| (a, s)).collect();
        mixed.insert(3, (&c.signer, &c.signature));
        let among = batch(&mixed);
        let verdicts = (single(c), alone, among);
        if verdicts != (c.valid, c.valid, c.valid) {
            wrong.push(format!("{}: expected {}, single/batch/batch among good = {verdicts:?}", c.name, c.valid));
        }
    }
    assert!(wrong.is_empty(), "{} of {} cases differ:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
}

/// The verdict of `ed25519-consensus` (Penumbra's ZIP-215 implementation, which CometBFT's Go
/// `ed25519consensus` follows) on a case, singly and in a batch of its own.
fn reference(c: &Case) -> (bool, bool) {
    let msg = SignatureDomain::Tx.message(PAYLOAD);
    let sig = ed25519_consensus::Signature::from(c.signature.0);
    let key = ed25519_consensus::VerificationKeyBytes::from(c.signer.0);
    let single = ed25519_consensus::VerificationKey::try_from(key).and_then(|k| k.verify(&sig, &msg)).is_ok();
    let mut batch = ed25519_consensus::batch::Verifier::new();
    batch.queue((key, sig, msg.as_slice()));
    (single, batch.verify(rand::thread_rng()).is_ok())
}

#[test]
fn every_verdict_is_the_reference_implementations() {
    for c in cases() {
        assert_eq!(reference(&c), (c.valid, c.valid), "ed25519-consensus on {}", c.name);
        assert_eq!(single(&c), c.valid, "{}", c.name);
    }
}

#[test]
fn a_batch_of_only_zip215_valid_signatures_passes_and_one_invalid_fails_it() {
    let cases = cases();
    let valid: Vec<(&Address, &Signature)> =
        cases.iter().filter(|c| c.valid).map(|c| (&c.signer, &c.signature)).collect();
    assert!(batch(&valid), "all {} valid cases in one batch", valid.len());
    for bad in cases.iter().filter(|c| !c.valid) {
        let mut items = valid.clone();
        items.push((&bad.signer, &bad.signature));
        assert!(!batch(&items), "{} slipped through a batch", bad.name);
    }
}

#[test]
fn verdicts_do_not_depend_on_the_batch_weights() {
    // The batch draws fresh random weights on every call: repeating a mixed-order batch many
    // times must never change its verdict (a cofactorless batch accepts it only sometimes).
    let none = EdwardsPoint::default();
    let items: Vec<(Address, Signature)> = (1..=8u64).map(|i| mixed_order(i, i, &none, &EIGHT_TORSION[1])).collect();
    let refs: Vec<(&Address, &Signature)> = items.iter().map(|(a, s)| (a, s)).collect();
    for round in 0..64 {
        assert!(batch(&refs), "round {round}: a valid mixed-order batch was refused");
        for (a, s) in &refs {
            assert!(batch(&[(a, s)]), "round {round}: a valid mixed-order signature was refused alone");
        }
    }
}
