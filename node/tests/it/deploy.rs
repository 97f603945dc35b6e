//! `deploy/`: the Dockerfile, the compose file, the Prometheus scrape configs, alert rules and
//! their `promtool test rules` cases, the Grafana provisioning and dashboard, and the
//! Kubernetes manifests pass every check that runs without a Docker engine or a cluster
//! (`deploy/check.sh`), with the metric names they use compared against the `/metrics` of a
//! real node, which `promtool check metrics` must accept.
use crate::net::{base_port, bin, scrape_metrics, wait_height, LocalNet};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_files_pass_offline_validation() {
    // Slot 1's ports above the dashboard test's single node.
    let mut ln = LocalNet::start_at(1, base_port(3));
    wait_height(&ln.client(0), 2, Duration::from_secs(60), &format!("startup, log:\n{}", ln.log_tail(0))).await;
    let body = scrape_metrics(cairn_testnet::NodePorts::for_node(ln.base, 0).metrics);
    ln.net.stop(Duration::from_secs(10));
    for line in ["cairn_consensus_validators 1", "cairn_p2p_validator_peers 0", "cairn_mempool_capacity 200000"] {
        assert!(body.lines().any(|l| l == line), "/metrics lacks `{line}`");
    }
    for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds"] {
        assert!(body.lines().any(|l| l.starts_with(&format!("{name} "))), "/metrics lacks {name}");
    }
    let sample = ln.dir.path().join("metrics.txt");
    std::fs::write(&sample, &body).unwrap();

    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("bash")
        .arg(repo.join("deploy/check.sh"))
        .arg("--metrics")
        .arg(&sample)
        .env("CAIRN_BIN", bin())
        .output()
        .expect("bash runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "deploy/check.sh failed:\n{text}");
    assert!(text.contains("deploy/check.sh: all checks passed"), "{text}");
}
