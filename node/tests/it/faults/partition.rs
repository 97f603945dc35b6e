//! Network partitions that heal, with the nodes in network namespaces of their own
//! (`hosts.rs`): the links across the cut are blackholed in every namespace, so the kernel
//! drops the packets (a real cut of the sockets, the processes run on), then the routes go and
//! the network is whole again. Load goes to all four nodes throughout, both sides admitting.
//! - **2|2**: neither side has a quorum (3 of 4): after what was in flight at the cut, no node
//!   makes a new height for the whole split, and each side's two nodes agree on their chain;
//!   after healing, resumption within the bounds of `check.rs`.
//! - **1|3**: the three make new heights all along; the isolated one makes none beyond one in
//!   flight, and after healing catches up within `CATCH_UP_BOUND`.
//!
//! Each is followed by every check of `check.rs` (one chain, exactly once, no double-sign).
use super::check::Outcome;
use super::harness::Faulty;
use super::scenarios::{finish, progress, ALL, WARM_UP};
use crate::hosts::Hosts;
use std::time::{Duration, Instant};
use tokio::time::sleep;

fn hosts(f: &mut Faulty) -> &mut Hosts {
    f.ln.hosts.as_mut().expect("the partition scenarios need the nodes in namespaces")
}

fn rest(side: &[usize]) -> Vec<usize> {
    ALL.into_iter().filter(|i| !side.contains(i)).collect()
}

/// A random pair cut off from the other pair for `secs`, then healed.
pub async fn split_even(f: &mut Faulty, secs: u64) -> Outcome {
    let load = f.load(secs + 10, &ALL);
    sleep(WARM_UP).await;
    let a = f.rng.below(4);
    let b = (a + 1 + f.rng.below(3)) % 4;
    let (side, other) = (vec![a, b], rest(&[a, b]));
    eprintln!("fault suite: 2|2 {side:?}|{other:?}: peers before the cut {:?}", f.peers().await);
    hosts(f).cut(&side);
    // Read after the cut: no node can be more than one height (in flight) above this.
    let at_cut = f.top(&ALL).await;
    sleep(Duration::from_secs(2)).await;
    let halted = f.top(&ALL).await;
    assert!(halted <= at_cut + 1, "2|2 {side:?}|{other:?}: the chain went from {at_cut} to {halted} after the cut");
    sleep(Duration::from_secs(secs)).await;
    let still = f.top(&ALL).await;
    assert_eq!(still, halted, "2|2 {side:?}|{other:?}: a new height without a quorum during the split");
    for pair in [&side, &other] {
        let low = f.height(pair[0]).await.unwrap().min(f.height(pair[1]).await.unwrap());
        let clients = [f.clients[pair[0]].clone(), f.clients[pair[1]].clone()];
        crate::net::assert_same_chain(&clients, low.saturating_sub(5).max(1), low).await;
    }
    hosts(f).heal();
    let what = format!("partition node{a}+node{b} | the others for {secs} s, healed");
    finish(f, &what, load, Instant::now(), still).await
}

/// A random node cut off from the three others for `secs`, then healed.
pub async fn isolate_one(f: &mut Faulty, secs: u64) -> Outcome {
    let v = f.rng.below(4);
    let others = rest(&[v]);
    // A node of the majority first: the load watches its first node for finality.
    let order: Vec<usize> = others.iter().copied().chain([v]).collect();
    let load = f.load(secs + 10, &order);
    sleep(WARM_UP).await;
    eprintln!("fault suite: 1|3 node{v} alone: peers before the cut {:?}", f.peers().await);
    hosts(f).cut(&[v]);
    let alone_at = f.height(v).await.expect("the isolated node answers its RPC");
    let at = f.top(&others).await;
    let first = progress(f, &others, at, &format!("1|3: node{v} cut off")).await;
    sleep(Duration::from_secs(secs).saturating_sub(first)).await;
    let (alone, three) = (f.height(v).await.unwrap(), f.top(&others).await);
    assert!(alone <= alone_at + 1, "1|3: node{v}, cut off, went from {alone_at} to {alone} alone");
    eprintln!("fault suite: 1|3: the three went from {at} to {three} in {secs} s; node{v} stayed at {alone}");
    hosts(f).heal();
    let what = format!("partition node{v} | the three others for {secs} s ({} heights behind), healed", three - alone);
    finish(f, &what, load, Instant::now(), three).await
}
