//! The plan of the whole university, made before any event: the org tree, every person
//! with their pipeline, committees and their terms, and the study material, notices
//! and activities the university and each college publish.
//!
//! The plan holds no events; [`super::month`] turns it into events one month and one
//! college at a time, so the event stream is ordered by time (few Delta files per
//! commit) and never held in memory as a whole.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDateTime};
use ingest::catalogue::Stage;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::calendar::{
    Date, Month, academic_year, day_between, days, months, office, workday, years, ymd,
};
use super::lapses;
use super::names::{self, COLLEGES, CollegeTemplate, ordinal};
use super::people::{self, Person, Prior, Recruit, Track};
use super::{DemoSpec, keyed, mix, normal};

pub(super) const UNIVERSITY_ID: &str = "U";
pub(super) const UNIVERSITY_NAME: &str = "江城大学党委";
pub(super) const MAIL_DOMAIN: &str = "univ.edu.cn";
pub(super) const STUDENT_MAIL_DOMAIN: &str = "stu.univ.edu.cn";

/// Tags that keep the random streams of different purposes apart.
pub(super) mod tag {
    pub(crate) const STRUCTURE: u64 = 1;
    pub(crate) const COLLEGE: u64 = 2;
    pub(crate) const MONTH: u64 = 3;
    pub(crate) const IDS: u64 = 4;
    pub(crate) const DUES: u64 = 5;
    pub(crate) const QUARTER: u64 = 6;
    pub(crate) const EVALUATION: u64 = 7;
    pub(crate) const CATALOG: u64 = 8;
}

/// A secretary who is not one of the generated members (university and college level).
#[derive(Debug, Clone)]
pub(super) struct Official {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) email: String,
}

/// Something an org publishes: study material, a notice or an activity.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub(super) at: NaiveDateTime,
    pub(super) id: String,
    pub(super) title: String,
    pub(super) kind: &'static str,
    /// For study material: its topic, the stages that must study it, its length.
    pub(super) topic: Option<&'static str>,
    pub(super) required_for: &'static [&'static str],
    pub(super) minutes: Option<u32>,
}

/// Items of one org in time order.
#[derive(Debug, Clone, Default)]
pub(super) struct Catalog(pub(super) Vec<Item>);

impl Catalog {
    pub(super) fn in_month(&self, m: Month) -> impl Iterator<Item = &Item> {
        self.0.iter().filter(move |i| m.contains(i.at.date()))
    }

