//! Turns the plan into events: the org tree first, then one chunk per month and college
//! (and one per month for the university's own publications).
//!
//! Each chunk draws from its own random stream, keyed by (seed, college, month), so a
//! chunk is the same whatever was generated before it, and the whole stream is ordered
//! by month: the ingest writer's commits then touch one or two `month` partitions each.

use chrono::{Datelike, NaiveDateTime, TimeDelta};
use ingest::EventType;
use ingest::catalogue::{AttendanceStatus, MeetingKind, OrgKind, Rating};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::calendar::{
    Date, Month, at, date_text, day_between, days, office, personal, stamp, workday, working_day,
    ymd,
};
use super::names;
use super::people::{Person, StepKind};
use super::university::{
    Branch, BranchKind, College, CorrectionKind, Item, Official, UNIVERSITY_ID, UNIVERSITY_NAME,
    University, tag,
};
use super::{keyed, normal, poisson};

/// Who an event is about and who recorded it.
#[derive(Debug, Clone, Copy)]
struct Who<'a> {
    org: &'a str,
    member: Option<&'a str>,
    actor: Option<&'a str>,
}

impl<'a> Who<'a> {
    fn org(org: &'a str, actor: &'a str) -> Self {
        Who {
            org,
            member: None,
            actor: Some(actor),
        }
    }

    fn member(org: &'a str, member: &'a str, actor: &'a str) -> Self {
        Who {
            org,
            member: Some(member),
            actor: Some(actor),
        }
    }

    /// Something a member does themselves (pays, studies, posts).
    fn own(org: &'a str, member: &'a str) -> Self {
        Who::member(org, member, member)
    }
}

/// Collects the events of a chunk as ingest envelopes; ids come from a seeded stream.
struct Sink {
    ids: StdRng,
    /// The end of `today`: nothing happens after it.
    cutoff: NaiveDateTime,
    events: Vec<Value>,
}

impl Sink {
    fn new(ids: StdRng, today: Date) -> Sink {
        Sink {
            ids,
            cutoff: at(today, 23, 59),
            events: Vec::with_capacity(4096),
        }
    }

    fn emit(
        &mut self,
        ty: EventType,
        when: NaiveDateTime,
        who: Who<'_>,
        payload: Value,
    ) -> Option<Uuid> {
        if when > self.cutoff {
            return None;
        }
        let id = uuid::Builder::from_random_bytes(self.ids.random()).into_uuid();
        let mut e = Map::with_capacity(7);
        e.insert("event_id".into(), Value::String(id.to_string()));
        e.insert("event_type".into(), ty.as_str().into());
        e.insert("occurred_at".into(), Value::String(stamp(when)));
        e.insert("org_id".into(), who.org.into());
        if let Some(member) = who.member {
            e.insert("member_id".into(), member.into());
        }
        if let Some(actor) = who.actor {
            e.insert("actor_id".into(), actor.into());
        }
        e.insert("payload".into(), payload);
        self.events.push(Value::Object(e));
        Some(id)
    }
}

/// The first chunk: every org of the university, created when the platform went live
/// (and the temporary branch when it was set up), so later events find their org.
pub(super) fn org_chunk(uni: &University) -> Vec<Value> {
    let mut sink = Sink::new(keyed(&[uni.seed, tag::IDS]), uni.today);
    let created =
        |sink: &mut Sink, when, id: &str, name: &str, kind: OrgKind, parent: Option<&str>| {
            let mut payload = json!({"name": name, "kind": kind.as_str()});
            if let Some(parent) = parent {
                payload["parent_id"] = parent.into();
            }
            let actor = format!("{UNIVERSITY_ID}-ORG");
            sink.emit(EventType::OrgCreated, when, Who::org(id, &actor), payload);
        };
    let l = uni.launch;
    created(
        &mut sink,
        at(l, 9, 0),
        UNIVERSITY_ID,
        UNIVERSITY_NAME,
        OrgKind::University,
        None,
    );
    for c in &uni.colleges {
        created(
            &mut sink,
            at(l, 9, 10),
            &c.id,
            &c.name,
            OrgKind::College,
            Some(UNIVERSITY_ID),
        );
        for b in &c.branches {
            created(
                &mut sink,
                at(l, 9, 20),
                &b.id,
                &b.name,
                OrgKind::Branch,
                Some(&c.id),
            );
            for (g, name) in &b.groups {
                created(
                    &mut sink,
                    at(l, 9, 30),
                    g,
                    name,
                    OrgKind::Group,
                    Some(&b.id),
                );
            }
        }
        if let Some(t) = &c.temporary {
            created(
                &mut sink,
                at(t.created, 9, 0),
                &t.id,
                &t.name,
                OrgKind::Branch,
                Some(&c.id),
            );
        }
    }
    sink.events
}

/// The university's own events of month `m`: its secretary, study material, notices
/// and activities.
pub(super) fn university_month(uni: &University, m: Month) -> Vec<Value> {
    let mut sink = Sink::new(keyed(&[uni.seed, tag::IDS, 0, m.0 as u64]), uni.today);
    let mut rng = keyed(&[uni.seed, tag::MONTH, 0, m.0 as u64]);
    let actor = uni.secretary.id.as_str();
    if m.contains(uni.launch) {
        appoint(
            &mut sink,
            office(&mut rng, uni.launch),
            UNIVERSITY_ID,
            "U-ORG",
            &uni.secretary,
        );
    }
    publish(
        &mut sink,
        m,
        Who::org(UNIVERSITY_ID, actor),
        &uni.resources,
        &uni.notices,
        &uni.activities,
    );
    sink.events
}

