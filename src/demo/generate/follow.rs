//! Study that follows the weekly pushes (智能党建's test data).
//!
//! The demo records the study recommendations of a few earlier weeks as they were
//! computed then; this module decides which of them the members took up. A
//! recommendation is completed within two weeks with a probability that falls with its
//! rank (45 %, 35 %, 25 %) and rises by 10 points when the member's quiz results lag in
//! its topic — what a member who reads the digest plausibly does — so the uplift panel
//! and the member pages show real follow-through. Every choice is a digest of the seed,
//! member, resource and week: the same history gives the same events, and loading them
//! again is all duplicates.

use chrono::{Days, NaiveDate, NaiveTime};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::calendar::stamp;

/// The `study.completed` events that follow the recommendations `recorded` of the week
/// starting `week` (Monday, China date), none dated after `today`.
pub fn follow_through(
    seed: u64,
    today: NaiveDate,
    week: NaiveDate,
    recorded: &[Value],
) -> Vec<Value> {
    let mut events = Vec::new();
    for row in recorded {
        let text = |k: &str| row[k].as_str().unwrap_or_default();
        let (member, resource) = (text("member_id"), text("resource_id"));
        let mut rng = StdRng::from_seed(
            Sha256::digest(format!(
                "dangjian follow\0{seed}\0{member}\0{resource}\0{week}"
            ))
            .into(),
        );
        let rank = row["rank"].as_u64().unwrap_or(3);
        let gap = text("signals").split(',').any(|s| s == "quiz_gap");
        let chance = match rank {
            1 => 0.45,
            2 => 0.35,
            _ => 0.25,
        } + if gap { 0.10 } else { 0.0 };
        if !rng.random_bool(chance) {
            continue;
        }
        // Monday 12:00 at the earliest (the push is at 08:00), the Sunday after next
        // at the latest: within the two weeks the uplift counts.
        let day = week + Days::new(rng.random_range(0..14));
        if day > today {
            continue;
        }
        let time =
            NaiveTime::from_num_seconds_from_midnight_opt(rng.random_range(43_200..82_800), 0)
                .expect("a time of day");
        let minutes = row["minutes"]
            .as_f64()
            .map_or(30, |m| m.round().max(1.0) as i64);
        let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
        events.push(json!({
            "event_id": id.to_string(),
            "event_type": "study.completed",
            "occurred_at": stamp(day.and_time(time)),
            "org_id": text("org_id"),
            "member_id": member,
            "actor_id": member,
            "payload": {"resource_id": resource, "minutes": minutes},
        }));
    }
    events
}
