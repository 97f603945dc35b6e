#!/usr/bin/env bash
# Runs the whole test suite: unit, property, simulation, crash-cut and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo test --workspace "$@"