fn appoint(sink: &mut Sink, when: NaiveDateTime, org: &str, actor: &str, s: &Official) {
    sink.emit(
        EventType::OrgSecretaryAppointed,
        when,
        Who::org(org, actor),
        json!({"secretary_id": s.id, "name": s.name, "email": s.email}),
    );
}

fn publish(
    sink: &mut Sink,
    m: Month,
    who: Who<'_>,
    resources: &super::university::Catalog,
    notices: &super::university::Catalog,
    activities: &super::university::Catalog,
) {
    for r in resources.in_month(m) {
        let mut payload = json!({"resource_id": r.id, "title": r.title, "kind": r.kind});
        if let Some(topic) = r.topic {
            payload["topic"] = json!(topic);
        }
        if !r.required_for.is_empty() {
            payload["required_for"] = json!(r.required_for);
        }
        if let Some(minutes) = r.minutes {
            payload["minutes"] = json!(minutes);
        }
        sink.emit(EventType::ResourcePublished, r.at, who, payload);
    }
    for n in notices.in_month(m) {
        let payload = json!({"notice_id": n.id, "title": n.title});
        sink.emit(EventType::NoticePublished, n.at, who, payload);
    }
    for a in activities.in_month(m) {
        let payload = json!({"activity_id": a.id, "title": a.title, "kind": a.kind});
        sink.emit(EventType::ActivityHeld, a.at, who, payload);
    }
}

/// All events of one college in month `m`.
pub(super) fn college_month(uni: &University, college: &College, m: Month) -> Vec<Value> {
    let c = college.index as u64 + 1;
    let mut w = Writer {
        uni,
        college,
        m,
        last: m.last().min(uni.today),
        rng: keyed(&[uni.seed, tag::MONTH, c, m.0 as u64]),
        sink: Sink::new(keyed(&[uni.seed, tag::IDS, c, m.0 as u64]), uni.today),
    };
    if m.first() <= uni.today {
        w.college_events();
        for (index, branch) in college.branches.iter().enumerate() {
            w.branch(index, branch);
        }
    }
    w.sink.events
}

/// A meeting to be held, before invitations are worked out.
struct Planned<'b> {
    kind: MeetingKind,
    org: &'b str,
    day: Date,
    group: Option<usize>,
}

struct Writer<'a> {
    uni: &'a University,
    college: &'a College,
    m: Month,
    /// The last day of the month that has happened.
    last: Date,
    rng: StdRng,
    sink: Sink,
}

impl<'a> Writer<'a> {
    fn college_events(&mut self) {
        let (c, m) = (self.college, self.m);
        let uni_actor = self.uni.secretary.id.as_str();
        for (on, s) in &c.secretaries {
            if m.contains(*on) {
                let when = office(&mut self.rng, *on);
                appoint(&mut self.sink, when, &c.id, uni_actor, s);
            }
        }
        if let Some((on, name)) = &c.renamed {
            if m.contains(*on) {
                let when = office(&mut self.rng, *on);
                self.sink.emit(
                    EventType::OrgRenamed,
                    when,
                    Who::org(&c.id, uni_actor),
                    json!({"name": name}),
                );
            }
        }
        if let Some(t) = &c.temporary {
            let actor = c.secretary_at(t.created).id.as_str();
            if m.contains(t.created) {
                appoint(
                    &mut self.sink,
                    at(t.created, 10, 0),
                    &t.id,
                    actor,
                    &t.secretary,
                );
            }
            if m.contains(t.dissolved) {
                let reason = "暑期社会实践结束，临时党支部完成任务";
                self.sink.emit(
                    EventType::OrgDissolved,
                    at(t.dissolved, 10, 0),
                    Who::org(&t.id, actor),
                    json!({"reason": reason}),
                );
            }
        }
        let actor = c.secretary_at(self.last).id.as_str();
        publish(
            &mut self.sink,
            m,
            Who::org(&c.id, actor),
            &c.resources,
            &c.notices,
            &c.activities,
        );
    }

    fn branch(&mut self, index: usize, b: &'a Branch) {
        self.committees(b);
        self.steps(b);
        self.meetings(index, b);
        self.dues(index, b);
        self.study(b);
        self.quizzes(b);
        self.evaluation(b);
        self.notices(b);
        self.forum(b);
        self.activities(b);
    }

    /// Secretaries, committees and group leaders, as elected.
    fn committees(&mut self, b: &Branch) {
        let college_actor = self.college.secretary_at(self.last).id.clone();
        for (t, term) in b.terms.iter().enumerate() {
            if !self.m.contains(term.elected) {
                continue;
            }
            let previous = t.checked_sub(1).map(|p| &b.terms[p]);
            let when = office(&mut self.rng, term.elected);
            let official = |p: &Person| Official {
                id: p.id.clone(),
                name: p.name.chinese.clone(),
                email: p.email.clone(),
            };
            if previous.is_none_or(|p| p.secretary != term.secretary) {
                appoint(
                    &mut self.sink,
                    when,
                    &b.id,
                    &college_actor,
                    &official(&b.people[term.secretary]),
                );
            }
            let members: Vec<&str> = term
                .members
                .iter()
                .map(|&i| b.people[i].id.as_str())
                .collect();
            self.sink.emit(
                EventType::OrgCommitteeElected,
                when + TimeDelta::minutes(5),
                Who::org(&b.id, &college_actor),
                json!({"term_years": 3, "members": members}),
            );
            let secretary = b.people[term.secretary].id.as_str();
            for (g, &leader) in term.leaders.iter().enumerate() {
                if previous.is_none_or(|p| p.leaders[g] != leader) {
                    let when = when + TimeDelta::minutes(10);
                    appoint(
                        &mut self.sink,
                        when,
                        &b.groups[g].0,
                        secretary,
                        &official(&b.people[leader]),
                    );
                }
            }
        }
    }

