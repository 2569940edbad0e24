//! Statements over the Postgres wire, simple and extended protocol alike.
//!
//! A statement is, in this order: a cursor's `DECLARE` (its query runs bounded at once;
//! `FETCH` pages through the rows kept), a `COPY (…) TO STDOUT` (psql's `\copy`: the
//! same CSV as `POST /api/v1/sql?format=csv`), one of the statements clients send
//! around their queries (`SET`, `SHOW`, `BEGIN`, `COMMIT`, `FETCH`, `CLOSE`: answered by
//! `datafusion-postgres`'s hooks, and changing nothing stored), or a read. Reads run in
//! the caller's reader session with `pg_catalog` added ([`Sessions`]), through
//! [`Warehouse::query_over`]: refused unless read-only, cut at `sql.row_limit` (a
//! NOTICE says so), cancelled at `sql.timeout_secs` or the client's shorter
//! `statement_timeout`, or by the client's cancel request, and audited.
//!
//! [`Warehouse::query_over`]: warehouse::Warehouse::query_over

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::CatalogProviderList;
use datafusion::common::ParamValues;
use datafusion::execution::{FunctionRegistry, SessionState};
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DfParsed;
use datafusion::sql::sqlparser::ast::{
    CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, CopyTarget, Declare,
    DeclareType, Set, Statement,
};
use datafusion_postgres::arrow_pg::datatypes::df::deserialize_parameters;
use datafusion_postgres::arrow_pg::datatypes::{
    arrow_schema_to_pg_fields, encode_recordbatch, into_pg_type,
};
use datafusion_postgres::datafusion_pg_catalog::sql::PostgresCompatibilityParser;
use datafusion_postgres::hooks::cursor::CursorStatementHook;
use datafusion_postgres::hooks::set_show::SetShowHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use datafusion_postgres::hooks::{HookClient, QueryHook};
use datafusion_postgres::pgwire;
use futures::{Sink, SinkExt};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{CopyResponse, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::CopyData;
use pgwire::types::format::FormatOptions;
use warehouse::audit::AuditRecord;
use warehouse::{QueryResult, ReadAccess, ReadQuery};

use super::PgCaller;
use crate::http::{ApiError, AppState};

/// A parsed statement and, for what is planned, its plan (the shape the hooks expect).
type Parsed = (String, Option<(Statement, LogicalPlan)>);

/// The query handlers of every connection.
pub struct PgQueries {
    state: AppState,
    sessions: Arc<Sessions>,
    parser: Arc<PgParser>,
    hooks: Vec<Arc<dyn QueryHook>>,
}

impl PgQueries {
    pub fn new(state: AppState) -> Self {
        let sessions = Arc::new(Sessions {
            state: state.clone(),
            cache: Mutex::default(),
        });
        let hooks: Vec<Arc<dyn QueryHook>> = vec![
            Arc::new(CursorStatementHook),
            Arc::new(SetShowHook),
            Arc::new(TransactionStatementHook),
        ];
        Self {
            state,
            parser: Arc::new(PgParser {
                sql: PostgresCompatibilityParser::new(),
                sessions: sessions.clone(),
                hooks: hooks.clone(),
            }),
            sessions,
            hooks,
        }
    }
}

/// Reader sessions with `pg_catalog`: one per access, made again when the reader
/// session it was made from is (new model tables, a changed org tree).
struct Sessions {
    state: AppState,
    /// Per reader and token name: the reader's catalog list it was built over (a
    /// changed one — new model tables, a changed directory — builds it again) and the
    /// session with `pg_catalog` and the name functions.
    #[allow(clippy::type_complexity)]
    cache: Mutex<HashMap<(ReadAccess, String), (Arc<dyn CatalogProviderList>, SessionState)>>,
}

impl Sessions {
    /// The session a connection's statements plan and run in: the caller's reader
    /// session with `pg_catalog`, and `current_user` naming the token.
    /// `settings` are the connection's own `SET datafusion.…` ([`engine_settings`]).
    async fn of(
        &self,
        who: &PgCaller,
        settings: &[(String, String)],
    ) -> warehouse::Result<SessionState> {
        let warehouse = &self.state.warehouse;
        let current = warehouse.reader_catalog_list(&who.access).await?;
        let key = (who.access.clone(), who.caller.name.clone());
        let cached = {
            let cache = self.cache.lock().expect("pg sessions lock poisoned");
            cache
                .get(&key)
                .filter(|(list, _)| Arc::ptr_eq(list, &current))
                .map(|(_, state)| state.clone())
        };
        let mut state = match cached {
            Some(state) => state,
            None => {
                let reader = warehouse.reader_state(&who.access).await?;
                let mut state =
                    super::catalog::with_pg_catalog(&reader, self.state.warehouse.catalog())
                        .map_err(|source| warehouse::Error::Execution { source })?;
                for name in ["current_user", "session_user", "user", "whoami"] {
                    state
                        .register_udf(Arc::new(super::catalog::text_udf(name, &who.caller.name)))
                        .map_err(|source| warehouse::Error::Execution { source })?;
                }
                self.cache
                    .lock()
                    .expect("pg sessions lock poisoned")
                    .insert(key, (reader.catalog_list().clone(), state.clone()));
                state
            }
        };
        let options = state.config_mut().options_mut();
        for (key, value) in settings {
            options
                .set(key, value)
                .map_err(|source| warehouse::Error::Execution { source })?;
        }
        Ok(state)
    }

    /// [`Self::of`] for a statement of `client`'s connection (its `SET datafusion.…`
    /// applied), failing as a statement does.
    async fn of_client<C: ClientInfo + ?Sized>(
        &self,
        who: &PgCaller,
        client: &C,
    ) -> PgWireResult<SessionState> {
        self.of(who, &engine_settings(client))
            .await
            .map_err(|e| query_error(e).0)
    }
}

/// The query engine's settings a connection may change for itself with `SET
/// datafusion.… = …` (how a plan is explained or shown, the optimizer's choices, the
/// batch size, the time zone); the rest — memory, spilling, parallelism, the catalog —
/// are the server's bounds (`[sql]`), refused with 42501.
const CONNECTION_SETTINGS: &[&str] = &[
    "datafusion.explain.",
    "datafusion.format.",
    "datafusion.optimizer.",
    "datafusion.sql_parser.",
    "datafusion.execution.batch_size",
    "datafusion.execution.time_zone",
];

/// Where a connection keeps its `SET datafusion.…` values: its metadata, under the key.
fn engine_settings<C: ClientInfo + ?Sized>(client: &C) -> Vec<(String, String)> {
    client
        .metadata()
        .iter()
        .filter(|(k, _)| k.starts_with("datafusion."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `SHOW datafusion.x` as the read of `information_schema.df_settings` it stands for,
/// so that it answers the connection's own value (after its `SET`) or the server's;
/// other statements as they are.
fn show_engine_setting(statement: Statement) -> PgWireResult<Statement> {
    let Statement::ShowVariable { variable } = &statement else {
        return Ok(statement);
    };
    let name = variable
        .iter()
        .map(|i| i.value.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(".");
    if !name.starts_with("datafusion.")
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return Ok(statement);
    }
    let sql =
        format!("SELECT name, value FROM information_schema.df_settings WHERE name = '{name}'");
    let mut parsed = datafusion::sql::sqlparser::parser::Parser::parse_sql(
        &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
        &sql,
    )
    .map_err(|e| user_error("42601", e.to_string()))?;
    Ok(parsed.remove(0))
}

/// `SET datafusion.x = v` (or `TO`): kept for the connection when `x` is one of
/// [`CONNECTION_SETTINGS`] and `v` a value DataFusion takes, applied to every later
/// statement; any other `datafusion.` setting is refused. Other statements: `None`.
fn set_engine_setting<C: ClientInfo + ?Sized>(
    client: &mut C,
    statement: &Statement,
) -> Option<PgWireResult<Response>> {
    let Statement::Set(Set::SingleAssignment {
        scope: None,
        hivevar: false,
        variable,
        values,
    }) = statement
    else {
        return None;
    };
    let key = variable.to_string().to_ascii_lowercase();
    if !key.starts_with("datafusion.") {
        return None;
    }
    if !CONNECTION_SETTINGS.iter().any(|p| key.starts_with(p)) {
        return Some(Err(user_error(
            "42501",
            format!(
                "{key} is the server's setting (its [sql] bounds); a connection may set {}",
                CONNECTION_SETTINGS.join(", ")
            ),
        )));
    }
    let [value] = values.as_slice() else {
        return Some(Err(user_error(
            "22023",
            format!("SET {key} takes one value"),
        )));
    };
    let value = value.to_string();
    let value = value.trim_matches('\'').trim_matches('"').to_string();
    if let Err(e) = datafusion::config::ConfigOptions::new().set(&key, &value) {
        return Some(Err(user_error("22023", format!("SET {key}: {e}"))));
    }
    client.metadata_mut().insert(key, value);
    Some(Ok(Response::Execution(Tag::new("SET"))))
}

/// The signed-in caller of a connection.
fn caller_of<C: ClientInfo + ?Sized>(client: &C) -> PgWireResult<Arc<PgCaller>> {
    client
        .session_extensions()
        .get::<PgCaller>()
        .ok_or_else(|| user_error("28000", "sign in first"))
}

fn user_error(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_string(),
        code.to_string(),
        message.into(),
    )))
}

/// The SQLSTATE of a refused or failed query: clients and their users act on it (a
/// timeout may be retried, a syntax error may not).
fn sqlstate(error: &warehouse::Error) -> &'static str {
    use warehouse::Error;
    match error {
        Error::ReadOnly { .. } => "25006",
        Error::StatementCount { .. } => "42601",
        Error::Timeout { .. } | Error::Cancelled => "57014",
        Error::MemoryLimit { .. } => "53200",
        Error::Busy { .. } => "53000",
        Error::Sql { source, message } => {
            let message = message.to_ascii_lowercase();
            if message.contains("no field named") || message.contains("column") {
                "42703"
            } else if message.contains("table") && message.contains("not found") {
                "42P01"
            } else if message.contains("function") {
                "42883"
            } else if matches!(
                source.find_root(),
                datafusion::error::DataFusionError::SQL(..)
            ) || message.contains("syntax")
                || message.contains("expected")
            {
                "42601"
            } else {
                "42000"
            }
        }
        _ => "XX000",
    }
}

