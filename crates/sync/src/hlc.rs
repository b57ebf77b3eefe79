//! Hybrid logical clock: wall-clock milliseconds, a counter for events within one millisecond
//! (or while the wall clock lags a timestamp already seen), and the node that stamped it.
//! Ordering is by wall time, then counter, then node, so two stamps are never equal.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How far ahead of the server's clock a stamp may be. Laptop clocks drift by seconds, not
/// minutes; anything beyond this is a wrong clock, and its changes are refused rather than
/// allowed to win every conflict.
pub const MAX_DRIFT_MS: u64 = 5 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Hlc {
    pub wall_ms: u64,
    pub counter: u32,
    pub node: Uuid,
}

/// A remote stamp further than [`MAX_DRIFT_MS`] ahead of the local clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("clock {ahead_ms} ms ahead of the server's (at most {MAX_DRIFT_MS} ms allowed)")]
pub struct ClockAhead {
    pub ahead_ms: u64,
}

impl Hlc {
    /// The clock of `node` before it has stamped anything.
    pub fn zero(node: Uuid) -> Self {
        Hlc {
            wall_ms: 0,
            counter: 0,
            node,
        }
    }

    /// The stamp for a local event at wall time `now_ms`: strictly greater than `self`.
    pub fn tick(&self, now_ms: u64) -> Hlc {
        if now_ms > self.wall_ms {
            Hlc {
                wall_ms: now_ms,
                counter: 0,
                node: self.node,
            }
        } else {
            self.bump()
        }
    }

    /// Merges a received stamp: the result is strictly greater than both `self` and `remote`.
    /// A remote stamp beyond the drift bound is refused and leaves the clock as it was, so one
    /// wrong laptop clock cannot drag everyone's clocks forward.
    pub fn observe(&self, remote: &Hlc, now_ms: u64) -> Result<Hlc, ClockAhead> {
        check_drift(remote, now_ms)?;
        let wall = self.wall_ms.max(remote.wall_ms).max(now_ms);
        let counter = match (wall == self.wall_ms, wall == remote.wall_ms) {
            (true, true) => self.counter.max(remote.counter).checked_add(1),
            (true, false) => self.counter.checked_add(1),
            (false, true) => remote.counter.checked_add(1),
            (false, false) => Some(0),
        };
        Ok(match counter {
            Some(counter) => Hlc {
                wall_ms: wall,
                counter,
                node: self.node,
            },
            // A counter overflow (four billion events in one millisecond) moves to the next one.
            None => Hlc {
                wall_ms: wall + 1,
                counter: 0,
                node: self.node,
            },
        })
    }

    fn bump(&self) -> Hlc {
        match self.counter.checked_add(1) {
            Some(counter) => Hlc { counter, ..*self },
            None => Hlc {
                wall_ms: self.wall_ms + 1,
                counter: 0,
                node: self.node,
            },
        }
    }
}

/// Refuses a stamp more than [`MAX_DRIFT_MS`] ahead of `now_ms`.
pub(crate) fn check_drift(stamp: &Hlc, now_ms: u64) -> Result<(), ClockAhead> {
    let ahead_ms = stamp.wall_ms.saturating_sub(now_ms);
    if ahead_ms > MAX_DRIFT_MS {
        Err(ClockAhead { ahead_ms })
    } else {
        Ok(())
    }
}

impl Hlc {
    /// Whether this stamp is acceptable to a clock reading `now_ms` (see [`MAX_DRIFT_MS`]).
    pub fn check_drift(&self, now_ms: u64) -> Result<(), ClockAhead> {
        check_drift(self, now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn tick_is_strictly_increasing_even_when_the_wall_clock_goes_back() {
        let a = Hlc::zero(node(1)).tick(1_000);
        let b = a.tick(900);
        let c = b.tick(1_000);
        let d = c.tick(1_001);
        assert!(a < b && b < c && c < d);
        assert_eq!((b.wall_ms, b.counter), (1_000, 1));
        assert_eq!((d.wall_ms, d.counter), (1_001, 0));
    }

    #[test]
    fn observe_moves_past_both_clocks() {
        let local = Hlc::zero(node(1)).tick(1_000);
        let remote = Hlc {
            wall_ms: 2_000,
            counter: 7,
            node: node(2),
        };
        let merged = local.observe(&remote, 1_500).unwrap();
        assert!(merged > remote && merged > local);
        assert_eq!(
            (merged.wall_ms, merged.counter, merged.node),
            (2_000, 8, node(1))
        );
        let later = merged.observe(&remote, 5_000).unwrap();
        assert_eq!((later.wall_ms, later.counter), (5_000, 0));
    }

    #[test]
    fn a_stamp_a_year_ahead_is_refused_and_leaves_the_clock_alone() {
        let now = 1_700_000_000_000;
        let local = Hlc::zero(node(1)).tick(now);
        let year = 365 * 24 * 3600 * 1000;
        let remote = Hlc {
            wall_ms: now + year,
            counter: 0,
            node: node(2),
        };
        assert_eq!(
            local.observe(&remote, now),
            Err(ClockAhead { ahead_ms: year })
        );
        let near = Hlc {
            wall_ms: now + MAX_DRIFT_MS,
            ..remote
        };
        assert!(local.observe(&near, now).is_ok());
    }

    #[test]
    fn counter_overflow_moves_to_the_next_millisecond() {
        let full = Hlc {
            wall_ms: 10,
            counter: u32::MAX,
            node: node(1),
        };
        let next = full.tick(10);
        assert!(next > full);
        assert_eq!((next.wall_ms, next.counter), (11, 0));
    }
}
