//! Reads within the caller's scope, with personal data masked for their role.
//!
//! Every read of the warehouse — analyst SQL, the warnings list, later the Postgres wire
//! and exports — runs in a session built for a [`ReadAccess`]: an org subtree and a
//! [`Masking`]. The session's `events` is not the table itself but a plan over it that
//! no SQL can get around, because the table it reads is not registered anywhere:
//!
//! ```text
//! events (view) = Projection[…, mask_payload(event_type, member_id, payload) AS payload]
//!                   └─ Filter[in_scope(org_id, member_id)]
//!                        └─ TableScan(the live Delta table, unnamed in this session)
//! ```
//!
//! Every view of `queries/views/` and every model is planned over that `events`, so
//! joins, sub-queries, `UNION`, `information_schema` and `EXPLAIN` see only what the
//! scope holds, and `substr(phone, …)`, `LIKE` probes or `json_get_str(payload, 'phone')`
//! see only masked text: the masking happens in the scan, before any expression of
//! the query.
//!
//! **What a scope holds.** The events filed under an org of the subtree, and every event
//! about a person whose home (latest registration or transfer in) lies in it. So after
//! a transfer (组织关系转接) the receiving branch reads the member's whole record — their
//! registration, development stages and past attendance — while the sending branch keeps
//! what was filed under it while the member was theirs (not what happens later).
//!
//! **Masking.** The personal fields are named once, in the event catalogue
//! (`ingest::catalogue::PERSONAL_FIELDS`), each with its [`PersonalKind`]; a role's
//! [`Masking`] says what it sees of each kind (a setting, with the defaults of
//! [`Masking::leader`] and [`Masking::analyst`]). `member_id` stays as it is, so joins
//! and counts work; a pseudonym is stable (the same in every query and on every day).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, StringArray, StringViewArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::members::MemberDirectory;
use crate::orgs::OrgDirectory;

/// The kinds of personal data, each masked its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PersonalKind {
    Name,
    StudentNo,
    Email,
    Phone,
    BirthDate,
    /// Free text that can hold any of the above (notes, reasons, titles, warning details).
    FreeText,
}

impl PersonalKind {
    pub const ALL: [PersonalKind; 6] = [
        PersonalKind::Name,
        PersonalKind::StudentNo,
        PersonalKind::Email,
        PersonalKind::Phone,
        PersonalKind::BirthDate,
        PersonalKind::FreeText,
    ];