    /// The `member.*` events of this month: registrations and the pipeline.
    fn steps(&mut self, b: &Branch) {
        let m = self.m;
        for p in &b.people {
            let mut previous: Option<NaiveDateTime> = None;
            for s in p.steps.iter().filter(|s| m.contains(s.on)) {
                let mut when = office(&mut self.rng, s.on);
                if let Some(before) = previous.filter(|t| t.date() == s.on && *t >= when) {
                    when = before + TimeDelta::minutes(7);
                }
                previous = Some(when);
                let secretary = b.secretary_at(s.on).id.as_str();
                let approver = self.college.secretary_at(s.on).id.as_str();
                let (ty, payload, actor) =
                    step_event(p, &s.kind, secretary, approver, &self.college.name);
                self.sink
                    .emit(ty, when, Who::member(&b.id, &p.id, actor), payload);
            }
        }
    }

    fn meetings(&mut self, index: usize, b: &'a Branch) {
        let m = self.m;
        let now = Month::of(self.uni.today);
        let (this_month, this_quarter) = (m == now, m.quarter() == now.quarter());
        let q = &b.quirks;
        let mut planned: Vec<Planned<'a>> = Vec::new();
        // Monthly meetings: a normal branch occasionally missed one long ago; the weak
        // branch often does.
        let held = |rng: &mut StdRng| {
            if q.weak {
                rng.random_bool(0.6)
            } else if m.0 < now.0 - 3 {
                !rng.random_bool(0.03)
            } else {
                true
            }
        };
        if held(&mut self.rng) && !(this_month && q.no_committee_this_month) {
            let day = working_day(&mut self.rng, m, 3, 12);
            planned.push(Planned {
                kind: MeetingKind::Committee,
                org: &b.id,
                day,
                group: None,
            });
        }
        for (g, (group_id, _)) in b.groups.iter().enumerate() {
            if held(&mut self.rng) && !(this_month && q.no_group_this_month == Some(g)) {
                let day = working_day(&mut self.rng, m, 8, 20);
                planned.push(Planned {
                    kind: MeetingKind::Group,
                    org: group_id,
                    day,
                    group: Some(g),
                });
            }
        }
        if held(&mut self.rng) {
            let day = working_day(&mut self.rng, m, 10, 21);
            planned.push(Planned {
                kind: MeetingKind::ThemeDay,
                org: &b.id,
                day,
                group: None,
            });
        }
        // Quarterly: in the first or second month of the quarter.
        for (kind, skip, weak_chance) in [
            (MeetingKind::BranchAssembly, q.no_assembly_this_quarter, 0.7),
            (MeetingKind::Lecture, q.no_lecture_this_quarter, 0.5),
        ] {
            let slot = keyed(&[
                self.uni.seed,
                tag::QUARTER,
                b.key,
                m.quarter() as u64,
                kind as u64,
            ])
            .random_range(0..2);
            if m.in_quarter() != slot {
                continue;
            }
            let happens = !q.weak || self.rng.random_bool(weak_chance);
            if happens && !(this_quarter && skip) {
                let day = working_day(&mut self.rng, m, 4, 20);
                planned.push(Planned {
                    kind,
                    org: &b.id,
                    day,
                    group: None,
                });
            }
        }
        planned.sort_by_key(|p| p.day);
        let mut correct_attendance = self.correction(CorrectionKind::Attendance, index);
        let groups = party_groups(b, m);
        for plan in planned {
            if let Some(invited) = self.hold(b, &plan, &groups) {
                if correct_attendance && invited.people.len() >= 3 {
                    correct_attendance = !self.wrong_absence(b, &plan, &invited);
                }
            }
        }
    }

    fn correction(&self, kind: CorrectionKind, branch: usize) -> bool {
        self.college
            .corrections
            .iter()
            .any(|c| c.kind == kind && c.month == self.m && c.branch == branch)
    }

