//! A proposer kill -9'd right after its block gathered prevotes. The proposer of height h,
//! round 0 is validator `h mod 4` in address order (`ValidatorSet::proposer`); each node's
//! address is from `cairn keys show`. We pick a height two ahead of the tip, watch the
//! proposer's log for the engine's `proposing height=h round=0` line (debug level), wait a few
//! milliseconds — on loopback the prevotes of the others arrive within that time, and the
//! delays vary from try to try to land on both sides of the polka — and kill it.
//!
//! What happened is read back from the chain afterwards: block h decided in round 0 means the
//! kill came after the precommits too; a later round with the killed node still named as the
//! header's proposer means its block had a polka and another validator re-proposed it (exactly
//! the case asked for); a later round with another proposer means the kill came before the
//! polka. The suite reports the three counts; it does not require any one of them, since the
//! window is milliseconds wide.
use super::check::Outcome;
use super::harness::Faulty;
use std::io::{Read, Seek, SeekFrom};
use std::time::{Duration, Instant};

/// Milliseconds between the "proposing" line and the kill, try by try.
const DELAYS_MS: [u64; 4] = [2, 8, 20, 50];

pub async fn kill_proposer_after_prevotes(f: &mut Faulty, tries: usize) -> Outcome {
    let all = [0, 1, 2, 3];
    // Each validator's address, from its key (`cairn keys show`).
    let addrs: Vec<String> = (0..4)
        .map(|i| {
            let home = f.ln.net.nodes[i].home.to_str().unwrap().to_string();
            let (ok, out, err) = crate::net::cairn(&["keys", "show", "--home", &home]);
            assert!(ok, "keys show: {err}");
            out.lines().find_map(|l| l.strip_prefix("address: ")).expect("an address line").trim().to_string()
        })
        .collect();
    let mut order = addrs.clone();
    order.sort();
    let proposer_of = |h: u64| addrs.iter().position(|a| *a == order[(h % 4) as usize]).unwrap();

    let load = f.load(tries as u64 * 6 + 4, &all);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut killed = vec![];
    let (mut healed, mut at_heal) = (Instant::now(), 0);
    for t in 0..tries {
        let h = f.top(&all).await + 2;
        let p = proposer_of(h);
        let mut log = std::fs::File::open(f.ln.net.nodes[p].log_file()).unwrap();
        log.seek(SeekFrom::End(0)).unwrap();
        let line = format!("height={h} round=0 ");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut tail = String::new();
        let mut polls = 0u64;
        let seen = loop {
            polls += 1;
            // Only what was appended since the last look: the debug log grows fast.
            let mut more = vec![];
            log.read_to_end(&mut more).unwrap();
            tail += &strip_ansi(&String::from_utf8_lossy(&more));
            if tail.lines().any(|l| l.contains("proposing") && l.contains(&line)) {
                break true;
            }
            if Instant::now() > deadline || (polls.is_multiple_of(50) && f.top(&all).await >= h) {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        if !seen {
            eprintln!("fault suite: proposer: node{p} was not seen proposing height {h}; try skipped");
            continue;
        }
        tokio::time::sleep(Duration::from_millis(DELAYS_MS[t % DELAYS_MS.len()])).await;
        f.crash(p);
        killed.push((h, p, DELAYS_MS[t % DELAYS_MS.len()]));
        tokio::time::sleep(Duration::from_secs(2)).await;
        f.restart(p);
        (healed, at_heal) = (Instant::now(), f.top(&all).await);
    }
    assert!(!killed.is_empty(), "no proposer was ever seen proposing");
    let what = format!("proposer killed right after proposing ({} tries)", killed.len());
    let out = super::scenarios::finish(f, &what, load, healed, at_heal).await;
    let (mut round0, mut reproposed, mut other) = (0, 0, 0);
    for (h, p, delay) in killed {
        let b = crate::net::block(&f.clients[0], h).await;
        let round = b["commit"]["round"].as_u64().unwrap();
        let by_killed = b["header"]["proposer"].as_str() == Some(addrs[p].as_str());
        match (round, by_killed) {
            (0, _) => round0 += 1,
            (_, true) => reproposed += 1,
            (_, false) => other += 1,
        }
        eprintln!("fault suite: proposer: height {h}, node{p} killed {delay} ms after proposing: decided in round {round}, header proposer the killed node: {by_killed}");
    }
    eprintln!("fault suite: proposer: decided in round 0 anyway {round0}, its block re-proposed after a polka {reproposed}, another block {other}");
    out
}

/// The log without ANSI colour codes (the fields of a coloured line are `height\x1b[..m=..`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
