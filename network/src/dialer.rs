//! Static bootstrap peers: dialled at start and re-dialled with exponential backoff whenever
//! the connection drops or a dial fails, forever (validators restart; the network heals).
use crate::config::RECONNECT_BACKOFF_MIN;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, DialError, NetworkBehaviour, Swarm};
use libp2p::{Multiaddr, PeerId};
use std::time::{Duration, Instant};

#[derive(Debug, PartialEq, Eq)]
enum State {
    Idle,
    Dialing(ConnectionId),
    Connected(PeerId),
    /// The address turned out to be our own; never dialled again.
    Ourselves,
}

#[derive(Debug)]
struct Target {
    /// The address without its `/p2p/…` suffix.
    addr: Multiaddr,
    /// The peer id given in the config, if any: dials then insist on it.
    configured: Option<PeerId>,
    /// The peer id last seen at this address (lets an inbound connection count as connected).
    learned: Option<PeerId>,
    state: State,
    backoff: Duration,
    next: Instant,
}

pub(crate) struct Dialer {
    targets: Vec<Target>,
    max_backoff: Duration,
}

/// Splits `/ip4/…/tcp/…/p2p/<id>` into the address and the peer id.
fn split_peer(addr: &Multiaddr) -> (Multiaddr, Option<PeerId>) {
    let mut peer = None;
    let addr = addr
        .iter()
        .filter(|p| match p {
            Protocol::P2p(id) => {
                peer = Some(*id);
                false
            }
            _ => true,
        })
        .collect();
    (addr, peer)
}

impl Dialer {
    pub fn new(bootstrap: &[Multiaddr], local: PeerId, max_backoff: Duration) -> Self {
        let now = Instant::now();
        let targets = bootstrap
            .iter()
            .map(split_peer)
            // A node listed in its own bootstrap list (common with a shared peer list) skips itself.
            .filter(|(_, p)| *p != Some(local))
            .map(|(addr, configured)| Target {
                addr,
                configured,
                learned: configured,
                state: State::Idle,
                backoff: RECONNECT_BACKOFF_MIN,
                next: now,
            })
            .collect();
        Dialer { targets, max_backoff }
    }

    /// Dials every idle target whose backoff has expired and that is not connected already.
    pub fn poll<B: NetworkBehaviour>(&mut self, swarm: &mut Swarm<B>, is_banned: impl Fn(&PeerId) -> bool) {
        let now = Instant::now();
        for t in &mut self.targets {
            if t.state != State::Idle || t.next > now {
                continue;
            }
            if let Some(p) = t.learned {
                if swarm.is_connected(&p) {
                    t.state = State::Connected(p);
                    continue;
                }
                if is_banned(&p) {
                    t.next = now + t.backoff;
                    continue;
                }
            }
            let opts = match t.configured {
                Some(p) => DialOpts::peer_id(p)
                    .addresses(vec![t.addr.clone()])
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build(),
                None => DialOpts::unknown_peer_id().address(t.addr.clone()).build(),
            };
            let id = opts.connection_id();
            match swarm.dial(opts) {
                Ok(()) => t.state = State::Dialing(id),
                // libp2p filters out our own listen addresses: a shared bootstrap list that
                // includes this node ends up here.
                Err(DialError::NoAddresses) if t.configured.is_none() => {
                    tracing::debug!(addr = %t.addr, "bootstrap address is our own; skipping it");
                    t.state = State::Ourselves;
                }
                Err(e) => {
                    tracing::debug!(addr = %t.addr, error = %e, "cannot dial bootstrap peer");
                    t.next = now + t.backoff;
                    t.backoff = (t.backoff * 2).min(self.max_backoff);
                }
            }
        }
    }

    pub fn on_established(&mut self, id: ConnectionId, peer: PeerId) {
        for t in &mut self.targets {
            if t.state == State::Dialing(id) || (t.state == State::Idle && t.learned == Some(peer)) {
                t.state = State::Connected(peer);
                t.learned = Some(peer);
                t.backoff = RECONNECT_BACKOFF_MIN;
            }
        }
    }

    /// A dial failed; `ourselves` when the remote turned out to be this node.
    pub fn on_dial_failed(&mut self, id: ConnectionId, ourselves: bool) {
        let now = Instant::now();
        for t in &mut self.targets {
            if t.state == State::Dialing(id) {
                t.state = if ourselves { State::Ourselves } else { State::Idle };
                t.next = now + t.backoff;
                t.backoff = (t.backoff * 2).min(self.max_backoff);
            }
        }
    }

    /// The last connection to `peer` closed: re-dial it after the current backoff.
    pub fn on_disconnected(&mut self, peer: PeerId) {
        let now = Instant::now();
        for t in &mut self.targets {
            if t.state == State::Connected(peer) {
                t.state = State::Idle;
                t.next = now + t.backoff;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_peer_id_and_skips_self() {
        let me = PeerId::random();
        let other = PeerId::random();
        let a: Multiaddr = format!("/ip4/127.0.0.1/tcp/1/p2p/{other}").parse().unwrap();
        let b: Multiaddr = format!("/ip4/127.0.0.1/tcp/2/p2p/{me}").parse().unwrap();
        let c: Multiaddr = "/ip4/127.0.0.1/tcp/3".parse().unwrap();
        let d = Dialer::new(&[a, b, c.clone()], me, Duration::from_secs(4));
        assert_eq!(d.targets.len(), 2);
        assert_eq!(d.targets[0].configured, Some(other));
        assert_eq!(d.targets[0].addr, "/ip4/127.0.0.1/tcp/1".parse::<Multiaddr>().unwrap());
        assert_eq!(d.targets[1].addr, c);
    }

    #[test]
    fn backoff_doubles_to_the_cap_and_resets_on_connect() {
        let mut d = Dialer::new(&["/ip4/127.0.0.1/tcp/3".parse().unwrap()], PeerId::random(), Duration::from_secs(1));
        for _ in 0..6 {
            let id = ConnectionId::new_unchecked(7);
            d.targets[0].state = State::Dialing(id);
            d.on_dial_failed(id, false);
        }
        assert_eq!(d.targets[0].backoff, Duration::from_secs(1));
        let (id, peer) = (ConnectionId::new_unchecked(8), PeerId::random());
        d.targets[0].state = State::Dialing(id);
        d.on_established(id, peer);
        assert_eq!(d.targets[0].state, State::Connected(peer));
        assert_eq!(d.targets[0].backoff, RECONNECT_BACKOFF_MIN);
        d.on_disconnected(peer);
        assert_eq!(d.targets[0].state, State::Idle);
        assert!(d.targets[0].next > Instant::now());
        let id = ConnectionId::new_unchecked(9);
        d.targets[0].state = State::Dialing(id);
        d.on_dial_failed(id, true);
        assert_eq!(d.targets[0].state, State::Ourselves);
    }
}
