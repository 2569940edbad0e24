//! Limits per caller, beside the process-wide bounds of `warehouse::sandbox`:
//!
//! - [`CallerSlots`]: how many bounded queries (SQL, live dashboards) one token runs at
//!   once. The process admits `sql.max_concurrent`; without a share per token one
//!   analyst with a script would hold every place and everyone else would wait.
//! - [`SignInThrottle`]: failed sign-ins per client address, a token bucket: a burst of
//!   mistakes is fine, guessing tokens at speed is not.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Places for bounded work, `per_token` for each token name.
#[derive(Debug)]
pub struct CallerSlots {
    per_token: usize,
    running: Mutex<HashMap<String, usize>>,
}

/// A place taken by [`CallerSlots::take`]; given back when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<CallerSlots>,
    name: String,
}

impl CallerSlots {
    pub fn new(per_token: usize) -> Arc<Self> {
        Arc::new(Self {
            per_token: per_token.max(1),
            running: Mutex::default(),
        })
    }

    pub fn per_token(&self) -> usize {
        self.per_token
    }

    /// A place for `name`'s next query, or `None` when `per_token` of theirs run now.
    pub fn take(self: &Arc<Self>, name: &str) -> Option<Slot> {
        let mut running = self.running.lock().expect("caller slots lock poisoned");
        let count = running.entry(name.to_string()).or_default();
        if *count >= self.per_token {
            return None;
        }
        *count += 1;
        Some(Slot {
            slots: self.clone(),
            name: name.to_string(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self
            .slots
            .running
            .lock()
            .expect("caller slots lock poisoned");
        if let Some(count) = running.get_mut(&self.name) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.name);
            }
        }
    }
}

/// Failed sign-ins per client address: each address has `burst` tries, refilled at one
/// per `refill`; an address with none left is answered 429 before its token is looked at.
#[derive(Debug)]
pub struct SignInThrottle {
    burst: f64,
    refill: Duration,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl SignInThrottle {
    pub fn new(burst: u32, refill: Duration) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            refill: refill.max(Duration::from_millis(1)),
            buckets: Mutex::default(),
        }
    }

    /// Seconds until `addr` may try again, if it has no tries left now.
    pub fn blocked(&self, addr: IpAddr, now: Instant) -> Option<u32> {
        let buckets = self.buckets.lock().expect("sign-in throttle lock poisoned");
        let tokens = self.level(buckets.get(&addr).copied(), now);
        (tokens < 1.0).then(|| {
            let wait = (1.0 - tokens) * self.refill.as_secs_f64();
            wait.ceil().max(1.0) as u32
        })
    }

    /// Counts a failed sign-in from `addr`.
    pub fn failed(&self, addr: IpAddr, now: Instant) {
        let mut buckets = self.buckets.lock().expect("sign-in throttle lock poisoned");
        let tokens = self.level(buckets.get(&addr).copied(), now);
        buckets.insert(addr, ((tokens - 1.0).max(0.0), now));
        // Addresses whose bucket is full again are forgotten (bounded memory).
        if buckets.len() > 10_000 {
            let full = self.burst;
            buckets.retain(|_, entry| self.level(Some(*entry), now) < full);
        }
    }

    /// The bucket's tries at `now`, refilled since it was last touched.
    fn level(&self, entry: Option<(f64, Instant)>, now: Instant) -> f64 {
        match entry {
            None => self.burst,
            Some((tokens, at)) => {
                let refilled =
                    now.saturating_duration_since(at).as_secs_f64() / self.refill.as_secs_f64();
                (tokens + refilled).min(self.burst)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_gets_its_share_and_gives_it_back() {
        let slots = CallerSlots::new(2);
        let a = slots.take("analyst").unwrap();
        let _b = slots.take("analyst").unwrap();
        assert!(slots.take("analyst").is_none());
        assert!(slots.take("leader").is_some(), "another token has its own");
        drop(a);
        assert!(slots.take("analyst").is_some());
    }

    #[test]
    fn failed_sign_ins_are_throttled_then_forgiven() {
        let throttle = SignInThrottle::new(3, Duration::from_secs(10));
        let addr: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(throttle.blocked(addr, t0), None);
            throttle.failed(addr, t0);
        }
        assert_eq!(throttle.blocked(addr, t0), Some(10));
        assert_eq!(throttle.blocked(other, t0), None, "per address");
        assert_eq!(throttle.blocked(addr, t0 + Duration::from_secs(4)), Some(6));
        assert_eq!(throttle.blocked(addr, t0 + Duration::from_secs(10)), None);
    }
}