    /// Holds a meeting: `meeting.held` and one `meeting.attended` per invited member.
    /// Returns who was invited, with the meeting's time.
    fn hold(&mut self, b: &Branch, plan: &Planned<'_>, groups: &[usize]) -> Option<Invited> {
        let day = plan.day;
        if day > self.uni.today || day < self.uni.launch {
            return None;
        }
        let term = b.term_at(day);
        let invited: Vec<usize> = match plan.kind {
            MeetingKind::Committee => term
                .members
                .iter()
                .copied()
                .filter(|&i| b.people[i].life.is_member(day))
                .collect(),
            _ => (0..b.people.len())
                .filter(|&i| {
                    let p = &b.people[i];
                    p.life.is_member(day) && plan.group.is_none_or(|g| groups[i] == g)
                })
                .collect(),
        };
        if invited.is_empty() || (plan.kind == MeetingKind::Group && invited.len() < 2) {
            return None;
        }
        let start = self.meeting_time(b, day);
        let meeting_id = format!(
            "{}:{}:{:04}{:02}{:02}",
            plan.org,
            plan.kind.as_str(),
            day.year(),
            day.month(),
            day.day()
        );
        let secretary = b.people[term.secretary].id.as_str();
        let (title, minutes) = self.meeting_title(plan.kind, day);
        self.sink.emit(
            EventType::MeetingHeld,
            start,
            Who::org(plan.org, secretary),
            json!({"meeting_id": meeting_id, "kind": plan.kind.as_str(), "title": title, "duration_minutes": minutes}),
        );
        let mut statuses = Vec::with_capacity(invited.len());
        for &i in &invited {
            let p = &b.people[i];
            let status = self.status(b, p, day);
            statuses.push(status);
            let when = start + TimeDelta::minutes(self.rng.random_range(0..10));
            self.sink.emit(
                EventType::MeetingAttended,
                when,
                Who::member(&b.id, &p.id, secretary),
                json!({"meeting_id": meeting_id, "status": status.as_str()}),
            );
        }
        Some(Invited {
            meeting_id,
            start,
            people: invited,
            statuses,
        })
    }

    fn meeting_time(&mut self, b: &Branch, day: Date) -> NaiveDateTime {
        let evening = b.kind != BranchKind::Staff && self.rng.random_bool(0.25);
        let (hour, minute) = if evening {
            (19, [0, 30][self.rng.random_range(0..2)])
        } else {
            [(14, 0), (14, 30), (15, 0), (15, 30), (16, 0)][self.rng.random_range(0..5)]
        };
        at(day, hour, minute)
    }

    fn meeting_title(&mut self, kind: MeetingKind, day: Date) -> (String, u32) {
        let rng = &mut self.rng;
        let month = day.month();
        match kind {
            MeetingKind::BranchAssembly => (
                format!("支部党员大会：{}", names::pick(rng, names::ASSEMBLY_TOPICS)),
                rng.random_range(9..=12) * 10,
            ),
            MeetingKind::Committee => (
                format!(
                    "{month}月支委会：{}",
                    names::pick(rng, names::COMMITTEE_TOPICS)
                ),
                rng.random_range(4..=9) * 10,
            ),
            MeetingKind::Group => (
                format!(
                    "{month}月党小组会：{}",
                    names::pick(rng, names::GROUP_TOPICS)
                ),
                rng.random_range(4..=9) * 10,
            ),
            MeetingKind::Lecture => (
                format!("党课：{}", names::pick(rng, names::LECTURE_TOPICS)),
                rng.random_range(9..=12) * 10,
            ),
            MeetingKind::ThemeDay => (
                format!(
                    "{month}月主题党日：{}",
                    names::pick(rng, names::THEME_DAY_TOPICS)
                ),
                rng.random_range(12..=18) * 10,
            ),
            MeetingKind::LifeMeeting => (
                format!(
                    "{}年度组织生活会暨民主评议党员大会",
                    day.year() - i32::from(month == 1)
                ),
                rng.random_range(12..=18) * 10,
            ),
        }
    }

    /// Present, excused or absent: the branch's habit, the member's engagement, the
    /// vacations, and any planted absence.
    fn status(&mut self, b: &Branch, p: &Person, day: Date) -> AttendanceStatus {
        if p.quirks.absent_since.is_some_and(|d| day >= d) {
            return AttendanceStatus::Absent;
        }
        let mut present = b.present_rate + 0.25 * (p.engagement - 0.72);
        if b.kind != BranchKind::Staff && Month::of(day).is_vacation() {
            present -= 0.05;
        }
        let present = present.clamp(0.2, 0.99);
        let r: f64 = self.rng.random();
        if r < present {
            AttendanceStatus::Present
        } else if r < present + (1.0 - present) * 0.65 {
            AttendanceStatus::Excused
        } else {
            AttendanceStatus::Absent
        }
    }

    /// A member recorded absent by mistake, and the retraction that corrects it (the
    /// right record was written with the others). Returns whether it was planted.
    fn wrong_absence(&mut self, b: &Branch, plan: &Planned<'_>, invited: &Invited) -> bool {
        let Some(k) = (0..invited.people.len()).find(|&k| {
            !b.people[invited.people[k]].planted && invited.statuses[k] != AttendanceStatus::Absent
        }) else {
            return false;
        };
        let fixed = days(plan.day, self.rng.random_range(1..=3));
        if fixed > self.uni.today {
            return false;
        }
        let p = &b.people[invited.people[k]];
        let secretary = b.term_at(plan.day).secretary;
        let secretary = b.people[secretary].id.as_str();
        let wrong = self.sink.emit(
            EventType::MeetingAttended,
            invited.start + TimeDelta::minutes(2),
            Who::member(&b.id, &p.id, secretary),
            json!({"meeting_id": invited.meeting_id, "status": AttendanceStatus::Absent.as_str()}),
        );
        let actual = invited.statuses[k].label_zh();
        let reason = format!("误将该同志记为缺席（实际{actual}），予以更正");
        let when = office(&mut self.rng, fixed);
        self.retract(wrong, when, Who::org(&b.id, secretary), &reason)
    }

