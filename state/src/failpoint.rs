//! Crash points for the crash-cut tests: with the `failpoints` feature, a process whose
//! `CAIRN_STATE_FAILPOINT` names a point exits on the spot (no destructors, no flush), as
//! `kill -9` would. Without the feature every point compiles to nothing.

/// Exit code of a process stopped at a fail point.
pub const EXIT_CODE: i32 = 86;

/// The points, in the order a commit passes them; then those of the background indexing of
/// the committed diff (`index:*`), which runs beside the next commit.
pub const POINTS: [&str; 7] = [
    "commit:executed",
    "commit:batch_built",
    "commit:written",
    "commit:applied",
    "prune:written",
    "index:start",
    "index:written",
];

#[cfg(feature = "failpoints")]
pub(crate) fn hit(name: &str) {
    if std::env::var("CAIRN_STATE_FAILPOINT").is_ok_and(|v| v == name) {
        std::process::exit(EXIT_CODE);
    }
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub(crate) fn hit(_name: &str) {}