    /// One of the latest items published before `t` (members study what is new).
    pub(super) fn recent(&self, t: NaiveDateTime, rng: &mut StdRng) -> Option<&Item> {
        let end = self.0.partition_point(|i| i.at <= t);
        (end > 0).then(|| &self.0[rng.random_range(end.saturating_sub(30)..end)])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BranchKind {
    Undergraduate,
    Graduate,
    Staff,
}

/// A committee (支部委员会) elected for a term, with the secretary and group leaders.
#[derive(Debug, Clone)]
pub(super) struct Term {
    pub(super) elected: Date,
    /// Index into the branch's people.
    pub(super) secretary: usize,
    pub(super) members: Vec<usize>,
    /// The leader (组长) of each Party group.
    pub(super) leaders: Vec<usize>,
}

/// Deliberate lapses of a branch (see [`super::lapses`]).
#[derive(Debug, Clone, Default)]
pub(super) struct BranchQuirks {
    /// Low attendance, few meetings, more arrears, lower quiz scores.
    pub(super) weak: bool,
    pub(super) no_assembly_this_quarter: bool,
    pub(super) no_committee_this_month: bool,
    pub(super) no_group_this_month: Option<usize>,
    pub(super) no_lecture_this_quarter: bool,
    /// The committee elected at launch is never renewed.
    pub(super) term_expired: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Branch {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) kind: BranchKind,
    /// The branch's place among those of its kind (本科生第二党支部 → 1): which majors or
    /// departments it takes.
    pub(super) position: usize,
    /// (id, name) of each Party group.
    pub(super) groups: Vec<(String, String)>,
    pub(super) people: Vec<Person>,
    pub(super) terms: Vec<Term>,
    pub(super) quirks: BranchQuirks,
    /// Share of invitations answered "present" in this branch.
    pub(super) present_rate: f64,
    /// Mean quiz score (0–100) of the branch: branches differ, as ANOVA should find.
    pub(super) quiz_mean: f64,
    pub(super) key: u64,
}

impl Branch {
    pub(super) fn term_at(&self, d: Date) -> &Term {
        self.terms
            .iter()
            .rev()
            .find(|t| t.elected <= d)
            .unwrap_or(&self.terms[0])
    }

    pub(super) fn secretary_at(&self, d: Date) -> &Person {
        &self.people[self.term_at(d).secretary]
    }
}

/// An org that lives for a while only (临时党支部), to show creation and dissolution.
#[derive(Debug, Clone)]
pub(super) struct TemporaryBranch {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) created: Date,
    pub(super) dissolved: Date,
    pub(super) secretary: Official,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CorrectionKind {
    /// A dues payment recorded with a wrong amount, retracted.
    Dues,
    /// A member wrongly recorded absent, retracted.
    Attendance,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Correction {
    pub(super) kind: CorrectionKind,
    pub(super) month: Month,
    pub(super) branch: usize,
}

#[derive(Debug, Clone)]
pub(super) struct College {
    pub(super) index: usize,
    pub(super) id: String,
    pub(super) name: String,
    /// Secretaries with the day each was appointed.
    pub(super) secretaries: Vec<(Date, Official)>,
    pub(super) renamed: Option<(Date, String)>,
    pub(super) temporary: Option<TemporaryBranch>,
    pub(super) branches: Vec<Branch>,
    pub(super) resources: Catalog,
    pub(super) notices: Catalog,
    pub(super) activities: Catalog,
    pub(super) corrections: Vec<Correction>,
}

impl College {
    pub(super) fn secretary_at(&self, d: Date) -> &Official {
        &self
            .secretaries
            .iter()
            .rev()
            .find(|(on, _)| *on <= d)
            .unwrap_or(&self.secretaries[0])
            .1
    }
}

#[derive(Debug, Clone)]
pub(super) struct University {
    pub(super) seed: u64,
    pub(super) today: Date,
    /// The day the platform went live: the start of the academic year four years ago.
    pub(super) launch: Date,
    pub(super) secretary: Official,
    pub(super) resources: Catalog,
    pub(super) notices: Catalog,
    pub(super) activities: Catalog,
    pub(super) colleges: Vec<College>,
}

pub(super) fn college_id(index: usize) -> String {
    format!("C{:02}", index + 1)
}

pub(super) fn branch_id(college: usize, branch: usize) -> String {
    format!("{}-B{:02}", college_id(college), branch + 1)
}

pub(super) fn college_count(spec: &DemoSpec) -> usize {
    8 * spec.scale.max(1) as usize
}

pub(super) fn launch(today: Date) -> Date {
    ymd(academic_year(today) - 4, 9, 1)
}

/// Hands out staff e-mail addresses (`li.wei`, `li.wei2`…), unique across the university.
#[derive(Debug, Default)]
pub(super) struct Mailboxes(HashSet<String>);

impl Mailboxes {
    pub(super) fn assign(&mut self, name: &names::Name) -> String {
        let base = name.mailbox();
        let mut local = base.clone();
        let mut n = 1;
        while !self.0.insert(local.clone()) {
            n += 1;
            local = format!("{base}{n}");
        }
        format!("{local}@{MAIL_DOMAIN}")
    }
}

impl University {
    pub(super) fn build(spec: &DemoSpec) -> University {
        let today = spec.today;
        let launch = launch(today);
        let mut rng = keyed(&[spec.seed, tag::STRUCTURE]);
        let mut mailboxes = Mailboxes::default();
        let secretary = official(&mut rng, &mut mailboxes, "U-SEC1".into());
        let mut uni = University {
            seed: spec.seed,
            today,
            launch,
            secretary,
            resources: Catalog::default(),
            notices: Catalog::default(),
            activities: Catalog::default(),
            colleges: Vec::new(),
        };
        let mut catalog_rng = keyed(&[spec.seed, tag::CATALOG]);
        uni.resources = university_resources(&mut catalog_rng, launch, today);
        uni.notices = notices(
            &mut catalog_rng,
            &format!("N-{UNIVERSITY_ID}"),
            "",
            names::UNIVERSITY_NOTICES,
            (launch, today),
            2,
        );
        uni.activities = activities(
            &mut catalog_rng,
            &format!("A-{UNIVERSITY_ID}"),
            (launch, today),
            2,
        );
        for index in 0..college_count(spec) {
            let college = build_college(&uni, index, &mut mailboxes);
            uni.colleges.push(college);
        }
        uni
    }
}

fn official(rng: &mut StdRng, mailboxes: &mut Mailboxes, id: String) -> Official {
    let male = rng.random_bool(0.6);
    let name = names::name(rng, male);
    Official {
        id,
        email: mailboxes.assign(&name),
        name: name.chinese,
    }
}

/// The running numbers of a college: student numbers and staff numbers.
#[derive(Debug, Default)]
struct Numbers {
    students: HashMap<(i32, u8), u32>,
    staff: u32,
}

impl Numbers {
    fn student(&mut self, college: usize, entry: i32, programme: u8) -> String {
        let seq = self.students.entry((entry, programme)).or_default();
        *seq += 1;
        format!("{entry}{:03}{programme}{:03}", college + 1, *seq)
    }

    fn staff(&mut self, college: usize, hired: i32) -> String {
        self.staff += 1;
        format!("T{hired}{:03}{:03}", college + 1, self.staff)
    }
}

/// Everything a branch's people are made from.
pub(super) struct Builder<'a> {
    pub(super) uni: &'a University,
    pub(super) template: &'static CollegeTemplate,
    pub(super) college: usize,
    pub(super) rng: StdRng,
    numbers: Numbers,
    mailboxes: &'a mut Mailboxes,
}

impl Builder<'_> {
    pub(super) fn recruit(&self, branch: &Branch, id: String, track: Track, grade: i32) -> Recruit {
        Recruit {
            key: mix(&[self.uni.seed, branch.key, hash_str(&id)]),
            id,
            track,
            grade,
            registered: self.uni.launch,
            male_share: if track == Track::Staff {
                0.55
            } else {
                self.template.male_share
            },
            engagement: if branch.quirks.weak { 0.5 } else { 0.72 },
        }
    }

    /// A student of `branch` entering in `entry`, registered in the first weeks.
    pub(super) fn student(
        &mut self,
        branch: &Branch,
        id: String,
        track: Track,
        entry: i32,
    ) -> Person {
        let mut r = self.recruit(branch, id, track, entry);
        r.registered = workday(day_between(
            &mut self.rng,
            ymd(entry, 9, 3),
            ymd(entry, 9, 16),
        ));
        let mut p = Person::new(&mut self.rng, r);
        let (programme, abbreviation) = match track {
            Track::Undergraduate => {
                let majors = branch_majors(self.template, branch);
                let (major, abbreviation) = names::pick(&mut self.rng, &majors);
                p.major = major.to_string();
                (1, abbreviation.to_string())
            }
            Track::Master { .. } | Track::Doctoral => {
                p.major = names::pick(&mut self.rng, self.template.programmes).to_string();
                let level = if track == Track::Doctoral { 3 } else { 2 };
                let abbreviation = self.template.majors[0].1;
                (level, abbreviation.to_string())
            }
            Track::Staff => unreachable!("staff are made by `staff`"),
        };
        let yy = entry % 100;
        let class_no = self.rng.random_range(1..=3);
        p.class_name = match track {
            Track::Undergraduate => format!("{abbreviation}{yy:02}{class_no:02}班"),
            Track::Doctoral => format!("{abbreviation}博{yy:02}01班"),
            _ => format!("{abbreviation}硕{yy:02}{class_no:02}班"),
        };
        p.student_no = self.numbers.student(self.college, entry, programme);
        p.email = format!("{}@{STUDENT_MAIL_DOMAIN}", p.student_no);
        p
    }

    /// A member of staff hired in `hired`, registered on `registered`.
    pub(super) fn staff(
        &mut self,
        branch: &Branch,
        id: String,
        hired: i32,
        registered: Date,
        role: &str,
    ) -> Person {
        let mut r = self.recruit(branch, id, Track::Staff, hired);
        r.registered = registered;
        let mut p = Person::new(&mut self.rng, r);
        if branch.kind == BranchKind::Staff {
            let position = branch.position;
            let departments: Vec<&str> = self
                .template
                .departments
                .iter()
                .enumerate()
                .filter(|(i, _)| i % self.staff_branches() == position)
                .map(|(_, d)| *d)
                .collect();
            let departments = if departments.is_empty() {
                self.template.departments.to_vec()
            } else {
                departments
            };
            p.class_name = names::pick(&mut self.rng, &departments).to_string();
            p.major = names::pick(&mut self.rng, self.template.programmes).to_string();
        } else {
            p.major = "学生工作".to_string();
            p.class_name = role.to_string();
        }
        p.student_no = self.numbers.staff(self.college, hired);
        p.email = self.mailboxes.assign(&p.name);
        p
    }

    fn staff_branches(&self) -> usize {
        self.template.branches.2.max(1)
    }
}

/// The majors whose students belong to this undergraduate branch.
fn branch_majors(
    template: &'static CollegeTemplate,
    branch: &Branch,
) -> Vec<(&'static str, &'static str)> {
    let position = branch.position;
    let n = template.branches.0.max(1);
    let mine: Vec<_> = template
        .majors
        .iter()
        .enumerate()
        .filter(|(i, _)| i % n == position % n)
        .map(|(_, m)| *m)
        .collect();
    debug_assert!(branch.kind == BranchKind::Undergraduate);
    if mine.is_empty() {
        template.majors.to_vec()
    } else {
        mine
    }
}

pub(super) fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn build_college(uni: &University, index: usize, mailboxes: &mut Mailboxes) -> College {
    let template = &COLLEGES[index % COLLEGES.len()];
    let campus = index / COLLEGES.len();
    let suffix = if campus == 0 {
        String::new()
    } else {
        format!(
            "（{}）",
            names::CAMPUSES[(campus - 1) % names::CAMPUSES.len()]
        )
    };
    let id = college_id(index);
    let short = format!("{}{suffix}", template.short);
    let mut rng = keyed(&[uni.seed, tag::COLLEGE, index as u64]);
    let today = uni.today;
    let launch = uni.launch;

    let mut secretaries = vec![(launch, official(&mut rng, mailboxes, format!("{id}-SEC1")))];
    if rng.random_bool(0.25) {
        let on = workday(day_between(&mut rng, months(launch, 12), days(today, -30)));
        secretaries.push((on, official(&mut rng, mailboxes, format!("{id}-SEC2"))));
    }
    // A 党总支 that grew into a 党委 (the foreign-languages college).
    let renamed = (template.name == "外国语学院").then(|| {
        (
            workday(months(launch, 18)),
            format!("{}{suffix}党委", template.name),
        )
    });

    let mut branches = Vec::new();
    let (ug, grad, staff) = template.branches;
    let kinds = std::iter::repeat_n(BranchKind::Undergraduate, ug)
        .chain(std::iter::repeat_n(BranchKind::Graduate, grad))
        .chain(std::iter::repeat_n(BranchKind::Staff, staff));
    for (b, kind) in kinds.enumerate() {
        let (label, count, position) = match kind {
            BranchKind::Undergraduate => ("本科生", ug, b),
            BranchKind::Graduate => ("研究生", grad, b - ug),
            BranchKind::Staff => ("教工", staff, b - ug - grad),
        };
        let name = if count == 1 {
            format!("{short}{label}党支部")
        } else {
            format!("{short}{label}{}党支部", ordinal(position + 1))
        };
        let id = branch_id(index, b);
        let n_groups = if kind == BranchKind::Staff || rng.random_bool(0.4) {
            3
        } else {
            2
        };
        let groups = (1..=n_groups)
            .map(|g| (format!("{id}-G{g}"), format!("{name}{}党小组", ordinal(g))))
            .collect();
        branches.push(Branch {
            key: mix(&[uni.seed, index as u64, b as u64]),
            id,
            name,
            kind,
            position,
            groups,
            people: Vec::new(),
            terms: Vec::new(),
            quirks: BranchQuirks::default(),
            present_rate: normal(&mut rng, 0.865, 0.01).clamp(0.83, 0.9),
            quiz_mean: normal(&mut rng, 80.0, 4.0).clamp(70.0, 90.0),
        });
    }
    if index == 0 {
        lapses::plant_branch_quirks(&mut branches);
    }

    let mut builder = Builder {
        uni,
        template,
        college: index,
        rng,
        numbers: Numbers::default(),
        mailboxes,
    };
    for branch in &mut branches {
        if branch.quirks.weak {
            branch.present_rate = 0.55;
            branch.quiz_mean = 64.0;
        }
        populate(&mut builder, branch);
    }
    if index == 0 {
        lapses::plant_people(&mut builder, &mut branches);
    }
    for branch in &mut branches {
        branch.terms = elect(&mut builder.rng, branch, launch, today);
    }

    let temporary = (index == 1).then(|| {
        let created = workday(ymd(launch.year() + 1, 6, 18));
        let staff_branch = branches
            .iter()
            .find(|b| b.kind == BranchKind::Staff)
            .unwrap_or(&branches[0]);
        let leader = &staff_branch.people[0];
        TemporaryBranch {
            id: format!("{id}-L1"),
            name: format!("{short}暑期社会实践临时党支部"),
            created,
            dissolved: workday(ymd(launch.year() + 1, 9, 10)),
            secretary: Official {
                id: leader.id.clone(),
                name: leader.name.chinese.clone(),
                email: leader.email.clone(),
            },
        }
    });

    let mut rng = builder.rng;
    let mut corrections = Vec::new();
    let (first, last) = (Month::of(launch).plus(3), Month::of(today).plus(-1));
    for kind in [CorrectionKind::Dues, CorrectionKind::Attendance] {
        if last >= first {
            corrections.push(Correction {
                kind,
                month: Month(rng.random_range(first.0..=last.0)),
                branch: rng.random_range(0..branches.len()),
            });
        }
    }
    let span = (launch, today);
    College {
        resources: college_resources(&mut rng, &id, &short, span),
        notices: notices(
            &mut rng,
            &format!("N-{id}"),
            &short,
            names::COLLEGE_NOTICES,
            span,
            2,
        ),
        activities: activities(&mut rng, &format!("A-{id}"), span, 1),
        index,
        name: format!("{}{suffix}{}", template.name, template.committee),
        id,
        secretaries,
        renamed,
        temporary,
        branches,
        corrections,
    }
}

/// Fills a branch with its people: staff imported at launch, and five cohorts of
/// students (undergraduate or graduate), or the teachers of a staff branch.
fn populate(b: &mut Builder<'_>, branch: &mut Branch) {
    let uni = b.uni;
    let (launch, today) = (uni.launch, uni.today);
    let ay = academic_year(today);
    let mut people = Vec::new();
    let mut staff_no = 0;
    let mut next_staff_id = |branch: &Branch| {
        staff_no += 1;
        format!("{}-T{:02}", branch.id, staff_no)
    };
    let imported = |b: &mut Builder<'_>, since: Date| Prior {
        stage: Stage::FullMember,
        since,
        from: "平台上线建档（原在本支部）".to_string(),
        after_days: b.rng.random_range(0..=14),
    };

