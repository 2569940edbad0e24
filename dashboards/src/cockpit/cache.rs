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
//!
//! An entry is an [`Encoded`] answer: the JSON and, made on first demand and kept with
//! it, the same gzip-compressed — nearly every client asks for gzip, and compressing
//! 40–70 KiB of JSON costs several times more than the rest of a cache hit.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

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

/// One answer, encoded: its JSON, and the same gzip-compressed once asked for.
#[derive(Debug)]
pub struct Encoded {
    json: Bytes,
    gzip: OnceLock<Bytes>,
}

impl Encoded {
    pub fn new(json: Bytes) -> Self {
        Self {
            json,
            gzip: OnceLock::new(),
        }
    }

    pub fn json(&self) -> &Bytes {
        &self.json
    }

    /// The JSON as a gzip stream (RFC 1952), compressed on the first call only.
    pub fn gzip(&self) -> &Bytes {
        self.gzip.get_or_init(|| {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(self.json.len() / 4),
                flate2::Compression::default(),
            );
            encoder
                .write_all(&self.json)
                .expect("writing to memory cannot fail");
            Bytes::from(encoder.finish().expect("writing to memory cannot fail"))
        })
    }
}

#[derive(Debug)]
pub struct ResponseCache {
    capacity: usize,
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<CacheKey, (Inputs, Arc<Encoded>)>,
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
    pub fn get(&self, key: &CacheKey, inputs: &Inputs) -> Option<Arc<Encoded>> {
        let entries = self.inner.lock().expect("response cache lock poisoned");
        match entries.map.get(key) {
            Some((stored, json)) if stored == inputs => Some(json.clone()),
            _ => None,
        }
    }

    /// Stores `json` as the answer for `key` computed from `inputs`, replacing any
    /// older one; evicts the oldest entries beyond the capacity.
    pub fn insert(&self, key: CacheKey, inputs: Inputs, json: Arc<Encoded>) {
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

    fn answer(text: &'static str) -> Arc<Encoded> {
        Arc::new(Encoded::new(Bytes::from_static(text.as_bytes())))
    }

    #[test]
    fn the_gzip_form_decodes_to_the_json() {
        use std::io::Read;
        let json = Bytes::from(format!("[{}0]", "1,".repeat(10_000)));
        let encoded = Encoded::new(json.clone());
        let gzip = encoded.gzip().clone();
        assert!(gzip.len() < json.len() / 10, "{} bytes", gzip.len());
        assert_eq!(encoded.gzip().as_ptr(), gzip.as_ptr(), "compressed once");
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, json);
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
        cache.insert(key("C1"), inputs(3), answer("v3"));
        assert_eq!(cache.get(&key("C1"), &inputs(3)).unwrap().json(), "v3");
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
        cache.insert(key("C1"), inputs(4), answer("v4"));
        assert_eq!(cache.len(), 1, "one entry per key");
        assert_eq!(cache.get(&key("C1"), &inputs(4)).unwrap().json(), "v4");

        cache.insert(key("C2"), inputs(4), answer("c2"));
        cache.insert(key("C3"), inputs(4), answer("c3"));
        assert_eq!(cache.len(), 2);
        assert!(
            cache.get(&key("C1"), &inputs(4)).is_none(),
            "oldest evicted"
        );
        assert!(cache.get(&key("C3"), &inputs(4)).is_some());

        let off = ResponseCache::new(0);
        off.insert(key("C1"), inputs(3), answer("v3"));
        assert!(!off.enabled() && off.is_empty());
    }
}