/// A query's error as the client sees it: the SQLSTATE and the HTTP endpoint's message
/// (internal detail is logged, not sent).
fn query_error(error: warehouse::Error) -> (PgWireError, ApiError) {
    let code = sqlstate(&error);
    let api = ApiError::from(error);
    (user_error(code, api.message.clone()), api)
}

fn parse_error(error: impl std::fmt::Display) -> PgWireError {
    user_error("42601", error.to_string())
}

/// Columns clients cannot read as they are, turned into ones they can: a struct (the
/// answer of `chi2_test`, `anova_oneway`) becomes its JSON text.
fn readable_schema(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Struct(_) => Arc::new(Field::new(f.name(), DataType::Utf8, true)),
                _ => f.clone(),
            })
            .collect::<Vec<_>>(),
    ))
}

fn readable_batch(batch: &RecordBatch, schema: &SchemaRef) -> PgWireResult<RecordBatch> {
    if !batch
        .columns()
        .iter()
        .any(|c| matches!(c.data_type(), DataType::Struct(_)))
    {
        return Ok(batch.clone());
    }
    let columns = batch
        .columns()
        .iter()
        .zip(batch.schema().fields())
        .map(|(column, field)| match column.data_type() {
            DataType::Struct(_) => struct_as_json(column, field),
            _ => Ok(column.clone()),
        })
        .collect::<PgWireResult<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| PgWireError::ApiError(Box::new(e)))
}