    // Counsellors (辅导员) and class advisers lead the student branches.
    let (counsellors, roles): (usize, &[&str]) = match branch.kind {
        BranchKind::Undergraduate => (3, &["辅导员", "班主任", "专业教师"]),
        BranchKind::Graduate => (2, &["研究生辅导员", "研究生导师"]),
        BranchKind::Staff => (b.rng.random_range(30..=42), &[]),
    };
    for i in 0..counsellors {
        let hired = launch.year() - b.rng.random_range(0..22);
        let role = roles.get(i).copied().unwrap_or("教师");
        let id = next_staff_id(branch);
        let mut p = b.staff(branch, id, hired, launch, role);
        if branch.kind != BranchKind::Staff {
            p.engagement = p.engagement.max(0.8);
        }
        // Most teachers are long-standing members; some young ones are not (yet).
        let member = branch.kind != BranchKind::Staff || i == 0 || b.rng.random_bool(0.86);
        let prior = member.then(|| {
            let joined = years(p.birth, b.rng.random_range(20..=24)).min(days(launch, -400));
            imported(b, joined)
        });
        people::develop(&mut b.rng, &mut p, prior);
        people.push(p);
    }
    if branch.kind == BranchKind::Staff {
        // New teachers join each autumn, most already members.
        for year in (ay - 3)..=ay {
            for _ in 0..b.rng.random_range(0..=2) {
                let registered =
                    workday(day_between(&mut b.rng, ymd(year, 9, 1), ymd(year, 9, 25)));
                let id = next_staff_id(branch);
                let mut p = b.staff(branch, id, year, registered, "教师");
                let prior = b.rng.random_bool(0.85).then(|| Prior {
                    stage: Stage::FullMember,
                    since: years(p.birth, b.rng.random_range(20..=26)),
                    from: format!(
                        "{}博士研究生党支部",
                        names::pick(&mut b.rng, names::OTHER_UNIVERSITIES)
                    ),
                    after_days: b.rng.random_range(3..=25),
                });
                people::develop(&mut b.rng, &mut p, prior);
                people.push(p);
            }
        }
    } else {
        let mut seq = 0;
        for entry in (ay - 4)..=ay {
            let cohort = match branch.kind {
                BranchKind::Undergraduate => b.rng.random_range(18..=24),
                _ => b.rng.random_range(10..=14),
            };
            for _ in 0..cohort {
                seq += 1;
                let id = format!("{}-M{seq:03}", branch.id);
                let track = match branch.kind {
                    BranchKind::Undergraduate => Track::Undergraduate,
                    _ => match b.rng.random_range(0..10) {
                        0..2 => Track::Doctoral,
                        2..5 => Track::Master { years: 2 },
                        _ => Track::Master { years: 3 },
                    },
                };
                let mut p = b.student(branch, id, track, entry);
                let prior = (track != Track::Undergraduate)
                    .then(|| graduate_prior(&mut b.rng, p.registered()))
                    .flatten();
                people::develop(&mut b.rng, &mut p, prior);
                people.push(p);
            }
        }
    }
    // A few members fall behind with their dues: many in the weak branch.
    let this_month = Month::of(today);
    for p in &mut people {
        let (share, behind) = if branch.quirks.weak {
            (0.4, 3..=8)
        } else {
            (0.015, 3..=5)
        };
        if b.rng.random_bool(share) {
            p.quirks.dues_stop = Some(this_month.plus(-b.rng.random_range(behind)).first());
        }
    }
    branch.people = people;
}

