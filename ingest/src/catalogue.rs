//! The event catalogue: every kind of Party-affairs action dangjian records, with its
//! typed payload and the rules a payload must keep.
//!
//! The names follow the domain brief, `docs/domain.md`. Payloads refuse unknown fields (a typo is an error, not
//! silently dropped data), and each value type checks its own form: [`Id`], [`Period`]
//! (`YYYY-MM`), [`Fen`] (an amount in fen, ≥ 0), [`Amount`] (hours, minutes, scores ≥ 0),
//! [`Date`] (`YYYY-MM-DD`). Rules across fields (a score within its maximum, a probation
//! extension of 6 to 12 months) sit in each payload's [`Rules`] impl.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, de};
use serde_json::Value;
pub use warehouse::access::{PersonalField, PersonalKind};

use crate::FieldError;

/// A field-level problem found in a payload: (field path below `payload`, message).
pub type Invalid = (String, String);

/// Checks across the fields of one payload.
pub trait Rules {
    fn check(&self) -> Result<(), Invalid> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// Value types

/// An identifier of an org, member, meeting, resource…: 1–128 characters of letters,
/// digits, `.`, `_`, `:`, `-`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(transparent)]
pub struct Id(pub String);

impl Id {
    pub fn check(s: &str) -> Result<(), String> {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
        if ok {
            Ok(())
        } else {
            Err(format!(
                "`{s}` is not an id: use 1-128 letters, digits, `.`, `_`, `:` or `-`, starting with a letter or digit"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Id::check(&s).map_err(de::Error::custom)?;
        Ok(Id(s))
    }
}

/// Free text that must not be blank (names, titles, reasons); at most 4,000 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().is_empty() {
            return Err(de::Error::custom("must not be blank"));
        }
        if s.chars().count() > 4000 {
            return Err(de::Error::custom("is longer than 4000 characters"));
        }
        Ok(Text(s))
    }
}

/// A calendar month `YYYY-MM`, the period a dues payment is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Period(pub String);

impl Period {
    pub fn check(s: &str) -> Result<(), String> {
        let bad = || format!("`{s}` is not a period: expected YYYY-MM, e.g. 2026-09");
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let (year, month): (u32, u32) =
            (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if !(1921..=2200).contains(&year) || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Period::check(&s).map_err(de::Error::custom)?;
        Ok(Period(s))
    }
}

/// A calendar date `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Date(pub String);

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map_err(|_| de::Error::custom(format!("`{s}` is not a date: expected YYYY-MM-DD")))?;
        Ok(Date(s))
    }
}

/// An amount of money in fen (分, 1/100 yuan): a whole number ≥ 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Fen(pub i64);

impl<'de> Deserialize<'de> for Fen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        if v < 0 {
            return Err(de::Error::custom(format!(
                "{v} is negative: amounts in fen must be >= 0"
            )));
        }
        Ok(Fen(v))
    }
}

/// A quantity ≥ 0: minutes, hours, a score. Whole numbers are stored as integers, so a
/// payload reads back as it was sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Amount(pub f64);

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.fract() == 0.0 && self.0.abs() < 9_007_199_254_740_992.0 {
            s.serialize_i64(self.0 as i64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if !v.is_finite() || v < 0.0 {
            return Err(de::Error::custom(format!("{v} is negative: must be >= 0")));
        }
        Ok(Amount(v))
    }
}

/// An e-mail address (where warnings and digests go).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Email(pub String);

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let ok = matches!(s.split_once('@'), Some((user, host))
            if !user.is_empty() && host.contains('.') && !host.starts_with('.') && !host.ends_with('.')
                && !s.contains(char::is_whitespace));
        if !ok {
            return Err(de::Error::custom(format!("`{s}` is not an e-mail address")));
        }
        Ok(Email(s))
    }
}

macro_rules! labelled_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $key:literal / $zh:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $key),* } }
            /// The Chinese label shown in the cockpit and in mail.
            pub fn label_zh(self) -> &'static str { match self { $($name::$variant => $zh),* } }
            /// The value a key names (`as_str`'s inverse).
            pub fn parse(s: &str) -> Option<Self> { Self::ALL.iter().copied().find(|v| v.as_str() == s) }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