fn struct_as_json(column: &ArrayRef, field: &Arc<Field>) -> PgWireResult<ArrayRef> {
    let one = Schema::new(vec![field.as_ref().clone()]);
    let batch = RecordBatch::try_new(Arc::new(one), vec![column.clone()])
        .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
    let rows =
        warehouse::json::rows_json(&[batch]).map_err(|e| PgWireError::ApiError(Box::new(e)))?;
    let texts: StringArray = (0..column.len())
        .map(|i| {
            if column.is_null(i) {
                None
            } else {
                rows.get(i)
                    .and_then(|row| row.get(field.name()))
                    .map(|value| value.to_string())
            }
        })
        .collect();
    Ok(Arc::new(texts))
}

/// The rows of `result` in the wire's encoding (`format`: text or binary per column).
fn encode(
    result: QueryResult,
    format: &Format,
    options: Arc<FormatOptions>,
) -> PgWireResult<QueryResponse> {
    let schema = readable_schema(&result.schema);
    let fields = Arc::new(arrow_schema_to_pg_fields(&schema, format, Some(options))?);
    let batches = result
        .batches
        .iter()
        .map(|b| readable_batch(b, &schema))
        .collect::<PgWireResult<Vec<_>>>()?;
    let row_fields = fields.clone();
    let rows = futures::stream::iter(
        batches
            .into_iter()
            .flat_map(move |batch| encode_recordbatch(row_fields.clone(), batch)),
    );
    Ok(QueryResponse::new(fields, rows))
}

