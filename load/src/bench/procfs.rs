//! Resident memory of a process, from `/proc/PID/status` (Linux).
use crate::error::{LoadError, Result};
use serde::Serialize;

/// One process's memory, in KiB as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the most it has been resident since it started.
    pub peak_kib: u64,
}

/// Reads the memory of process `pid`.
pub fn memory(pid: u32) -> Result<Memory> {
    let path = std::path::PathBuf::from(format!("/proc/{pid}/status"));
    let text = std::fs::read_to_string(&path).map_err(|e| LoadError::file("cannot read", &path, e))?;
    parse_status(&text).ok_or_else(|| LoadError::Protocol(format!("{} lacks VmRSS or VmHWM", path.display())))
}

/// `VmRSS` and `VmHWM` of a `/proc/PID/status` text (`VmRSS:\t  12345 kB`).
fn parse_status(text: &str) -> Option<Memory> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse().ok())
    };
    Some(Memory { rss_kib: field("VmRSS")?, peak_kib: field("VmHWM")? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let m = memory(std::process::id()).unwrap();
        assert!(m.rss_kib > 0 && m.peak_kib >= m.rss_kib, "{m:?}");
    }

    #[test]
    fn parses_the_kernel_format_and_refuses_a_text_without_it() {
        let text = "Name:\tcairn\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t9\n";
        assert_eq!(parse_status(text), Some(Memory { rss_kib: 102400, peak_kib: 204800 }));
        assert_eq!(parse_status("Name:\tcairn\nVmRSS:\t 1 kB\n"), None);
        assert!(memory(u32::MAX).is_err(), "no such process");
    }
}
