#!/usr/bin/env sh
# Copies what deploy/k8s needs from a testnet directory into deploy/k8s/generated/ (ignored by
# git; it holds validator secret keys): genesis.json, nodeI.json (validator I's key file) and
# peers.txt (validator I's libp2p peer id on line I+1, public).
#   cairn testnet init --dir /secure/place --validators 4
#   deploy/k8s/prepare.sh /secure/place
#   kubectl apply -k deploy/k8s
set -eu
src="${1:?usage: prepare.sh TESTNET_DIR (made by cairn testnet init --validators 4)}"
out="${2:-$(dirname "$0")/generated}"
mkdir -p "$out"
cp "$src/node0/genesis.json" "$out/genesis.json"
: > "$out/peers.txt"
for i in 0 1 2 3; do
  key="$src/node$i/validator_key.json"
  [ -f "$key" ] || { echo "prepare.sh: $key missing (the manifests run 4 validators)" >&2; exit 1; }
  cp "$key" "$out/node$i.json"
  chmod 600 "$out/node$i.json"
  id=$(sed -n 's/.*"peer_id": *"\([^"]*\)".*/\1/p' "$key")
  [ -n "$id" ] || { echo "prepare.sh: no peer_id in $key" >&2; exit 1; }
  echo "$id" >> "$out/peers.txt"
done
echo "prepared $out from $src"
