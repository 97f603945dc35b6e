#!/usr/bin/env bash
# Validates everything in deploy/ that can be validated without a Docker engine or a cluster:
#   Dockerfile        hadolint
#   compose file      the compose-spec JSON schema (check-jsonschema) and `docker-compose config`
#                     (Debian's Compose v1: parses, merges anchors, interpolates), bind mounts exist
#   Prometheus        promtool check config (both scrape configs) / check rules / test rules
#   Grafana           provisioning YAML, dashboard JSON, every panel query parses as PromQL
#                     (promtool), datasource uid and dashboard path agree with the provisioning
#   Kubernetes        prepare.sh on a fresh `cairn testnet init`, `kubectl kustomize`, then every
#                     rendered object against the Kubernetes JSON schemas (kubernetes-validate --strict)
#   metric names      every cairn_ name used is registered somewhere in the Rust sources; with
#                     --metrics FILE (a scrape of a running node), every name used is in it too
#                     and `promtool check metrics` accepts it
# The node test `deploy_files_pass_offline_validation` runs this with --metrics and the binary;
# scripts/setup.sh installs the tools. Needs CAIRN_BIN (the cairn binary) for the k8s part.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
metrics=""
while [ $# -gt 0 ]; do
  case "$1" in
    --metrics) metrics="$2"; shift 2 ;;
    *) echo "usage: check.sh [--metrics FILE]" >&2; exit 2 ;;
  esac
done
for tool in hadolint check-jsonschema docker-compose promtool kubectl kubernetes-validate python3; do
  command -v "$tool" >/dev/null || { echo "check.sh: $tool not found (run scripts/setup.sh)" >&2; exit 1; }
done
cairn="${CAIRN_BIN:-}"
[ -x "$cairn" ] || { echo "check.sh: set CAIRN_BIN to the cairn binary" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
step() { echo "== $*"; }

step "Dockerfile (hadolint)"
hadolint --config "$here/.hadolint.yaml" "$here/Dockerfile"

step "docker-compose.yml (compose-spec schema, docker-compose config)"
check-jsonschema --builtin-schema vendor.compose-spec "$here/docker-compose.yml"
docker-compose -f "$here/docker-compose.yml" config -q
python3 - "$here/docker-compose.yml" <<'EOF'
import os, sys, yaml
path = sys.argv[1]
doc = yaml.safe_load(open(path))
base = os.path.dirname(path)
for name, svc in doc["services"].items():
    for v in svc.get("volumes", []):
        src = v.split(":")[0]
        if src.startswith("."):
            assert os.path.exists(os.path.join(base, src)), f"{name}: bind mount {src} does not exist"
nodes = [n for n in doc["services"] if n.startswith("node")]
assert len(nodes) == 4, nodes
print(f"ok -- {len(doc['services'])} services, bind mounts present")
EOF

step "Prometheus (promtool)"
promtool check config "$here/prometheus/local.yml"
promtool check config "$here/prometheus/compose.yml"
promtool check rules "$here/prometheus/alerts.yml"
(cd "$here/prometheus" && promtool test rules alerts_test.yml)

step "Grafana (provisioning, dashboard JSON, PromQL of every panel)"
python3 - "$here" "$tmp/dashboard_rules.yml" <<'EOF'
import json, sys, yaml
here, out = sys.argv[1], sys.argv[2]
ds = yaml.safe_load(open(f"{here}/grafana/provisioning/datasources/prometheus.yml"))["datasources"]
uids = {d["uid"] for d in ds}
prov = yaml.safe_load(open(f"{here}/grafana/provisioning/dashboards/cairn.yml"))["providers"]
compose = yaml.safe_load(open(f"{here}/docker-compose.yml"))
mounts = [v.split(":")[1] for v in compose["services"]["grafana"]["volumes"]]
for p in prov:
    assert p["options"]["path"] in mounts, f"dashboard path {p['options']['path']} not mounted in compose"
dash = json.load(open(f"{here}/grafana/dashboards/cairn.json"))
rules, titles = [], set()
for panel in dash["panels"]:
    if panel["type"] == "row":
        continue
    key = (panel["type"], panel["title"])
    assert key not in titles, f"duplicate panel {key}"
    titles.add(key)
    assert panel["datasource"]["uid"] in uids, f"{panel['title']}: unknown datasource"
    assert panel["targets"], f"{panel['title']}: no query"
    for t in panel["targets"]:
        assert t["datasource"]["uid"] in uids
        # Grafana's variables, as Grafana would substitute them for "All".
        expr = t["expr"].replace("$instance", ".*")
        rules.append({"record": f"dashboard:panel{panel['id']}:{t['refId']}", "expr": expr})
for needed in ["Height", "Block interval", "Committed tx/s", "Mempool size", "Peers", "RPC latency", "State commit time"]:
    assert ("timeseries", needed) in titles, f"dashboard lacks a {needed} graph"
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(out, "w"))
print(f"ok -- {len(dash['panels'])} panels, {len(rules)} queries")
EOF
promtool check rules "$tmp/dashboard_rules.yml"

