//! [`ResponseCache`]: the JSON of materialised dashboards, rendered once per input.
//!
//! Without `as_of`, a dashboard's answer is a function of the dashboard, the org, the
//! period, the versions of the model tables its panels read and the org tree (names,
//! path, children). An entry is stored under the first three ([`CacheKey`]) together
//! with the rest ([`Inputs`]); a lookup whose current inputs differ is a miss and the
//! re-rendered answer replaces the entry. So a refreshed model (a new Delta version) or
//! a new org is never answered from an old entry, and nothing has to invalidate it.
//!
//! Bounded: at most `capacity` entries, the oldest inserted evicted first (a key is at
//! most one entry, whatever its inputs were); capacity 0 turns the cache off. Access
//! checks are the caller's and run before every lookup: the cache holds answers, not
//! permissions. Two requests that miss at the same moment both render; the later
//! insert wins (both answers are equally current).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use bytes::Bytes;
use chrono::NaiveDate;

/// Which answer: dashboard, org and period.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub dashboard: String,
    pub org: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// What an answer was computed from, besides its key: the org tree's generation and
/// the materialised version each panel read, in panel order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    pub orgs: u64,
    pub models: Vec<Option<u64>>,
}

#[derive(Debug)]
pub struct ResponseCache {
    capacity: usize,
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<CacheKey, (Inputs, Bytes)>,
    /// Keys in insertion order, for eviction.
    order: VecDeque<CacheKey>,
}

impl ResponseCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::default(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The stored answer for `key`, if it was computed from exactly `inputs`.
    pub fn get(&self, key: &CacheKey, inputs: &Inputs) -> Option<Bytes> {
        let entries = self.inner.lock().expect("response cache lock poisoned");
        match entries.map.get(key) {
            Some((stored, json)) if stored == inputs => Some(json.clone()),
            _ => None,
        }
    }

    /// Stores `json` as the answer for `key` computed from `inputs`, replacing any
    /// older one; evicts the oldest entries beyond the capacity.
    pub fn insert(&self, key: CacheKey, inputs: Inputs, json: Bytes) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.inner.lock().expect("response cache lock poisoned");
        if entries.map.insert(key.clone(), (inputs, json)).is_none() {
            entries.order.push_back(key);
        }
        while entries.map.len() > self.capacity {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            entries.map.remove(&oldest);
        }
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .expect("response cache lock poisoned")
            .map
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(org: &str) -> CacheKey {
        let month = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        CacheKey {
            dashboard: "college".into(),
            org: org.into(),
            from: month,
            to: month,
        }
    }

    fn inputs(version: u64) -> Inputs {
        Inputs {
            orgs: 1,
            models: vec![Some(version), None],
        }
    }

    #[test]
    fn answers_only_for_the_same_inputs_and_stays_bounded() {
        let cache = ResponseCache::new(2);
        cache.insert(key("C1"), inputs(3), Bytes::from_static(b"v3"));
        assert_eq!(cache.get(&key("C1"), &inputs(3)).unwrap(), "v3");
        assert!(cache.get(&key("C1"), &inputs(4)).is_none(), "a newer model");
        assert!(
            cache
                .get(
                    &key("C1"),
                    &Inputs {
                        orgs: 2,
                        ..inputs(3)
                    }
                )
                .is_none(),
            "a changed org tree"
        );
        cache.insert(key("C1"), inputs(4), Bytes::from_static(b"v4"));
        assert_eq!(cache.len(), 1, "one entry per key");
        assert_eq!(cache.get(&key("C1"), &inputs(4)).unwrap(), "v4");

        cache.insert(key("C2"), inputs(4), Bytes::from_static(b"c2"));
        cache.insert(key("C3"), inputs(4), Bytes::from_static(b"c3"));
        assert_eq!(cache.len(), 2);
        assert!(
            cache.get(&key("C1"), &inputs(4)).is_none(),
            "oldest evicted"
        );
        assert!(cache.get(&key("C3"), &inputs(4)).is_some());

        let off = ResponseCache::new(0);
        off.insert(key("C1"), inputs(3), Bytes::from_static(b"v3"));
        assert!(!off.enabled() && off.is_empty());
    }
}