    /// The key of the kind in settings (`access.leader.phone = "masked"`).
    pub fn as_str(self) -> &'static str {
        match self {
            PersonalKind::Name => "name",
            PersonalKind::StudentNo => "student_no",
            PersonalKind::Email => "email",
            PersonalKind::Phone => "phone",
            PersonalKind::BirthDate => "birth_date",
            PersonalKind::FreeText => "free_text",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a role sees of one kind of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Treatment {
    /// As stored.
    Clear,
    /// Partly hidden: `138****5678`, `z***@example.edu.cn`, `****1234`, `张*`; in free
    /// text, phone numbers and e-mail addresses are hidden so.
    Masked,
    /// A stable pseudonym of the person (`P-3f9a12c4`).
    Pseudonym,
    /// A date reduced to its year (shown as 1 January of it, so it still reads as a date).
    Year,
    /// Not there at all (JSON `null`).
    Removed,
}

impl Treatment {
    pub const NAMES: &str = "clear, masked, pseudonym, year, removed";

    pub fn as_str(self) -> &'static str {
        match self {
            Treatment::Clear => "clear",
            Treatment::Masked => "masked",
            Treatment::Pseudonym => "pseudonym",
            Treatment::Year => "year",
            Treatment::Removed => "removed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Treatment::Clear,
            Treatment::Masked,
            Treatment::Pseudonym,
            Treatment::Year,
            Treatment::Removed,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// One personal field of an event type's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonalField {
    pub event_type: &'static str,
    /// The payload key.
    pub field: &'static str,
    pub kind: PersonalKind,
    /// The payload key holding the id of the person the field is about, when that is
    /// not the envelope's `member_id` (a secretary's name: `secretary_id`).
    pub person: Option<&'static str>,
}

/// What one role sees: a [`Treatment`] for each [`PersonalKind`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Masking(BTreeMap<PersonalKind, Treatment>);

impl Masking {
    /// Everything as stored (admins; secretaries within their subtree).
    pub fn clear() -> Self {
        Self(
            PersonalKind::ALL
                .into_iter()
                .map(|k| (k, Treatment::Clear))
                .collect(),
        )
    }

    /// Leaders: names; contact data and ids masked.
    pub fn leader() -> Self {
        Self::clear()
            .with(PersonalKind::StudentNo, Treatment::Masked)
            .with(PersonalKind::Email, Treatment::Masked)
            .with(PersonalKind::Phone, Treatment::Masked)
            .with(PersonalKind::FreeText, Treatment::Masked)
    }

    /// Analysts: no names but a stable pseudonym, birth dates as years, contact data,
    /// student numbers and free text removed.
    pub fn analyst() -> Self {
        Self::clear()
            .with(PersonalKind::Name, Treatment::Pseudonym)
            .with(PersonalKind::StudentNo, Treatment::Removed)
            .with(PersonalKind::Email, Treatment::Removed)
            .with(PersonalKind::Phone, Treatment::Removed)
            .with(PersonalKind::BirthDate, Treatment::Year)
            .with(PersonalKind::FreeText, Treatment::Removed)
    }

    pub fn with(mut self, kind: PersonalKind, treatment: Treatment) -> Self {
        self.0.insert(kind, treatment);
        self
    }

    pub fn treatment(&self, kind: PersonalKind) -> Treatment {
        self.0.get(&kind).copied().unwrap_or(Treatment::Clear)
    }

    pub fn is_clear(&self) -> bool {
        self.0.values().all(|t| *t == Treatment::Clear)
    }
}

/// The scope of an operator at the machine (`dangjian sql`): the whole tree, whatever
/// its root is called (no org id holds a `*`).
pub const WHOLE_TREE: &str = "*";

/// Who reads: the root of their org subtree, what they see of personal data, and
/// whether they are an admin (who alone reads the audit trail).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReadAccess {
    pub scope: String,
    pub masking: Masking,
    pub admin: bool,
}

impl ReadAccess {
    pub fn new(scope: impl Into<String>, masking: Masking) -> Self {
        Self {
            scope: scope.into(),
            masking,
            admin: false,
        }
    }

    /// An operator at the machine: everything, as an admin.
    pub fn operator() -> Self {
        Self::admin(WHOLE_TREE)
    }

    pub fn admin(scope: impl Into<String>) -> Self {
        Self {
            scope: scope.into(),
            masking: Masking::clear(),
            admin: true,
        }
    }
}

/// The personal fields of the catalogue, by event type, and the pseudonyms' salt.
#[derive(Debug, Default)]
pub struct PersonalFields {
    by_type: HashMap<&'static str, Vec<PersonalField>>,
    salt: String,
}

impl PersonalFields {
    pub fn new(fields: &[PersonalField], salt: impl Into<String>) -> Self {
        let mut by_type: HashMap<&'static str, Vec<PersonalField>> = HashMap::new();
        for f in fields {
            by_type.entry(f.event_type).or_default().push(*f);
        }
        Self {
            by_type,
            salt: salt.into(),
        }
    }

    /// The stable pseudonym of a person: the same for the same id in every query.
    pub fn pseudonym(&self, person: &str) -> String {
        let digest = Sha256::new()
            .chain_update(b"dangjian pseudonym\0")
            .chain_update(self.salt.as_bytes())
            .chain_update(b"\0")
            .chain_update(person.as_bytes())
            .finalize();
        let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        format!("P-{hex}")
    }

    /// The payload of one event as `masking` lets it be seen; `None` when nothing in it
    /// changes (most events carry no personal data).
    pub fn mask(
        &self,
        masking: &Masking,
        event_type: &str,
        member_id: Option<&str>,
        payload: &str,
    ) -> Option<String> {
        let fields = self.by_type.get(event_type)?;
        if fields
            .iter()
            .all(|f| masking.treatment(f.kind) == Treatment::Clear)
        {
            return None;
        }
        let Ok(Value::Object(mut object)) = serde_json::from_str::<Value>(payload) else {
            // Stored payloads are validated objects; anything else is not shown.
            return Some("{}".to_string());
        };
        let mut changed = false;
        for f in fields {
            let treatment = masking.treatment(f.kind);
            if treatment == Treatment::Clear {
                continue;
            }
            let person = match f.person {
                Some(key) => object.get(key).and_then(Value::as_str).map(str::to_string),
                None => member_id.map(str::to_string),
            };
            let Some(value) = object.get_mut(f.field) else {
                continue;
            };
            let masked = match value.as_str() {
                Some(text) => self.treat(f.kind, treatment, text, person.as_deref()),
                None if value.is_null() => continue,
                None => Value::Null,
            };
            *value = masked;
            changed = true;
        }
        changed.then(|| Value::Object(object).to_string())
    }

    /// The personal field `field` of `event_type`, if it is one.
    pub fn field(&self, event_type: &str, field: &str) -> Option<PersonalField> {
        self.by_type
            .get(event_type)?
            .iter()
            .find(|f| f.field == field)
            .copied()
    }

    /// One value of a personal field of kind `kind` as `treatment` shows it (`None`: not
    /// shown), as [`Self::mask`] treats it inside a payload.
    pub fn mask_text(
        &self,
        kind: PersonalKind,
        treatment: Treatment,
        text: &str,
        person: Option<&str>,
    ) -> Option<String> {
        match self.treat(kind, treatment, text, person) {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    fn treat(
        &self,
        kind: PersonalKind,
        treatment: Treatment,
        text: &str,
        person: Option<&str>,
    ) -> Value {
        match (treatment, kind) {
            (Treatment::Clear, _) => Value::String(text.to_string()),
            (Treatment::Removed, _) => Value::Null,
            (Treatment::Pseudonym, _) => match person {
                Some(id) => Value::String(self.pseudonym(id)),
                None => Value::Null,
            },
            (Treatment::Year, PersonalKind::BirthDate) => match text.get(..4) {
                Some(year) if year.bytes().all(|b| b.is_ascii_digit()) => {
                    Value::String(format!("{year}-01-01"))
                }
                _ => Value::Null,
            },
            (Treatment::Year, _) => Value::Null,
            (Treatment::Masked, PersonalKind::Phone) => Value::String(mask_phone(text)),
            (Treatment::Masked, PersonalKind::Email) => Value::String(mask_email(text)),
            (Treatment::Masked, PersonalKind::StudentNo) => Value::String(keep_last(text, 4)),
            (Treatment::Masked, PersonalKind::Name) => Value::String(mask_name(text)),
            (Treatment::Masked, PersonalKind::BirthDate) => match text.get(..4) {
                Some(year) => Value::String(format!("{year}-**-**")),
                None => Value::Null,
            },
            (Treatment::Masked, PersonalKind::FreeText) => Value::String(mask_free_text(text)),
        }
    }
}

/// `13812345678` → `138****5678`; shorter numbers keep only their last two digits.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() >= 7 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        keep_last(phone, 2)
    }
}

/// `zhang.san@example.edu.cn` → `z***@example.edu.cn`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

/// Every character but the last `n` as `*` (`2023012345` → `******2345`).
pub fn keep_last(text: &str, n: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let keep = chars.len().min(n);
    let hidden = chars.len() - keep;
    "*".repeat(hidden) + &chars[hidden..].iter().collect::<String>()
}

/// `张三丰` → `张**`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count())),
        None => String::new(),
    }
}