labelled_enum!(
    /// A level of the organisation tree.
    OrgKind {
        University = "university" / "学校党委",
        College = "college" / "学院党委",
        Branch = "branch" / "党支部",
        Group = "group" / "党小组",
    }
);

labelled_enum!(Gender { Male = "male" / "男", Female = "female" / "女" });

labelled_enum!(
    /// The stages of the development pipeline (发展党员).
    Stage {
        Applicant = "applicant" / "入党申请人",
        Activist = "activist" / "入党积极分子",
        DevelopmentTarget = "development_target" / "发展对象",
        Probationary = "probationary" / "预备党员",
        FullMember = "full_member" / "正式党员",
    }
);

labelled_enum!(
    /// 三会一课 and the other meetings of organisational life.
    MeetingKind {
        BranchAssembly = "branch_assembly" / "支部党员大会",
        Committee = "committee" / "支委会",
        Group = "group" / "党小组会",
        Lecture = "lecture" / "党课",
        ThemeDay = "theme_day" / "主题党日",
        LifeMeeting = "life_meeting" / "组织生活会",
    }
);

labelled_enum!(AttendanceStatus {
    Present = "present" / "出席",
    Excused = "excused" / "请假",
    Absent = "absent" / "缺席",
});

labelled_enum!(
    /// Democratic evaluation of members (民主评议党员).
    Rating {
        Excellent = "excellent" / "优秀",
        Qualified = "qualified" / "合格",
        BasicallyQualified = "basically_qualified" / "基本合格",
        Unqualified = "unqualified" / "不合格",
    }
);

labelled_enum!(ReviewResult { Passed = "passed" / "通过", Failed = "failed" / "未通过" });

labelled_enum!(Severity {
    Notice = "notice" / "提示",
    Warning = "warning" / "预警",
    Critical = "critical" / "严重",
});

labelled_enum!(SubjectKind { Org = "org" / "组织", Member = "member" / "党员" });

// ---------------------------------------------------------------------------------
// Payloads

macro_rules! payload {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fdoc])* pub $field: $ty,)*
        }
    };
}

payload!(
    /// `org.created`: an org joins the tree. Only the university has no parent.
    OrgCreated {
        name: Text,
        kind: OrgKind,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_id: Option<Id>,
    }
);
impl Rules for OrgCreated {
    fn check(&self) -> Result<(), Invalid> {
        match (self.kind, &self.parent_id) {
            (OrgKind::University, Some(_)) => {
                Err(("parent_id".into(), "a university has no parent org".into()))
            }
            (kind, None) if kind != OrgKind::University => {
                Err(("parent_id".into(), format!("a {kind} needs a parent org")))
            }
            _ => Ok(()),
        }
    }
}

payload!(OrgRenamed { name: Text });
impl Rules for OrgRenamed {}

payload!(
    /// `org.secretary_appointed`: the 书记 who receives the org's warnings.
    SecretaryAppointed { secretary_id: Id, name: Text, email: Email }
);
impl Rules for SecretaryAppointed {}

payload!(
    /// `org.committee_elected`: a new 支部委员会; its term runs from `occurred_at`.
    CommitteeElected {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        term_years: Option<u8>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        members: Vec<Id>,
    }
);
impl Rules for CommitteeElected {
    fn check(&self) -> Result<(), Invalid> {
        match self.term_years {
            Some(t) if !(3..=5).contains(&t) => Err((
                "term_years".into(),
                format!("{t} is outside the 3-5 years the Constitution allows"),
            )),
            _ => Ok(()),
        }
    }
}

payload!(
    /// A free-text reason, for `org.dissolved`, `member.left`.
    Reason {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<Text>,
    }
);
impl Rules for Reason {}

