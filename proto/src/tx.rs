//! Transactions (SPEC §2): the body a sender signs, the undecoded-but-parsed `UncheckedTx`,
//! and `VerifiedTx`, which can only be made by checking the signature.
use crate::crypto::{BatchItem, Keypair, Signature, SignatureDomain};
use crate::{pb, verify_batch, Address, DecodeError, Hash, VerifyError};
use bytes::Bytes;
use prost::Message;
use std::sync::Arc;

/// The domain tag prefixed to the body before signing: `"cairn/tx/v1"`.
pub const TX_SIGN_DOMAIN: &[u8] = b"cairn/tx/v1";

/// The least fee a transaction pays: execution fails one below it (`fee_too_low`), so no
/// transaction changes state for free. A node's mempool may ask for more (`min_fee`).
pub const MIN_FEE: u64 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub recipient: Address,
    pub amount: u64,
}

/// Bond `amount` from the sender's balance (proto/README.md "Staking").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stake {
    pub amount: u64,
}

/// Start returning `amount` of the sender's bonded stake (proto/README.md "Staking").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unbond {
    pub amount: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxAction {
    Transfer(Transfer),
    Stake(Stake),
    Unbond(Unbond),
}

impl TxAction {
    fn to_pb(&self) -> pb::tx_body::Action {
        match self {
            TxAction::Transfer(t) => pb::tx_body::Action::Transfer(pb::Transfer {
                recipient: Bytes::copy_from_slice(&t.recipient.0),
                amount: t.amount,
            }),
            TxAction::Stake(s) => pb::tx_body::Action::Stake(pb::Stake { amount: s.amount }),
            TxAction::Unbond(u) => pb::tx_body::Action::Unbond(pb::Unbond { amount: u.amount }),
        }
    }

    fn from_pb(a: pb::tx_body::Action) -> Result<Self, DecodeError> {
        Ok(match a {
            pb::tx_body::Action::Transfer(t) => {
                TxAction::Transfer(Transfer { recipient: Address::from_slice(&t.recipient)?, amount: t.amount })
            }
            pb::tx_body::Action::Stake(s) => TxAction::Stake(Stake { amount: s.amount }),
            pb::tx_body::Action::Unbond(u) => TxAction::Unbond(Unbond { amount: u.amount }),
        })
    }

    /// What the action takes from the sender's balance, beyond the fee: the amount sent or
    /// bonded (an unbond takes nothing; its stake comes back later).
    pub fn debit(&self) -> u64 {
        match self {
            TxAction::Transfer(t) => t.amount,
            TxAction::Stake(s) => s.amount,
            TxAction::Unbond(_) => 0,
        }
    }

    /// The account, other than the sender, that the action writes: a transfer's recipient.
    pub fn recipient(&self) -> Option<Address> {
        match self {
            TxAction::Transfer(t) => Some(t.recipient),
            TxAction::Stake(_) | TxAction::Unbond(_) => None,
        }
    }
}

/// The signed part of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxBody {
    pub chain_id: String,
    pub sender: Address,
    pub nonce: u64,
    pub fee: u64,
    pub action: TxAction,
}

impl TxBody {
    /// The canonical protobuf encoding (field order, default values omitted).
    pub fn encode(&self) -> Vec<u8> {
        pb::TxBody {
            chain_id: self.chain_id.clone(),
            sender: Bytes::copy_from_slice(&self.sender.0),
            nonce: self.nonce,
            fee: self.fee,
            action: Some(self.action.to_pb()),
        }
        .encode_to_vec()
    }

    fn from_pb(b: pb::TxBody) -> Result<Self, DecodeError> {
        let action = TxAction::from_pb(b.action.ok_or(DecodeError::Missing("action"))?)?;
        Ok(TxBody { chain_id: b.chain_id, sender: Address::from_slice(&b.sender)?, nonce: b.nonce, fee: b.fee, action })
    }

