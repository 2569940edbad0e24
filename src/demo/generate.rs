//! The seeded generator of a realistic university (智慧党建 demo data).
//!
//! One university Party committee (江城大学党委, org `U`), eight colleges per unit of
//! scale (`C01`…, 学院党委 or 党总支), about forty branches (`C01-B01`…: undergraduate,
//! graduate and staff 党支部) with two or three Party groups each (`C01-B01-G1`…), and
//! about 3,000 people in five academic years of students plus their teachers. Over the
//! four-odd years from the launch of the platform (1 September, four academic years
//! before `today`) to `today` it produces what such a university records: the
//! development pipeline with its real time gaps, monthly dues, 三会一课 with
//! attendance, study, quizzes, the yearly democratic evaluation, forum and activities,
//! notices, graduations and transfers, and a few corrections (`event.retracted`).
//!
//! ## Layout
//!
//! - [`university`]: the plan — org tree, people, committees, catalogues — made once.
//! - [`people`]: a person and their pipeline, laid out as dated steps by the rules.
//! - [`lapses`]: the planted cases, one per early-warning rule, at fixed ids (its
//!   module doc lists them).
//! - [`month`]: plan → events, one chunk per month and college.
//! - [`follow`]: the study that follows the recorded weekly pushes (loaded after them).
//! - [`names`], [`calendar`]: vocabulary and date arithmetic.
//!
//! ## Determinism
//!
//! Every random choice comes from a [`StdRng`] keyed by the seed and what it is for
//! (a college, a month, a person and period…), event ids included, so the same seed,
//! scale and `today` give byte-identical events, and loading them again is all
//! duplicates. Nothing is dated after `today`.

mod calendar;
mod follow;
mod lapses;
mod month;
mod names;
mod people;
mod university;

use std::sync::Arc;

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

pub use follow::follow_through;

use calendar::Month;
use university::University;

#[derive(Debug, Clone)]
pub struct DemoSpec {
    pub seed: u64,
    pub scale: u32,
    pub today: NaiveDate,
}

/// The orgs the demo tokens are scoped to.
#[derive(Debug, Clone)]
pub struct DemoPlan {
    pub university: String,
    pub college: String,
    pub branch: String,
}

/// The university, its first college (计算机学院) and that college's first branch, where
/// most planted lapses are.
pub fn plan(_spec: &DemoSpec) -> DemoPlan {
    DemoPlan {
        university: university::UNIVERSITY_ID.to_string(),
        college: university::college_id(0),
        branch: university::branch_id(0, 0),
    }
}

/// The topic a person's quiz results were planted to lag in (智能党建's test data): about
/// one person in eight, by a digest of their id (so the same on every seed and scale,
/// and nothing else the generator draws changes). Their quizzes of that topic score 25
/// points lower; the study recommendations should find it (precision@3, tested).
pub fn planted_gap(member_id: &str) -> Option<&'static str> {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("dangjian planted gap\0{member_id}").as_bytes());
    (digest[0] < 32).then(|| names::TOPICS[usize::from(digest[1]) % names::TOPICS.len()])
}

/// The points a planted gap takes off a quiz of its topic.
const PLANTED_GAP_POINTS: f64 = 25.0;

/// Events per branch over a span of 51 months (measured at seed 42: 557k events in the
/// 40 branches of scale 1).
const EVENTS_PER_BRANCH: u64 = 13_900;

/// About how many events [`chunks`] yields (for a progress bar).
pub fn estimated_events(spec: &DemoSpec) -> u64 {
    let launch = university::launch(spec.today);
    let months = (Month::of(spec.today).0 - Month::of(launch).0 + 1) as u64;
    let branches: usize = (0..university::college_count(spec))
        .map(|c| {
            let (ug, grad, staff) = names::COLLEGES[c % names::COLLEGES.len()].branches;
            ug + grad + staff
        })
        .sum();
    // The university grows into its steady state during the first year.
    EVENTS_PER_BRANCH * branches as u64 * months.saturating_sub(6) / 45
}