/// What a new graduate student brings: membership or activist status from their
/// undergraduate university, or nothing.
fn graduate_prior(rng: &mut StdRng, registered: Date) -> Option<Prior> {
    let (stage, since) = match rng.random_range(0..100) {
        0..40 => (
            Stage::FullMember,
            days(registered, -rng.random_range(300..1200)),
        ),
        40..52 => (
            Stage::Probationary,
            days(registered, -rng.random_range(30..330)),
        ),
        52..60 => (
            Stage::Activist,
            days(registered, -rng.random_range(180..720)),
        ),
        _ => return None,
    };
    let school = names::pick(rng, names::OTHER_UNIVERSITIES);
    Some(Prior {
        stage,
        since,
        from: format!("{school}本科生党支部"),
        after_days: rng.random_range(3..=25),
    })
}

/// The committees of a branch: one elected at launch, renewed when its three-year term
/// runs out (student members join it once there are any), unless the term is left to
/// expire.
fn elect(rng: &mut StdRng, branch: &Branch, launch: Date, today: Date) -> Vec<Term> {
    let people = &branch.people;
    let staff: Vec<usize> = (0..people.len())
        .filter(|&i| people[i].track == Track::Staff && people[i].life.is_full(days(launch, 20)))
        .collect();
    let secretary = staff.first().copied().unwrap_or(0);
    let mut members: Vec<usize> = staff.iter().copied().take(5).collect();
    if branch.kind == BranchKind::Staff {
        members = vec![secretary];
        let mut others: Vec<usize> = staff[1..].to_vec();
        others.shuffle(rng);
        members.extend(others.into_iter().take(4));
    }
    // Group leaders: committee members first, then other staff.
    let order = members
        .iter()
        .chain(&staff)
        .copied()
        .filter(|&i| i != secretary);
    let leaders = pick_leaders(order, branch.groups.len(), secretary);
    let mut terms = vec![Term {
        elected: launch,
        secretary,
        members,
        leaders,
    }];
    if branch.quirks.term_expired {
        return terms;
    }
    let renewal = workday(days(years(launch, 3), -rng.random_range(70..=100)));
    if renewal > today {
        return terms;
    }
    // Candidates: full members who will still be here for a while.
    let stays = |p: &Person| p.graduation.is_none_or(|g| g > days(renewal, 300));
    let mut candidates: Vec<(f64, usize)> = (0..people.len())
        .filter(|&i| {
            let p = &people[i];
            !p.planted && p.life.is_full(renewal) && stays(p)
        })
        .map(|i| (people[i].engagement + rng.random_range(-0.1..0.1), i))
        .collect();
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
    let previous = &terms[0];
    let mut secretary = previous.secretary;
    if branch.kind == BranchKind::Staff && rng.random_bool(0.4) {
        if let Some(&(_, i)) = candidates.iter().find(|(_, i)| *i != secretary) {
            secretary = i;
        }
    }
    let size = rng.random_range(3..=5);
    let mut members = vec![secretary];
    members.extend(
        candidates
            .iter()
            .map(|&(_, i)| i)
            .filter(|&i| i != secretary)
            .take(size - 1),
    );
    let order = candidates
        .iter()
        .map(|&(_, i)| i)
        .chain(
            previous
                .leaders
                .iter()
                .copied()
                .filter(|&i| people[i].life.is_full(renewal)),
        )
        .filter(|&i| i != secretary);
    let leaders = pick_leaders(order, branch.groups.len(), secretary);
    terms.push(Term {
        elected: renewal,
        secretary,
        members,
        leaders,
    });
    terms
}

