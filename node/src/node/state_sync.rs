//! State sync, the joining side: fetch a recent snapshot from peers over the block-sync
//! request-response protocol and check every piece before believing it, trusting only the
//! genesis. A peer offers a manifest of height h; the blocks 1..=h+1 are verified from the
//! genesis set through every validator-set change (`cairn_engine::light`), so block h+1's
//! certified header gives the state root after h; the manifest must fold to that root, and
//! each of its 256 chunks, fetched from the peers in turn, must hash to its manifest entry. A
//! peer caught sending a bad block, set, manifest or chunk is banned at once (each is a
//! provable lie against certified data) and no longer asked; the piece is asked of another. What it returns is what `State::restore`
//! takes; `join` does both for `cairn start` on a first start with `state_sync.join`.
use crate::config::NodeConfig;
use crate::home::Home;
use anyhow::{bail, Context, Result};
use cairn_engine::light::LightChain;
use cairn_network::{NetworkHandle, PeerId};
use cairn_proto::{pb, Certificate, CertifiedBlock, Genesis, Header, Keypair, ValidatorSet};
use cairn_state::{Restore, SnapshotChunk, SnapshotManifest, State, CHUNKS};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How long a joining node waits for its bootstrap peers, and for the rest once one is there.
const PEER_WAIT: Duration = Duration::from_secs(60);
const MORE_PEERS_WAIT: Duration = Duration::from_secs(3);

/// Whether `home` has no state yet (a first start): the only time a node joins by state sync.
pub fn is_first_start(home: &Home) -> bool {
    std::fs::read_dir(home.state_dir()).map_or(true, |mut d| d.next().is_none())
}

/// `cairn start` with `state_sync.join` on a first start: a short-lived network instance on the
/// node's own p2p config fetches a snapshot from the peers it reaches, and the store is restored
/// from it; the node then opens it and block-syncs from the snapshot's height.
pub async fn join(home: &Home, cfg: &NodeConfig, genesis: &Genesis, key: &Keypair) -> Result<()> {
    let started = Instant::now();
    let set = genesis.validator_set().map_err(anyhow::Error::msg)?;
    let registry = prometheus::Registry::new();
    let (net, events) = cairn_network::start(cfg.p2p.clone(), key, &genesis.chain_id, set, &registry)
        .await
        .with_context(|| format!("cannot start p2p on {} for state sync", cfg.p2p.listen))?;
    let deadline = Instant::now() + PEER_WAIT;
    while net.peers().is_empty() {
        anyhow::ensure!(Instant::now() < deadline, "state sync: no peer reached in {PEER_WAIT:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(MORE_PEERS_WAIT).await;
    let peers: Vec<PeerId> = net.peers().iter().filter_map(|p| p.peer_id.parse().ok()).collect();
    tracing::info!(peers = peers.len(), "state sync: fetching a snapshot");
    let fetched = fetch(&net, peers, genesis).await;
    net.shutdown().await;
    drop(events);
    let fetched = fetched?;
    let (height, accounts) = (fetched.manifest.height, fetched.manifest.chunks.iter().map(|c| c.accounts).sum::<u64>());
    let restore = Restore {
        genesis,
        manifest: &fetched.manifest,
        chunks: fetched.chunks,
        tip: &fetched.tip,
        next_set: &fetched.next_set,
    };
    let state = State::restore(&home.state_dir(), cfg.state.clone(), restore).context("state sync: restore")?;
    drop(state);
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(height, accounts, secs, dropped = fetched.dropped.len(), "state sync: restored the snapshot");
    Ok(())
}

/// A verified snapshot, ready for `State::restore`.
pub struct Fetched {
    pub manifest: SnapshotManifest,
    pub chunks: Vec<SnapshotChunk>,
    /// The certified block at the snapshot's height.
    pub tip: CertifiedBlock,
    /// The set that signs the height after it.
    pub next_set: ValidatorSet,
    /// Peers caught lying, banned.
    pub dropped: Vec<PeerId>,
}

/// Blocks asked for at once while verifying up to the snapshot.
const BLOCKS_PER_REQUEST: u32 = 64;

/// Requests in a row that may fail (unanswered, or nothing to give) before state sync gives up.
const MAX_FAILURES: u32 = 20;
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);

/// The peers still trusted to answer, asked in turn.
struct Peers<'a> {
    net: &'a NetworkHandle,
    all: Vec<PeerId>,
    dropped: HashSet<PeerId>,
    next: usize,
    failures: u32,
}

impl Peers<'_> {
    /// Counts an unanswered request and waits a little before the next; gives up after
    /// `MAX_FAILURES` in a row.
    async fn failed(&mut self, what: &str) -> Result<()> {
        self.failures += 1;
        anyhow::ensure!(self.failures < MAX_FAILURES, "state sync: {MAX_FAILURES} requests in a row failed ({what})");
        tokio::time::sleep(RETRY_PAUSE).await;
        Ok(())
    }

    fn pick(&mut self) -> Result<PeerId> {
        let live: Vec<PeerId> = self.all.iter().filter(|p| !self.dropped.contains(p)).copied().collect();
        anyhow::ensure!(!live.is_empty(), "no honest peer left to fetch the snapshot from");
        self.next += 1;
        Ok(live[self.next % live.len()])
    }

    fn drop_peer(&mut self, peer: PeerId, why: &'static str, detail: &str) {
        tracing::warn!(%peer, why, detail, "state sync: banning a peer that sent a bad piece");
        self.net.ban(peer, why);
        self.dropped.insert(peer);
    }

    async fn ask(&self, peer: PeerId, what: pb::snapshot_request::What, height: u64) -> Result<pb::SyncResponse> {
        let snapshot = Some(pb::SnapshotRequest { what: Some(what), height });
        Ok(self.net.request_blocks(peer, pb::SyncRequest { from_height: 0, max_blocks: 0, snapshot }).await?)
    }
}