/// The events as ingest envelopes, in chunks: first every org, then month by month the
/// university's publications and each college's events (a few thousand per chunk).
pub fn chunks(spec: &DemoSpec) -> impl Iterator<Item = Vec<Value>> + use<> {
    let uni = Arc::new(University::build(spec));
    let (from, to) = (Month::of(uni.launch), Month::of(uni.today));
    let colleges = uni.colleges.len();
    let orgs = {
        let uni = uni.clone();
        std::iter::once_with(move || month::org_chunk(&uni))
    };
    let months = (from.0..=to.0).flat_map(move |m| (0..=colleges).map(move |c| (Month(m), c)));
    let rest = months.map(move |(m, c)| match c {
        0 => month::university_month(&uni, m),
        c => month::college_month(&uni, &uni.colleges[c - 1], m),
    });
    orgs.chain(rest).filter(|chunk| !chunk.is_empty())
}

/// Mixes the parts of a key into one well-spread 64-bit number (SplitMix64 steps).
fn mix(parts: &[u64]) -> u64 {
    fn splitmix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    parts
        .iter()
        .fold(0x243F_6A88_85A3_08D3, |h, &p| splitmix(h ^ splitmix(p)))
}

/// A random stream for one purpose, independent of every other stream.
fn keyed(parts: &[u64]) -> StdRng {
    StdRng::seed_from_u64(mix(parts))
}

