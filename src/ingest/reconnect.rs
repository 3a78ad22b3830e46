//! Reconnection delays shared by the streaming sources: exponential backoff with full jitter.
//!
//! The n-th consecutive failure waits a uniformly random time in `[d/2, d]` where
//! `d = min(initial * 2^n, max)`; a connection that delivered data resets the sequence. The
//! half-floor keeps a fleet of clients from hammering a recovering server while still spreading
//! them out.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::source::BackoffConfig;

#[derive(Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
    rng: ChaCha8Rng,
}

impl Backoff {
    pub fn new(cfg: &BackoffConfig) -> Backoff {
        Backoff {
            initial: cfg.initial,
            max: cfg.max.max(cfg.initial),
            attempt: 0,
            rng: ChaCha8Rng::from_entropy(),
        }
    }

    /// The delay before the next attempt; each call doubles the ceiling up to `max`.
    pub fn next_delay(&mut self) -> Duration {
        let exp = self.attempt.min(30);
        self.attempt = self.attempt.saturating_add(1);
        let ceiling = self
            .initial
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max)
            .min(self.max);
        let ceiling_us = u64::try_from(ceiling.as_micros())
            .unwrap_or(u64::MAX)
            .max(2);
        Duration::from_micros(self.rng.gen_range(ceiling_us / 2..=ceiling_us))
    }

    /// Forgets past failures (after a connection that worked).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Waits for the next delay; `false` if `cancel` fired first.
    pub async fn wait(&mut self, cancel: &tokio_util::sync::CancellationToken) -> bool {
        let d = self.next_delay();
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = cancel.cancelled() => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_up_to_max_and_resets() {
        let mut b = Backoff::new(&BackoffConfig {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        });
        let delays: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        assert!(delays[0] >= Duration::from_millis(50) && delays[0] <= Duration::from_millis(100));
        assert!(delays[2] >= Duration::from_millis(200) && delays[2] <= Duration::from_millis(400));
        for d in &delays[4..] {
            assert!(
                *d >= Duration::from_millis(500) && *d <= Duration::from_secs(1),
                "{d:?}"
            );
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