payload!(
    /// `member.registered`: a person with their (personal) data.
    MemberRegistered {
        name: Text,
        student_no: Id,
        gender: Gender,
        /// Entry year (年级).
        grade: u16,
        major: Text,
        class_name: Text,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<Email>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone: Option<Text>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        birth_date: Option<Date>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expected_graduation: Option<Date>,
    }
);
impl Rules for MemberRegistered {
    fn check(&self) -> Result<(), Invalid> {
        if !(1950..=2200).contains(&self.grade) {
            return Err((
                "grade".into(),
                format!("{} is not an entry year", self.grade),
            ));
        }
        Ok(())
    }
}

payload!(
    /// A step of the development pipeline that needs nothing but an optional note.
    StageStep {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<Text>,
    }
);
impl Rules for StageStep {}

payload!(
    /// `member.talked`: the branch's talk with an applicant (within 1 month).
    Talked {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        talker_id: Option<Id>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<Text>,
    }
);
impl Rules for Talked {}

payload!(
    /// `member.activist_assessed`, `member.political_review_completed`.
    Assessment {
        result: ReviewResult,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<Text>,
    }
);
impl Rules for Assessment {}

payload!(
    /// `member.training_completed`: the short centralised training (≥ 3 days or 24 class hours).
    TrainingCompleted {
        hours: Amount,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        days: Option<Amount>,
    }
);
impl Rules for TrainingCompleted {}

payload!(
    /// `member.probation_extended`: once, by at least half a year and at most 1 year.
    ProbationExtended {
        months: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<Text>,
    }
);
impl Rules for ProbationExtended {
    fn check(&self) -> Result<(), Invalid> {
        if !(6..=12).contains(&self.months) {
            return Err((
                "months".into(),
                format!(
                    "{} months: a probation is extended by at least 6 and at most 12 months",
                    self.months
                ),
            ));
        }
        Ok(())
    }
}

payload!(
    /// `member.transferred_in`: the member arrives with the stage they had reached.
    TransferredIn {
        from_org: Text,
        stage: Stage,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage_since: Option<Date>,
    }
);
impl Rules for TransferredIn {}

payload!(TransferredOut { to_org: Text });
impl Rules for TransferredOut {}

payload!(
    /// `dues.paid`: dues for one month; students without income pay 20 fen.
    DuesPaid { period: Period, amount_fen: Fen }
);
impl Rules for DuesPaid {}

payload!(
    /// `meeting.held`: one of 三会一课 or another meeting of organisational life.
    MeetingHeld {
        meeting_id: Id,
        kind: MeetingKind,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<Text>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_minutes: Option<Amount>,
    }
);
impl Rules for MeetingHeld {}

payload!(
    /// `meeting.attended`: one per invited member.
    MeetingAttended { meeting_id: Id, status: AttendanceStatus }
);
impl Rules for MeetingAttended {}

payload!(
    /// `evaluation.submitted`: the member's rating in the year's democratic evaluation.
    EvaluationSubmitted { year: u16, rating: Rating }
);
impl Rules for EvaluationSubmitted {
    fn check(&self) -> Result<(), Invalid> {
        if !(1950..=2200).contains(&self.year) {
            return Err((
                "year".into(),
                format!("{} is not a plausible year", self.year),
            ));
        }
        Ok(())
    }
}

payload!(
    /// `resource.published`: study material. `topic` (one of the topics of
    /// recommendations, e.g. 党史), `required_for` (the stages that must study it, e.g. an
    /// activist's course) and `minutes` (its length) feed the study recommendations
    /// (智能党建); all three are optional, so earlier events stay valid.
    ResourcePublished {
        resource_id: Id,
        title: Text,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<Text>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<Text>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        required_for: Option<Vec<Stage>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minutes: Option<Amount>,
    }
);
impl Rules for ResourcePublished {}

payload!(StudyCompleted {
    resource_id: Id,
    minutes: Amount
});
impl Rules for StudyCompleted {}

payload!(
    /// `study.recommended`: one resource pushed to a member for the week starting
    /// `week` (a Monday, China date), at `rank`, with the reasons in Chinese and the
    /// signals that gave them (`quiz_gap`, `stage_required`, `behind_pace`, `peers`).
    /// Written only by the server's weekly push.
    StudyRecommended {
        resource_id: Id,
        week: Date,
        rank: u8,
        reason: Text,
        signals: Vec<Id>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<Text>,
    }
);
impl Rules for StudyRecommended {}

