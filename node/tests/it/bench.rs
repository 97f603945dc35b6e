//! `cairn bench` at two tiny rates with this debug binary: a fresh four-validator testnet per
//! rate, and a JSON report and an SVG plot whose content matches what was offered.
use crate::net::{base_port, bin, cairn};
use serde_json::Value;

#[test]
fn bench_writes_a_report_and_a_plot_per_rate() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (rates, duration) = ([20u64, 40], 3u64);
    let (ok, stdout, err) = cairn(&[
        "bench",
        "--binary",
        bin().to_str().unwrap(),
        "--rates",
        &rates.map(|r| r.to_string()).join(","),
        "--duration",
        &duration.to_string(),
        "--accounts",
        "20",
        "--senders",
        "10",
        "--base-port",
        &base_port(2).to_string(),
        "--drain-secs",
        "60",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "cairn bench failed: {err}");
    assert!(stdout.contains("bench.json") && stdout.contains("bench.svg"), "{stdout}");

    let text = std::fs::read_to_string(out.join("bench.json")).unwrap();
    let r: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["validators"], 4);
    assert_eq!((r["accounts"].as_u64(), r["senders"].as_u64()), (Some(20), Some(10)), "{r}");
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{r}");
    for (i, (run, rate)) in runs.iter().zip(rates).enumerate() {
        let total = rate * duration;
        let load = &run["load"];
        assert_eq!(run["offered_tps"], rate);
        assert_eq!(load["target_tps"], rate);
        assert_eq!(load["committed"], total, "every tx commits at a tiny rate: {load}");
        // The chain saw at least our txs, at a rate near the offered one.
        let chain = &run["chain"];
        assert!(chain["txs"].as_u64() >= Some(total), "{chain}");
        let tps = chain["tps"].as_f64().unwrap();
        assert!(tps > rate as f64 / 3.0 && tps < rate as f64 * 3.0, "chain tps {tps} for {rate} offered: {chain}");
        assert_eq!(
            chain["per_second"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).sum::<u64>(),
            chain["txs"].as_u64().unwrap()
        );
        for key in ["memory_start", "memory_end"] {
            let mem = run[key].as_array().unwrap();
            assert_eq!(mem.len(), 4, "{key}: {run}");
            for m in mem {
                let (rss, peak) = (m["rss_kib"].as_u64().unwrap(), m["peak_kib"].as_u64().unwrap());
                assert!(rss > 1024 && peak >= rss, "{key}: {m}");
            }
        }
        // A latency entry for each second of sending, together covering every committed tx.
        let seconds = run["latency_per_second"].as_array().unwrap();
        assert!(seconds.len() as u64 >= duration, "{run}");
        assert_eq!(seconds.iter().map(|s| s["committed"].as_u64().unwrap()).sum::<u64>(), total);
        for s in seconds {
            let l = &s["latency_ms"];
            let (p50, p99, max) = (l["p50"].as_f64().unwrap(), l["p99"].as_f64().unwrap(), l["max"].as_f64().unwrap());
            assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{s}");
        }
        // The testnet is gone, its logs are kept.
        let run_dir = out.join(format!("{:02}-{rate}tps", i + 1));
        assert!(run_dir.join("node3.log").is_file() && !run_dir.join("testnet").exists(), "{}", run_dir.display());
    }

    let svg = std::fs::read_to_string(out.join("bench.svg")).unwrap();
    assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"), "{svg}");
    assert!(svg.contains("committed tx/s") && svg.contains("latency to finality (ms)"));
    // A dot per rate on each of the four lines, with the measured values.
    assert_eq!(svg.matches("<circle").count(), 4 * rates.len());
    let p99 = runs[1]["load"]["latency_ms"]["p99"].as_f64().unwrap();
    let drawn: f64 = svg
        .split("<title>p99: ")
        .find_map(|t| t.split_once(" at 40 tx/s offered").and_then(|(v, _)| v.parse().ok()))
        .unwrap_or_else(|| panic!("no p99 dot at 40 tx/s: {svg}"));
    assert!((drawn - p99).abs() < 0.01, "plotted p99 {drawn}, reported {p99}");
    assert_well_formed_xml(&out.join("bench.svg"));

    // A second run into the same directory is refused before anything starts.
    let (ok, _, err) = cairn(&["bench", "--rates", "10", "--out", out.to_str().unwrap()]);
    assert!(!ok && err.contains("bench.json exists"), "{err}");
}

/// Parses the file with Python's XML parser, when python3 is there (the conformance client
/// needs it too).
fn assert_well_formed_xml(path: &std::path::Path) {
    let Ok(out) = std::process::Command::new("python3")
        .args(["-c", "import sys, xml.etree.ElementTree as E; print(E.parse(sys.argv[1]).getroot().tag)"])
        .arg(path)
        .output()
    else {
        eprintln!("python3 not found; SVG well-formedness not checked");
        return;
    };
    assert!(out.status.success(), "not well-formed XML: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "{http://www.w3.org/2000/svg}svg");
}
