//! Where each registered person belongs now, kept in memory for the write rules: an
//! event about a member must come from a scope that holds the member (their branch or
//! above), and a member moves to another scope only by the 组织关系转接 pair — the
//! sending side's `member.transferred_out`, then the receiving side's
//! `member.transferred_in` — or by an admin.
//!
//! It follows the `people` view's rules (home = the org of the latest registration or
//! transfer in; status from the latest transfer out against the latest transfer in, and
//! any `member.left`): loaded from the view at start-up, extended by the ingest writer
//! after each commit from the committed events (latest-wins and min/max, so the order of
//! commits does not matter), and read again from the view after a retraction.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use chrono::{DateTime, Utc};

/// Where a person belongs and whether they are still here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberHome {
    /// The org of the latest registration or transfer in.
    pub org_id: String,
    /// When that event occurred (a later one moves the home).
    pub since: DateTime<Utc>,
    pub transferred_in_at: Option<DateTime<Utc>>,
    pub transferred_out_at: Option<DateTime<Utc>>,
    pub left_at: Option<DateTime<Utc>>,
}

/// `active`, `transferred_out` or `left`, as the `people` view says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStatus {
    Active,
    TransferredOut,
    Left,
}

impl MemberHome {
    pub fn status(&self) -> MemberStatus {
        if self.left_at.is_some() {
            return MemberStatus::Left;
        }
        match (self.transferred_out_at, self.transferred_in_at) {
            (Some(_), None) => MemberStatus::TransferredOut,
            (Some(out), Some(back)) if out > back => MemberStatus::TransferredOut,
            _ => MemberStatus::Active,
        }
    }
}

/// A change to a person's home, from one committed event.
#[derive(Debug, Clone, Copy)]
pub enum HomeChange<'a> {
    Registered { org_id: &'a str },
    TransferredIn { org_id: &'a str },
    TransferredOut,
    Left,
}

#[derive(Debug, Default)]
pub struct MemberDirectory {
    homes: RwLock<HashMap<String, MemberHome>>,
    /// Bumped by every change, so a scoped session's set of members in its scope can
    /// tell when to read the directory again.
    generation: AtomicU64,
    /// While a reload reads the view: the changes applied meanwhile (see [`Self::reload`]).
    pending: Journal<(String, DateTime<Utc>, Change)>,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
}

/// A [`HomeChange`] kept for later.
#[derive(Debug, Clone)]
enum Change {
    Registered(String),
    TransferredIn(String),
    TransferredOut,
    Left,
}

impl Change {
    fn of(change: HomeChange<'_>) -> Self {
        match change {
            HomeChange::Registered { org_id } => Self::Registered(org_id.to_string()),
            HomeChange::TransferredIn { org_id } => Self::TransferredIn(org_id.to_string()),
            HomeChange::TransferredOut => Self::TransferredOut,
            HomeChange::Left => Self::Left,
        }
    }

    fn as_home_change(&self) -> HomeChange<'_> {
        match self {
            Self::Registered(org_id) => HomeChange::Registered { org_id },
            Self::TransferredIn(org_id) => HomeChange::TransferredIn { org_id },
            Self::TransferredOut => HomeChange::TransferredOut,
            Self::Left => HomeChange::Left,
        }
    }
}

/// What changed a directory while a reload was reading its view, to be put into the
/// reading before it replaces the directory. Recording only while a reload runs.
#[derive(Debug)]
pub(crate) struct Journal<T>(Mutex<Option<Vec<T>>>);

impl<T> Default for Journal<T> {
    fn default() -> Self {
        Self(Mutex::new(None))
    }
}

impl<T> Journal<T> {
    /// Records `change()` if a reload is reading.
    pub(crate) fn record(&self, change: impl FnOnce() -> T) {
        if let Some(changes) = self.0.lock().expect("journal lock poisoned").as_mut() {
            changes.push(change());
        }
    }

    /// Starts recording until the returned guard is finished or dropped.
    pub(crate) fn start(&self) -> Recording<'_, T> {
        *self.0.lock().expect("journal lock poisoned") = Some(Vec::new());
        Recording(self)
    }

    #[cfg(test)]
    pub(crate) fn is_idle(&self) -> bool {
        self.0.lock().expect("journal lock poisoned").is_none()
    }
}

/// Recording in a [`Journal`]; stops when dropped (a reading that failed or was cancelled).
pub(crate) struct Recording<'a, T>(&'a Journal<T>);

impl<T> Recording<'_, T> {
    /// Stops recording and answers what was recorded.
    pub(crate) fn finish(self) -> Vec<T> {
        self.0
            .0
            .lock()
            .expect("journal lock poisoned")
            .take()
            .unwrap_or_default()
    }
}

impl<T> Drop for Recording<'_, T> {
    fn drop(&mut self) {
        self.0.0.lock().expect("journal lock poisoned").take();
    }
}