payload!(
    /// `study.digest_sent`: the week's recommendation digest was accepted by the mail
    /// server (or written to the outbox) for the member; the push sends none again.
    StudyDigestSent { week: Date, recipients: Vec<Email> }
);
impl Rules for StudyDigestSent {}

payload!(
    /// `study.push_opted_out` / `study.push_opted_in`: the member's choice about the
    /// weekly study digest; the latest one counts from the next push on.
    PushPreference {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<Text>,
    }
);
impl Rules for PushPreference {}

payload!(
    /// `quiz.taken`: an online test or competition; `topic` (optional) is what it tested,
    /// one of the topics of the study recommendations.
    QuizTaken {
        quiz_id: Id,
        score: Amount,
        max_score: Amount,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<Text>,
    }
);
impl Rules for QuizTaken {
    fn check(&self) -> Result<(), Invalid> {
        if self.max_score.0 <= 0.0 {
            return Err(("max_score".into(), "must be > 0".into()));
        }
        if self.score.0 > self.max_score.0 {
            return Err((
                "score".into(),
                format!(
                    "{} is above the maximum score {}",
                    self.score.0, self.max_score.0
                ),
            ));
        }
        Ok(())
    }
}

payload!(
    /// `activity.held`: a volunteer or theme activity.
    ActivityHeld {
        activity_id: Id,
        title: Text,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<Text>,
    }
);
impl Rules for ActivityHeld {}

payload!(ActivityJoined {
    activity_id: Id,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hours: Option<Amount>,
});
impl Rules for ActivityJoined {}

payload!(NoticePublished {
    notice_id: Id,
    title: Text
});
impl Rules for NoticePublished {}

payload!(NoticeRead { notice_id: Id });
impl Rules for NoticeRead {}

payload!(PostCreated {
    post_id: Id,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<Text>,
});
impl Rules for PostCreated {}

payload!(CommentCreated {
    comment_id: Id,
    post_id: Id
});
impl Rules for CommentCreated {}

payload!(LikeGiven { target_id: Id });
impl Rules for LikeGiven {}

payload!(
    /// `event.retracted`: a correction; projections leave the named event out.
    Retracted { event_id: uuid::Uuid, reason: Text }
);
impl Rules for Retracted {}

payload!(
    /// `warning.raised`: a finding of an early-warning rule (测控预警).
    WarningRaised {
        warning_id: Id,
        rule: Id,
        severity: Severity,
        subject_kind: SubjectKind,
        subject_id: Id,
        detail: Text,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deadline: Option<Date>,
    }
);
impl Rules for WarningRaised {}

payload!(WarningNotified {
    warning_id: Id,
    recipients: Vec<Email>,
});
impl Rules for WarningNotified {}

payload!(WarningAcknowledged {
    warning_id: Id,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<Text>,
});
impl Rules for WarningAcknowledged {}

payload!(WarningEscalated {
    warning_id: Id,
    to_org_id: Id
});
impl Rules for WarningEscalated {}

payload!(WarningResolved { warning_id: Id });
impl Rules for WarningResolved {}

// ---------------------------------------------------------------------------------
// The catalogue

