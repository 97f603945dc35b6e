#!/usr/bin/env python3
"""The per-tx CPU budget of a profiled testnet (scripts/profile.sh): the validators' samples
(`perf report --pid … --sort dso,sym`, OUT/nodes.txt) bucketed by symbol, in µs of CPU per
committed tx per node; the share of everything else from OUT/all.txt (`--sort comm`).

usage: perf_budget.py OUT SECS HZ
"""
import json
import re
import sys

# First match wins: the order puts specific crates before the generic runtime and allocator.
BUCKETS = [
    ("signature checks (ed25519, SHA-512)",
     r"curve25519|ed25519|zebra|sha2::|sha512|Sha512|FieldElement|EdwardsPoint|Scalar|scalar_mul|"
     r"multiscalar|straus|pippenger|vartime|decompress|backend::serial|backend::vector|edwards"),
    ("RocksDB", r"rocksdb|InlineSkipList|MemTable|WriteBatch|crc32c|snappy|lz4|zstd|LZ4|ZSTD|"
                r"BlockBuilder|Compaction|TableBuilder|DBImpl|WriteThread|Arena::|ThreadLocalPtr"),
    ("gossip and p2p (libp2p, yamux, noise)",
     r"libp2p|yamux|noise|snow::|chacha|poly1305|gossipsub|multistream|quick_protobuf|asynchronous_codec"),
    ("RPC (JSON-RPC, gRPC, HTTP)", r"jsonrpsee|hyper|serde_json|tonic|\bh2::|http::|tower|cairn_rpc|axum"),
    ("decoding and encoding (protobuf)", r"prost|cairn_proto::.*(decode|encode|from_pb|to_pb)|encoded_len|varint"),
    ("mempool", r"cairn_mempool|papaya|crossbeam_skiplist|seize"),
    ("execution and account tree", r"cairn_state|blake3|merkle|jmt"),
    ("consensus and engine", r"cairn_consensus|cairn_engine"),
    ("node wiring", r"cairn_node|cairn_network"),
    ("memcpy / memmove", r"memcpy|memmove|memset|memcmp"),
    ("allocator", r"mimalloc|\bmi_|_mi_|malloc|\bfree\b|_int_free|cfree|realloc|__rust_alloc|__rust_dealloc|alloc::raw_vec"),
    ("async runtime, threads, locks", r"tokio|rayon|crossbeam|parking_lot|futex|std::sync|std::thread"),
]


def bucket(dso, sym, kernel):
    if kernel:
        return "kernel (syscalls, TCP, scheduling, page faults)"
    for name, pattern in BUCKETS:
        if re.search(pattern, sym) or re.search(pattern, dso):
            return name
    return "other"


def main():
    out, secs, hz = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    n = len(open(f"{out}/pids").read().split()) or 1
    load = json.load(open(f"{out}/load.json"))
    tps = float(load.get("tps_committed") or 0)
    sym_line = re.compile(r"^\s*([\d.]+)%\s+(\d+)\s+(\S+)\s+\[(.)\]\s+(.*)$")
    per_bucket, node_samples = {}, 0
    for raw in open(f"{out}/nodes.txt", errors="replace"):
        m = sym_line.match(raw)
        if m:
            _, samples, dso, kind, sym = m.groups()
            node_samples += int(samples)
            b = bucket(dso, sym, kind == "k")
            per_bucket[b] = per_bucket.get(b, 0) + int(samples)
    comm_line = re.compile(r"^\s*([\d.]+)%\s+(\d+)\s+(.+?)\s*$")
    comms = {}
    for raw in open(f"{out}/all.txt", errors="replace"):
        m = comm_line.match(raw)
        if m and not raw.lstrip().startswith("#"):
            comms[m.group(3)] = int(m.group(2))
    total = sum(comms.values()) or 1
    txs = tps * secs

    def us(s):
        return s / hz / n / txs * 1e6 if txs else float("nan")

    print(f"{n} validators, {tps:,.0f} committed tx/s (load report), {secs:.0f} s sampled at {hz:.0f} Hz")
    print(f"each validator: {node_samples / hz / n / secs:.2f} cores, **{us(node_samples):.1f} µs of CPU per tx**;"
          f" the validators took {100 * node_samples / total:.0f} % of all samples (2 cores = 200 %:"
          f" {100 * node_samples / hz / secs / 2:.0f} % of the machine)")
    print()
    print("| bucket | µs per tx per node | share |")
    print("|---|---|---|")
    for b, s in sorted(per_bucket.items(), key=lambda kv: -kv[1]):
        print(f"| {b} | {us(s):.1f} | {100 * s / node_samples:.0f} % |")
    print()
    top = sorted(comms.items(), key=lambda kv: -kv[1])[:6]
    print("all samples by thread name: " + ", ".join(f"{c} {100 * s / total:.0f} %" for c, s in top))


if __name__ == "__main__":
    main()