impl MemberDirectory {
    pub fn get(&self, member_id: &str) -> Option<MemberHome> {
        self.homes
            .read()
            .expect("member directory lock poisoned")
            .get(member_id)
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.homes
            .read()
            .expect("member directory lock poisoned")
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many times the directory has changed; equal numbers mean the same homes.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The people whose home org satisfies `within` (a read scope's members).
    pub fn homed_in(&self, within: impl Fn(&str) -> bool) -> Vec<String> {
        self.homes
            .read()
            .expect("member directory lock poisoned")
            .iter()
            .filter(|(_, home)| within(&home.org_id))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Applies one committed event.
    pub fn apply(&self, member_id: &str, at: DateTime<Utc>, change: HomeChange<'_>) {
        let mut homes = self.homes.write().expect("member directory lock poisoned");
        self.pending
            .record(|| (member_id.to_string(), at, Change::of(change)));
        apply_to(&mut homes, member_id, at, change);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Replaces every entry with what `read` reads from the `people` view. Changes
    /// applied (after their commit) while the view is read may be missing from the
    /// reading: each is recorded and applied to the reading before it replaces the
    /// directory — applying is latest-wins and min/max, so one the reading already holds
    /// changes nothing. One reload at a time; a failed reading leaves the directory.
    pub async fn reload<E>(
        &self,
        read: impl Future<Output = Result<HashMap<String, MemberHome>, E>>,
    ) -> Result<(), E> {
        let _one = self.reloading.lock().await;
        let recording = self.pending.start();
        let mut reading = read.await?;
        let mut homes = self.homes.write().expect("member directory lock poisoned");
        for (member, at, change) in recording.finish() {
            apply_to(&mut reading, &member, at, change.as_home_change());
        }
        *homes = reading;
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }
}

/// Applies one committed event to `homes` (latest-wins and min/max: the order of the
/// events does not matter, and applying one twice changes nothing).
fn apply_to(
    homes: &mut HashMap<String, MemberHome>,
    member_id: &str,
    at: DateTime<Utc>,
    change: HomeChange<'_>,
) {
    let moved = |home: &mut MemberHome, org_id: &str| {
        if at >= home.since {
            home.org_id = org_id.to_string();
            home.since = at;
        }
    };
    match change {
        HomeChange::Registered { org_id } => match homes.get_mut(member_id) {
            Some(home) => moved(home, org_id),
            None => {
                homes.insert(
                    member_id.to_string(),
                    MemberHome {
                        org_id: org_id.to_string(),
                        since: at,
                        transferred_in_at: None,
                        transferred_out_at: None,
                        left_at: None,
                    },
                );
            }
        },
        // The view knows only registered people; a transfer in of someone never
        // registered here names the org until their registration arrives.
        HomeChange::TransferredIn { org_id } => {
            let home = homes
                .entry(member_id.to_string())
                .or_insert_with(|| MemberHome {
                    org_id: org_id.to_string(),
                    since: at,
                    transferred_in_at: None,
                    transferred_out_at: None,
                    left_at: None,
                });
            moved(home, org_id);
            home.transferred_in_at = Some(home.transferred_in_at.map_or(at, |t| t.max(at)));
        }
        HomeChange::TransferredOut => {
            if let Some(home) = homes.get_mut(member_id) {
                home.transferred_out_at = Some(home.transferred_out_at.map_or(at, |t| t.max(at)));
            }
        }
        HomeChange::Left => {
            if let Some(home) = homes.get_mut(member_id) {
                home.left_at = Some(home.left_at.map_or(at, |t| t.min(at)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-01-{day:02}T00:00:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    /// A reload after a retraction reads the view while commits go on: what they apply
    /// meanwhile survives the swap, what the view no longer holds is gone.
    #[tokio::test]
    async fn a_reload_keeps_what_was_applied_while_it_read() {
        let dir = MemberDirectory::default();
        dir.apply("M1", at(1), HomeChange::Registered { org_id: "B1" });
        dir.apply("GONE", at(1), HomeChange::Registered { org_id: "B1" });
        let reading = HashMap::from([(
            "M1".to_string(),
            MemberHome {
                org_id: "B1".into(),
                since: at(1),
                transferred_in_at: None,
                transferred_out_at: None,
                left_at: None,
            },
        )]);
        dir.reload(async {
            dir.apply("M2", at(3), HomeChange::Registered { org_id: "B2" });
            dir.apply("M1", at(4), HomeChange::TransferredOut);
            Ok::<_, ()>(reading)
        })
        .await
        .unwrap();
        assert_eq!(dir.get("M2").unwrap().org_id, "B2");
        assert_eq!(
            dir.get("M1").unwrap().status(),
            MemberStatus::TransferredOut
        );
        assert!(
            dir.get("GONE").is_none(),
            "the retracted registration is gone"
        );
        assert!(dir.pending.is_idle());
    }

    #[test]
    fn a_transfer_moves_the_home_and_its_status() {
        let dir = MemberDirectory::default();
        dir.apply("M1", at(1), HomeChange::Registered { org_id: "B1" });
        assert_eq!(dir.get("M1").unwrap().status(), MemberStatus::Active);
        dir.apply("M1", at(5), HomeChange::TransferredOut);
        let home = dir.get("M1").unwrap();
        assert_eq!(
            (home.org_id.as_str(), home.status()),
            ("B1", MemberStatus::TransferredOut)
        );
        dir.apply("M1", at(9), HomeChange::TransferredIn { org_id: "B7" });
        let home = dir.get("M1").unwrap();
        assert_eq!(
            (home.org_id.as_str(), home.status()),
            ("B7", MemberStatus::Active)
        );
        // A late registration (occurred before the transfer in) does not move them back.
        dir.apply("M1", at(2), HomeChange::Registered { org_id: "B1" });
        assert_eq!(dir.get("M1").unwrap().org_id, "B7");
        dir.apply("M1", at(20), HomeChange::Left);
        assert_eq!(dir.get("M1").unwrap().status(), MemberStatus::Left);
    }
}
