//! People and their way through the development pipeline (发展党员).
//!
//! A [`Person`] is made once, with personal data and an engagement (how conscientious
//! they are: it drives attendance, study, quizzes and evaluation together, so the
//! cockpit's correlations mean something). [`develop`] then lays out their whole life
//! at the university as dated [`Step`]s that keep the time rules of the 2014 细则
//! (talk within a month, a year as activist, probation of a year, approvals within
//! three months…). Steps after `today` are simply never emitted; [`Life`] summarises
//! when the person is an activist, a member, a full member and when they leave.

use chrono::Datelike;
use ingest::catalogue::Stage;
use rand::Rng;
use rand::rngs::StdRng;

use super::calendar::{Date, day_between, days, months, workday, workday_from, years, ymd};
use super::names::{self, Name};

/// Far beyond any generated day: "never" for a date window.
pub(super) fn never() -> Date {
    ymd(9999, 12, 31)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Track {
    Undergraduate,
    /// Academic (3 years) or professional (2 years) master's programme.
    Master {
        years: i32,
    },
    Doctoral,
    /// Teachers, counsellors and other staff: no graduation.
    Staff,
}

impl Track {
    pub(super) fn is_student(self) -> bool {
        self != Track::Staff
    }
}

/// One dated step of a person's record; each becomes one `member.*` event.
#[derive(Debug, Clone)]
pub(super) struct Step {
    pub(super) on: Date,
    pub(super) kind: StepKind,
}

#[derive(Debug, Clone)]
pub(super) enum StepKind {
    Registered,
    Applied,
    Talked,
    ActivistDesignated,
    ActivistAssessed,
    DevelopmentTargetDesignated,
    PoliticalReview {
        passed: bool,
    },
    Training {
        hours: u32,
        days: u32,
    },
    AdmittedProbationary,
    AdmissionApproved,
    ProbationExtended {
        months: u32,
    },
    ConvertedFull,
    ConversionApproved,
    TransferredIn {
        from: String,
        stage: Stage,
        since: Date,
    },
    TransferredOut {
        to: String,
    },
    Graduated,
    Left {
        reason: &'static str,
    },
}

/// Deliberate lapses and habits that override a person's normal behaviour (the planted
/// findings for the early-warning rules, and the arrears of a weak branch).
#[derive(Debug, Clone, Default)]
pub(super) struct Quirks {
    /// Pays no dues for the month of this day and after.
    pub(super) dues_stop: Option<Date>,
    /// Absent from every meeting from this day.
    pub(super) absent_since: Option<Date>,
    /// Studies nothing from this day.
    pub(super) study_stop: Option<Date>,
    /// Not rated in the democratic evaluation of this year.
    pub(super) skip_evaluation: Option<i32>,
}

/// When a person is what, derived from their steps. Windows are `[from, gone)`.
#[derive(Debug, Clone)]
pub(super) struct Life {
    /// Takes part in Party life at all (applied, or arrived with a stage).
    pub(super) engaged_from: Date,
    pub(super) applicant_from: Date,
    /// Activist or further: studies, takes quizzes.
    pub(super) learner_from: Date,
    /// Probationary or full member: invited to meetings, pays dues.
    pub(super) member_from: Date,
    pub(super) full_from: Date,
    /// Graduated, transferred out or left: no more organisational life here.
    pub(super) gone: Date,
    /// Dues are owed until the relationship moves (graduates awaiting transfer still pay).
    pub(super) dues_until: Date,
}

impl Life {
    fn from_steps(steps: &[Step]) -> Life {
        let n = never();
        let mut life = Life {
            engaged_from: n,
            applicant_from: n,
            learner_from: n,
            member_from: n,
            full_from: n,
            gone: n,
            dues_until: n,
        };
        let first = |slot: &mut Date, d: Date| *slot = (*slot).min(d);
        for s in steps {
            let d = s.on;
            match &s.kind {
                StepKind::Applied => first(&mut life.applicant_from, d),
                StepKind::ActivistDesignated => first(&mut life.learner_from, d),
                StepKind::AdmittedProbationary => first(&mut life.member_from, d),
                StepKind::ConvertedFull => first(&mut life.full_from, d),
                StepKind::TransferredIn { stage, .. } => {
                    first(&mut life.applicant_from, d);
                    if *stage != Stage::Applicant {
                        first(&mut life.learner_from, d);
                    }
                    if matches!(stage, Stage::Probationary | Stage::FullMember) {
                        first(&mut life.member_from, d);
                    }
                    if *stage == Stage::FullMember {
                        first(&mut life.full_from, d);
                    }
                }
                StepKind::Graduated => first(&mut life.gone, d),
                StepKind::TransferredOut { .. } | StepKind::Left { .. } => {
                    first(&mut life.gone, d);
                    first(&mut life.dues_until, d);
                }
                _ => {}
            }
        }
        life.learner_from = life.learner_from.min(life.member_from);
        life.applicant_from = life.applicant_from.min(life.learner_from);
        life.engaged_from = life.applicant_from;
        life
    }

    pub(super) fn is_engaged(&self, d: Date) -> bool {
        self.engaged_from <= d && d < self.gone
    }

    pub(super) fn is_learner(&self, d: Date) -> bool {
        self.learner_from <= d && d < self.gone
    }

    pub(super) fn is_member(&self, d: Date) -> bool {
        self.member_from <= d && d < self.gone
    }

    pub(super) fn is_full(&self, d: Date) -> bool {
        self.full_from <= d && d < self.gone
    }
}

#[derive(Debug, Clone)]
pub(super) struct Person {
    pub(super) id: String,
    /// Seeds the decisions made about this person month by month (when dues are paid).
    pub(super) key: u64,
    pub(super) track: Track,
    pub(super) name: Name,
    pub(super) male: bool,
    /// Entry year of a student, hiring year of staff.
    pub(super) grade: i32,
    pub(super) major: String,
    pub(super) class_name: String,
    pub(super) student_no: String,
    pub(super) email: String,
    pub(super) phone: String,
    pub(super) birth: Date,
    /// The expected graduation of a student.
    pub(super) graduation: Option<Date>,
    /// 0.2 (disengaged) to 1.0 (exemplary).
    pub(super) engagement: f64,
    pub(super) late_payer: bool,
    /// Monthly dues of staff in fen (0.5%–2% of the salary base); students pay 20 fen.
    pub(super) staff_dues_fen: i64,
    pub(super) steps: Vec<Step>,
    pub(super) quirks: Quirks,
    /// A planted lapse: kept out of committees and corrections so it stays clean.
    pub(super) planted: bool,
    pub(super) life: Life,
}

/// What the college knows of a newcomer before names and dates are drawn.
#[derive(Debug, Clone)]
pub(super) struct Recruit {
    pub(super) id: String,
    pub(super) key: u64,
    pub(super) track: Track,
    pub(super) grade: i32,
    pub(super) registered: Date,
    pub(super) male_share: f64,
    /// Mean engagement of the branch (a weak branch is less engaged).
    pub(super) engagement: f64,
}

impl Person {
    /// A person with personal data drawn for their track; major, class, numbers and
    /// e-mail are the college's to fill in.
    pub(super) fn new(rng: &mut StdRng, r: Recruit) -> Person {
        let male = rng.random_bool(r.male_share);
        let name = names::name(rng, male);
        let age = match r.track {
            Track::Undergraduate => [17, 18, 18, 18, 18, 18, 19, 19, 19][rng.random_range(0..9)],
            Track::Master { .. } => rng.random_range(21..=24),
            Track::Doctoral => rng.random_range(24..=29),
            Track::Staff => rng.random_range(27..=33),
        };
        let birth = days(ymd(r.grade - age, 1, 1), rng.random_range(0..365));
        let graduation = match r.track {
            Track::Undergraduate => Some(ymd(r.grade + 4, 6, 30)),
            Track::Master { years } => Some(ymd(r.grade + years, 6, 30)),
            Track::Doctoral if rng.random_bool(0.3) => Some(ymd(r.grade + 4, 12, 31)),
            Track::Doctoral => Some(ymd(r.grade + 4, 6, 30)),
            Track::Staff => None,
        };
        let staff_dues_fen = if r.track == Track::Staff {
            // 基本工资 of 3,500–9,500 yuan: 1% up to 5,000, 1.5% above (in fen).
            let salary = rng.random_range(35..=95) * 100;
            let rate = if salary <= 5000 { 1.0 } else { 1.5 };
            ((salary as f64 * rate).round() as i64 / 10) * 10
        } else {
            0
        };
        let engagement = super::normal(rng, r.engagement, 0.15).clamp(0.2, 1.0);
        let steps = vec![Step {
            on: r.registered,
            kind: StepKind::Registered,
        }];
        let life = Life::from_steps(&steps);
        Person {
            id: r.id,
            key: r.key,
            track: r.track,
            name,
            male,
            grade: r.grade,
            major: String::new(),
            class_name: String::new(),
            student_no: String::new(),
            email: String::new(),
            phone: names::phone(rng),
            birth,
            graduation,
            engagement,
            late_payer: rng.random_bool(0.12),
            staff_dues_fen,
            steps,
            quirks: Quirks::default(),
            planted: false,
            life,
        }
    }

    pub(super) fn registered(&self) -> Date {
        self.steps[0].on
    }

    pub(super) fn push(&mut self, on: Date, kind: StepKind) {
        self.steps.push(Step { on, kind });
    }

    /// Sorts the steps and recomputes [`Life`]; call after changing steps.
    pub(super) fn settle(&mut self) {
        self.steps.sort_by_key(|s| s.on);
        self.life = Life::from_steps(&self.steps);
    }

    /// The day the student actually graduates (the ceremony before the expected date).
    fn graduation_day(&self, rng: &mut StdRng) -> Option<Date> {
        let expected = self.graduation?;
        let from = match expected.month() {
            6 => ymd(expected.year(), 6, 19),
            12 => ymd(expected.year(), 12, 14),
            _ => days(expected, -7),
        };
        Some(workday(day_between(rng, from, days(expected, -4))).min(expected))
    }

    /// Monthly dues in fen in `year`: staff dues follow the yearly salary rise.
    pub(super) fn dues_fen(&self, year: i32, launch_year: i32) -> i64 {
        if self.staff_dues_fen == 0 {
            20
        } else {
            let raised = self.staff_dues_fen as f64 * 1.03f64.powi((year - launch_year).max(0));
            (raised.round() as i64 / 10) * 10
        }
    }
}

/// The stage a newcomer already reached elsewhere: a graduate student admitted at their
/// undergraduate university, or a teacher who is a member since their student days.
#[derive(Debug, Clone)]
pub(super) struct Prior {
    pub(super) stage: Stage,
    pub(super) since: Date,
    pub(super) from: String,
    /// Days between registration and the transfer in (0 for the platform's import).
    pub(super) after_days: i64,
}

/// Lays out a person's pipeline from registration to leaving, keeping the time rules.
pub(super) fn develop(rng: &mut StdRng, p: &mut Person, prior: Option<Prior>) {
    let reg = p.registered();
    let eng = p.engagement;
    let graduated = p.graduation_day(rng);
    let dropout = (p.track.is_student() && rng.random_bool(0.006))
        .then(|| day_between(rng, days(reg, 60), days(graduated.unwrap_or(never()), -60)));
    // The last day at school: nothing is started that cannot finish before it.
    let horizon = dropout.or(graduated).unwrap_or(never());

    let mut stage = None;
    if let Some(prior) = prior {
        let on = workday(days(reg, prior.after_days));
        p.push(
            on,
            StepKind::TransferredIn {
                from: prior.from,
                stage: prior.stage,
                since: prior.since,
            },
        );
        stage = Some(match prior.stage {
            Stage::Activist => Phase::Activist {
                since: prior.since,
                assess_from: on,
            },
            Stage::Probationary => Phase::Probationary {
                admitted: prior.since,
            },
            Stage::FullMember => Phase::Full,
            Stage::Applicant => Phase::Applicant { applied: on },
            Stage::DevelopmentTarget => Phase::Target { since: on },
        });
    } else {
        let p_apply = match p.track {
            Track::Undergraduate => 0.8,
            Track::Master { .. } | Track::Doctoral => 0.5,
            Track::Staff => 0.45,
        } * (0.75 + 0.35 * eng);
        if rng.random_bool(p_apply.min(1.0)) {
            let gap = match p.track {
                Track::Undergraduate => match rng.random_range(0..100) {
                    0..60 => rng.random_range(20..100),
                    60..85 => rng.random_range(100..400),
                    _ => rng.random_range(400..800),
                },
                Track::Master { .. } | Track::Doctoral => rng.random_range(20..300),
                Track::Staff => rng.random_range(30..1200),
            };
            // The Party admits from 18: an application waits for the birthday.
            let applied = workday_from(days(reg, gap).max(years(p.birth, 18)));
            if applied < days(horizon, -60) {
                p.push(applied, StepKind::Applied);
                p.push(
                    workday(days(applied, rng.random_range(7..=27))),
                    StepKind::Talked,
                );
                stage = Some(Phase::Applicant { applied });
            }
        }
    }

    while let Some(phase) = stage.take() {
        stage = match phase {
            Phase::Applicant { applied } => {
                let p_activist = if p.track == Track::Staff {
                    0.6
                } else {
                    0.25 + 0.5 * eng
                };
                let on = workday(days(applied, rng.random_range(90..=270)));
                (rng.random_bool(p_activist.min(1.0)) && on < days(horizon, -200)).then(|| {
                    p.push(on, StepKind::ActivistDesignated);
                    Phase::Activist {
                        since: on,
                        assess_from: on,
                    }
                })
            }
            Phase::Activist { since, assess_from } => {
                // At least a year of training and assessment before becoming a target.
                let target = workday(days(
                    months(since, 12).max(days(assess_from, 60)),
                    rng.random_range(5..240),
                ));
                let becomes =
                    rng.random_bool((0.3 + 0.5 * eng).min(1.0)) && target <= days(horizon, -150);
                // Assessed every half year while an activist.
                let until = if becomes { target } else { horizon };
                let mut on = days(assess_from, rng.random_range(150..=172));
                while on < until {
                    p.push(workday(on), StepKind::ActivistAssessed);
                    on = days(on, rng.random_range(150..=172));
                }
                becomes.then(|| {
                    p.push(target, StepKind::DevelopmentTargetDesignated);
                    Phase::Target { since: target }
                })
            }
            Phase::Target { since } => {
                let review = workday(days(since, rng.random_range(10..=40)));
                let passed = rng.random_bool(0.985);
                p.push(review, StepKind::PoliticalReview { passed });
                let training = workday(days(since, rng.random_range(14..=60)));
                p.push(
                    training,
                    StepKind::Training {
                        hours: [24, 24, 28, 32, 32, 36, 40][rng.random_range(0..7)],
                        days: rng.random_range(3..=5),
                    },
                );
                let admitted = workday(days(review.max(training), rng.random_range(20..=90)));
                // A target who leaves within 3 months is generally not admitted.
                (passed && rng.random_bool(0.93) && admitted <= days(horizon, -95)).then(|| {
                    p.push(admitted, StepKind::AdmittedProbationary);
                    p.push(
                        workday(days(admitted, rng.random_range(15..=75))),
                        StepKind::AdmissionApproved,
                    );
                    Phase::Probationary { admitted }
                })
            }
            Phase::Probationary { admitted } => {
                let mut end = years(admitted, 1);
                if rng.random_bool(0.02) {
                    let extra = if rng.random_bool(0.6) { 6 } else { 12 };
                    p.push(workday(end), StepKind::ProbationExtended { months: extra });
                    end = months(end, extra as i32);
                }
                // The branch discusses the conversion as soon as probation ends.
                let converted = workday_from(end);
                (converted < horizon).then(|| {
                    p.push(converted, StepKind::ConvertedFull);
                    p.push(
                        workday(days(converted, rng.random_range(15..=75))),
                        StepKind::ConversionApproved,
                    );
                    Phase::Full
                })
            }
            Phase::Full => None,
        };
    }
    p.settle();
    leave(rng, p, dropout, graduated);
    p.settle();
}

/// How a person's time at the university ends: graduation and the transfer of the
/// organisational relationship, dropping out, or (staff) moving to another employer.
fn leave(rng: &mut StdRng, p: &mut Person, dropout: Option<Date>, graduated: Option<Date>) {
    if let Some(on) = dropout {
        p.push(on, StepKind::Left { reason: "退学" });
        return;
    }
    if let Some(on) = graduated {
        p.push(on, StepKind::Graduated);
        if p.life.member_from <= on {
            // Most members move their relationship within weeks; some leave it pending.
            if rng.random_bool(0.85) {
                let after = if rng.random_bool(0.7) {
                    rng.random_range(0..20)
                } else {
                    rng.random_range(20..120)
                };
                let to = names::destination(rng);
                p.push(workday(days(on, after)), StepKind::TransferredOut { to });
            }
        } else {
            p.push(
                days(on, rng.random_range(0..10)),
                StepKind::Left {
                    reason: "毕业离校"
                },
            );
        }
    } else if p.track == Track::Staff && rng.random_bool(0.03) {
        let on = workday(days(p.registered(), rng.random_range(200..1500)));
        let to = format!("{}党委", names::pick(rng, names::OTHER_UNIVERSITIES));
        p.push(on, StepKind::TransferredOut { to });
    }
}

enum Phase {
    Applicant { applied: Date },
    Activist { since: Date, assess_from: Date },
    Target { since: Date },
    Probationary { admitted: Date },
    Full,
}

/// The steps of a pipeline laid backwards from a chosen admission day, with the shortest
/// gaps the rules allow: for planted people whose dates are fixed relative to today.
pub(super) fn pipeline_to_admission(p: &mut Person, admitted: Date) {
    let target = workday(months(admitted, -2));
    let activist = workday(days(months(target, -12), -10));
    let applied = workday(days(months(activist, -1), -10));
    debug_assert!(
        applied > p.registered(),
        "{}: applied before registering",
        p.id
    );
    p.push(applied, StepKind::Applied);
    p.push(workday(days(applied, 14)), StepKind::Talked);
    p.push(activist, StepKind::ActivistDesignated);
    let mut on = days(activist, 170);
    while on < target {
        p.push(workday(on), StepKind::ActivistAssessed);
        on = days(on, 170);
    }
    p.push(target, StepKind::DevelopmentTargetDesignated);
    p.push(
        workday(days(target, 20)),
        StepKind::PoliticalReview { passed: true },
    );
    p.push(
        workday(days(target, 30)),
        StepKind::Training { hours: 32, days: 4 },
    );
    p.push(admitted, StepKind::AdmittedProbationary);
}
