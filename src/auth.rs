//! Bearer tokens → the person calling, their role and their org scope.
//!
//! The config holds only SHA-256 hashes of tokens. A presented token is hashed and
//! compared with every configured hash in constant time (no early exit), so neither
//! the comparison nor the loop leaks how close a guess was.

use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use warehouse::{Masking, ReadAccess};

use crate::config::{AccessSettings, ConfigError, TokenConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Leader,
    Analyst,
    Secretary,
    Producer,
    /// One person (党员, or anyone in the pipeline): their own record and the study
    /// pushed to them (我的党建), nothing of anyone else.
    Member,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "leader" => Some(Role::Leader),
            "analyst" => Some(Role::Analyst),
            "secretary" => Some(Role::Secretary),
            "producer" => Some(Role::Producer),
            "member" => Some(Role::Member),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Leader => "leader",
            Role::Analyst => "analyst",
            Role::Secretary => "secretary",
            Role::Producer => "producer",
            Role::Member => "member",
        }
    }
}

/// What a caller may do; each route asks for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Write events (`POST /api/v1/events`).
    Ingest,
    /// Run analyst SQL (`POST /api/v1/sql`).
    Sql,
    /// Read the cockpit's dashboards and the warnings (within the caller's scope).
    View,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Ingest => "ingest events",
            Permission::Sql => "run SQL",
            Permission::View => "view dashboards and warnings",
        }
    }
}

impl Role {
    pub fn allows(self, permission: Permission) -> bool {
        match permission {
            Permission::Ingest => matches!(self, Role::Admin | Role::Producer | Role::Secretary),
            Permission::Sql => matches!(self, Role::Admin | Role::Leader | Role::Analyst),
            Permission::View => !matches!(self, Role::Producer | Role::Member),
        }
    }

    /// Whether a caller of this role may read a member's own page (我的党建) and their
    /// recommendations: the member themselves (checked by id), and the secretaries,
    /// leaders and admins whose scope holds the member's home. Not analysts (who see
    /// pseudonyms, never one person's page) nor producers.
    pub fn reads_member_pages(self) -> bool {
        matches!(
            self,
            Role::Member | Role::Secretary | Role::Leader | Role::Admin
        )
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    /// The root of the org subtree the caller may see and write (empty for a member,
    /// whose scope is their own record).
    pub scope: String,
    /// The person a `member` token belongs to (`member_id`); `None` for other roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
}

impl Caller {
    /// The `actor_id` of what this caller writes: the token's person; a name that is no
    /// id (e.g. Chinese) is recorded by a stable digest of it.
    pub fn actor_id(&self) -> String {
        if ingest::catalogue::Id::check(&self.name).is_ok() {
            self.name.clone()
        } else {
            format!("user-{}", &hash_token_hex(&self.name)[..12])
        }
    }
}

#[derive(Debug)]
pub struct TokenStore {
    entries: Vec<TokenEntry>,
}

#[derive(Debug)]
struct TokenEntry {
    hash: [u8; 32],
    caller: Caller,
    /// The first instant the token no longer works.
    expires_at: Option<DateTime<Utc>>,
    revoked: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "token of `{name}`: unknown role `{role}` (admin, leader, analyst, secretary, producer, member)"
    )]
    Role { name: String, role: String },
    #[error("token of `{name}`: {reason}")]
    Member { name: String, reason: &'static str },
    #[error("token of `{name}`: sha256 must be 64 hex digits")]
    Hash { name: String },
    #[error(
        "token of `{name}`: expires_at `{value}` is neither an RFC 3339 instant nor a date (YYYY-MM-DD)"
    )]
    Expiry { name: String, value: String },
}

/// Why a presented token does not sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefused {
    Unknown,
    Expired,
    Revoked,
}

impl TokenStore {
    pub fn from_config(tokens: &[TokenConfig]) -> Result<Self, TokenError> {
        Self::with_revoked(tokens, &HashSet::new())
    }