macro_rules! catalogue {
    ($($variant:ident = $key:literal, $payload:ident, member: $member:literal, $zh:literal;)*) => {
        /// Every event type dangjian knows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType { $($variant),* }

        impl EventType {
            pub const ALL: &[EventType] = &[$(EventType::$variant),*];

            pub fn as_str(self) -> &'static str { match self { $(EventType::$variant => $key),* } }

            pub fn label_zh(self) -> &'static str { match self { $(EventType::$variant => $zh),* } }

            /// Whether the envelope must name the member the event is about.
            pub fn requires_member(self) -> bool { match self { $(EventType::$variant => $member),* } }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($key => Some(EventType::$variant),)* _ => None }
            }
        }

        /// A validated payload of any event type.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Payload { $($variant($payload)),* }

        impl Payload {
            /// The type of the events that carry this payload.
            pub fn event_type(&self) -> EventType {
                match self { $(Payload::$variant(_) => EventType::$variant),* }
            }

            /// Reads and checks the payload of an event of type `event_type`.
            pub fn parse(event_type: EventType, value: Value) -> Result<Payload, Invalid> {
                match event_type {
                    $(EventType::$variant => {
                        let p: $payload = deserialize(value)?;
                        p.check()?;
                        Ok(Payload::$variant(p))
                    })*
                }
            }

            /// Reads and checks a payload straight from its JSON object text, for the
            /// direct path of a request body ([`crate::Validator::validate_body`]):
            /// `None` if it is not valid, and [`Payload::parse`] names the problem.
            pub fn parse_text(event_type: EventType, text: &str) -> Option<Payload> {
                match event_type {
                    $(EventType::$variant => {
                        let p: $payload = serde_json::from_str(text).ok()?;
                        p.check().ok()?;
                        Some(Payload::$variant(p))
                    })*
                }
            }
        }
    };
}

catalogue! {
    OrgCreated = "org.created", OrgCreated, member: false, "组织成立";
    OrgRenamed = "org.renamed", OrgRenamed, member: false, "组织更名";
    OrgSecretaryAppointed = "org.secretary_appointed", SecretaryAppointed, member: false, "书记任命";
    OrgCommitteeElected = "org.committee_elected", CommitteeElected, member: false, "支委会换届";
    OrgDissolved = "org.dissolved", Reason, member: false, "组织撤销";
    MemberRegistered = "member.registered", MemberRegistered, member: true, "人员登记";
    MemberApplied = "member.applied", StageStep, member: true, "递交入党申请书";
    MemberTalked = "member.talked", Talked, member: true, "入党谈话";
    MemberActivistDesignated = "member.activist_designated", StageStep, member: true, "确定为入党积极分子";
    MemberActivistAssessed = "member.activist_assessed", Assessment, member: true, "积极分子考察";
    MemberDevelopmentTargetDesignated = "member.development_target_designated", StageStep, member: true, "确定为发展对象";
    MemberPoliticalReviewCompleted = "member.political_review_completed", Assessment, member: true, "政治审查";
    MemberTrainingCompleted = "member.training_completed", TrainingCompleted, member: true, "集中培训";
    MemberAdmittedProbationary = "member.admitted_probationary", StageStep, member: true, "接收为预备党员";
    MemberAdmissionApproved = "member.admission_approved", StageStep, member: true, "上级党委审批入党";
    MemberProbationExtended = "member.probation_extended", ProbationExtended, member: true, "延长预备期";
    MemberConvertedFull = "member.converted_full", StageStep, member: true, "预备党员转正";
    MemberConversionApproved = "member.conversion_approved", StageStep, member: true, "上级党委审批转正";
    MemberTransferredIn = "member.transferred_in", TransferredIn, member: true, "组织关系转入";
    MemberTransferredOut = "member.transferred_out", TransferredOut, member: true, "组织关系转出";
    MemberGraduated = "member.graduated", StageStep, member: true, "毕业";
    MemberLeft = "member.left", Reason, member: true, "离开";
    DuesPaid = "dues.paid", DuesPaid, member: true, "缴纳党费";
    MeetingHeld = "meeting.held", MeetingHeld, member: false, "召开会议";
    MeetingAttended = "meeting.attended", MeetingAttended, member: true, "参会";
    EvaluationSubmitted = "evaluation.submitted", EvaluationSubmitted, member: true, "民主评议";
    ResourcePublished = "resource.published", ResourcePublished, member: false, "发布学习资料";
    StudyCompleted = "study.completed", StudyCompleted, member: true, "完成学习";
    StudyRecommended = "study.recommended", StudyRecommended, member: true, "推荐学习";
    StudyDigestSent = "study.digest_sent", StudyDigestSent, member: true, "学习推荐已推送";
    StudyPushOptedOut = "study.push_opted_out", PushPreference, member: true, "退订学习推送";
    StudyPushOptedIn = "study.push_opted_in", PushPreference, member: true, "恢复学习推送";
    QuizTaken = "quiz.taken", QuizTaken, member: true, "参加测试";
    ActivityHeld = "activity.held", ActivityHeld, member: false, "举办活动";
    ActivityJoined = "activity.joined", ActivityJoined, member: true, "参加活动";
    NoticePublished = "notice.published", NoticePublished, member: false, "发布通知";
    NoticeRead = "notice.read", NoticeRead, member: true, "阅读通知";
    PostCreated = "post.created", PostCreated, member: true, "发帖";
    CommentCreated = "comment.created", CommentCreated, member: true, "评论";
    LikeGiven = "like.given", LikeGiven, member: true, "点赞";
    EventRetracted = "event.retracted", Retracted, member: false, "更正撤回";
    WarningRaised = "warning.raised", WarningRaised, member: false, "预警产生";
    WarningNotified = "warning.notified", WarningNotified, member: false, "预警已通知";
    WarningAcknowledged = "warning.acknowledged", WarningAcknowledged, member: false, "预警已确认";
    WarningEscalated = "warning.escalated", WarningEscalated, member: false, "预警升级";
    WarningResolved = "warning.resolved", WarningResolved, member: false, "预警解除";
}

