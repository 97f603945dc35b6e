//! Operations: `/health`, `/livez`, `/readyz`, `/metrics`, gRPC health and reflection.
use crate::Harness;
use futures::StreamExt;
use serde_json::json;
use std::time::Duration;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

async fn status(url: String) -> u16 {
    reqwest::get(url).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn health_paths_follow_liveness_and_readiness() {
    let h = Harness::start().await;
    for p in ["/health", "/livez", "/readyz"] {
        assert_eq!(status(format!("{}{p}", h.http)).await, 200, "{p}");
    }
    h.node.inner.lock().ready = false;
    assert_eq!(status(format!("{}/readyz", h.http)).await, 503);
    assert_eq!(status(format!("{}/livez", h.http)).await, 200, "not caught up is still live");
    h.node.inner.lock().live = false;
    assert_eq!(status(format!("{}/livez", h.http)).await, 503);
    assert_eq!(status(format!("{}/health", h.http)).await, 200, "the process still serves");
    h.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_method() {
    let h = Harness::start().await;
    let fresh = reqwest::get(&h.metrics).await.unwrap().text().await.unwrap();
    assert!(fresh.contains(r#"cairn_rpc_requests_total{method="tx_submit"} 0"#), "known methods start at 0: {fresh}");
    h.result("chain_status", json!([])).await;
    h.result("chain_status", json!([])).await;
    h.call("no_such_method", json!([])).await;
    let mut g = h.grpc_client().await;
    g.status(cairn_proto::pb::StatusRequest {}).await.unwrap();

    let rp = reqwest::get(&h.metrics).await.unwrap();
    assert_eq!(rp.status().as_u16(), 200);
    assert!(rp.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = rp.text().await.unwrap();
    assert!(text.contains(r#"cairn_rpc_requests_total{method="chain_status"} 2"#), "{text}");
    assert!(text.contains(r#"cairn_rpc_requests_total{method="other"} 1"#), "unknown methods share one label");
    assert!(text.contains(r#"cairn_rpc_requests_total{method="grpc.Status"} 1"#));
    assert!(text.contains("# TYPE cairn_rpc_request_duration_seconds histogram"));
    assert!(text.contains(r#"cairn_rpc_request_duration_seconds_count{method="chain_status"} 2"#));
    assert_eq!(status(h.metrics.replace("/metrics", "/other")).await, 404);
    h.stop().await;
}

#[tokio::test]
async fn grpc_health_reports_serving_and_readiness() {
    let h = Harness::start().await;
    let mut c = HealthClient::new(h.grpc_channel().await);
    let check = |service: &str| HealthCheckRequest { service: service.into() };
    let overall = c.check(check("")).await.unwrap().into_inner();
    assert_eq!(overall.status, ServingStatus::Serving as i32);
    assert_eq!(c.check(check("cairn.v1.Node")).await.unwrap().into_inner().status, ServingStatus::Serving as i32);

    h.node.inner.lock().ready = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let s = c.check(check("cairn.v1.Node")).await.unwrap().into_inner().status;
        if s == ServingStatus::NotServing as i32 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "readiness never reached gRPC health");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(c.check(check("")).await.unwrap().into_inner().status, ServingStatus::Serving as i32);
    h.stop().await;
}

#[tokio::test]
async fn reflection_lists_the_node_service_v1_and_v1alpha() {
    let h = Harness::start().await;
    {
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        let mut c = ServerReflectionClient::new(h.grpc_channel().await);
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut rp = c.server_reflection_info(futures::stream::iter([req])).await.unwrap().into_inner();
        let Some(MessageResponse::ListServicesResponse(list)) = rp.next().await.unwrap().unwrap().message_response
        else {
            panic!("not a list")
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        assert!(names.contains(&"cairn.v1.Node".to_string()), "{names:?}");
        assert!(names.contains(&"grpc.health.v1.Health".to_string()), "{names:?}");

        // A stock client can fetch the descriptor of the service by symbol.
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol("cairn.v1.Node".into())),
        };
        let mut rp = c.server_reflection_info(futures::stream::iter([req])).await.unwrap().into_inner();
        let Some(MessageResponse::FileDescriptorResponse(fd)) = rp.next().await.unwrap().unwrap().message_response
        else {
            panic!("no descriptor")
        };
        assert!(!fd.file_descriptor_proto.is_empty());
    }
    {
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
        let mut c = ServerReflectionClient::new(h.grpc_channel().await);
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut rp = c.server_reflection_info(futures::stream::iter([req])).await.unwrap().into_inner();
        let Some(MessageResponse::ListServicesResponse(list)) = rp.next().await.unwrap().unwrap().message_response
        else {
            panic!("not a list")
        };
        assert!(list.service.iter().any(|s| s.name == "cairn.v1.Node"), "v1alpha (Python grpcio-reflection) sees it");
    }
    h.stop().await;
}

#[tokio::test]
async fn stop_releases_the_ports() {
    let h = Harness::start().await;
    let (j, g, m) = h.handle.as_ref().unwrap().local_addrs();
    h.stop().await;
    for a in [j, g, m] {
        tokio::net::TcpListener::bind(a).await.unwrap_or_else(|e| panic!("{a} still bound: {e}"));
    }
}

/// The value of the series of `name` whose labels include every `(label, value)` of `labels`.
fn series(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|(k, v)| l.contains(&format!("{k}=\"{v}\""))))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn metrics_count_errors_by_kind() {
    let h = Harness::start_with(|c| c.request_timeout = Duration::from_millis(200)).await;
    h.call("no_such_method", json!([])).await;
    h.call("tx_get", json!(["not hex"])).await;
    // A batch: a good call and a bad one, told apart by id.
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "chain_status", "params": []},
        {"jsonrpc": "2.0", "id": "two", "method": "tx_get", "params": ["zz"]},
    ]);
    h.post_raw(batch.to_string()).await;
    let mut g = h.grpc_client().await;
    g.get_tx(cairn_proto::pb::GetTxRequest { hash: vec![1, 2, 3].into() }).await.unwrap_err();
    // A call the node does not answer in time is the server's failure.
    h.node.inner.lock().submit_delay = Duration::from_secs(3);
    let tx = crate::fake::transfer(&h.keys[0], 0, 1, 1, crate::fake::CHAIN_ID);
    let rp = h.call("tx_submit", json!([crate::tx_hex(&tx)])).await;
    assert_eq!(rp["error"]["code"], cairn_rpc::TIMEOUT_CODE, "{rp}");

    let text = reqwest::get(&h.metrics).await.unwrap().text().await.unwrap();
    let errors = |method, kind| series(&text, "cairn_rpc_errors_total", &[("method", method), ("kind", kind)]);
    assert_eq!(errors("other", "client"), Some(1.0), "{text}");
    assert_eq!(errors("tx_get", "client"), Some(2.0));
    assert_eq!(errors("grpc.GetTx", "client"), Some(1.0));
    assert_eq!(errors("tx_submit", "server"), Some(1.0));
    assert_eq!(errors("chain_status", "client"), Some(0.0), "the good call of the batch");
    assert_eq!(errors("chain_status", "server"), Some(0.0));
    assert_eq!(series(&text, "cairn_rpc_requests_total", &[("method", "chain_status")]), Some(1.0));
    h.stop().await;
}

#[tokio::test]
async fn metrics_show_the_process_and_the_validator_set() {
    let h = Harness::start().await;
    let text = reqwest::get(&h.metrics).await.unwrap().text().await.unwrap();
    // The fake node has one validator; its one validator peer claims an address outside the set.
    assert_eq!(series(&text, "cairn_consensus_validators", &[]), Some(1.0), "{text}");
    assert_eq!(series(&text, "cairn_p2p_validator_peers", &[]), Some(0.0));
    for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_max_fds"] {
        let v = series(&text, name, &[]).unwrap_or_else(|| panic!("/metrics lacks {name}"));
        assert!(v > 0.0 || name == "process_cpu_seconds_total", "{name} = {v}");
    }
    h.stop().await;
}

#[tokio::test]
async fn dashboard_is_served_on_the_jsonrpc_port() {
    let h = Harness::start().await;
    let rp = reqwest::get(format!("{}/dashboard", h.http)).await.unwrap();
    assert_eq!(rp.status().as_u16(), 200);
    assert_eq!(rp.headers()["content-type"], "text/html; charset=utf-8");
    let csp = rp.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"), "{csp}");
    let body = rp.text().await.unwrap();
    assert!(body.starts_with("<!doctype html>") && body.contains("chain_subscribeNewHeads"));
    // The JSON-RPC on the same port is unaffected.
    assert_eq!(h.result("chain_status", json!([])).await["chain_id"], crate::fake::CHAIN_ID);
    assert_ne!(status(format!("{}/dashboard/other", h.http)).await, 200, "only the page's own path");
    h.stop().await;
}