/// A normally distributed number (Box–Muller).
fn normal(rng: &mut StdRng, mean: f64, sd: f64) -> f64 {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    let v: f64 = rng.random();
    mean + sd * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// A Poisson-distributed count (Knuth's method; the means here are small).
fn poisson(rng: &mut StdRng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    let limit = (-mean).exp();
    let (mut k, mut p) = (0, rng.random::<f64>());
    while p > limit {
        k += 1;
        p *= rng.random::<f64>();
    }
    k
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap, HashSet};

    use chrono::{NaiveTime, TimeZone};
    use ingest::{EventType, Validator};

    use super::*;

    fn spec() -> DemoSpec {
        DemoSpec {
            seed: 42,
            scale: 1,
            today: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
        }
    }

    #[test]
    fn the_same_spec_gives_the_same_events() {
        let a: Vec<Vec<Value>> = chunks(&spec()).take(12).collect();
        let b: Vec<Vec<Value>> = chunks(&spec()).take(12).collect();
        assert_eq!(a, b);
        let other = DemoSpec { seed: 7, ..spec() };
        let c: Vec<Vec<Value>> = chunks(&other).take(12).collect();
        assert_ne!(a[5], c[5], "another seed gives other events");
    }

    #[test]
    fn the_plan_names_generated_orgs() {
        let orgs = chunks(&spec()).next().unwrap();
        let ids: HashSet<&str> = orgs.iter().map(|e| e["org_id"].as_str().unwrap()).collect();
        let plan = plan(&spec());
        for id in [&plan.university, &plan.college, &plan.branch] {
            assert!(ids.contains(id.as_str()), "{id}");
        }
        assert!(orgs.iter().all(|e| e["event_type"] == "org.created"));
    }

    /// The whole scale-1 run: every event valid, every type there, nothing after today,
    /// ids unique, retractions naming earlier events, orgs created before use.
    #[test]
    fn a_scale_one_run_is_valid_and_complete() {
        let spec = spec();
        let now = ingest::envelope::china_time()
            .from_local_datetime(
                &spec
                    .today
                    .and_time(NaiveTime::from_hms_opt(23, 0, 0).unwrap()),
            )
            .unwrap()
            .with_timezone(&chrono::Utc);
        let end_of_today = format!("{}T23:59:59+08:00", spec.today);
        let validator = Validator::default();
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut ids = HashSet::new();
        let mut meetings = HashSet::new();
        let mut orgs = HashSet::new();
        let mut retracted = Vec::new();
        let mut total = 0usize;
        let mut generating = std::time::Duration::ZERO;
        let mut stream = chunks(&spec);
        loop {
            let started = std::time::Instant::now();
            let Some(chunk) = stream.next() else {
                break;
            };
            generating += started.elapsed();
            for value in chunk {
                let ty = value["event_type"].as_str().unwrap().to_string();
                let at = value["occurred_at"].as_str().unwrap().to_string();
                assert!(at.ends_with("+08:00") && at <= end_of_today, "{value}");
                let org = value["org_id"].as_str().unwrap().to_string();
                if ty == "org.created" {
                    orgs.insert(org);
                } else {
                    assert!(orgs.contains(&org), "org {org} used before it was created");
                }
                if ty == "meeting.held" {
                    let id = value["payload"]["meeting_id"].as_str().unwrap().to_string();
                    assert!(meetings.insert(id), "meeting ids are unique: {value}");
                }
                if ty == "event.retracted" {
                    let id = value["payload"]["event_id"].as_str().unwrap().to_string();
                    assert!(ids.contains(&id), "a retraction names an earlier event");
                    retracted.push(id);
                }
                let id = value["event_id"].as_str().unwrap().to_string();
                if let Err(e) = validator.validate(total, value.clone(), now) {
                    panic!("{e:?}\n{value}");
                }
                assert!(ids.insert(id), "event ids are unique");
                *counts.entry(ty).or_default() += 1;
                total += 1;
            }
        }
        println!("{total} events generated in {generating:?}: {counts:#?}");
        // The server writes the warning lifecycle and the weekly study push itself; the
        // demo's members do not opt out of the push (the e2e tests do).
        for t in EventType::ALL {
            if !t.is_server_owned() && !t.as_str().starts_with("study.push_") {
                assert!(counts.contains_key(t.as_str()), "no {t} event");
            }
        }
        assert!((300_000..=650_000).contains(&total), "{total} events");
        assert!((4..=40).contains(&retracted.len()));
        let estimate = estimated_events(&spec) as f64;
        assert!(
            (estimate / total as f64 - 1.0).abs() < 0.2,
            "estimate {estimate} vs {total}"
        );
    }

    /// The planted lapses are where the lapses module says, relative to today, whatever
    /// the day of the year.
    #[test]
    fn planted_lapses_are_in_place() {
        let mut today = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
        while today < NaiveDate::from_ymd_opt(2027, 9, 1).unwrap() {
            planted_lapses_hold(&DemoSpec { today, ..spec() });
            today = calendar::days(today, 19);
        }
    }

    fn planted_lapses_hold(spec: &DemoSpec) {
        let spec = spec.clone();
        let uni = University::build(&spec);
        let c01 = &uni.colleges[0];
        let person = |id: &str| {
            c01.branches
                .iter()
                .flat_map(|b| &b.people)
                .find(|p| p.id == id)
                .unwrap_or_else(|| panic!("{id} is planted"))
        };
        let t = spec.today;
        let applicant = person("C01-B01-M901");
        assert!(applicant.life.applicant_from < calendar::days(t, -35));
        assert!(
            !applicant
                .steps
                .iter()
                .any(|s| matches!(s.kind, people::StepKind::Talked))
        );
        let ending = person("C01-B01-M903");
        let end = calendar::years(ending.life.member_from, 1);
        assert!(end > t && end <= calendar::days(t, 30));
        let overdue = person("C01-B01-M904");
        assert!(calendar::years(overdue.life.member_from, 1) < t);
        assert!(overdue.life.full_from > t);
        let pending = person("C01-B04-M907");
        assert!(pending.life.gone < calendar::years(t, -2));
        assert!(pending.life.dues_until > t);
        assert!(c01.branches[2].quirks.weak);
        assert_eq!(c01.branches[6].terms.len(), 1);
        assert!(
            c01.branches
                .iter()
                .filter(|b| !b.quirks.term_expired)
                .all(|b| b.terms.len() == 2)
        );
        let counts: HashMap<usize, usize> = c01
            .branches
            .iter()
            .enumerate()
            .map(|(i, b)| (i, b.people.iter().filter(|p| p.planted).count()))
            .collect();
        assert_eq!(counts[&0] + counts[&3], 17);
        for p in c01
            .branches
            .iter()
            .flat_map(|b| &b.people)
            .filter(|p| p.planted)
        {
            let (first, last) = (p.steps[0].on, p.steps[p.steps.len() - 1].on);
            assert!(
                p.steps.iter().all(|s| s.on >= first),
                "{}: {:?}",
                p.id,
                p.steps
            );
            assert!(first <= t, "{} on {t}", p.id);
            let graduated = p
                .steps
                .iter()
                .any(|s| matches!(s.kind, people::StepKind::Graduated));
            if let (Some(g), false) = (p.graduation, graduated) {
                assert!(g > t && last < g, "{} still at school on {t}", p.id);
            }
            assert!(
                p.life.applicant_from >= calendar::years(p.birth, 18),
                "{} of age",
                p.id
            );
        }
    }
}
