//! A circuit breaker per provider: after `threshold` failures in a row the provider is not called
//! for `cool_down`, so a dead provider costs a query nothing instead of a timeout; then one trial
//! call is let through, and its success closes the circuit again.

use parking_lot::Mutex;
use serde::Serialize;
use std::time::{Duration, Instant};
use ts_rs::TS;

#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cool_down: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failures_in_a_row: u32,
    opened_at: Option<Instant>,
    /// A trial call is out (half-open): others wait for its result.
    trial_out: bool,
}

/// The breaker as health checks and traces show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl Default for Breaker {
    fn default() -> Self {
        Self::new(5, Duration::from_secs(30))
    }
}

impl Breaker {
    pub fn new(threshold: u32, cool_down: Duration) -> Self {
        Self { threshold: threshold.max(1), cool_down, state: Mutex::new(State::default()) }
    }

    /// Whether a call may go out now; `Err` holds how long until the next trial.
    pub fn allow(&self) -> Result<(), Duration> {
        let mut s = self.state.lock();
        let Some(opened) = s.opened_at else { return Ok(()) };
        let elapsed = opened.elapsed();
        if elapsed < self.cool_down {
            return Err(self.cool_down - elapsed);
        }
        if s.trial_out {
            return Err(Duration::ZERO);
        }
        s.trial_out = true;
        Ok(())
    }

    pub fn success(&self) {
        *self.state.lock() = State::default();
    }

    pub fn failure(&self) {
        let mut s = self.state.lock();
        s.failures_in_a_row += 1;
        s.trial_out = false;
        if s.opened_at.is_some() || s.failures_in_a_row >= self.threshold {
            s.opened_at = Some(Instant::now());
        }
    }

    pub fn state(&self) -> BreakerState {
        let s = self.state.lock();
        match s.opened_at {
            None => BreakerState::Closed,
            Some(at) if at.elapsed() < self.cool_down => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_closes_after_a_good_trial() {
        let b = Breaker::new(3, Duration::from_millis(50));
        for _ in 0..2 {
            b.failure();
        }
        assert!(b.allow().is_ok(), "two failures of three keep it closed");
        b.failure();
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.allow().is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.allow().is_ok(), "one trial goes out");
        assert!(b.allow().is_err(), "a second waits for the trial");
        b.failure();
        assert_eq!(b.state(), BreakerState::Open, "a failed trial opens it again");
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.allow().is_ok());
        b.success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.allow().is_ok());
    }

    #[test]
    fn a_success_resets_the_count() {
        let b = Breaker::new(2, Duration::from_secs(60));
        b.failure();
        b.success();
        b.failure();
        assert_eq!(b.state(), BreakerState::Closed);
    }
}