/// Fetches and verifies the newest snapshot any of `peers` offers.
pub async fn fetch(net: &NetworkHandle, peers: Vec<PeerId>, genesis: &Genesis) -> Result<Fetched> {
    use pb::snapshot_request::What;
    let mut peers = Peers { net, all: peers, dropped: HashSet::new(), next: 0, failures: 0 };
    // The highest snapshot offered; a peer that offers a lie is found out below.
    let mut offers = vec![];
    for peer in peers.all.clone() {
        if let Ok(res) = peers.ask(peer, What::Manifest(true), 0).await {
            if let Some(m) = res.manifest.map(SnapshotManifest::from_pb).and_then(Result::ok) {
                offers.push((m, peer));
            }
        }
    }
    offers.sort_by_key(|(m, _)| std::cmp::Reverse(m.height));
    let Some((manifest, offered_by)) = offers.into_iter().next() else { bail!("no peer offers a state snapshot") };
    let height = manifest.height;
    let (tip, certified_root, next_set) = verify_up_to(&mut peers, genesis, height).await?;
    if let Err(e) = manifest.verify(&certified_root) {
        peers.drop_peer(offered_by, "bad_snapshot_manifest", &e.to_string());
        bail!("the snapshot manifest of height {height} does not match the certified state root: {e}");
    }
    let mut chunks = Vec::with_capacity(CHUNKS);
    for index in 0..CHUNKS {
        loop {
            let peer = peers.pick()?;
            let Ok(res) = peers.ask(peer, What::Chunk(index as u32), height).await else {
                peers.failed("a chunk").await?;
                continue;
            };
            let chunk = res.chunk.context("no chunk in the answer").and_then(|c| Ok(SnapshotChunk::from_pb(c)?));
            match chunk.and_then(|c| c.verify(&manifest).map(|()| c).map_err(anyhow::Error::from)) {
                Ok(c) if c.index == index => {
                    peers.failures = 0;
                    chunks.push(c);
                    break;
                }
                Ok(_) => peers.drop_peer(peer, "bad_snapshot_chunk", "another chunk than asked"),
                Err(e) => peers.drop_peer(peer, "bad_snapshot_chunk", &format!("{e:#}")),
            }
        }
    }
    let dropped = peers.dropped.into_iter().collect();
    Ok(Fetched { manifest, chunks, tip, next_set, dropped })
}

/// Verifies blocks 1..=height+1 from the genesis set; returns block `height`, the state root
/// that block height+1 certifies, and the set that signs height+1.
async fn verify_up_to(
    peers: &mut Peers<'_>,
    genesis: &Genesis,
    height: u64,
) -> Result<(CertifiedBlock, cairn_proto::Hash, ValidatorSet)> {
    use pb::snapshot_request::What;
    let mut light = LightChain::from_genesis(&genesis.chain_id, genesis.validator_set().map_err(anyhow::Error::msg)?);
    let mut tip = None;
    while light.height() <= height + 1 {
        let peer = peers.pick()?;
        let req = pb::SyncRequest { from_height: light.height(), max_blocks: BLOCKS_PER_REQUEST, snapshot: None };
        let res = match peers.net.request_blocks(peer, req).await {
            Ok(res) if !res.blocks.is_empty() => res,
            _ => {
                peers.failed("blocks").await?;
                continue;
            }
        };
        peers.failures = 0;
        for cb in res.blocks {
            let h = light.height();
            let checked = check_block(&light, &cb);
            let (header, _) = match checked {
                Ok(hc) => hc,
                Err(e) => {
                    peers.drop_peer(peer, "bad_sync_block", &format!("{e:#}"));
                    break;
                }
            };
            if h == height {
                tip = Some(CertifiedBlock::from_pb(cb, |_| None).context("the snapshot's block does not decode")?);
            }
            if h == height + 1 {
                let tip = tip.context("no block at the snapshot's height")?;
                return Ok((tip, header.state_root, light.set().clone()));
            }
            let set = if light.needs_set(&header) {
                let answer = peers.ask(peer, What::ValidatorsAt(h + 1), 0).await?;
                let set = answer.validators.context("the peer has no validator set for it")?;
                Some(ValidatorSet::from_pb(set).map_err(|e| anyhow::anyhow!("{e}"))?)
            } else {
                None
            };
            if let Err(e) = light.advance(&header, set) {
                peers.drop_peer(peer, "bad_validator_set", &e.to_string());
                break;
            }
        }
    }
    bail!("the chain ended before block {}", height + 1)
}

/// Decodes a block's header and certificate and checks them against the light chain.
fn check_block(light: &LightChain, cb: &pb::CertifiedBlock) -> Result<(Header, Certificate)> {
    let header = cb.block.as_ref().and_then(|b| b.header.clone()).context("a block without a header")?;
    let header = Header::from_pb(header)?;
    let cert = Certificate::from_pb(cb.certificate.clone().context("a block without a certificate")?)?;
    light.verify(&header, &cert)?;
    Ok((header, cert))
}