/// The personal data of the catalogue, named once: every payload field that holds a
/// person's name, contact data, ids or free text that can hold them. Readers' sessions
/// mask these by role (`warehouse::access`); a test checks each against its payload type.
pub const PERSONAL_FIELDS: &[PersonalField] = {
    use PersonalKind::*;
    const fn member(
        event_type: &'static str,
        field: &'static str,
        kind: PersonalKind,
    ) -> PersonalField {
        PersonalField {
            event_type,
            field,
            kind,
            person: None,
        }
    }
    &[
        member("member.registered", "name", Name),
        member("member.registered", "student_no", StudentNo),
        member("member.registered", "email", Email),
        member("member.registered", "phone", Phone),
        member("member.registered", "birth_date", BirthDate),
        PersonalField {
            event_type: "org.secretary_appointed",
            field: "name",
            kind: Name,
            person: Some("secretary_id"),
        },
        PersonalField {
            event_type: "org.secretary_appointed",
            field: "email",
            kind: Email,
            person: Some("secretary_id"),
        },
        member("member.applied", "note", FreeText),
        member("member.talked", "note", FreeText),
        member("member.activist_designated", "note", FreeText),
        member("member.activist_assessed", "note", FreeText),
        member("member.development_target_designated", "note", FreeText),
        member("member.political_review_completed", "note", FreeText),
        member("member.admitted_probationary", "note", FreeText),
        member("member.admission_approved", "note", FreeText),
        member("member.probation_extended", "reason", FreeText),
        member("member.converted_full", "note", FreeText),
        member("member.conversion_approved", "note", FreeText),
        member("member.graduated", "note", FreeText),
        member("member.left", "reason", FreeText),
        member("org.dissolved", "reason", FreeText),
        member("post.created", "title", FreeText),
        member("event.retracted", "reason", FreeText),
        // A warning's text names the member it is about; an acknowledgement's note is
        // whatever the secretary wrote.
        member("warning.raised", "detail", FreeText),
        member("warning.acknowledged", "note", FreeText),
    ]
};

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// All event type names, comma-separated, for the error of an unknown type.
pub fn known_types() -> String {
    EventType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Deserializes a payload, keeping the path of the field that failed.
fn deserialize<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, Invalid> {
    // Most payloads are valid: read them without tracking the path, and only a payload
    // that fails again with it, for the error's field.
    if let Ok(payload) = T::deserialize(&value) {
        return Ok(payload);
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        // serde reports missing and unknown fields at the level of the enclosing object:
        // pull the field name out of the message so the error names it.
        let named = ["missing field `", "unknown field `"]
            .iter()
            .find_map(|prefix| message.strip_prefix(prefix))
            .and_then(|rest| rest.split('`').next());
        // Depending on where serde noticed the problem, the path already ends with the
        // field (`x`) or stops at its parent (`.`).
        let field = match (named, path.as_str()) {
            (Some(name), "." | "") => name.to_string(),
            (Some(name), path) if path == name || path.ends_with(&format!(".{name}")) => {
                path.to_string()
            }
            (Some(name), parent) => format!("{parent}.{name}"),
            (None, path) => path.to_string(),
        };
        (field, message)
    })
}

