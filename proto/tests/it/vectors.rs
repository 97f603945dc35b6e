//! Reproduces every field of every transaction vector computed by the independent encoder
//! (`../shared/vectors/tx.json`, with a copy in this crate), and decodes them back.
use bytes::Bytes;
use cairn_proto::{Address, Keypair, Transfer, TxAction, TxBody, UncheckedTx};
use serde_json::Value;

fn vector_files() -> Vec<String> {
    // Read at run time, not compile time: a test binary reused from a build in another
    // checkout (a shared target directory) must still find this checkout's files.
    let here = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let mut files = vec![std::fs::read_to_string(format!("{here}/tests/vectors-tx.json")).unwrap()];
    // The shared copy sits beside the repository in CI and in a developer checkout.
    if let Ok(shared) = std::fs::read_to_string(format!("{here}/../../shared/vectors/tx.json")) {
        files.push(shared);
    }
    files
}

fn u64_of(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an exact u64: {v}"))
}

#[test]
fn every_vector_is_reproduced_byte_for_byte_and_decodes_back() {
    let mut checked = 0;
    for file in vector_files() {
        let doc: Value = serde_json::from_str(&file).unwrap();
        for v in doc["vectors"].as_array().unwrap() {
            let s = |k: &str| v[k].as_str().unwrap().to_string();
            let key = Keypair::from_hex(&s("secret_key_seed")).unwrap();
            assert_eq!(key.address().to_hex(), s("sender"));
            let body = TxBody {
                chain_id: s("chain_id"),
                sender: key.address(),
                nonce: u64_of(&v["nonce"]),
                fee: u64_of(&v["fee"]),
                action: TxAction::Transfer(Transfer {
                    recipient: s("recipient").parse::<Address>().unwrap(),
                    amount: u64_of(&v["amount"]),
                }),
            };
            assert_eq!(hex::encode(body.encode()), s("body_hex"));
            let tx = body.clone().sign(&key);
            assert_eq!(hex::encode(tx.signature().0), s("signature_hex"));
            assert_eq!(hex::encode(tx.encoded()), s("signed_tx_hex"));
            assert_eq!(tx.hash().to_hex(), s("tx_hash"));

            let decoded = UncheckedTx::decode(Bytes::from(hex::decode(s("signed_tx_hex")).unwrap())).unwrap();
            assert_eq!(decoded.body, body);
            assert_eq!(decoded.hash.to_hex(), s("tx_hash"));
            let verified = decoded.verify().expect("vector signature verifies strictly");
            assert_eq!(verified, tx);
            checked += 1;
        }
    }
    assert!(checked >= 4, "expected at least 4 vectors, checked {checked}");
}

#[test]
fn a_tampered_vector_fails_verification() {
    let doc: Value = serde_json::from_str(&vector_files()[0]).unwrap();
    let mut raw = hex::decode(doc["vectors"][0]["signed_tx_hex"].as_str().unwrap()).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 0x01; // flip a signature bit
    let tx = UncheckedTx::decode(Bytes::from(raw)).unwrap();
    assert!(tx.verify().is_err());
}
