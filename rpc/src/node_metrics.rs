//! Metrics that `/metrics` adds beside the crates' own: the process's (CPU seconds, resident
//! memory, open fds, threads, start time; Linux only, from `/proc`), and gauges read from the
//! node's API at scrape time that the alert rules need and no single crate owns:
//! `cairn_consensus_validators` (the size of the validator set) and `cairn_p2p_validator_peers`
//! (connected peers that are validators of it; their identity key is the validator key, so this
//! is exact). A validator with fewer validator peers than ⌊2n/3⌋ cannot gather a quorum of
//! equal-power validators.
use crate::api::NodeApi;
use crate::error::RpcError;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGauge, Registry};
use std::sync::Arc;

/// Gauges computed from [`NodeApi`] on every scrape (two cheap in-memory reads).
struct NodeGauges {
    api: Arc<dyn NodeApi>,
    validators: IntGauge,
    validator_peers: IntGauge,
}

impl Collector for NodeGauges {
    fn desc(&self) -> Vec<&Desc> {
        self.validators.desc().into_iter().chain(self.validator_peers.desc()).collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let set = self.api.validators(None).unwrap_or_default();
        let peers = self.api.peers();
        let members = peers.iter().filter(|p| p.validator.is_some_and(|a| set.iter().any(|v| v.address == a))).count();
        self.validators.set(i64::try_from(set.len()).unwrap_or(i64::MAX));
        self.validator_peers.set(i64::try_from(members).unwrap_or(i64::MAX));
        self.validators.collect().into_iter().chain(self.validator_peers.collect()).collect()
    }
}

fn metric_err(name: &'static str) -> impl FnOnce(prometheus::Error) -> RpcError {
    move |source| RpcError::Metrics { name, source }
}

/// Registers the process collector and the API gauges in `registry`.
pub(crate) fn register(registry: &Registry, api: Arc<dyn NodeApi>) -> Result<(), RpcError> {
    let validators = IntGauge::new("cairn_consensus_validators", "Validators in the current set")
        .map_err(metric_err("cairn_consensus_validators"))?;
    let validator_peers =
        IntGauge::new("cairn_p2p_validator_peers", "Connected peers that are validators of the current set")
            .map_err(metric_err("cairn_p2p_validator_peers"))?;
    registry
        .register(Box::new(NodeGauges { api, validators, validator_peers }))
        .map_err(metric_err("cairn_consensus_validators"))?;
    #[cfg(target_os = "linux")]
    registry
        .register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))
        .map_err(metric_err("process_cpu_seconds_total"))?;
    Ok(())
}