/// Turns a payload problem into the error of event `index`.
pub(crate) fn payload_error(index: usize, (field, message): Invalid) -> FieldError {
    let error = if message.starts_with("missing field") {
        "missing_field"
    } else if message.starts_with("unknown field") {
        "unknown_field"
    } else {
        "invalid_value"
    };
    FieldError {
        error,
        message: if field.is_empty() {
            message
        } else {
            format!("payload.{field}: {message}")
        },
        field: if field.is_empty() {
            "payload".into()
        } else {
            format!("payload.{field}")
        },
        index,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(t: EventType, v: Value) -> Invalid {
        Payload::parse(t, v).unwrap_err()
    }

    /// Each personal field names a text field of its event type's payload (a typo would
    /// leave that field unmasked).
    /// The typed payload columns of `events` are read unmasked by every reader (masking
    /// works on the payload): none may be a personal field.
    #[test]
    fn no_typed_column_is_personal() {
        for typed in warehouse::events::TYPED {
            assert!(
                !PERSONAL_FIELDS.iter().any(|p| p.field == typed.key),
                "`{}` is personal: it may not be a typed column",
                typed.key
            );
        }
    }

    #[test]
    fn personal_fields_are_payload_fields() {
        for f in PERSONAL_FIELDS {
            let t = EventType::parse(f.event_type)
                .unwrap_or_else(|| panic!("{}: no such event type", f.event_type));
            let mut probe = serde_json::Map::new();
            probe.insert(f.field.to_string(), json!("x@example.cn"));
            if let Err((field, message)) = Payload::parse(t, Value::Object(probe)) {
                assert!(
                    !(message.starts_with("unknown field") && field.ends_with(f.field)),
                    "{}.{}: {message}",
                    f.event_type,
                    f.field
                );
            }
        }
    }

    #[test]
    fn every_type_round_trips_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
        }
        assert_eq!(EventType::ALL.len(), 46);
    }

    #[test]
    fn dues_rules() {
        Payload::parse(
            EventType::DuesPaid,
            json!({"period": "2026-09", "amount_fen": 20}),
        )
        .unwrap();
        assert_eq!(
            err(
                EventType::DuesPaid,
                json!({"period": "2026-13", "amount_fen": 20})
            )
            .0,
            "period"
        );
        assert_eq!(
            err(
                EventType::DuesPaid,
                json!({"period": "2026-09", "amount_fen": -1})
            )
            .0,
            "amount_fen"
        );
        assert_eq!(
            err(EventType::DuesPaid, json!({"amount_fen": 1})).0,
            "period"
        );
        assert_eq!(
            err(
                EventType::DuesPaid,
                json!({"period": "2026-09", "amount_fen": 1, "x": 1})
            )
            .0,
            "x"
        );
    }

    #[test]
    fn enums_list_their_values() {
        let (field, message) = err(
            EventType::MeetingHeld,
            json!({"meeting_id": "m1", "kind": "party"}),
        );
        assert_eq!(field, "kind");
        assert!(message.contains("branch_assembly"), "{message}");
    }

    #[test]
    fn cross_field_rules() {
        assert_eq!(
            err(
                EventType::QuizTaken,
                json!({"quiz_id": "q", "score": 11, "max_score": 10})
            )
            .0,
            "score"
        );
        assert_eq!(
            err(EventType::MemberProbationExtended, json!({"months": 3})).0,
            "months"
        );
        assert_eq!(
            err(
                EventType::OrgCreated,
                json!({"name": "x", "kind": "branch"})
            )
            .0,
            "parent_id"
        );
        assert_eq!(
            err(
                EventType::StudyCompleted,
                json!({"resource_id": "bad id!", "minutes": 3})
            )
            .0,
            "resource_id"
        );
    }
}
