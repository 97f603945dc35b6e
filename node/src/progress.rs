//! Progress bars for the CLI's long operations (indicatif, on stderr, drawn only on a
//! terminal, so scripts and logs see nothing of them).
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A bar counting `total` items, labelled `what`.
pub fn counter(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg:>24} [{bar:40}] {pos}/{len} ({eta} left)")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// A spinner with elapsed time, for a step of unknown length.
pub fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"));
    bar.set_message(what.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Bytes of every file under `dir` (0 if it does not exist).
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

/// Shows the copy of `total` bytes into `target` as a byte bar, by watching the directory grow
/// (the copy itself runs elsewhere, in the state crate or RocksDB); once the bytes are there,
/// the bar turns into a spinner saying `then`. Stops when dropped.
pub struct CopyWatch {
    bar: ProgressBar,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CopyWatch {
    pub fn start(target: PathBuf, total: u64, what: &str, then: &'static str) -> CopyWatch {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{msg:>20} [{bar:40}] {bytes}/{total_bytes} ({binary_bytes_per_sec})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (bar, stop) = (bar.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut copied = false;
                while !stop.load(Ordering::Relaxed) {
                    let now = dir_bytes(&target).min(total);
                    bar.set_position(now);
                    if !copied && now >= total {
                        copied = true;
                        bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid"));
                        bar.set_message(then);
                        bar.enable_steady_tick(Duration::from_millis(120));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        CopyWatch { bar, stop, thread: Some(thread) }
    }
}

impl Drop for CopyWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.bar.finish_and_clear();
    }
}