    fn retract(
        &mut self,
        wrong: Option<Uuid>,
        when: NaiveDateTime,
        who: Who<'_>,
        reason: &str,
    ) -> bool {
        let Some(wrong) = wrong else {
            return false;
        };
        self.sink
            .emit(
                EventType::EventRetracted,
                when,
                who,
                json!({"event_id": wrong.to_string(), "reason": reason}),
            )
            .is_some()
    }

    /// Dues paid this month: for this month, or late for the one or two before.
    fn dues(&mut self, index: usize, b: &Branch) {
        let m = self.m;
        let launch_year = self.uni.launch.year();
        let mut correct = self.correction(CorrectionKind::Dues, index);
        for p in &b.people {
            if p.life.member_from > self.last {
                continue;
            }
            for period in [m.plus(-2), m.plus(-1), m] {
                let Some(paid) = self.payment_day(p, period) else {
                    continue;
                };
                if !m.contains(paid) || paid > self.uni.today {
                    continue;
                }
                let when = personal(&mut self.rng, paid);
                let amount = p.dues_fen(period.year(), launch_year);
                let who = Who::own(&b.id, &p.id);
                if correct && period == m && !p.planted {
                    let fixed = days(paid, self.rng.random_range(1..=4));
                    if fixed <= self.uni.today {
                        // A payment keyed in with a wrong amount, then withdrawn.
                        let wrong = self.sink.emit(
                            EventType::DuesPaid,
                            when - TimeDelta::minutes(30),
                            who,
                            json!({"period": period.period(), "amount_fen": amount * 10}),
                        );
                        let secretary = b.secretary_at(paid).id.as_str();
                        let reason = "党费金额录入错误（多录一位），撤回后按实际金额重新登记";
                        let fix_time = office(&mut self.rng, fixed);
                        correct =
                            !self.retract(wrong, fix_time, Who::org(&b.id, secretary), reason);
                    }
                }
                self.sink.emit(
                    EventType::DuesPaid,
                    when,
                    who,
                    json!({"period": period.period(), "amount_fen": amount}),
                );
            }
        }
    }

    /// When `p` pays the dues of `period`, if they owe and pay them at all: most pay in
    /// the month, late payers in the next one or two. Keyed by person and period, so
    /// the month a late payment falls in agrees with the month it is for.
    fn payment_day(&self, p: &Person, period: Month) -> Option<Date> {
        let from = Month::of(p.life.member_from);
        if period < from || p.life.dues_until <= period.first() {
            return None;
        }
        if p.quirks
            .dues_stop
            .is_some_and(|stop| period >= Month::of(stop))
        {
            return None;
        }
        let mut rng = keyed(&[self.uni.seed, tag::DUES, p.key, period.0 as u64]);
        let late = if p.late_payer { 0.35 } else { 0.06 };
        let r: f64 = rng.random();
        let day = if r < late * 0.15 {
            period.plus(2).day(rng.random_range(1..=15))
        } else if r < late {
            period.plus(1).day(rng.random_range(1..=20))
        } else {
            period.day(rng.random_range(1..=25))
        };
        Some(day.max(p.life.member_from))
    }

    /// Study of the month: members several times (at least once every ten days),
    /// activists a few times, applicants now and then.
    fn study(&mut self, b: &Branch) {
        let m = self.m;
        let (first, last) = (m.first(), self.last);
        for p in &b.people {
            let start = first.max(p.life.applicant_from);
            let mut end = last.min(days(p.life.gone, -1));
            if let Some(stop) = p.quirks.study_stop {
                end = end.min(days(stop, -1));
            }
            if start > end {
                continue;
            }
            let fraction = ((end - start).num_days() + 1) as f64 / m.last().day() as f64;
            let mut rate = if p.life.is_member(end) {
                1.5 + 3.0 * p.engagement
            } else if p.life.is_learner(end) {
                1.0 + 2.0 * p.engagement
            } else {
                0.4 * p.engagement
            };
            if b.quirks.weak {
                rate *= 0.5;
            }
            if p.track.is_student() && m.is_vacation() {
                rate *= 0.7;
            }
            let mut when = Vec::new();
            if !b.quirks.weak {
                for (from, to) in [(1, 10), (11, 20), (21, 31)] {
                    let (from, to) = (m.day(from).max(start), m.day(to).min(end));
                    if from <= to && p.life.is_member(from) {
                        when.push(day_between(&mut self.rng, from, to));
                    }
                }
            }
            let extra = poisson(
                &mut self.rng,
                ((rate - when.len() as f64).max(0.0)) * fraction,
            );
            for _ in 0..extra {
                when.push(day_between(&mut self.rng, start, end));
            }
            for day in when {
                let t = personal(&mut self.rng, day);
                let catalog = if self.rng.random_bool(0.6) {
                    &self.uni.resources
                } else {
                    &self.college.resources
                };
                let Some(resource) = catalog.recent(t, &mut self.rng) else {
                    continue;
                };
                let minutes = match self.rng.random_range(0..100) {
                    0..40 => self.rng.random_range(10..30),
                    40..75 => self.rng.random_range(30..60),
                    75..95 => self.rng.random_range(60..90),
                    _ => self.rng.random_range(90..=120),
                };
                self.sink.emit(
                    EventType::StudyCompleted,
                    t,
                    Who::own(&b.id, &p.id),
                    json!({"resource_id": resource.id, "minutes": minutes}),
                );
            }
        }
    }

