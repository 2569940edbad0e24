//! Bearer tokens → the person calling, their role and their org scope.
//!
//! The config holds only SHA-256 hashes of tokens. A presented token is hashed and
//! compared with every configured hash in constant time (no early exit), so neither
//! the comparison nor the loop leaks how close a guess was.

use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::TokenConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Leader,
    Analyst,
    Secretary,
    Producer,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "leader" => Some(Role::Leader),
            "analyst" => Some(Role::Analyst),
            "secretary" => Some(Role::Secretary),
            "producer" => Some(Role::Producer),
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
            Permission::View => !matches!(self, Role::Producer),
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    /// The root of the org subtree the caller may see and write.
    pub scope: String,
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
    entries: Vec<([u8; 32], Caller)>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "token of `{name}`: unknown role `{role}` (admin, leader, analyst, secretary, producer)"
    )]
    Role { name: String, role: String },
    #[error("token of `{name}`: sha256 must be 64 hex digits")]
    Hash { name: String },
}

impl TokenStore {
    pub fn from_config(tokens: &[TokenConfig]) -> Result<Self, TokenError> {
        let entries = tokens
            .iter()
            .map(|t| {
                let role = Role::parse(&t.role).ok_or_else(|| TokenError::Role {
                    name: t.name.clone(),
                    role: t.role.clone(),
                })?;
                let hash = parse_hex32(&t.sha256).ok_or_else(|| TokenError::Hash {
                    name: t.name.clone(),
                })?;
                Ok((
                    hash,
                    Caller {
                        name: t.name.clone(),
                        role,
                        scope: t.org.clone(),
                    },
                ))
            })
            .collect::<Result<_, TokenError>>()?;
        Ok(Self { entries })
    }

    pub fn authenticate(&self, token: &str) -> Option<Caller> {
        let presented = hash_token(token);
        let mut found = None;
        for (hash, caller) in &self.entries {
            if bool::from(hash.ct_eq(&presented)) {
                found = Some(caller);
            }
        }
        found.cloned()
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
        }])
        .unwrap();
        assert_eq!(store.authenticate(&token).unwrap().role, Role::Secretary);
        assert!(store.authenticate("dj_wrong").is_none());
    }

    #[test]
    fn the_access_matrix() {
        assert!(Role::Producer.allows(Permission::Ingest));
        assert!(!Role::Producer.allows(Permission::Sql));
        assert!(Role::Analyst.allows(Permission::Sql));
        assert!(!Role::Analyst.allows(Permission::Ingest));
        assert!(Role::Leader.allows(Permission::Sql));
        assert!(!Role::Secretary.allows(Permission::Sql));
    }
}