/// `n` different group leaders in order of preference (the secretary when short).
fn pick_leaders(order: impl Iterator<Item = usize>, n: usize, fallback: usize) -> Vec<usize> {
    let mut chosen: Vec<usize> = Vec::with_capacity(n);
    for i in order {
        if chosen.len() == n {
            break;
        }
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    chosen.resize(n, fallback);
    chosen
}

fn months_between(span: (Date, Date)) -> impl Iterator<Item = Month> {
    let (from, to) = (Month::of(span.0), Month::of(span.1));
    (from.0..=to.0).map(Month)
}

/// A day of month `m` in office hours, on a working day, not before `span.0` and not
/// after `span.1` (None when it would be).
fn publish_time(rng: &mut StdRng, m: Month, span: (Date, Date)) -> Option<NaiveDateTime> {
    let d = workday(m.day(rng.random_range(1..=26)));
    (d >= span.0 && d <= span.1).then(|| office(rng, d))
}

fn sorted(mut items: Vec<Item>) -> Catalog {
    items.sort_by(|a, b| a.at.cmp(&b.at));
    Catalog(items)
}

fn university_resources(rng: &mut StdRng, launch: Date, today: Date) -> Catalog {
    let mut counters = vec![0; names::RESOURCE_SERIES.len()];
    let mut items = Vec::new();
    for m in months_between((launch, today)) {
        for _ in 0..6 {
            let Some(at) = publish_time(rng, m, (launch, today)) else {
                continue;
            };
            let s = rng.random_range(0..names::RESOURCE_SERIES.len());
            counters[s] += 1;
            let series = names::RESOURCE_SERIES[s];
            let title = if series.ends_with('第') {
                format!("{series}{}讲", counters[s])
            } else {
                format!("{series}{}", counters[s])
            };
            let (topic, required_for) = names::RESOURCE_TOPICS[s];
            items.push(Item {
                at,
                id: format!("R-{UNIVERSITY_ID}-{:04}", items.len() + 1),
                title,
                kind: names::pick(rng, names::RESOURCE_KINDS),
                topic: Some(topic),
                required_for,
                minutes: Some(10 + (items.len() as u32 * 7) % 12 * 5),
            });
        }
    }
    sorted(items)
}

fn college_resources(rng: &mut StdRng, id: &str, short: &str, span: (Date, Date)) -> Catalog {
    const SERIES: &[&str] = &["党建微课堂", "榜样党员风采", "课程思政案例", "理论学习材料"];
    const TOPICS: &[&str] = &["党章党规", "党史", "业务知识", "理论学习"];
    let mut counters = [0; 4];
    let mut items = Vec::new();
    for m in months_between(span) {
        for _ in 0..3 {
            let Some(at) = publish_time(rng, m, span) else {
                continue;
            };
            let s = rng.random_range(0..SERIES.len());
            counters[s] += 1;
            items.push(Item {
                at,
                id: format!("R-{id}-{:04}", items.len() + 1),
                title: format!("{short}{}·第{}期", SERIES[s], counters[s]),
                kind: names::pick(rng, names::RESOURCE_KINDS),
                topic: Some(TOPICS[s]),
                required_for: &[],
                minutes: Some(10 + (items.len() as u32 * 7) % 12 * 5),
            });
        }
    }
    sorted(items)
}

/// `per_two_months` notices every two months on average, titled from `titles`.
fn notices(
    rng: &mut StdRng,
    prefix: &str,
    issuer: &str,
    titles: &[&str],
    span: (Date, Date),
    per_two_months: u32,
) -> Catalog {
    let mut items = Vec::new();
    for m in months_between(span) {
        let n = per_two_months / 2 + u32::from(rng.random_ratio(per_two_months % 2, 2));
        for _ in 0..n {
            let Some(at) = publish_time(rng, m, span) else {
                continue;
            };
            items.push(Item {
                at,
                id: format!("{prefix}-{:04}", items.len() + 1),
                title: format!("{issuer}{}", names::pick(rng, titles)),
                kind: "notice",
                topic: None,
                required_for: &[],
                minutes: None,
            });
        }
    }
    sorted(items)
}

/// `per_two_months` activities every two months on average.
fn activities(rng: &mut StdRng, prefix: &str, span: (Date, Date), per_two_months: u32) -> Catalog {
    let mut items = Vec::new();
    for m in months_between(span) {
        if !rng.random_ratio(per_two_months.min(2), 2) {
            continue;
        }
        let Some(at) = publish_time(rng, m, span) else {
            continue;
        };
        let (title, kind) = names::pick(rng, names::ACTIVITIES);
        items.push(Item {
            at,
            id: format!("{prefix}-{:03}", items.len() + 1),
            title: title.to_string(),
            kind,
            topic: None,
            required_for: &[],
            minutes: None,
        });
    }
    sorted(items)
}
