//! The members' own side (智能党建 and 我的党建): each member's page of their own record,
//! the study recommended to them with its reasons, and the weekly push of those
//! recommendations by mail.
//!
//! - [`Members::page`]: one person's record as 我的党建 shows it — stage and next step,
//!   dues, 三会一课 attendance, study against the year's target, quizzes, the member score
//!   with its parts, open warnings, unread notices, recommendations and the push choice.
//!   Who may ask is the HTTP route's check (the member themselves; a secretary, leader or
//!   admin whose scope holds the member's home): the queries here read the internal
//!   session (read models and projections) filtered to that one person.
//! - [`Members::recommendations`]: the query of `queries/recommendations/` as of now, for
//!   one member (every member's answer is computed once per day and events version).
//! - [`Members::push`] (on the query's `schedule`): records each member's
//!   recommendations of the week as `study.recommended` events and mails a short Chinese
//!   digest to members with an e-mail address who did not opt out, then records
//!   `study.digest_sent`. A week's recommendations are recorded once and mailed once:
//!   a second run in the same week records nothing for members already recorded and
//!   mails only those whose digest was not yet accepted.

mod page;
mod push;

pub use push::PushReport;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use ingest::Ingestor;
use serde_json::Value;
use warehouse::Warehouse;
use warehouse::queries::{QueryFile, QueryKind};

use crate::schedule::Schedule;
use crate::warnings::mail::Mailer;
use crate::{Error, Result};

/// The actor of the events the weekly push writes.
pub const ACTOR: &str = "dangjian-study";

/// One day's recommendations of every member: (events version, China date, rows).
type Computed = (Option<u64>, NaiveDate, Arc<Vec<Value>>);

pub struct Members {
    warehouse: Arc<Warehouse>,
    ingest: Arc<Ingestor>,
    mailer: Mailer,
    /// Links in mails point here (`{public_url}/#/me`).
    public_url: String,
    /// The recommendation query (`queries/recommendations/`), if the catalog has one.
    query: Option<QueryFile>,
    computed: Mutex<Option<Computed>>,
    /// Two pushes never overlap.
    running: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Members {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Members")
            .field("query", &self.query.as_ref().map(|q| &q.path))
            .finish_non_exhaustive()
    }
}

impl Members {
    pub fn new(
        warehouse: Arc<Warehouse>,
        ingest: Arc<Ingestor>,
        mailer: Mailer,
        public_url: String,
    ) -> Self {
        let query = warehouse
            .catalog()
            .of_kind(QueryKind::Recommendation)
            .next()
            .cloned();
        Self {
            warehouse,
            ingest,
            mailer,
            public_url: public_url.trim_end_matches('/').to_string(),
            query,
            computed: Mutex::new(None),
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// When the weekly push runs (the recommendation query's `schedule` header).
    pub fn schedule(&self) -> Result<Option<Schedule>> {
        let Some(query) = &self.query else {
            return Ok(None);
        };
        query
            .get("schedule")
            .map(|s| Schedule::parse(&query.name, s))
            .transpose()
    }

    /// The home org of `member_id` now, or `UnknownMember`.
    pub fn home(&self, member_id: &str) -> Result<String> {
        self.warehouse
            .members()
            .get(member_id)
            .map(|home| home.org_id)
            .ok_or_else(|| Error::UnknownMember {
                id: member_id.to_string(),
            })
    }

    /// Every member's recommendations as of `as_of` (in the current session: read
    /// models and projections; the parameters of that instant), computed once per China
    /// day and events version.
    async fn all_recommendations(&self, as_of: DateTime<Utc>) -> Result<Arc<Vec<Value>>> {
        let Some(query) = &self.query else {
            return Ok(Arc::new(Vec::new()));
        };
        let day = warehouse::clock::china_today(as_of);
        let version = self.warehouse.events_newest();
        if let Some((v, d, rows)) = self.computed.lock().expect("cache lock").as_ref() {
            if *v == version && *d == day {
                return Ok(rows.clone());
            }
        }
        let sql = query.render(&self.warehouse.catalog().params_at(as_of))?;
        let rows = Arc::new(Warehouse::rows_in(&self.session(), &sql).await?);
        *self.computed.lock().expect("cache lock") = Some((version, day, rows.clone()));
        Ok(rows)
    }

    /// The recommendations of one member as of `as_of`, best first.
    pub async fn recommendations(
        &self,
        member_id: &str,
        as_of: DateTime<Utc>,
    ) -> Result<Vec<Value>> {
        let all = self.all_recommendations(as_of).await?;
        let mut mine: Vec<Value> = all
            .iter()
            .filter(|r| r["member_id"].as_str() == Some(member_id))
            .cloned()
            .collect();
        mine.sort_by_key(|r| r["rank"].as_i64().unwrap_or(i64::MAX));
        Ok(mine)
    }
}

impl Members {
    /// The internal session for the members' queries, without join dynamic filters
    /// (see [`without_join_dynamic_filters`]).
    pub(crate) fn session(&self) -> warehouse::datafusion::prelude::SessionContext {
        let ctx = self.warehouse.context();
        without_join_dynamic_filters(&ctx);
        ctx
    }

    async fn rows(&self, sql: &str) -> Result<Vec<Value>> {
        Ok(Warehouse::rows_in(&self.session(), sql).await?)
    }
}

/// Turns off join dynamic filters in `ctx`: DataFusion 55 can push a join's filter into
/// a scan with the wrong type (`Utf8 >= Date32`), failing a query now and then.
pub(crate) fn without_join_dynamic_filters(ctx: &warehouse::datafusion::prelude::SessionContext) {
    ctx.state_ref()
        .write()
        .config_mut()
        .options_mut()
        .optimizer
        .enable_join_dynamic_filter_pushdown = false;
}

/// `id` as a SQL string literal, after checking it is an id (letters, digits, `-_.:`).
fn quoted_id(id: &str) -> Result<String> {
    ingest::catalogue::Id::check(id).map_err(|reason| Error::InvalidParameter {
        field: "id",
        reason,
    })?;
    Ok(format!("'{id}'"))
}
