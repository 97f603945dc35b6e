//! The generated `config.toml`, commented: the config is serialized as it is (so values and
//! key order come from the structs), and each key gets the comment `DOCS` holds for it. A
//! test checks that every key of the serialized config has exactly one entry here and every
//! entry names a key, so a new field without a comment fails the build's tests.
use crate::config::NodeConfig;

/// `section.key` (or `key` at the top) → what it means. Units are in the key names.
pub const DOCS: &[(&str, &str)] = &[
    ("moniker", "A name for this node, shown to people (logs, the genesis entry of a validator)."),
    // [p2p]: cairn_network::NetworkConfig
    ("p2p.listen_addr", "TCP address the p2p layer listens on (0.0.0.0 = every interface)."),
    (
        "p2p.bootstrap",
        "Peers dialled at start and re-dialled with backoff whenever they go away: multiaddrs such as\n\
         /ip4/10.0.0.2/tcp/26600/p2p/12D3KooW… or /dns4/val1.example/tcp/26600 (the /p2p/ part is\n\
         optional). A list, or one comma-separated string (CAIRN_P2P__BOOTSTRAP=/dns4/a/tcp/26600,…).",
    ),
    (
        "p2p.external_addrs",
        "Addresses at which other hosts reach this node, announced to peers instead of the listen\n\
         address: set them behind NAT, in containers, or to be known by a DNS name\n\
         (/dns4/val0.example/tcp/26600). Empty: peers learn the listen addresses.",
    ),
    ("p2p.mesh_n", "Gossipsub mesh degree: the number of peers each message is pushed to."),
    ("p2p.mesh_n_low", "Gossipsub adds mesh peers below this many (1 <= mesh_n_low <= mesh_n)."),
    ("p2p.mesh_n_high", "Gossipsub prunes mesh peers above this many (>= mesh_n)."),
    ("p2p.max_message_bytes", "Largest gossip message (a proposal with its block); 8 MiB carries 10k txs."),
    ("p2p.max_peers", "Most established connections, inbound and outbound together."),
    ("p2p.sync_max_blocks", "Most blocks served in one block-sync response (larger requests are clamped)."),
    ("p2p.reconnect_backoff_max_ms", "Ceiling of the exponential backoff between re-dials of a bootstrap peer."),
    ("p2p.ping_interval_ms", "How often each connection is pinged."),
    ("p2p.ping_timeout_ms", "How long a connection may go without answering a ping before it is closed as dead (and the peer re-dialled)."),
    // [rpc]: cairn_rpc::RpcConfig
    (
        "rpc.jsonrpc_addr",
        "JSON-RPC over HTTP and WebSocket, /health, /livez, /readyz and /dashboard. Loopback by\n\
         default: bind 0.0.0.0 only behind a firewall or proxy.",
    ),
    ("rpc.grpc_addr", "gRPC (service cairn.v1.Node, health, reflection)."),
    ("rpc.metrics_addr", "Prometheus /metrics."),
    ("rpc.max_body_bytes", "Largest HTTP body or WebSocket message (HTTP 413 above); also caps gRPC messages."),
    ("rpc.max_batch", "Most calls in one JSON-RPC batch, and most txs in one tx_submitBatch or gRPC SubmitTx."),
    ("rpc.max_connections", "Most concurrent JSON-RPC connections (HTTP and WebSocket together)."),
    ("rpc.max_subscriptions_per_conn", "Most subscriptions on one connection (WebSocket, or gRPC SubscribeBlocks streams)."),
    ("rpc.max_subscriptions", "Most subscriptions open at once on the node, WebSocket and gRPC together."),
    (
        "rpc.rate_limit_per_sec",
        "Per-client-IP token bucket refill, tokens per second (HTTP 429 beyond); a call costs 1, a call with txs 1 per tx; 0 = off.",
    ),
    ("rpc.rate_limit_burst", "Per-client-IP token bucket capacity: the burst allowed after a quiet spell."),
    ("rpc.request_timeout_ms", "Deadline of one JSON-RPC method or gRPC unary call."),
    ("rpc.cors_origins", "Origins allowed by CORS (\"*\" for any); empty = no CORS headers."),
    (
        "rpc.trusted_proxies",
        "Reverse proxies whose X-Forwarded-For names the client (the rate-limit key); empty = the TCP peer is the client.",
    ),
    ("rpc.metrics_max_connections", "Most concurrent connections to the /metrics server; more are closed at once."),
    ("rpc.ws_buffer", "Messages buffered per WebSocket connection; a subscriber this far behind is dropped."),
    // [consensus]: the node's consensus timing and block limits
    ("consensus.timeout_propose_ms", "How long to wait for a proposal in round 0 (plus empty_block_interval_ms)."),
    ("consensus.timeout_prevote_ms", "How long to wait for more prevotes once 2/3 of any prevotes arrived."),
    ("consensus.timeout_precommit_ms", "How long to wait for more precommits once 2/3 of any precommits arrived."),
    ("consensus.timeout_delta_ms", "Added to each timeout per round, so later rounds wait longer."),
    ("consensus.empty_block_interval_ms", "With an empty mempool, the proposer waits this long before an empty block."),
    ("consensus.max_block_txs", "Most transactions in one block."),
    ("consensus.max_block_bytes", "Most encoded transaction bytes in one block."),
    ("consensus.max_clock_drift_ms", "A proposal timestamped further than this ahead of our clock is refused."),
    ("consensus.timeout_rebroadcast_ms", "How often own proposal and votes of an undecided height are sent again."),
    ("consensus.max_clock_lag_ms", "A fresh proposal timestamped further than this behind our clock is refused."),
    (
        "consensus.max_future_rounds",
        "Rounds above ours a validator may fill with votes; proposals further ahead are dropped.",
    ),
    (
        "consensus.future_heights",
        "Messages of up to this many heights ahead are kept until we get there; later ones trigger sync.",
    ),
    ("consensus.future_buffer_bytes", "Bytes of future-height messages kept (one validator at most its share)."),
    ("consensus.future_buffer_messages", "Future-height messages kept, whatever their size."),
    ("consensus.sync_retry_ms", "Least time between two sync requests triggered by messages of later heights."),
    ("consensus.event_queue", "Events waiting for the consensus thread; when full, the network's decoders wait."),
    ("consensus.peer_workers", "Threads decoding peers' consensus messages (and as many admitting their tx batches)."),
    (
        "consensus.peer_tx_batches_waiting",
        "Peers' tx batches waiting for an admission thread; more are dropped (cairn_mempool_peer_batches_dropped_total), never delaying consensus messages.",
    ),
    // [mempool]: cairn_mempool::MempoolConfig
    ("mempool.max_txs", "Most transactions held (mempool_full beyond, after trying to evict lower fees)."),
    ("mempool.max_bytes", "Most encoded bytes held."),
    ("mempool.max_tx_bytes", "Largest encoded transaction accepted (tx_too_large)."),
    ("mempool.sender_limit", "Most pending transactions of one sender (sender_limit)."),
    (
        "mempool.nonce_window",
        "Nonces up to committed + nonce_window - 1 are accepted (future ones wait); beyond,\n\
         nonce_too_high. Load generators should use the same window (cairn load --nonce-window).",
    ),
    ("mempool.min_fee", "Lowest fee accepted (fee_too_low); never below the protocol's floor of 1."),
    ("mempool.ttl_secs", "How long a transaction may wait in the pool before it is dropped."),
    (
        "mempool.verify_batch",
        "Most transactions checked in one ed25519 batch; a larger submission is cut into batches verified in parallel.",
    ),
    ("mempool.gossip_batch", "Most transactions in one gossip batch."),
    ("mempool.gossip_interval_ms", "Longest a locally admitted transaction waits for its gossip batch to fill."),
    ("mempool.gossip_channel", "Gossip batches queued for the network; beyond, batches are dropped (never blocks)."),
    (
        "mempool.recent_committed",
        "Recently committed tx hashes remembered to refuse replays as duplicate: at least the\n\
         latest half of this many, at most this many (older replays are refused as nonce_too_low).",
    ),
    // [state]: cairn_state::StateConfig
    (
        "state.retain_versions",
        "Heights whose account tree (values and proofs) is kept; older versions are pruned after\n\
         each commit. 0 keeps everything.",
    ),
    ("state.cached_versions", "Recent tree versions kept in memory for proofs without a rebuild."),
    ("state.sync_writes", "fsync RocksDB's write-ahead log on every block commit (turn off only for tests)."),
    ("state.block_cache_mb", "RocksDB block cache, MiB."),
    ("state.write_buffer_mb", "RocksDB memtable size per column family, MiB (up to 4 per family in memory)."),
    (
        "state.direct_io",
        "RocksDB flushes and compactions write with O_DIRECT, past the page cache, so a flush does\n\
         not stall the per-block fsyncs (ignored, with a warning, where the filesystem lacks it).",
    ),
    (
        "state.background_low_priority",
        "RocksDB's flush and compaction threads run at the lowest CPU priority (nice 19): a flush\n\
         uses CPU that consensus, admission and commits leave idle instead of competing with them.",
    ),
    // [state_sync]
    (
        "state_sync.snapshot_interval",
        "Make a state snapshot for joining nodes at every height divisible by this (0: none);\n\
         the newest two are kept, in memory.",
    ),
    (
        "state_sync.join",
        "On a first start (no state yet), restore the newest snapshot the bootstrap peers offer,\n\
         verified from genesis, instead of executing every block since genesis.",
    ),
    // [log]
    ("log.format", "\"text\" or \"json\" (one JSON object per line)."),
    ("log.level", "Filter when RUST_LOG is unset: a level (info, debug, …) or per-target directives."),
];