step "Kubernetes (kustomize + JSON schemas)"
"$cairn" testnet init --dir "$tmp/testnet" --validators 4 --accounts 1 >/dev/null
cp -r "$here/k8s" "$tmp/k8s"
rm -rf "$tmp/k8s/generated"
"$here/k8s/prepare.sh" "$tmp/testnet" "$tmp/k8s/generated"
[ "$(wc -l < "$tmp/k8s/generated/peers.txt")" -eq 4 ] || { echo "peers.txt should list 4 peer ids" >&2; exit 1; }
kubectl kustomize "$tmp/k8s" > "$tmp/k8s.yaml"
kubernetes-validate --strict --quiet "$tmp/k8s.yaml"
python3 - "$tmp/k8s.yaml" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = sorted(d["kind"] for d in docs)
assert kinds == ["ConfigMap", "Namespace", "PodDisruptionBudget", "Secret", "Service", "Service", "StatefulSet"], kinds
sts = next(d for d in docs if d["kind"] == "StatefulSet")
c = sts["spec"]["template"]["spec"]["containers"][0]
assert c["livenessProbe"]["httpGet"]["path"] == "/livez" and c["readinessProbe"]["httpGet"]["path"] == "/readyz"
assert sts["spec"]["volumeClaimTemplates"], "no persistent volume"
names = {d["metadata"]["name"] for d in docs}
vols = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
# kustomize renamed the generated objects (hash suffix) and the references with them.
assert vols["chain"]["configMap"]["name"] in names and vols["keys"]["secret"]["secretName"] in names
print(f"ok -- {len(docs)} objects: {', '.join(kinds)}")
EOF

step "metric names"
python3 - "$repo" "$metrics" <<'EOF'
import pathlib, re, sys
repo, metrics = pathlib.Path(sys.argv[1]), sys.argv[2]
used = set()
for f in ["deploy/prometheus/alerts.yml", "deploy/grafana/dashboards/cairn.json"]:
    used |= set(re.findall(r"\b((?:cairn|process)_[a-z0-9_]+)", (repo / f).read_text()))
base = lambda n: re.sub(r"_(bucket|sum|count)$", "", n)
registered = set()
for src in repo.glob("*/src/**/*.rs"):
    registered |= set(re.findall(r'"(cairn_[a-z0-9_]+)"', src.read_text()))
missing = sorted(n for n in used if n.startswith("cairn_") and base(n) not in registered)
assert not missing, f"used in deploy/ but registered nowhere in the Rust sources: {missing}"
if metrics:
    exposed = set(re.findall(r"^([a-z_][a-z0-9_]*)[{ ]", pathlib.Path(metrics).read_text(), re.M))
    exposed |= {base(n) for n in exposed}  # a histogram's family name
    missing = sorted(n for n in used if n not in exposed)
    assert not missing, f"used in deploy/ but not on a running node's /metrics: {missing}"
    print(f"ok -- {len(used)} names, all registered and all on the node's /metrics")
else:
    print(f"ok -- {len(used)} names registered (no --metrics: not compared with a running node)")
EOF
if [ -n "$metrics" ]; then
  promtool check metrics < "$metrics"
  echo "ok -- promtool check metrics"
fi
echo "deploy/check.sh: all checks passed"
