#!/usr/bin/env bash
# The nodes' whole CPU per committed transaction over one load run, background work included.
#
#   scripts/node_cpu.sh [RATE] [SECS] [KEY=VALUE ...]     (defaults: 8000 tx/s, 60 s)
#
# Starts a fresh four-validator testnet (2,000 accounts) from `$CAIRN` (default
# target/release/cairn) with the given node environment, offers RATE tx/s with `cairn load`
# for SECS, and prints the four nodes' user + system CPU time over the load (from
# /proc/PID/stat, so RocksDB's flushes and compactions count, which a short `perf` window may
# miss) divided by the committed txs, with the load's p50/p99, then each RocksDB flush of
# node 1 (ms, entries) by column family. Run it alone: it measures the machine. Compare two
# builds in alternating runs (CAIRN=old …; CAIRN=new …; repeat).
set -euo pipefail
RATE=${1:-8000}
SECS=${2:-60}
shift $(($# < 2 ? $# : 2))
CAIRN=${CAIRN:-target/release/cairn}
[ -x "$CAIRN" ] || { echo "no $CAIRN: cargo build --release -p cairn-node" >&2; exit 1; }
DIR=$(mktemp -d)
"$CAIRN" testnet init --dir "$DIR" --validators 4 --accounts 2000 > /dev/null
env "$@" "$CAIRN" testnet start --dir "$DIR" > "$DIR/testnet.log" 2>&1 &
TN=$!
trap 'kill -INT "$TN" 2> /dev/null; wait "$TN" 2> /dev/null; rm -rf "$DIR"' EXIT
sleep 8
PIDS=$(pgrep -f "start --home $DIR")
ticks() { for p in $PIDS; do awk '{print $14 + $15}' "/proc/$p/stat"; done | awk '{s += $1} END {print s}'; }
RPC=http://127.0.0.1:26601,http://127.0.0.1:26611,http://127.0.0.1:26621,http://127.0.0.1:26631
before=$(ticks)
"$CAIRN" load --rpc "$RPC" --accounts "$DIR/accounts.json" --tps "$RATE" --duration "$SECS" --json > "$DIR/load.json"
after=$(ticks)
python3 - "$DIR/load.json" "$before" "$after" "$(getconf CLK_TCK)" "$DIR/node1/data/state/LOG" <<'PY'
import json, re, sys
load = json.load(open(sys.argv[1]))
cpu_s = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4])
n, lat = load["committed"], load["latency_ms"]
print(f"committed {n} at {load['tps_committed']:.0f} tx/s; the 4 nodes used {cpu_s:.1f} CPU s: "
      f"{cpu_s * 1e6 / n / 4:.1f} µs per tx per node; latency p50 {lat['p50']} ms, p99 {lat['p99']} ms")
cf_of, started, flushes = {}, {}, {}
for line in open(sys.argv[5]):
    m = re.search(r"\[(\w+)\] \[JOB (\d+)\] Flushing memtable", line)
    if m:
        cf_of[int(m.group(2))] = m.group(1)
    if "EVENT_LOG_v1" in line:
        e = json.loads(line[line.index("{"):])
        if e.get("event") == "flush_started":
            started[e["job"]] = (e["time_micros"], e["total_num_input_entries"])
        elif e.get("event") == "flush_finished" and e["job"] in started:
            t0, entries = started[e["job"]]
            flushes.setdefault(cf_of.get(e["job"], "?"), []).append(((e["time_micros"] - t0) // 1000, entries))
for cf, f in sorted(flushes.items()):
    print(f"node1 flushes of {cf} (ms, entries): {f}")
PY