/// Parameters' wire types in `$1, $2, …` order (unknown where nothing tells the type).
fn parameter_types(plan: &LogicalPlan) -> PgWireResult<Vec<Option<DataType>>> {
    let types = plan
        .get_parameter_types()
        .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
    let mut ordered: Vec<(usize, Option<DataType>)> = types
        .into_iter()
        .filter_map(|(id, t)| id.trim_start_matches('$').parse().ok().map(|n| (n, t)))
        .collect();
    ordered.sort_by_key(|(n, _)| *n);
    Ok(ordered.into_iter().map(|(_, t)| t).collect())
}

/// Savepoints: nothing to keep, as nothing is written, so they only say they were done
/// (drivers set one around their own catalogue queries, e.g. psycopg's `TypeInfo`).
fn savepoint(statement: &Statement) -> Option<Response> {
    match statement {
        Statement::Savepoint { .. } => Some(Response::Execution(Tag::new("SAVEPOINT"))),
        Statement::ReleaseSavepoint { .. } => Some(Response::Execution(Tag::new("RELEASE"))),
        _ => None,
    }
}

/// `SHOW` of the server's own settings that clients check features against: what a
/// Postgres 16 answers (the hook would name DataFusion).
fn own_setting(statement: &Statement) -> Option<(&'static str, String)> {
    let Statement::ShowVariable { variable } = statement else {
        return None;
    };
    let name = variable
        .iter()
        .map(|i| i.value.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    match name.as_str() {
        "server_version" => Some(("server_version", super::SERVER_VERSION.to_string())),
        "server_version_num" => {
            let mut parts = super::SERVER_VERSION.split('.');
            let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(16);
            let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            Some(("server_version_num", (major * 10_000 + minor).to_string()))
        }
        "default_transaction_read_only" | "transaction_read_only" => {
            Some(("transaction_read_only", "on".to_string()))
        }
        _ => None,
    }
}

/// The one-row answer of [`own_setting`].
fn setting_rows(name: &str, value: &str) -> PgWireResult<QueryResult> {
    let schema = Arc::new(Schema::new(vec![Field::new(name, DataType::Utf8, false)]));
    let values: ArrayRef = Arc::new(StringArray::from(vec![value.to_string()]));
    let batch = RecordBatch::try_new(schema.clone(), vec![values])
        .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
    Ok(QueryResult {
        schema,
        batches: vec![batch],
        rows: 1,
        truncated: false,
        elapsed: Duration::ZERO,
    })
}

/// What the server answers itself, in either protocol: savepoints and its own settings.
fn own_answer(
    statement: &Statement,
    format: &Format,
    options: Arc<FormatOptions>,
) -> Option<PgWireResult<Response>> {
    if let Some(done) = savepoint(statement) {
        return Some(Ok(done));
    }
    let (name, value) = own_setting(statement)?;
    Some(
        setting_rows(name, &value)
            .and_then(|rows| encode(rows, format, options))
            .map(Response::Query),
    )
}

/// How the client asked values to be written (`DateStyle`, `extra_float_digits`, …).
fn format_options<C: ClientInfo + ?Sized>(client: &C) -> Arc<FormatOptions> {
    Arc::new(FormatOptions::from_client_metadata(client.metadata()))
}

/// Statements that are not reads of data but talk to the session: the hooks answer them.
fn is_for_hooks(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Set(_)
            | Statement::ShowVariable { .. }
            | Statement::ShowCatalogs { .. }
            | Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
            | Statement::Fetch { .. }
            | Statement::Close { .. }
    )
}