/// Phone numbers (7 or more digits in a row) and e-mail addresses in free text, masked.
pub fn mask_free_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        // A run of digits (with the separators people write in numbers).
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '-') {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            if run.chars().filter(char::is_ascii_digit).count() >= 7 {
                out.push_str(&mask_phone(&run));
            } else {
                out.push_str(&run);
            }
            continue;
        }
        // A word around an `@`.
        if chars[i] == '@' {
            let word_start = out
                .char_indices()
                .rev()
                .take_while(|(_, c)| is_address_char(*c))
                .last()
                .map(|(at, _)| at);
            let mut end = i + 1;
            while end < chars.len() && is_address_char(chars[end]) {
                end += 1;
            }
            if let Some(start) = word_start {
                if end > i + 1 {
                    let local: String = out[start..].to_string();
                    out.truncate(start);
                    let domain: String = chars[i + 1..end].iter().collect();
                    out.push_str(&mask_email(&format!("{local}@{domain}")));
                    i = end;
                    continue;
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn is_address_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')
}

/// The orgs and members a scope holds now, read again when either directory changes.
#[derive(Debug)]
struct ScopeSet {
    generations: (u64, u64),
    orgs: HashSet<String>,
    members: HashSet<String>,
}

/// `in_scope(org_id, member_id)`: whether an event belongs to the scope (its org lies in
/// the subtree, or it is about a person whose home does). Not registered in any session
/// (no query can call or shadow it); it sits in the plan of the scoped `events`.
#[derive(Debug)]
pub(crate) struct InScope {
    scope: String,
    orgs: Arc<OrgDirectory>,
    members: Arc<MemberDirectory>,
    current: RwLock<Arc<ScopeSet>>,
    signature: Signature,
}

impl PartialEq for InScope {
    fn eq(&self, other: &Self) -> bool {
        self.scope == other.scope && Arc::ptr_eq(&self.orgs, &other.orgs)
    }
}
impl Eq for InScope {}
impl std::hash::Hash for InScope {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.scope.hash(state);
    }
}

impl InScope {
    pub(crate) fn udf(
        scope: &str,
        orgs: Arc<OrgDirectory>,
        members: Arc<MemberDirectory>,
    ) -> ScalarUDF {
        ScalarUDF::new_from_impl(Self {
            scope: scope.to_string(),
            orgs,
            members,
            current: RwLock::new(Arc::new(ScopeSet {
                generations: (u64::MAX, u64::MAX),
                orgs: HashSet::new(),
                members: HashSet::new(),
            })),
            signature: Signature::any(2, Volatility::Volatile),
        })
    }

    fn set(&self) -> Arc<ScopeSet> {
        let generations = (self.orgs.generation(), self.members.generation());
        {
            let current = self.current.read().expect("scope set lock poisoned");
            if current.generations == generations {
                return current.clone();
            }
        }
        let orgs: HashSet<String> = self.orgs.subtree(&self.scope).into_iter().collect();
        let members = self
            .members
            .homed_in(|org| orgs.contains(org))
            .into_iter()
            .collect();
        let set = Arc::new(ScopeSet {
            generations,
            orgs,
            members,
        });
        *self.current.write().expect("scope set lock poisoned") = set.clone();
        set
    }
}

impl ScalarUDFImpl for InScope {
    fn name(&self) -> &str {
        "in_scope"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let [org, member] = args.args.as_slice() else {
            return Err(DataFusionError::Internal(
                "in_scope takes two arguments".into(),
            ));
        };
        let (org, member) = (text_array(org, rows)?, text_array(member, rows)?);
        let (org, member) = (Texts::of(&org), Texts::of(&member));
        let set = self.set();
        let out: BooleanArray = (0..rows)
            .map(|i| {
                Some(
                    org.get(i).is_some_and(|o| set.orgs.contains(o))
                        || member.get(i).is_some_and(|m| set.members.contains(m)),
                )
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// `mask_payload(event_type, member_id, payload)`: the payload as the role may see it.
/// Like [`InScope`], it sits only in the plan of a scoped `events`.
#[derive(Debug)]
pub(crate) struct MaskPayload {
    fields: Arc<PersonalFields>,
    masking: Masking,
    signature: Signature,
}

impl PartialEq for MaskPayload {
    fn eq(&self, other: &Self) -> bool {
        self.masking == other.masking && Arc::ptr_eq(&self.fields, &other.fields)
    }
}
impl Eq for MaskPayload {}
impl std::hash::Hash for MaskPayload {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.masking.hash(state);
    }
}

impl MaskPayload {
    pub(crate) fn udf(fields: Arc<PersonalFields>, masking: Masking) -> ScalarUDF {
        ScalarUDF::new_from_impl(Self {
            fields,
            masking,
            signature: Signature::any(3, Volatility::Immutable),
        })
    }
}

impl ScalarUDFImpl for MaskPayload {
    fn name(&self) -> &str {
        "mask_payload"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The payload's own string type (the Parquet scan gives views): no copy into
    /// another layout for the many batches that hold no personal data.
    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(match arg_types.get(2) {
            Some(DataType::Utf8View) => DataType::Utf8View,
            _ => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let [kind, member, payload] = args.args.as_slice() else {
            return Err(DataFusionError::Internal(
                "mask_payload takes three arguments".into(),
            ));
        };
        let payload = text_array(payload, rows)?;
        let (kind, member) = (text_array(kind, rows)?, text_array(member, rows)?);
        let (kind, member, text) = (Texts::of(&kind), Texts::of(&member), Texts::of(&payload));
        let masked: Vec<(usize, String)> = (0..rows)
            .filter_map(|i| {
                let masked =
                    self.fields
                        .mask(&self.masking, kind.get(i)?, member.get(i), text.get(i)?)?;
                Some((i, masked))
            })
            .collect();
        if masked.is_empty() {
            // Most batches hold no personal data: the column as it was, not a copy.
            return Ok(ColumnarValue::Array(payload));
        }
        let mut next = masked.into_iter().peekable();
        let values = (0..rows).map(|i| match next.peek() {
            Some((at, _)) if *at == i => next.next().map(|(_, m)| m),
            _ => text.get(i).map(str::to_string),
        });
        Ok(ColumnarValue::Array(match payload.data_type() {
            DataType::Utf8View => Arc::new(values.collect::<StringViewArray>()),
            _ => Arc::new(values.collect::<StringArray>()),
        }))
    }
}

/// `mask_value(value, person)`: one personal field, already out of its payload (a column
/// of a projection such as `people.name`), as a role may see it — what
/// [`MaskPayload`] does to the same field inside the payload, so a projection read
/// through it answers what the view computed over the reader's masked events would.
#[derive(Debug)]
pub(crate) struct MaskValue {
    fields: Arc<PersonalFields>,
    kind: PersonalKind,
    treatment: Treatment,
    signature: Signature,
}

impl PartialEq for MaskValue {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.treatment == other.treatment
            && Arc::ptr_eq(&self.fields, &other.fields)
    }
}
impl Eq for MaskValue {}
impl std::hash::Hash for MaskValue {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.kind, self.treatment).hash(state);
    }
}

impl MaskValue {
    pub(crate) fn udf(
        fields: Arc<PersonalFields>,
        kind: PersonalKind,
        treatment: Treatment,
    ) -> ScalarUDF {
        ScalarUDF::new_from_impl(Self {
            fields,
            kind,
            treatment,
            signature: Signature::any(2, Volatility::Immutable),
        })
    }
}

impl ScalarUDFImpl for MaskValue {
    fn name(&self) -> &str {
        "mask_value"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let [value, person] = args.args.as_slice() else {
            return Err(DataFusionError::Internal(
                "mask_value takes two arguments".into(),
            ));
        };
        let (value, person) = (text_array(value, rows)?, text_array(person, rows)?);
        let (value, person) = (Texts::of(&value), Texts::of(&person));
        let masked: StringArray = (0..rows)
            .map(|i| {
                let text = value.get(i)?;
                self.fields
                    .mask_text(self.kind, self.treatment, text, person.get(i))
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(masked)))
    }
}

/// A text column read where it lies, `Utf8` or `Utf8View`.
enum Texts<'a> {
    Plain(&'a StringArray),
    View(&'a StringViewArray),
}

impl<'a> Texts<'a> {
    /// `array` must come from [`text_array`].
    fn of(array: &'a ArrayRef) -> Self {
        match array.data_type() {
            DataType::Utf8View => Texts::View(array.as_string_view()),
            _ => Texts::Plain(array.as_string::<i32>()),
        }
    }

    fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Texts::Plain(a) => (!a.is_null(i)).then(|| a.value(i)),
            Texts::View(a) => (!a.is_null(i)).then(|| a.value(i)),
        }
    }
}

/// An argument as a `Utf8` or `Utf8View` array of `rows` rows (scalars repeated, other
/// string types cast).
fn text_array(value: &ColumnarValue, rows: usize) -> DfResult<ArrayRef> {
    let array = match value {
        ColumnarValue::Array(a) => a.clone(),
        ColumnarValue::Scalar(s) => s.to_array_of_size(rows)?,
    };
    Ok(match array.data_type() {
        DataType::Utf8 | DataType::Utf8View => array,
        DataType::Null => ScalarValue::Utf8(None).to_array_of_size(rows)?,
        _ => datafusion::arrow::compute::cast(&array, &DataType::Utf8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> PersonalFields {
        PersonalFields::new(
            &[
                PersonalField {
                    event_type: "member.registered",
                    field: "name",
                    kind: PersonalKind::Name,
                    person: None,
                },
                PersonalField {
                    event_type: "member.registered",
                    field: "phone",
                    kind: PersonalKind::Phone,
                    person: None,
                },
                PersonalField {
                    event_type: "member.registered",
                    field: "email",
                    kind: PersonalKind::Email,
                    person: None,
                },
                PersonalField {
                    event_type: "member.registered",
                    field: "student_no",
                    kind: PersonalKind::StudentNo,
                    person: None,
                },
                PersonalField {
                    event_type: "member.registered",
                    field: "birth_date",
                    kind: PersonalKind::BirthDate,
                    person: None,
                },
                PersonalField {
                    event_type: "org.secretary_appointed",
                    field: "name",
                    kind: PersonalKind::Name,
                    person: Some("secretary_id"),
                },
            ],
            "salt",
        )
    }

    const REGISTERED: &str = r#"{"name":"张三","student_no":"2023012345","gender":"male","email":"zhang.san@example.edu.cn","phone":"13812345678","birth_date":"2004-05-06"}"#;

    #[test]
    fn each_role_sees_what_its_masking_says() {
        let f = fields();
        assert_eq!(
            f.mask(
                &Masking::clear(),
                "member.registered",
                Some("M1"),
                REGISTERED
            ),
            None
        );
        let leader: Value = serde_json::from_str(
            &f.mask(
                &Masking::leader(),
                "member.registered",
                Some("M1"),
                REGISTERED,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(leader["name"], "张三");
        assert_eq!(leader["phone"], "138****5678");
        assert_eq!(leader["email"], "z***@example.edu.cn");
        assert_eq!(leader["student_no"], "******2345");
        assert_eq!(leader["gender"], "male");
        let analyst: Value = serde_json::from_str(
            &f.mask(
                &Masking::analyst(),
                "member.registered",
                Some("M1"),
                REGISTERED,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(analyst["name"], f.pseudonym("M1"));
        assert_ne!(f.pseudonym("M1"), f.pseudonym("M2"));
        assert_eq!(analyst["phone"], Value::Null);
        assert_eq!(analyst["email"], Value::Null);
        assert_eq!(analyst["student_no"], Value::Null);
        assert_eq!(analyst["birth_date"], "2004-01-01");
        // A secretary's name is pseudonymised by their own id.
        let appointed = r#"{"secretary_id":"S9","name":"李四","email":"li@x.cn"}"#;
        let seen: Value = serde_json::from_str(
            &f.mask(
                &Masking::analyst(),
                "org.secretary_appointed",
                None,
                appointed,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(seen["name"], f.pseudonym("S9"));
        // Events without personal fields are left alone.
        assert_eq!(
            f.mask(&Masking::analyst(), "dues.paid", Some("M1"), "{}"),
            None
        );
    }

    #[test]
    fn free_text_hides_contact_data() {
        assert_eq!(
            mask_free_text("请联系 13812345678 或 wang.wu@example.cn，谢谢"),
            "请联系 138****5678 或 w***@example.cn，谢谢"
        );
        assert_eq!(mask_free_text("2026年11月第3次"), "2026年11月第3次");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(keep_last("2023012345", 4), "******2345");
    }
}
