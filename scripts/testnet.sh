#!/usr/bin/env bash
# Builds the node and starts the local four-validator testnet (bare `cairn testnet`) in
# ./localnet/testnet, created on first run; the repo's own testnet/ folder is the crate.
# Ctrl-C stops every node. Extra arguments go to `cairn testnet`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build -p cairn-node --bin cairn
bin="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/debug/cairn"
mkdir -p localnet
cd localnet
exec "$bin" testnet "$@"
