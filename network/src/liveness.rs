//! Which connections still answer: each must return a ping within `ping_timeout` of its last
//! answer (or of being established), else it is dead and the actor closes it. libp2p's ping
//! only reports, and it stays silent about the first failure and then waits out a 10 s stream
//! negotiation on a dead connection, so the verdict is kept here, from the successes alone.
//! Peers that do not speak ping (bare test peers) are exempt.
use libp2p::swarm::ConnectionId;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub(crate) struct Liveness {
    timeout: Duration,
    last_answer: HashMap<ConnectionId, Instant>,
}

impl Liveness {
    pub fn new(timeout: Duration) -> Self {
        Liveness { timeout, last_answer: HashMap::new() }
    }

    pub fn established(&mut self, id: ConnectionId, now: Instant) {
        self.last_answer.insert(id, now);
    }

    pub fn answered(&mut self, id: ConnectionId, now: Instant) {
        if let Some(t) = self.last_answer.get_mut(&id) {
            *t = now;
        }
    }

    /// The connection's peer does not speak ping, or it is closed: no verdict on it.
    pub fn forget(&mut self, id: ConnectionId) {
        self.last_answer.remove(&id);
    }

    /// Connections silent for longer than the timeout; each is reported once.
    pub fn dead(&mut self, now: Instant) -> Vec<ConnectionId> {
        let timeout = self.timeout;
        let dead: Vec<ConnectionId> =
            self.last_answer.iter().filter(|(_, t)| now.duration_since(**t) > timeout).map(|(id, _)| *id).collect();
        for id in &dead {
            self.last_answer.remove(id);
        }
        dead
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_dead_only_after_a_silent_timeout() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut l = Liveness::new(10 * s);
        let (a, b, c) =
            (ConnectionId::new_unchecked(1), ConnectionId::new_unchecked(2), ConnectionId::new_unchecked(3));
        for id in [a, b, c] {
            l.established(id, t0);
        }
        l.answered(a, t0 + 8 * s);
        l.forget(c);
        assert!(l.dead(t0 + 10 * s).is_empty(), "none silent for more than 10 s yet");
        assert_eq!(l.dead(t0 + 11 * s), vec![b]);
        assert!(l.dead(t0 + 12 * s).is_empty(), "b reported once");
        assert_eq!(l.dead(t0 + 19 * s), vec![a]);
    }
}