impl PgQueries {
    /// Runs a read as `who`, bounded and audited, with the client's own statement
    /// timeout (if shorter) and cancel request; a NOTICE says when rows were cut.
    async fn run<C>(
        &self,
        client: &mut C,
        who: &PgCaller,
        query: ReadQuery,
        text: &str,
    ) -> PgWireResult<QueryResult>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // Recorded when dropped: also when the client's cancel request drops the query.
        let mut audit = Audit::new(&self.state, who, text);
        let outcome = self.run_bounded(client, who, query).await;
        audit.outcome(match &outcome {
            Ok(result) => (200, None, Some(result.rows as u64)),
            Err((_, api)) => (api.status.as_u16(), Some(api.error), None),
        });
        drop(audit);
        let result = outcome.map_err(|(error, _)| error)?;
        tracing::info!(
            rows = result.rows,
            truncated = result.truncated,
            elapsed_ms = result.elapsed.as_millis() as u64,
            caller = %who.caller.name,
            "pg sql"
        );
        if result.truncated {
            let notice = ErrorInfo::new(
                "NOTICE".to_string(),
                "01000".to_string(),
                format!(
                    "the result was cut at {} rows (sql.row_limit, sql.max_result_bytes)",
                    result.rows
                ),
            );
            client
                .send(PgWireBackendMessage::NoticeResponse(notice.into()))
                .await?;
        }
        Ok(result)
    }

    async fn run_bounded<C: ClientInfo>(
        &self,
        client: &C,
        who: &PgCaller,
        query: ReadQuery,
    ) -> Result<QueryResult, (PgWireError, ApiError)> {
        // The token's share of places, as over HTTP (429 there, 53000 here).
        let _slot = self
            .state
            .slot(&who.caller)
            .map_err(|api| (user_error("53000", api.message.clone()), api))?;
        let mut limits = self.state.config.sql_limits();
        if let Some(timeout) = statement_timeout(client) {
            limits.timeout = limits.timeout.min(timeout);
        }
        let sessions = self.sessions.clone();
        let caller = who.clone();
        let settings = engine_settings(client);
        let session = async move { sessions.of(&caller, &settings).await };
        // A cancel request from the client drops this future (pgwire races it), and
        // with it the query's runtime.
        self.state
            .warehouse
            .query_over(session, query, &limits)
            .await
            .map_err(query_error)
    }

    /// `DECLARE name CURSOR FOR query`: the query runs now, bounded like any other;
    /// `FETCH` then pages through its rows (the hooks' cursor support).
    async fn declare<C>(
        &self,
        client: &mut C,
        who: &PgCaller,
        declares: &[Declare],
    ) -> PgWireResult<Response>
    where
        C: HookClient + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        for declare in declares {
            if declare.declare_type != Some(DeclareType::Cursor) {
                return Err(user_error(
                    "0A000",
                    "only DECLARE … CURSOR FOR a query is supported",
                ));
            }
            let name = declare
                .names
                .first()
                .map(|n| n.value.clone())
                .ok_or_else(|| user_error("42601", "DECLARE needs a cursor name"))?;
            let query = declare
                .for_query
                .as_ref()
                .map(|q| q.to_string())
                .ok_or_else(|| user_error("42601", "DECLARE CURSOR needs FOR a query"))?;
            let result = self
                .run(client, who, ReadQuery::Sql(query.clone()), &query)
                .await?;
            let options = format_options(client);
            // Described as its rows, for the `Describe` of the portal and of each FETCH.
            let schema = readable_schema(&result.schema);
            let rows = rows_plan(&schema)?;
            client
                .session_extensions()
                .get_or_insert_with(Cursors::default)
                .0
                .lock()
                .expect("cursors lock poisoned")
                .insert(name.clone(), schema);
            let response = encode(result, &Format::UnifiedText, options)?;
            let described = declare
                .for_query
                .clone()
                .map(|q| (Statement::Query(q), rows));
            let stored = Arc::new(StoredStatement::new(
                name.clone(),
                (query, described),
                vec![],
            ));
            let portal = Portal::new_cursor(name, stored);
            portal.start(response).await;
            HookClient::portal_store(client).put_portal(Arc::new(portal));
        }
        Ok(Response::Execution(Tag::new("DECLARE CURSOR")))
    }

    /// `COPY (query) TO STDOUT … CSV [HEADER]` (psql's `\copy`): the rows as the same CSV
    /// the HTTP endpoint answers, one row per message.
    async fn copy_out<C>(
        &self,
        client: &mut C,
        who: &PgCaller,
        statement: &Statement,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let Statement::Copy {
            source,
            to,
            target,
            options,
            legacy_options,
            ..
        } = statement
        else {
            return Err(user_error("42601", "not a COPY"));
        };
        if !*to {
            return Err(user_error(
                "25006",
                "COPY … FROM writes: the warehouse is read-only over SQL; send events to POST /api/v1/events",
            ));
        }
        if !matches!(target, CopyTarget::Stdout) {
            return Err(user_error(
                "0A000",
                "COPY … TO writes to the client only (TO STDOUT; psql's \\copy)",
            ));
        }
        let query = match source {
            CopySource::Query(query) => query.to_string(),
            CopySource::Table {
                table_name,
                columns,
            } => {
                let columns = if columns.is_empty() {
                    "*".to_string()
                } else {
                    columns
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!("SELECT {columns} FROM {table_name}")
            }
        };
        let mut csv = false;
        let mut header = false;
        for option in options {
            match option {
                CopyOption::Format(format) => csv = format.value.eq_ignore_ascii_case("csv"),
                CopyOption::Header(on) => header = *on,
                _ => {}
            }
        }
        for option in legacy_options {
            match option {
                CopyLegacyOption::Csv(csv_options) => {
                    csv = true;
                    header |= csv_options
                        .iter()
                        .any(|o| matches!(o, CopyLegacyCsvOption::Header));
                }
                CopyLegacyOption::Header => header = true,
                _ => {}
            }
        }
        if !csv {
            return Err(user_error(
                "0A000",
                "COPY … TO STDOUT is offered as CSV: add `CSV HEADER` (\\copy) or `WITH (FORMAT csv, HEADER)`",
            ));
        }
        let result = self
            .run(
                client,
                who,
                ReadQuery::Sql(query.clone()),
                &statement.to_string(),
            )
            .await?;
        let mut out = Vec::new();
        warehouse::csv::write_csv(&result.schema, &result.batches, &mut out)
            .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
        let records = csv_records(&out, header);
        let columns = result.schema.fields().len();
        let messages = records
            .into_iter()
            .map(|record| Ok(CopyData::new(record)))
            .collect::<Vec<_>>();
        Ok(Response::CopyOut(CopyResponse::new(
            0,
            columns,
            futures::stream::iter(messages),
        )))
    }
}