    /// The configured tokens, those named in `revoked` refused from now on.
    pub fn with_revoked(
        tokens: &[TokenConfig],
        revoked: &HashSet<String>,
    ) -> Result<Self, TokenError> {
        let entries = tokens
            .iter()
            .map(|t| {
                let role = Role::parse(&t.role).ok_or_else(|| TokenError::Role {
                    name: t.name.clone(),
                    role: t.role.clone(),
                })?;
                let member = t.member.trim();
                match (role, member.is_empty()) {
                    (Role::Member, true) => {
                        return Err(TokenError::Member {
                            name: t.name.clone(),
                            reason: "a member token names its person: member = \"M000123\"",
                        });
                    }
                    (Role::Member, false) => {}
                    (_, false) => {
                        return Err(TokenError::Member {
                            name: t.name.clone(),
                            reason: "only a token of role `member` names a member",
                        });
                    }
                    (_, true) => {}
                }
                let hash = parse_hex32(&t.sha256).ok_or_else(|| TokenError::Hash {
                    name: t.name.clone(),
                })?;
                let expires_at = match t.expires_at.trim() {
                    "" => None,
                    text => Some(parse_expiry(text).ok_or_else(|| TokenError::Expiry {
                        name: t.name.clone(),
                        value: text.to_string(),
                    })?),
                };
                Ok(TokenEntry {
                    hash,
                    caller: Caller {
                        name: t.name.clone(),
                        role,
                        // A member's scope is their record, not an org subtree.
                        scope: if role == Role::Member {
                            String::new()
                        } else {
                            t.org.clone()
                        },
                        member: (role == Role::Member).then(|| member.to_string()),
                    },
                    expires_at,
                    revoked: revoked.contains(&t.name),
                })
            })
            .collect::<Result<_, TokenError>>()?;
        Ok(Self { entries })
    }

    /// The caller a token belongs to at `now`, or why it is refused.
    pub fn authenticate(&self, token: &str, now: DateTime<Utc>) -> Result<Caller, SignInRefused> {
        let presented = hash_token(token);
        let mut found = None;
        for entry in &self.entries {
            if bool::from(entry.hash.ct_eq(&presented)) {
                found = Some(entry);
            }
        }
        let entry = found.ok_or(SignInRefused::Unknown)?;
        if entry.revoked {
            return Err(SignInRefused::Revoked);
        }
        if entry.expires_at.is_some_and(|end| now >= end) {
            return Err(SignInRefused::Expired);
        }
        Ok(entry.caller.clone())
    }
}

/// `expires_at`: an instant, or a China date meaning "valid through that day".
fn parse_expiry(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let next = day.succ_opt()?.and_hms_opt(0, 0, 0)?;
    Some(
        next.and_local_timezone(warehouse::clock::china_time())
            .single()?
            .with_timezone(&Utc),
    )
}

/// The token list in force, replaced whole when the config or the revoked list changes
/// (SIGHUP, or the server's periodic look at the files).
#[derive(Debug)]
pub struct Tokens {
    current: RwLock<Arc<TokenStore>>,
}

impl Tokens {
    pub fn new(store: TokenStore) -> Self {
        Self {
            current: RwLock::new(Arc::new(store)),
        }
    }

    pub fn current(&self) -> Arc<TokenStore> {
        self.current.read().expect("tokens lock poisoned").clone()
    }

    pub fn replace(&self, store: TokenStore) {
        *self.current.write().expect("tokens lock poisoned") = Arc::new(store);
    }
}

/// The names in a revoked-tokens file: one a line, `#` comments and blank lines skipped.
pub fn read_revoked(path: &std::path::Path) -> std::io::Result<HashSet<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashSet::new()),
        Err(e) => Err(e),
    }
}

/// What each role sees of personal data (the settings `access.<role>`), and the
/// [`ReadAccess`] of a caller: the one place a role becomes a reader's session.
#[derive(Debug, Clone)]
pub struct Maskings {
    leader: Masking,
    analyst: Masking,
    secretary: Masking,
}

impl Maskings {
    pub fn from_config(access: &AccessSettings) -> Result<Self, ConfigError> {
        Ok(Self {
            leader: access.leader.masking("leader")?,
            analyst: access.analyst.masking("analyst")?,
            secretary: access.secretary.masking("secretary")?,
        })
    }

