//! Logs via `tracing`: the level from `RUST_LOG` (or the config's `log.level`), text or JSON.
use tracing_subscriber::EnvFilter;

pub fn init(default_level: &str, json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{default_level},libp2p_gossipsub=warn,libp2p_swarm=warn,jsonrpsee=warn,h2=warn,hyper=warn"
        ))
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    // A second init (tests, or a command that initialises twice) is harmless.
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