/// The row schemas of a connection's open cursors (`DECLARE`): what a `FETCH` from
/// one answers, told to the client when it describes the `FETCH`.
#[derive(Default)]
struct Cursors(Mutex<HashMap<String, SchemaRef>>);

/// A plan of no rows with `schema`: describes rows answered otherwise.
fn rows_plan(schema: &SchemaRef) -> PgWireResult<LogicalPlan> {
    let schema = datafusion::common::DFSchema::try_from(schema.as_ref().clone())
        .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
    Ok(LogicalPlan::EmptyRelation(
        datafusion::logical_expr::EmptyRelation {
            produce_one_row: false,
            schema: Arc::new(schema),
        },
    ))
}

/// The audit row of one statement over the wire, written when dropped: as cancelled
/// (499) unless an outcome was set.
struct Audit<'a> {
    state: &'a AppState,
    record: Option<AuditRecord>,
    started: Instant,
}

impl<'a> Audit<'a> {
    fn new(state: &'a AppState, who: &PgCaller, text: &str) -> Self {
        Self {
            state,
            started: Instant::now(),
            record: Some(AuditRecord {
                at: state.clock.now(),
                caller: Some(who.caller.name.clone()),
                role: Some(who.caller.role.as_str().to_string()),
                scope: Some(who.caller.scope.clone()),
                client: Some(who.client.ip().to_string()),
                action: "sql".into(),
                target: text.chars().take(8_000).collect(),
                status: 499,
                error: Some("cancelled".into()),
                rows: None,
                elapsed_ms: None,
            }),
        }
    }

    fn outcome(&mut self, (status, error, rows): (u16, Option<&str>, Option<u64>)) {
        if let Some(record) = &mut self.record {
            record.status = status;
            record.error = error.map(str::to_string);
            record.rows = rows;
        }
    }
}

impl Drop for Audit<'_> {
    fn drop(&mut self) {
        if let Some(mut record) = self.record.take() {
            let seconds = self.started.elapsed().as_secs_f64();
            let status = record.error.as_deref().unwrap_or("ok");
            crate::metrics::sql_query("pg", status, seconds);
            record.elapsed_ms = Some(seconds * 1000.0);
            self.state.audit.record(record);
        }
    }
}