    /// The university's monthly online test (out of 100) and the college's knowledge
    /// competition in April and November (out of 50). Scores depend on the branch.
    fn quizzes(&mut self, b: &Branch) {
        let m = self.m;
        // The university's test rotates through the topics month by month; the college's
        // competition is on the Party's history.
        let topic = names::TOPICS[(m.number() as usize - 1) % names::TOPICS.len()];
        let mut tests = vec![(
            format!("QZ-U-{}", m.compact()),
            100.0,
            (10, 25),
            0.35,
            0.55,
            topic,
        )];
        if matches!(m.number(), 4 | 11) {
            tests.push((
                format!("QZ-{}-{}", self.college.id, m.compact()),
                50.0,
                (15, 20),
                0.2,
                0.4,
                "党史",
            ));
        }
        for (quiz_id, max_score, (from, to), base, slope, topic) in tests {
            for p in &b.people {
                if !p.life.is_learner(m.day(to)) && !p.life.is_learner(m.day(from)) {
                    continue;
                }
                if !self.rng.random_bool(base + slope * p.engagement) {
                    continue;
                }
                let day = day_between(&mut self.rng, m.day(from), m.day(to));
                if day > self.uni.today || !p.life.is_learner(day) {
                    continue;
                }
                let gap = if super::planted_gap(&p.id) == Some(topic) {
                    super::PLANTED_GAP_POINTS
                } else {
                    0.0
                };
                let pct = normal(
                    &mut self.rng,
                    b.quiz_mean + 14.0 * (p.engagement - 0.72),
                    8.0,
                )
                .clamp(20.0, 100.0);
                let pct = (pct - gap).max(0.0);
                let score = if max_score == 100.0 {
                    json!(pct.round() as i64)
                } else {
                    json!((pct / 100.0 * max_score * 2.0).round() / 2.0)
                };
                let t = personal(&mut self.rng, day);
                self.sink.emit(
                    EventType::QuizTaken,
                    t,
                    Who::own(&b.id, &p.id),
                    json!({"quiz_id": quiz_id, "score": score, "max_score": max_score as i64, "topic": topic}),
                );
            }
        }
    }

    /// The year's 组织生活会 and democratic evaluation, in December or January: full
    /// members are rated, at most a third of them excellent; probationary members are
    /// not rated.
    fn evaluation(&mut self, b: &Branch) {
        let m = self.m;
        let year = match m.number() {
            12 => m.year(),
            1 => m.year() - 1,
            _ => return,
        };
        if year < self.uni.launch.year() {
            return;
        }
        let mut rng = keyed(&[self.uni.seed, tag::EVALUATION, b.key, year as u64]);
        let day = if rng.random_bool(0.65) {
            workday(ymd(year, 12, rng.random_range(10..=24)))
        } else {
            workday(ymd(year + 1, 1, rng.random_range(6..=16)))
        };
        if !m.contains(day) || day > self.uni.today {
            return;
        }
        let plan = Planned {
            kind: MeetingKind::LifeMeeting,
            org: &b.id,
            day,
            group: None,
        };
        if self.hold(b, &plan, &[]).is_none() {
            return;
        }
        let mut rated: Vec<(f64, &Person)> = b
            .people
            .iter()
            .filter(|p| p.life.is_full(day) && p.quirks.skip_evaluation != Some(year))
            .map(|p| (p.engagement + normal(&mut self.rng, 0.0, 0.12), p))
            .collect();
        rated.sort_by(|a, b| b.0.total_cmp(&a.0));
        let n = rated.len();
        let excellent = (n / 3).min((n as f64 * self.rng.random_range(0.18..0.3)).round() as usize);
        let secretary = b.secretary_at(day).id.as_str();
        for (rank, (score, p)) in rated.into_iter().enumerate() {
            let rating = if rank < excellent {
                Rating::Excellent
            } else if score < 0.25 && self.rng.random_bool(0.25) {
                Rating::Unqualified
            } else if score < 0.42 && self.rng.random_bool(0.6) {
                Rating::BasicallyQualified
            } else {
                Rating::Qualified
            };
            let when = at(day, 16, 0) + TimeDelta::minutes(rank as i64 / 4);
            self.sink.emit(
                EventType::EvaluationSubmitted,
                when,
                Who::member(&b.id, &p.id, secretary),
                json!({"year": year, "rating": rating.as_str()}),
            );
        }
    }