    /// Signs the body; the result is verified by construction.
    pub fn sign(self, key: &Keypair) -> VerifiedTx {
        let body_bytes = Bytes::from(self.encode());
        let signature = key.sign(SignatureDomain::Tx, &body_bytes);
        let encoded = Bytes::from(
            pb::SignedTx { body: body_bytes.clone(), signature: Bytes::copy_from_slice(&signature.0) }.encode_to_vec(),
        );
        VerifiedTx(Arc::new(UncheckedTx { hash: Hash::of(&body_bytes), body: self, body_bytes, signature, encoded }))
    }

    /// The amount sent or bonded plus the fee: what the sender must hold, or `None` on overflow.
    pub fn total_cost(&self) -> Option<u64> {
        self.action.debit().checked_add(self.fee)
    }
}

/// A decoded transaction whose signature has not been checked yet.
#[derive(Clone, Debug)]
pub struct UncheckedTx {
    pub body: TxBody,
    /// Exactly the body bytes that were signed and hashed.
    pub body_bytes: Bytes,
    pub signature: Signature,
    /// blake3(body_bytes).
    pub hash: Hash,
    /// The whole encoded SignedTx, as received.
    pub encoded: Bytes,
}

impl UncheckedTx {
    /// Decodes an encoded SignedTx. Never panics; every malformed input is a `DecodeError`.
    pub fn decode(encoded: Bytes) -> Result<Self, DecodeError> {
        let signed = pb::SignedTx::decode(encoded.clone())?;
        let signature = Signature::from_slice(&signed.signature)?;
        let body = TxBody::from_pb(pb::TxBody::decode(signed.body.clone())?)?;
        Ok(UncheckedTx { hash: Hash::of(&signed.body), body, body_bytes: signed.body, signature, encoded })
    }

    /// Signature check (ZIP-215, see `crypto`) of this one transaction.
    pub fn verify(self) -> Result<VerifiedTx, VerifyError> {
        self.signature.verify(&self.body.sender, SignatureDomain::Tx, &self.body_bytes)?;
        Ok(VerifiedTx(Arc::new(self)))
    }

    /// Checks many signatures in one ed25519 batch; if the batch fails, each is checked alone
    /// so that only the bad ones are refused. Results are in input order, and the same as
    /// checking each alone: batch and single checks apply one rule.
    pub fn verify_many(txs: Vec<UncheckedTx>) -> Vec<Result<VerifiedTx, VerifyError>> {
        let msgs: Vec<Vec<u8>> = txs.iter().map(|t| SignatureDomain::Tx.message(&t.body_bytes)).collect();
        let items: Vec<BatchItem> =
            txs.iter().zip(&msgs).map(|(t, m)| (&t.body.sender, m.as_slice(), &t.signature)).collect();
        if verify_batch(&items).is_ok() {
            return txs.into_iter().map(|t| Ok(VerifiedTx(Arc::new(t)))).collect();
        }
        txs.into_iter().map(UncheckedTx::verify).collect()
    }
}

/// A transaction whose ed25519 signature has been checked (ZIP-215). Cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct VerifiedTx(Arc<UncheckedTx>);

impl VerifiedTx {
    /// For transactions read back from this node's own database, whose signatures were
    /// verified before they were stored. Never use it for bytes from outside the process.
    pub fn from_trusted_storage(tx: UncheckedTx) -> Self {
        VerifiedTx(Arc::new(tx))
    }

    pub fn hash(&self) -> Hash {
        self.0.hash
    }
    pub fn body(&self) -> &TxBody {
        &self.0.body
    }
    pub fn sender(&self) -> Address {
        self.0.body.sender
    }
    pub fn nonce(&self) -> u64 {
        self.0.body.nonce
    }
    pub fn fee(&self) -> u64 {
        self.0.body.fee
    }
    pub fn signature(&self) -> &Signature {
        &self.0.signature
    }
    /// The encoded SignedTx.
    pub fn encoded(&self) -> &Bytes {
        &self.0.encoded
    }
    /// Size on the wire in bytes.
    pub fn len(&self) -> usize {
        self.0.encoded.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.encoded.is_empty()
    }
}

impl PartialEq for VerifiedTx {
    fn eq(&self, other: &Self) -> bool {
        self.0.hash == other.0.hash && self.0.encoded == other.0.encoded
    }
}
impl Eq for VerifiedTx {}
