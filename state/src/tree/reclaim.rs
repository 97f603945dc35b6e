//! Frees retired tree versions off the commit path.
//!
//! When a version leaves the in-memory cache, the nodes only it referenced (≈ 150k of them for
//! a 10k-transfer block at 1M accounts) are freed by the last `Arc` drop — a 30–50 ms walk
//! that used to run inside `commit_block`. The reclaimer hands retired versions to one
//! background thread instead, so the commit returns as soon as its own work is done.
use super::Tree;
use std::sync::mpsc;
use std::thread::JoinHandle;

pub struct Reclaimer {
    retired: Option<mpsc::Sender<Tree>>,
    thread: Option<JoinHandle<()>>,
}

impl Reclaimer {
    pub fn start() -> Reclaimer {
        let (tx, rx) = mpsc::channel::<Tree>();
        let thread = std::thread::Builder::new()
            .name("cairn-state-reclaim".into())
            // Each received tree is dropped at the end of its iteration.
            .spawn(move || rx.into_iter().for_each(drop))
            .ok();
        // Without the thread (spawn failed) versions are freed inline, as before.
        Reclaimer { retired: thread.as_ref().map(|_| tx), thread }
    }

    /// Frees `tree` in the background (inline if the thread could not start).
    pub fn retire(&self, tree: Tree) {
        if let Some(Err(mpsc::SendError(tree))) = self.retired.as_ref().map(|s| s.send(tree)) {
            drop(tree);
        }
    }
}

impl Drop for Reclaimer {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it has freed what it holds.
        self.retired.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