const HEADER: &str = "\
# Cairn node configuration (written by cairn; comments are regenerated when cairn rewrites it).
# Every key can be overridden by an environment variable CAIRN_<SECTION>__<KEY>, e.g.
# CAIRN_RPC__JSONRPC_ADDR=0.0.0.0:26601 or CAIRN_MONIKER=val0. A key left out takes its
# default. Durations are whole milliseconds (keys ending in _ms) or seconds (_secs).
";

fn doc(key: &str) -> Option<&'static str> {
    DOCS.iter().find(|(k, _)| *k == key).map(|(_, d)| *d)
}

/// The `key` of a `key = value` line at the start of a line, if this is one.
fn key_of(line: &str) -> Option<&str> {
    let (key, _) = line.split_once(" = ")?;
    key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_').then_some(key)
}

/// `cfg` as a TOML table.
pub fn table(cfg: &NodeConfig) -> toml::Table {
    match toml::Value::try_from(cfg).expect("config serializes") {
        toml::Value::Table(t) => t,
        _ => unreachable!("a struct serializes to a table"),
    }
}

/// `cfg` as TOML with `HEADER` and a comment above every key; where a value differs from the
/// default, the comment ends with the default.
pub fn render(cfg: &NodeConfig) -> String {
    let text = toml::to_string_pretty(cfg).expect("config serializes");
    let defaults = table(&NodeConfig::default());
    let current = table(cfg);
    let mut out = String::from(HEADER);
    let mut section: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.to_string());
        } else if let Some(key) = key_of(line) {
            let path = section.as_ref().map_or(key.to_string(), |s| format!("{s}.{key}"));
            out.push('\n');
            for l in doc(&path).unwrap_or("(undocumented)").lines() {
                out += &format!("# {}\n", l.trim());
            }
            let lookup = |t: &'_ toml::Table| match &section {
                Some(s) => t.get(s).and_then(|t| t.get(key)).cloned(),
                None => t.get(key).cloned(),
            };
            if let (Some(d), Some(c)) = (lookup(&defaults), lookup(&current)) {
                if d != c {
                    out += &format!("# (default: {d})\n");
                }
            }
        } else if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            out.push('\n');
        }
        out += line;
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every `section.key` of a serialized config.
    fn keys(cfg: &NodeConfig) -> BTreeSet<String> {
        let t = table(cfg);
        let mut keys = BTreeSet::new();
        for (k, v) in &t {
            match v.as_table() {
                Some(section) => keys.extend(section.keys().map(|f| format!("{k}.{f}"))),
                None => {
                    keys.insert(k.clone());
                }
            }
        }
        keys
    }

    #[test]
    fn every_key_has_a_comment_and_every_comment_a_key() {
        let documented: BTreeSet<String> = DOCS.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(documented.len(), DOCS.len(), "a key is documented twice");
        let serialized = keys(&NodeConfig::default());
        let undocumented: Vec<_> = serialized.difference(&documented).collect();
        assert!(undocumented.is_empty(), "config keys without a comment in DOCS: {undocumented:?}");
        let stale: Vec<_> = documented.difference(&serialized).collect();
        assert!(stale.is_empty(), "DOCS entries for keys that do not exist: {stale:?}");
    }

    #[test]
    fn rendered_config_comments_each_key_and_reads_back_equal() {
        let mut cfg = NodeConfig::default();
        cfg.p2p.bootstrap = vec!["/dns4/a/tcp/1".parse().unwrap(), "/dns4/b/tcp/1".parse().unwrap()];
        cfg.p2p.max_peers = 7;
        let text = render(&cfg);
        let lines: Vec<&str> = text.lines().collect();
        let mut seen = 0;
        for (i, line) in lines.iter().enumerate() {
            if key_of(line).is_some() {
                seen += 1;
                assert!(lines[i - 1].starts_with("# "), "no comment above {line:?}");
                assert!(!text.contains("(undocumented)"));
            }
        }
        assert_eq!(seen, keys(&cfg).len());
        assert!(text.contains("# (default: 100)\nmax_peers = 7"), "{text}");
        assert_eq!(NodeConfig::parse(&text, vec![]).unwrap(), cfg);
    }
}
