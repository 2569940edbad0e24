//! A rule file of `queries/warnings/` read into a [`Rule`] (its header: schedule,
//! subject, severity, acknowledgement days, the message), the [`Severity`] scale, and a
//! [`Finding`]: one row of a rule's answer.

use serde_json::{Map, Value};
use warehouse::queries::QueryFile;

use crate::schedule::Schedule;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Notice,
    Warning,
    Critical,
}

impl From<Severity> for ingest::catalogue::Severity {
    fn from(severity: Severity) -> Self {
        match severity {
            Severity::Notice => Self::Notice,
            Severity::Warning => Self::Warning,
            Severity::Critical => Self::Critical,
        }
    }
}

impl Severity {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "notice" => Some(Self::Notice),
            "warning" => Some(Self::Warning),
            "critical" => Some(Self::Critical),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notice => "notice",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Notice => "提示",
            Self::Warning => "预警",
            Self::Critical => "严重",
        }
    }
}

/// One rule file of `queries/warnings/`.
#[derive(Debug, Clone)]
pub struct Rule {
    pub file: QueryFile,
    pub name: String,
    pub title: String,
    pub schedule: Schedule,
    /// `member` or `org`: what the finding is about.
    pub subject: String,
    pub ack_days: u64,
    /// Chinese text with `{column}` placeholders.
    pub message: String,
}

impl Rule {
    pub fn from_file(file: &QueryFile) -> Result<Self> {
        let invalid = |reason: String| Error::Spec {
            file: file.path.clone(),
            reason,
        };
        let get = |key: &str| {
            file.get(key)
                .map(str::to_string)
                .ok_or_else(|| invalid(format!("the header has no `{key}:` line")))
        };
        let schedule = Schedule::parse(&file.name, &get("schedule")?)?;
        let subject = get("subject")?;
        if subject != "member" && subject != "org" {
            return Err(invalid(format!(
                "subject `{subject}` is neither member nor org"
            )));
        }
        let ack_days = get("ack_days")?
            .trim()
            .parse()
            .map_err(|_| invalid("ack_days is not a whole number of days".into()))?;
        Ok(Self {
            name: file.name.clone(),
            title: get("title")?,
            schedule,
            subject,
            ack_days,
            message: get("message")?,
            file: file.clone(),
        })
    }

    /// The message with `{column}` replaced by the finding's values.
    pub(crate) fn message_for(&self, facts: &Map<String, Value>) -> String {
        let mut out = self.message.clone();
        for (k, v) in facts {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Null => "—".into(),
                Value::Number(n) => match n.as_f64() {
                    Some(f) if n.is_f64() => format!("{:.2}", f)
                        .trim_end_matches('0')
                        .trim_end_matches('.')
                        .to_string(),
                    _ => n.to_string(),
                },
                other => other.to_string(),
            };
            out = out.replace(&format!("{{{k}}}"), &text);
        }
        out
    }
}

/// One row of a rule's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: String,
    pub title: String,
    pub org_id: String,
    pub member_id: Option<String>,
    /// The member for member rules, else the org.
    pub subject_id: String,
    pub severity: Severity,
    pub message: String,
}
