//! Locally admitted transactions leave for the network in batches. Admission hands each call's
//! admitted txs to a bounded channel (`try_send`: a full channel drops gossip, never blocks
//! admission); one batcher thread cuts them into batches of up to `gossip_batch`, sending a
//! partial batch once its first tx has waited `gossip_interval`.
use crate::MempoolConfig;
use cairn_proto::VerifiedTx;
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use parking_lot::Mutex;
use prometheus::IntCounter;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Batches of locally admitted transactions, for the network to gossip.
pub type GossipReceiver = Receiver<Vec<VerifiedTx>>;

pub(crate) struct Gossip {
    /// False until someone asked for the batches: until then, nothing is queued.
    enabled: AtomicBool,
    input: Sender<Vec<VerifiedTx>>,
    /// Taken by the batcher thread when `subscribe` starts it.
    input_rx: Mutex<Option<Receiver<Vec<VerifiedTx>>>>,
    dropped: IntCounter,
    batch: usize,
    interval: Duration,
    channel: usize,
}

impl Gossip {
    pub fn new(config: &MempoolConfig, dropped: IntCounter) -> Self {
        let (input, input_rx) = bounded(config.gossip_channel);
        Gossip {
            enabled: AtomicBool::new(false),
            input,
            input_rx: Mutex::new(Some(input_rx)),
            dropped,
            batch: config.gossip_batch,
            interval: config.gossip_interval,
            channel: config.gossip_channel,
        }
    }

    /// Queues txs for gossip, or drops them (counted) if the batcher is behind.
    pub fn offer(&self, txs: Vec<VerifiedTx>) {
        if txs.is_empty() || !self.enabled.load(Ordering::Relaxed) {
            return;
        }
        if let Err(TrySendError::Full(txs) | TrySendError::Disconnected(txs)) = self.input.try_send(txs) {
            self.dropped.inc_by(txs.len() as u64);
        }
    }

    /// Starts the batcher and returns its output. A second call gets a closed receiver.
    pub fn subscribe(&self) -> GossipReceiver {
        let (out, out_rx) = bounded(self.channel);
        let Some(input_rx) = self.input_rx.lock().take() else {
            tracing::warn!("gossip_receiver called twice; the second receiver is closed");
            return out_rx;
        };
        let batcher = Batcher { input: input_rx, out, dropped: self.dropped.clone(), batch: self.batch };
        let interval = self.interval;
        match std::thread::Builder::new().name("mempool-gossip".into()).spawn(move || batcher.run(interval)) {
            Ok(_) => self.enabled.store(true, Ordering::Relaxed),
            Err(e) => tracing::error!(error = %e, "cannot start the mempool gossip thread; gossip is off"),
        }
        out_rx
    }
}

struct Batcher {
    input: Receiver<Vec<VerifiedTx>>,
    out: Sender<Vec<VerifiedTx>>,
    dropped: IntCounter,
    batch: usize,
}

impl Batcher {
    /// Runs until the mempool is dropped (input closed) or the network drops its receiver.
    fn run(self, interval: Duration) {
        let mut buf: Vec<VerifiedTx> = Vec::new();
        let mut deadline: Option<Instant> = None;
        loop {
            let received = match deadline {
                None => self.input.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(d) => self.input.recv_deadline(d),
            };
            match received {
                Ok(txs) => {
                    if buf.is_empty() {
                        deadline = Some(Instant::now() + interval);
                    }
                    buf.extend(txs);
                    while buf.len() >= self.batch {
                        let rest = buf.split_off(self.batch);
                        if !self.send(std::mem::replace(&mut buf, rest)) {
                            return;
                        }
                    }
                    if buf.is_empty() {
                        deadline = None;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    deadline = None;
                    if !self.send(std::mem::take(&mut buf)) {
                        return;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    if !buf.is_empty() {
                        self.send(buf);
                    }
                    return;
                }
            }
        }
    }

    /// False once nobody listens any more.
    fn send(&self, batch: Vec<VerifiedTx>) -> bool {
        match self.out.try_send(batch) {
            Ok(()) => true,
            Err(TrySendError::Full(batch)) => {
                self.dropped.inc_by(batch.len() as u64);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}