/// The client's `statement_timeout` (`SET statement_timeout = …`), if it set one:
/// where the `SET` hook keeps it.
fn statement_timeout<C: ClientInfo + ?Sized>(client: &C) -> Option<Duration> {
    client
        .metadata()
        .get("statement_timeout_ms")
        .and_then(|ms| ms.parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}

/// The records of CSV text, each with its line end; the header (first record) goes
/// with the first row (`COPY n` counts the messages), or is left out. Quoted fields may
/// hold line breaks.
fn csv_records(text: &[u8], header: bool) -> Vec<bytes::Bytes> {
    let mut bounds = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, byte) in text.iter().enumerate() {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                bounds.push((start, i + 1));
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < text.len() {
        bounds.push((start, text.len()));
    }
    let Some(&(header_start, header_end)) = bounds.first() else {
        return Vec::new();
    };
    let mut rows = bounds[1..].to_vec();
    if header {
        match rows.first_mut() {
            Some(first) => first.0 = header_start,
            None => rows.push((header_start, header_end)),
        }
    }
    rows.into_iter()
        .map(|(from, to)| bytes::Bytes::copy_from_slice(&text[from..to]))
        .collect()
}

#[async_trait]
impl SimpleQueryHandler for PgQueries {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let who = caller_of(client)?;
        let statements = self.parser.sql.parse(query).map_err(parse_error)?;
        if statements.is_empty() {
            return Ok(vec![Response::EmptyQuery]);
        }
        let mut responses = Vec::with_capacity(statements.len());
        for statement in statements {
            let statement = show_engine_setting(statement)?;
            let own = own_answer(&statement, &Format::UnifiedText, format_options(client));
            let answer = match &statement {
                _ if own.is_some() => own.expect("answered above"),
                s if let Some(done) = set_engine_setting(client, s) => done,
                Statement::Declare { stmts } => self.declare(client, &who, stmts).await,
                Statement::Copy { .. } => self.copy_out(client, &who, &statement).await,
                s if is_for_hooks(s) => self.hooked_simple(client, &who, &statement).await,
                _ => {
                    let text = statement.to_string();
                    match self
                        .run(client, &who, ReadQuery::Sql(text.clone()), &text)
                        .await
                    {
                        Ok(result) => encode(result, &Format::UnifiedText, format_options(client))
                            .map(Response::Query),
                        Err(e) => Err(e),
                    }
                }
            };
            match answer {
                Ok(response) => responses.push(response),
                // As Postgres does: the statements after a failed one do not run, and
                // the connection goes on.
                Err(PgWireError::UserError(info)) => {
                    responses.push(Response::Error(info));
                    break;
                }
                Err(other) => return Err(other),
            }
        }
        Ok(responses)
    }
}

impl PgQueries {
    async fn hooked_simple<C>(
        &self,
        client: &mut C,
        who: &PgCaller,
        statement: &Statement,
    ) -> PgWireResult<Response>
    where
        C: HookClient,
    {
        let state = self.sessions.of_client(who, client).await?;
        let ctx = SessionContext::new_with_state(state);
        for hook in &self.hooks {
            if let Some(answer) = hook.handle_simple_query(statement, &ctx, client).await {
                return answer;
            }
        }
        Ok(Response::Execution(Tag::new("SET")))
    }
}

/// Parses and plans the statements of the extended protocol in the caller's session.
pub struct PgParser {
    sql: PostgresCompatibilityParser,
    sessions: Arc<Sessions>,
    hooks: Vec<Arc<dyn QueryHook>>,
}

#[async_trait]
impl QueryParser for PgParser {
    type Statement = Parsed;