    /// The branch's own notices, and who reads those of the branch, the college and
    /// the university.
    fn notices(&mut self, b: &Branch) {
        let m = self.m;
        let count = 1 + usize::from(self.rng.random_bool(0.2));
        let mut items = Vec::new();
        for k in 1..=count {
            let day = working_day(&mut self.rng, m, 1, 20);
            if day > self.uni.today || day < self.uni.launch {
                continue;
            }
            let item = Item {
                at: office(&mut self.rng, day),
                id: format!("N-{}-{}-{k}", b.id, m.compact()),
                title: names::pick(&mut self.rng, names::BRANCH_NOTICES).to_string(),
                kind: "notice",
                topic: None,
                required_for: &[],
                minutes: None,
            };
            let secretary = b.secretary_at(day).id.as_str();
            self.sink.emit(
                EventType::NoticePublished,
                item.at,
                Who::org(&b.id, secretary),
                json!({"notice_id": item.id, "title": item.title}),
            );
            items.push((item, 0.4, 0.35));
        }
        let uni = self.uni;
        let college = self.college;
        let published = college
            .notices
            .in_month(m)
            .map(|n| (n, 0.2, 0.3))
            .chain(uni.notices.in_month(m).map(|n| (n, 0.12, 0.25)));
        let published: Vec<(&Item, f64, f64)> = published.collect();
        let own: Vec<(&Item, f64, f64)> = items.iter().map(|(i, a, s)| (i, *a, *s)).collect();
        for (notice, base, slope) in own.into_iter().chain(published) {
            let day = notice.at.date();
            for p in b.people.iter().filter(|p| p.life.is_engaged(day)) {
                if !self.rng.random_bool(base + slope * p.engagement) {
                    continue;
                }
                let read = days(day, self.rng.random_range(1..=6));
                if read >= p.life.gone {
                    continue;
                }
                let t = personal(&mut self.rng, read);
                self.sink.emit(
                    EventType::NoticeRead,
                    t,
                    Who::own(&b.id, &p.id),
                    json!({"notice_id": notice.id}),
                );
            }
        }
    }

    /// Posts on the branch forum, with comments and likes from branch mates.
    fn forum(&mut self, b: &Branch) {
        let m = self.m;
        let (first, last) = (m.first(), self.last);
        for p in &b.people {
            let start = first.max(p.life.engaged_from);
            let end = last.min(days(p.life.gone, -1));
            if start > end || !self.rng.random_bool(0.05 + 0.15 * p.engagement) {
                continue;
            }
            let day = day_between(&mut self.rng, start, end);
            let posted = personal(&mut self.rng, day);
            let post_id = format!("PO-{}-{}", p.id, m.compact());
            let title = names::pick(&mut self.rng, names::POSTS);
            self.sink.emit(
                EventType::PostCreated,
                posted,
                Who::own(&b.id, &p.id),
                json!({"post_id": post_id, "title": title}),
            );
            let mut mates: Vec<&Person> = b
                .people
                .iter()
                .filter(|q| q.id != p.id && q.life.is_engaged(day))
                .collect();
            mates.shuffle(&mut self.rng);
            let comments = poisson(&mut self.rng, 1.2) as usize;
            let likes = poisson(&mut self.rng, 2.5) as usize;
            for (k, q) in mates.iter().take(comments).enumerate() {
                let t = after(&mut self.rng, posted);
                let comment_id = format!("{post_id}-C{}", k + 1);
                self.sink.emit(
                    EventType::CommentCreated,
                    t,
                    Who::own(&b.id, &q.id),
                    json!({"comment_id": comment_id, "post_id": post_id}),
                );
                if self.rng.random_bool(0.3) {
                    let liker = mates[self.rng.random_range(0..mates.len())];
                    if liker.id != q.id {
                        let t = after(&mut self.rng, t);
                        self.sink.emit(
                            EventType::LikeGiven,
                            t,
                            Who::own(&b.id, &liker.id),
                            json!({"target_id": comment_id}),
                        );
                    }
                }
            }
            for q in mates.iter().rev().take(likes) {
                let t = after(&mut self.rng, posted);
                self.sink.emit(
                    EventType::LikeGiven,
                    t,
                    Who::own(&b.id, &q.id),
                    json!({"target_id": post_id}),
                );
            }
        }
    }

    /// The branch's own activity (about every other month) and who joins it, the
    /// college's and the university's.
    fn activities(&mut self, b: &Branch) {
        let m = self.m;
        let mut own = None;
        let chance = if b.quirks.weak { 0.2 } else { 0.45 };
        if self.rng.random_bool(chance) {
            let day = working_day(&mut self.rng, m, 5, 25);
            if day <= self.uni.today && day >= self.uni.launch {
                let (title, kind) = names::pick(&mut self.rng, names::ACTIVITIES);
                let item = Item {
                    at: at(day, [9, 14, 15][self.rng.random_range(0..3)], 0),
                    id: format!("A-{}-{}", b.id, m.compact()),
                    title: title.to_string(),
                    kind,
                    topic: None,
                    required_for: &[],
                    minutes: None,
                };
                let secretary = b.secretary_at(day).id.as_str();
                self.sink.emit(
                    EventType::ActivityHeld,
                    item.at,
                    Who::org(&b.id, secretary),
                    json!({"activity_id": item.id, "title": item.title, "kind": item.kind}),
                );
                own = Some(item);
            }
        }
        let uni = self.uni;
        let college = self.college;
        let all: Vec<(&Item, f64, f64)> = own
            .iter()
            .map(|i| (i, 0.3, 0.4))
            .chain(college.activities.in_month(m).map(|i| (i, 0.08, 0.15)))
            .chain(uni.activities.in_month(m).map(|i| (i, 0.04, 0.06)))
            .collect();
        for (activity, base, slope) in all {
            let day = activity.at.date();
            for p in b.people.iter().filter(|p| p.life.is_engaged(day)) {
                if !self.rng.random_bool(base + slope * p.engagement) {
                    continue;
                }
                let hours = f64::from(self.rng.random_range(2..=12u32)) / 2.0;
                let t = activity.at + TimeDelta::minutes(self.rng.random_range(0..30));
                self.sink.emit(
                    EventType::ActivityJoined,
                    t,
                    Who::own(&b.id, &p.id),
                    json!({"activity_id": activity.id, "hours": hours}),
                );
            }
        }
    }
}