    pub fn access(&self, caller: &Caller) -> ReadAccess {
        let scope = caller.scope.as_str();
        match caller.role {
            Role::Admin => ReadAccess::admin(scope),
            Role::Leader => ReadAccess::new(scope, self.leader.clone()),
            Role::Secretary => ReadAccess::new(scope, self.secretary.clone()),
            // Producers and members read no session; were a route to give them one, they
            // would see least (a member's empty scope holds nothing).
            Role::Analyst | Role::Producer | Role::Member => {
                ReadAccess::new(scope, self.analyst.clone())
            }
        }
    }
}

pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub fn hash_token_hex(token: &str) -> String {
    hash_token(token)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new random token: `dj_` and 40 characters of base 62.
pub fn new_token() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let body: String = (0..40)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("dj_{body}")
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_by_hash_only() {
        let token = new_token();
        let store = TokenStore::from_config(&[TokenConfig {
            name: "王书记".into(),
            role: "secretary".into(),
            org: "B1".into(),
            sha256: hash_token_hex(&token),
            expires_at: String::new(),
            member: String::new(),
        }])
        .unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-25T08:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            store.authenticate(&token, now).unwrap().role,
            Role::Secretary
        );
        assert_eq!(
            store.authenticate("dj_wrong", now),
            Err(SignInRefused::Unknown)
        );
    }

    #[test]
    fn tokens_end_by_date_or_revocation() {
        let entry = |name: &str, expires_at: &str| TokenConfig {
            name: name.into(),
            role: "analyst".into(),
            org: "U".into(),
            sha256: hash_token_hex(name),
            expires_at: expires_at.into(),
            member: String::new(),
        };
        let tokens = [
            entry("a", "2026-11-30"),
            entry("b", "2026-11-30T12:00:00Z"),
            entry("c", ""),
        ];
        let revoked = HashSet::from(["c".to_string()]);
        let store = TokenStore::with_revoked(&tokens, &revoked).unwrap();
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        // Valid through 30 November, China time (16:00 UTC is midnight there).
        assert!(store.authenticate("a", at("2026-11-30T15:59:59Z")).is_ok());
        assert_eq!(
            store.authenticate("a", at("2026-11-30T16:00:00Z")),
            Err(SignInRefused::Expired)
        );
        assert!(store.authenticate("b", at("2026-11-30T11:59:59Z")).is_ok());
        assert_eq!(
            store.authenticate("b", at("2026-11-30T12:00:00Z")),
            Err(SignInRefused::Expired)
        );
        assert_eq!(
            store.authenticate("c", at("2020-01-01T00:00:00Z")),
            Err(SignInRefused::Revoked)
        );
        assert!(matches!(
            TokenStore::from_config(&[entry("d", "next week")]),
            Err(TokenError::Expiry { .. })
        ));
    }

    #[test]
    fn the_access_matrix() {
        assert!(Role::Producer.allows(Permission::Ingest));
        assert!(!Role::Producer.allows(Permission::Sql));
        assert!(Role::Analyst.allows(Permission::Sql));
        assert!(!Role::Analyst.allows(Permission::Ingest));
        assert!(Role::Leader.allows(Permission::Sql));
        assert!(!Role::Secretary.allows(Permission::Sql));
        for permission in [Permission::Ingest, Permission::Sql, Permission::View] {
            assert!(!Role::Member.allows(permission), "{permission:?}");
        }
        assert!(Role::Member.reads_member_pages());
        assert!(!Role::Analyst.reads_member_pages());
        assert!(!Role::Producer.reads_member_pages());
    }

    #[test]
    fn a_member_token_names_its_person_and_no_org() {
        let entry = |role: &str, member: &str| TokenConfig {
            name: "m".into(),
            role: role.into(),
            org: "B1".into(),
            sha256: hash_token_hex("m"),
            expires_at: String::new(),
            member: member.into(),
        };
        let now = DateTime::parse_from_rfc3339("2026-11-25T08:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        let store = TokenStore::from_config(&[entry("member", "M1")]).unwrap();
        let caller = store.authenticate("m", now).unwrap();
        assert_eq!(caller.role, Role::Member);
        assert_eq!(caller.member.as_deref(), Some("M1"));
        assert_eq!(caller.scope, "", "a member holds no org subtree");
        assert!(TokenStore::from_config(&[entry("member", "")]).is_err());
        assert!(TokenStore::from_config(&[entry("secretary", "M1")]).is_err());
    }
}