    async fn parse_sql<C>(
        &self,
        client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<Parsed>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let mut statements = self.sql.parse(sql).map_err(parse_error)?;
        if statements.is_empty() {
            return Ok(None);
        }
        if statements.len() > 1 {
            return Err(user_error(
                "42601",
                "cannot insert multiple commands into a prepared statement",
            ));
        }
        let statement = show_engine_setting(statements.remove(0))?;
        let text = statement.to_string();
        let who = caller_of(client)?;
        if savepoint(&statement).is_some() {
            let plan = rows_plan(&Arc::new(Schema::empty()))?;
            return Ok(Some((text, Some((statement, plan)))));
        }
        if let Some((name, value)) = own_setting(&statement) {
            let plan = rows_plan(&setting_rows(name, &value)?.schema)?;
            return Ok(Some((text, Some((statement, plan)))));
        }
        if let Statement::Fetch { name, .. } = &statement {
            // Described as the cursor's rows (the hook would describe no columns).
            let cursors = client.session_extensions().get::<Cursors>();
            let schema = cursors.and_then(|c| {
                c.0.lock()
                    .expect("cursors lock poisoned")
                    .get(&name.value)
                    .cloned()
            });
            if let Some(schema) = schema {
                let plan = rows_plan(&schema)?;
                return Ok(Some((text, Some((statement, plan)))));
            }
        }
        let state = self.sessions.of_client(&who, client).await?;
        if is_for_hooks(&statement) || matches!(statement, Statement::Declare { .. }) {
            let ctx = SessionContext::new_with_state(state.clone());
            for hook in &self.hooks {
                if let Some(plan) = hook
                    .handle_extended_parse_query(&statement, &ctx, client)
                    .await
                {
                    return Ok(Some((text, Some((statement, plan?)))));
                }
            }
        }
        if matches!(statement, Statement::Copy { .. }) {
            return Err(user_error(
                "0A000",
                "COPY … TO STDOUT is served over the simple query protocol (psql's \\copy)",
            ));
        }
        // Refused while parsing, naming the statement, like the HTTP endpoint does.
        warehouse::sandbox::check_read_only(&text).map_err(|e| query_error(e).0)?;
        let plan = state
            .statement_to_plan(DfParsed::Statement(Box::new(statement.clone())))
            .await
            .map_err(|e| query_error(warehouse::Error::from_query(e, 0)).0)?;
        Ok(Some((text, Some((statement, plan)))))
    }

    fn get_parameter_types(&self, stmt: &Parsed) -> PgWireResult<Vec<Type>> {
        let (_, Some((_, plan))) = stmt else {
            return Ok(Vec::new());
        };
        parameter_types(plan)?
            .iter()
            .map(|t| match t {
                Some(t) => into_pg_type(t),
                None => Ok(Type::UNKNOWN),
            })
            .collect()
    }

    fn get_result_schema(
        &self,
        stmt: &Parsed,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        match stmt {
            (_, Some((_, plan))) if !matches!(plan, LogicalPlan::Ddl(_) | LogicalPlan::Dml(_)) => {
                let schema = readable_schema(plan.schema().as_arrow());
                arrow_schema_to_pg_fields(&schema, format.unwrap_or(&Format::UnifiedText), None)
            }
            _ => Ok(Vec::new()),
        }
    }
}

#[async_trait]
impl ExtendedQueryHandler for PgQueries {
    type Statement = Parsed;
    type QueryParser = PgParser;

    fn query_parser(&self) -> Arc<PgParser> {
        self.parser.clone()
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Parsed>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let (text, Some((statement, plan))) = &portal.statement.statement else {
            return Ok(Response::EmptyQuery);
        };
        let who = caller_of(client)?;
        let format = &portal.result_column_format;
        if let Some(answer) = own_answer(statement, format, format_options(client)) {
            return answer;
        }
        if let Some(done) = set_engine_setting(client, statement) {
            return done;
        }
        if let Statement::Declare { stmts } = statement {
            return self.declare(client, &who, stmts).await;
        }
        let types = parameter_types(plan)?;
        let type_refs: Vec<Option<&DataType>> = types.iter().map(Option::as_ref).collect();
        let params: ParamValues = deserialize_parameters(portal, &type_refs)?;
        if is_for_hooks(statement) {
            let state = self.sessions.of_client(&who, client).await?;
            let ctx = SessionContext::new_with_state(state);
            for hook in &self.hooks {
                if let Some(answer) = hook
                    .handle_extended_query(statement, plan, &params, &ctx, client)
                    .await
                {
                    return answer;
                }
            }
        }
        let plan = plan
            .clone()
            .replace_params_with_values(&params)
            .map_err(|e| user_error("22023", e.to_string()))?;
        let result = self.run(client, &who, ReadQuery::Plan(plan), text).await?;
        encode(result, format, format_options(client)).map(Response::Query)
    }
}