/// A time a reply or a like follows `t`: within two days, at a personal time of day.
fn after(rng: &mut StdRng, t: NaiveDateTime) -> NaiveDateTime {
    let day = days(t.date(), rng.random_range(0..=2));
    let later = personal(rng, day);
    if later > t {
        later
    } else {
        t + TimeDelta::minutes(rng.random_range(5..90))
    }
}

/// The Party group of each of the branch's people in month `m`. Groups are re-formed at
/// the start of each quarter from the members of the day, so graduations do not leave
/// a group empty: each leader in their group, then the others dealt out evenly. Members
/// admitted during the quarter join a group by lot.
fn party_groups(b: &Branch, m: Month) -> Vec<usize> {
    let start = m.plus(-m.in_quarter()).first();
    let n = b.groups.len();
    let mut group = vec![usize::MAX; b.people.len()];
    let mut sizes = vec![0usize; n];
    for (g, &leader) in b.term_at(start).leaders.iter().enumerate() {
        if group[leader] == usize::MAX && b.people[leader].life.is_member(start) {
            group[leader] = g;
            sizes[g] += 1;
        }
    }
    let mut members: Vec<usize> = (0..b.people.len())
        .filter(|&i| group[i] == usize::MAX && b.people[i].life.is_member(start))
        .collect();
    members.sort_by_key(|&i| b.people[i].key);
    for i in members {
        let g = (0..n).min_by_key(|&g| sizes[g]).unwrap_or(0);
        group[i] = g;
        sizes[g] += 1;
    }
    for (i, g) in group.iter_mut().enumerate() {
        if *g == usize::MAX {
            *g = (b.people[i].key % n as u64) as usize;
        }
    }
    group
}

/// Who was invited to a meeting that was held, and how each answered.
struct Invited {
    meeting_id: String,
    start: NaiveDateTime,
    people: Vec<usize>,
    statuses: Vec<AttendanceStatus>,
}

/// The event type, payload and recording actor of a pipeline step.
fn step_event<'s>(
    p: &Person,
    kind: &StepKind,
    secretary: &'s str,
    approver: &'s str,
    college: &str,
) -> (EventType, Value, &'s str) {
    let note = |text: &str| json!({"note": text});
    match kind {
        StepKind::Registered => {
            let mut payload = json!({
                "name": p.name.chinese,
                "student_no": p.student_no,
                "gender": if p.male { "male" } else { "female" },
                "grade": p.grade,
                "major": p.major,
                "class_name": p.class_name,
                "email": p.email,
                "phone": p.phone,
                "birth_date": date_text(p.birth),
            });
            if let Some(g) = p.graduation {
                payload["expected_graduation"] = date_text(g).into();
            }
            (EventType::MemberRegistered, payload, secretary)
        }
        StepKind::Applied => (EventType::MemberApplied, note("递交入党申请书"), secretary),
        StepKind::Talked => (
            EventType::MemberTalked,
            json!({"talker_id": secretary, "note": "了解入党动机，介绍党的基本知识"}),
            secretary,
        ),
        StepKind::ActivistDesignated => (
            EventType::MemberActivistDesignated,
            note("经推荐和支部委员会研究，确定为入党积极分子"),
            secretary,
        ),
        StepKind::ActivistAssessed => (
            EventType::MemberActivistAssessed,
            json!({"result": "passed", "note": "按时提交思想汇报，培养联系人考察合格"}),
            secretary,
        ),
        StepKind::DevelopmentTargetDesignated => (
            EventType::MemberDevelopmentTargetDesignated,
            note("经支部委员会讨论，报上级党委备案"),
            secretary,
        ),
        StepKind::PoliticalReview { passed } => (
            EventType::MemberPoliticalReviewCompleted,
            json!({"result": if *passed { "passed" } else { "failed" }}),
            secretary,
        ),
        StepKind::Training { hours, days } => (
            EventType::MemberTrainingCompleted,
            json!({"hours": hours, "days": days}),
            secretary,
        ),
        StepKind::AdmittedProbationary => (
            EventType::MemberAdmittedProbationary,
            note("经支部党员大会讨论通过"),
            secretary,
        ),
        StepKind::AdmissionApproved => (
            EventType::MemberAdmissionApproved,
            json!({"note": format!("经{college}审批同意")}),
            approver,
        ),
        StepKind::ProbationExtended { months } => (
            EventType::MemberProbationExtended,
            json!({"months": months, "reason": "预备期间表现有待提高，需继续考察"}),
            secretary,
        ),
        StepKind::ConvertedFull => (
            EventType::MemberConvertedFull,
            note("预备期满，经支部党员大会讨论，按期转为正式党员"),
            secretary,
        ),
        StepKind::ConversionApproved => (
            EventType::MemberConversionApproved,
            json!({"note": format!("经{college}审批同意")}),
            approver,
        ),
        StepKind::TransferredIn { from, stage, since } => (
            EventType::MemberTransferredIn,
            json!({"from_org": from, "stage": stage.as_str(), "stage_since": date_text(*since)}),
            secretary,
        ),
        StepKind::TransferredOut { to } => (
            EventType::MemberTransferredOut,
            json!({"to_org": to}),
            secretary,
        ),
        StepKind::Graduated => (EventType::MemberGraduated, json!({}), secretary),
        StepKind::Left { reason } => (EventType::MemberLeft, json!({"reason": reason}), secretary),
    }
}
