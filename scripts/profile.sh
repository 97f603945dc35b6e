#!/usr/bin/env bash
# Profiles a loaded local testnet: where each validator's CPU goes, per committed transaction.
#
#   scripts/profile.sh [RATE] [SECS] [OUT]     (defaults: 8000 tx/s, 20 s, profile-out)
#
# Starts a fresh four-validator testnet (2,000 accounts) from `$CAIRN` (default
# target/release/cairn), offers RATE tx/s with `cairn load` for SECS + 15 s, and samples every
# CPU with `perf record -a` (999 Hz, no call graphs) for SECS s in the middle of the load.
# Writes OUT/perf.data, OUT/load.json, OUT/pids, the reports and OUT/budget.md: the nodes' CPU per
# committed tx, split into buckets by symbol (scripts/perf_budget.py). Run it alone: it
# measures the machine.
set -euo pipefail
RATE=${1:-8000}
SECS=${2:-20}
OUT=${3:-profile-out}
CAIRN=${CAIRN:-target/release/cairn}
command -v perf > /dev/null || { echo "profile.sh needs perf (apt install linux-perf)" >&2; exit 1; }
[ -x "$CAIRN" ] || { echo "no $CAIRN: cargo build --release -p cairn-node" >&2; exit 1; }
mkdir -p "$OUT"
DIR=$(mktemp -d)
trap 'kill -INT "$TN" 2> /dev/null; wait "$TN" 2> /dev/null; rm -rf "$DIR"' EXIT
"$CAIRN" testnet init --dir "$DIR" --validators 4 --accounts 2000 > /dev/null
"$CAIRN" testnet start --dir "$DIR" > "$OUT/testnet.log" 2>&1 &
TN=$!
RPC=http://127.0.0.1:26601,http://127.0.0.1:26611,http://127.0.0.1:26621,http://127.0.0.1:26631
status() {
  curl -s -X POST -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"chain_status","params":[]}' http://127.0.0.1:26601 |
    python3 -c 'import sys,json;print(json.load(sys.stdin)["result"]["height"])' 2> /dev/null || true
}
for _ in $(seq 1 60); do
  h=$(status)
  [ -n "$h" ] && [ "$h" -ge 2 ] && break
  sleep 1
done
pgrep -f "$CAIRN start --home $DIR" > "$OUT/pids" || pgrep -f "start --home $DIR" > "$OUT/pids"
"$CAIRN" load --rpc "$RPC" --accounts "$DIR/accounts.json" --tps "$RATE" --duration $((SECS + 15)) --json \
  > "$OUT/load.json" 2> "$OUT/load.err" &
LOAD=$!
sleep 8
perf record -F 999 -a -o "$OUT/perf.data" -- sleep "$SECS" 2> "$OUT/perf.err"
wait "$LOAD"
PIDS=$(paste -sd, "$OUT/pids")
perf report -i "$OUT/perf.data" --pid "$PIDS" --no-children --sort dso,sym --stdio -F overhead,sample,dso,sym \
  2> /dev/null > "$OUT/nodes.txt"
perf report -i "$OUT/perf.data" --no-children --sort comm --stdio -F overhead,sample,comm 2> /dev/null > "$OUT/all.txt"
python3 "$(dirname "$0")/perf_budget.py" "$OUT" "$SECS" 999 | tee "$OUT/budget.md"
