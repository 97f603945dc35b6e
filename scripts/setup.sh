#!/usr/bin/env bash
# Installs what building and testing Cairn needs beyond a Rust toolchain, only if missing:
# clang + libclang (bindgen for the RocksDB bindings), a C++ compiler and iproute2. Idempotent; quiet
# when everything is there already. Protobuf needs nothing: protox compiles the .proto files.
set -euo pipefail

missing=()
command -v clang >/dev/null 2>&1 || missing+=(clang)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
# clang-sys (bindgen) loads only the unversioned libclang.so / libclang-NN.so; a runtime-only
# libclang1-NN (libclang-NN.so.1, often preinstalled beside clang) does not satisfy it, nor
# does libclang-cpp.so.
has_libclang=false
for pattern in '/usr/lib/llvm-*/lib/libclang.so' '/usr/lib/llvm-*/lib/libclang-[0-9]*.so' '/usr/lib/*/libclang.so'; do
  compgen -G "$pattern" >/dev/null && has_libclang=true
done
$has_libclang || missing+=(libclang-dev)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# `ip netns` for the test that runs four validators in four network namespaces.
command -v ip >/dev/null 2>&1 || missing+=(iproute2)

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found; install Rust (rustup) first" >&2; exit 1; }
