//! The analyst SQL path: read-only, one statement, bounded in rows, time and memory.
//!
//! Two locks on the door: the statement kind is checked on the parsed AST (so the
//! error can name it), and DataFusion's own `SQLOptions` refuse DDL, DML and
//! statements while planning.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::SessionState;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionConfig;
use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::Statement;
use futures::StreamExt;

use crate::access::ReadAccess;
use crate::{Error, Result, Warehouse};

#[derive(Debug, Clone)]
pub struct QueryLimits {
    /// Rows returned at most; more are cut and the result says `truncated`.
    pub row_limit: usize,
    /// Bytes of result returned at most (Arrow memory of the rows); more are cut and
    /// the result says `truncated`, as for rows.
    pub result_bytes: usize,
    pub timeout: Duration,
    /// Bytes of the per-query memory pool.
    pub memory_limit: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            row_limit: 10_000,
            result_bytes: 64 << 20,
            timeout: Duration::from_secs(30),
            memory_limit: 1 << 30,
        }
    }
}

/// Bounds of all the bounded work of the process: each query's [`QueryLimits`], how
/// many run at once, how long one waits for a place, and the memory all of them may
/// hold together.
#[derive(Debug, Clone)]
pub struct QueryBounds {
    pub limits: QueryLimits,
    /// Memory pool of one live `as_of` dashboard (every panel's model computed over the
    /// events at once: more than one analyst query needs).
    pub live_memory_limit: usize,
    pub max_concurrent: usize,
    pub queue_wait: Duration,
    pub total_memory: usize,
    /// Where a query's sorts, aggregates and sort-merge joins write what outgrows its
    /// memory pool (a temporary directory made inside it, removed when the process ends);
    /// `None` refuses such a query instead (`query_memory_exceeded`).
    pub spill_dir: Option<std::path::PathBuf>,
    /// Bytes all spilling queries may write together; past it a query is refused.
    pub spill_max_bytes: u64,
}

impl Default for QueryBounds {
    fn default() -> Self {
        Self {
            limits: QueryLimits::default(),
            live_memory_limit: 3 << 30,
            max_concurrent: 4,
            queue_wait: Duration::from_secs(5),
            total_memory: 4 << 30,
            spill_dir: Some(std::env::temp_dir()),
            spill_max_bytes: 20 << 30,
        }
    }
}

#[derive(Debug, Clone)]
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub rows: usize,
    pub truncated: bool,
    pub elapsed: Duration,
}

/// Refuses anything but one SELECT / WITH / EXPLAIN / SHOW / DESCRIBE statement,
/// naming the kind of statement refused; answers whether it is an EXPLAIN.
pub fn check_read_only(sql: &str) -> Result<bool> {
    let statements = DFParser::parse_sql(sql).map_err(|e| Error::Sql {
        message: e.to_string(),
        source: e,
    })?;
    if statements.len() != 1 {
        return Err(Error::StatementCount {
            count: statements.len(),
        });
    }
    let refused = |kind: &str| {
        Err(Error::ReadOnly {
            statement: kind.to_string(),
        })
    };
    let explain = matches!(&statements[0], DfStatement::Explain(_))
        || matches!(&statements[0], DfStatement::Statement(s) if matches!(s.as_ref(), Statement::Explain { .. }));
    match &statements[0] {
        DfStatement::Statement(statement) => match statement.as_ref() {
            Statement::Query(_)
            | Statement::ShowTables { .. }
            | Statement::ShowColumns { .. }
            | Statement::ShowFunctions { .. }
            | Statement::ShowVariable { .. }
            | Statement::ShowViews { .. }
            | Statement::ShowSchemas { .. }
            | Statement::ShowCatalogs { .. }
            | Statement::ShowCreate { .. }
            | Statement::ExplainTable { .. } => Ok(()),
            Statement::Explain { statement, .. } => match statement.as_ref() {
                Statement::Query(_) => Ok(()),
                other => refused(&format!("EXPLAIN {}", statement_kind(other))),
            },
            other => refused(&statement_kind(other)),
        },
        DfStatement::Explain(explain) => match explain.statement.as_ref() {
            DfStatement::Statement(inner) if matches!(inner.as_ref(), Statement::Query(_)) => {
                Ok(())
            }
            _ => refused("EXPLAIN of a non-query"),
        },
        DfStatement::CreateExternalTable(_) => refused("CREATE EXTERNAL TABLE"),
        DfStatement::CopyTo(_) => refused("COPY"),
        DfStatement::Reset(_) => refused("RESET"),
    }
    .map(|()| explain)
}

/// The leading keywords of a statement, e.g. `INSERT`, `CREATE TABLE`, `SET`.
fn statement_kind(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text.split_whitespace().take(3).collect();
    let n = match words.first().map(|w| w.to_ascii_uppercase()).as_deref() {
        Some("CREATE" | "DROP" | "ALTER" | "SHOW") => {
            if words.get(1).is_some_and(|w| {
                matches!(
                    w.to_ascii_uppercase().as_str(),
                    "OR" | "TEMPORARY" | "TEMP" | "EXTERNAL" | "UNIQUE"
                )
            }) {
                3
            } else {
                2
            }
        }
        _ => 1,
    };
    words
        .iter()
        .take(n)
        .map(|w| w.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a bounded read runs: SQL text, or a plan made earlier in the same session (a
/// prepared statement of the Postgres wire, its parameters bound).
#[derive(Debug, Clone)]
pub enum ReadQuery {
    Sql(String),
    Plan(LogicalPlan),
}

impl ReadQuery {
    /// Refuses what is not a read (naming it); answers whether it is an EXPLAIN.
    fn check(&self) -> Result<bool> {
        match self {
            ReadQuery::Sql(sql) => check_read_only(sql),
            ReadQuery::Plan(plan) => match plan {
                LogicalPlan::Ddl(ddl) => Err(Error::ReadOnly {
                    statement: ddl.name().to_uppercase(),
                }),
                LogicalPlan::Dml(dml) => Err(Error::ReadOnly {
                    statement: dml.op.name().to_uppercase(),
                }),
                LogicalPlan::Copy(_) => Err(Error::ReadOnly {
                    statement: "COPY".into(),
                }),
                LogicalPlan::Statement(statement) => Err(Error::ReadOnly {
                    statement: statement.name().to_uppercase(),
                }),
                LogicalPlan::Explain(_) | LogicalPlan::Analyze(_) => Ok(true),
                _ => Ok(false),
            },
        }
    }
}

impl Warehouse {
    /// Runs a reader's query within `limits`, in the session of their `access` (their
    /// scope, their masking; see [`crate::access`]).
    pub async fn query(
        self: &Arc<Self>,
        access: &ReadAccess,
        sql: &str,
        limits: &QueryLimits,
    ) -> Result<QueryResult> {
        let (this, access) = (self.clone(), access.clone());
        let state = async move { this.reader_state(&access).await };
        self.query_over(state, ReadQuery::Sql(sql.to_string()), limits)
            .await
    }

    /// Runs `query` within `limits` in the session `state` resolves to: a reader's
    /// session ([`Self::reader_state`]), or one built over it (the Postgres wire adds
    /// `pg_catalog`). Read-only, admitted among [`QueryBounds::max_concurrent`], on the
    /// query runtime, cut at the row and byte limits.
    pub async fn query_over(
        self: &Arc<Self>,
        state: impl Future<Output = Result<SessionState>> + Send + 'static,
        query: ReadQuery,
        limits: &QueryLimits,
    ) -> Result<QueryResult> {
        let explain = query.check()?;
        let started = Instant::now();
        let _place = self.admit().await?;
        let this = self.clone();
        let limits_owned = limits.clone();
        let run = async move {
            // Planning a reader's session the first time is work too, done here, on the
            // query's runtime; the time limit is the query's own.
            let timeout = limits_owned.timeout;
            tokio::time::timeout(timeout, async {
                let state = state.await?;
                let bounded = this.bounded_runtime(&state, limits_owned.memory_limit);
                collect(state, bounded, query, &limits_owned).await
            })
            .await
            .map_err(|_| Error::Timeout { limit: timeout })?
        };
        // On a runtime of its own, so that the server's own threads stay free to answer.
        let (schema, batches, rows, truncated) =
            self.executor().run(run).await?.map_err(|e| match e {
                Error::Sql { message, source } => Error::Sql {
                    message: self.root().scrub(&message),
                    source,
                },
                other => other,
            })?;
        // Plans name the files they read: say the table, not this machine's directories.
        let batches = if explain {
            batches
                .iter()
                .map(|b| scrub_text(b, |t| self.root().scrub(t)))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::Execution { source: e.into() })?
        } else {
            batches
        };
        Ok(QueryResult {
            schema,
            batches,
            rows,
            truncated,
            elapsed: started.elapsed(),
        })
    }
}

/// Plans `query` read-only in `state` and runs it on `bounded` (its runtime and
/// settings, see [`Warehouse::bounded_runtime`]), keeping the rows that fit the row and
/// byte limits: the schema, the batches, their rows, and whether rows were cut.
async fn collect(
    state: SessionState,
    bounded: (Arc<RuntimeEnv>, SessionConfig),
    query: ReadQuery,
    limits: &QueryLimits,
) -> Result<(SchemaRef, Vec<RecordBatch>, usize, bool)> {
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let failed = |e| Error::from_query(e, limits.memory_limit);
    let plan = match query {
        ReadQuery::Sql(sql) => state
            .create_logical_plan(&sql)
            .await
            .and_then(|plan| options.verify_plan(&plan).map(|()| plan)),
        // The same lock as for text: a plan that writes is refused while planning. It is
        // optimized once, with the physical plan, like a plan of text.
        ReadQuery::Plan(plan) => options.verify_plan(&plan).map(|()| plan),
    }
    .map_err(failed)?;
    let df = datafusion::prelude::DataFrame::new(state, plan);
    let schema = df.schema().inner().clone();
    let (runtime, config) = bounded;
    let task = Arc::new(
        df.task_ctx()
            .with_runtime(runtime)
            .with_session_config(config),
    );
    let plan = df.create_physical_plan().await.map_err(failed)?;
    let mut stream = datafusion::physical_plan::execute_stream(plan, task).map_err(failed)?;
    let mut batches = Vec::new();
    let (mut rows, mut bytes) = (0, 0);
    let mut truncated = false;
    while let Some(batch) = stream.next().await {
        let batch = own_buffers(&batch.map_err(failed)?).map_err(|e| failed(e.into()))?;
        let size = rows_bytes(&batch);
        // Rows that fit both limits (bytes counted per row on average).
        let mut fit = batch.num_rows().min(limits.row_limit - rows);
        if bytes + size > limits.result_bytes && batch.num_rows() > 0 {
            let per_row = size.div_ceil(batch.num_rows()).max(1);
            fit = fit.min(limits.result_bytes.saturating_sub(bytes) / per_row);
        }
        if fit < batch.num_rows() {
            batches.push(batch.slice(0, fit));
            rows += fit;
            truncated = true;
            break;
        }
        rows += batch.num_rows();
        bytes += size;
        batches.push(batch);
    }
    Ok((schema, batches, rows, truncated))
}

/// `batch` with its string and binary views holding only their own bytes. A view array
/// cut into batches (a sort's output, an aggregate's, a projection's table) shares the
/// whole data buffers of the array it was cut from: the Arrow IPC writer writes them whole
/// with every batch (100,000 rows of `events` came out as 732 MB instead of 12.5, measured
/// with `benches/pg_wire.py`), and they would be counted against `sql.max_result_bytes`
/// once per batch.
fn own_buffers(
    batch: &RecordBatch,
) -> std::result::Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    use datafusion::arrow::array::{ArrayRef, AsArray};
    use datafusion::arrow::datatypes::DataType;
    let columns = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::Utf8View => Arc::new(c.as_string_view().gc()) as ArrayRef,
            DataType::BinaryView => Arc::new(c.as_binary_view().gc()) as ArrayRef,
            _ => c.clone(),
        })
        .collect();
    RecordBatch::try_new(batch.schema(), columns)
}

/// The bytes of `batch`'s own rows: each column's slice of its buffers, not the buffers
/// it was cut from. `get_array_memory_size` counts a batch cut from a larger one (an
/// aggregate's output is cut so, and a projection's table is read so) as the whole: a
/// result of 4,183 rows of `attendance_latest` looked like 64 MiB and was cut there.
fn rows_bytes(batch: &RecordBatch) -> usize {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::DataType;
    batch
        .columns()
        .iter()
        .map(|c| {
            let own = c
                .to_data()
                .get_slice_memory_size()
                .unwrap_or_else(|_| c.get_array_memory_size());
            // The slice's size counts a view array's views, not the bytes they point at.
            own + match c.data_type() {
                DataType::Utf8View => c.as_string_view().total_buffer_bytes_used(),
                DataType::BinaryView => c.as_binary_view().total_buffer_bytes_used(),
                _ => 0,
            }
        })
        .sum()
}

/// `batch` with `f` applied to every value of its text columns.
fn scrub_text(
    batch: &RecordBatch,
    f: impl Fn(&str) -> String,
) -> std::result::Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    use datafusion::arrow::array::{AsArray, StringArray};
    use datafusion::arrow::datatypes::DataType;
    let columns = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::Utf8 => {
                let mapped: StringArray = c.as_string::<i32>().iter().map(|v| v.map(&f)).collect();
                std::sync::Arc::new(mapped) as datafusion::arrow::array::ArrayRef
            }
            _ => c.clone(),
        })
        .collect::<Vec<_>>();
    RecordBatch::try_new(batch.schema(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(sql: &str) -> String {
        match check_read_only(sql) {
            Err(Error::ReadOnly { statement }) => statement,
            other => panic!("{sql}: expected read-only refusal, got {other:?}"),
        }
    }

    #[test]
    fn reads_are_allowed() {
        for sql in [
            "SELECT 1",
            "WITH a AS (SELECT 1) SELECT * FROM a",
            "EXPLAIN SELECT 1",
            "SHOW TABLES",
            "DESCRIBE events",
        ] {
            check_read_only(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    #[test]
    fn writes_are_refused_by_kind() {
        assert_eq!(refused("INSERT INTO events VALUES (1)"), "INSERT");
        assert_eq!(refused("DELETE FROM events"), "DELETE");
        assert_eq!(refused("CREATE TABLE t (a INT)"), "CREATE TABLE");
        assert_eq!(refused("DROP TABLE events"), "DROP TABLE");
        assert_eq!(refused("SET datafusion.execution.batch_size = 1"), "SET");
        assert_eq!(
            refused("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'"),
            "CREATE EXTERNAL TABLE"
        );
        assert_eq!(refused("COPY (SELECT 1) TO '/tmp/x.csv'"), "COPY");
        assert_eq!(refused("CREATE VIEW v AS SELECT 1"), "CREATE VIEW");
    }

    #[test]
    fn one_statement_only() {
        assert!(matches!(
            check_read_only("SELECT 1; SELECT 2"),
            Err(Error::StatementCount { count: 2 })
        ));
    }

    /// A query whose aggregate and sort outgrow its memory pool: refused without a spill
    /// directory, answered (the same rows) with one, where it wrote its spill files.
    #[tokio::test(flavor = "multi_thread")]
    async fn queries_spill_what_outgrows_their_pool() {
        let sql = "SELECT v, count(*) AS n FROM \
                   (SELECT value % 1000000 AS v FROM generate_series(1, 4000000)) \
                   GROUP BY v ORDER BY v DESC";
        let limits = QueryLimits {
            memory_limit: 24 << 20,
            row_limit: 1_000_000,
            result_bytes: 256 << 20,
            ..QueryLimits::default()
        };
        let open = |spill_dir: Option<std::path::PathBuf>| async move {
            let root = crate::StorageRoot::parse("memory:///").expect("memory root");
            let catalog = crate::queries::QueryCatalog::embedded().expect("embedded queries");
            let (warehouse, _events) = Warehouse::open(root, catalog).await.expect("opens");
            let bounds = QueryBounds {
                spill_dir,
                ..QueryBounds::default()
            };
            Arc::new(warehouse.with_bounds(bounds).expect("bounds"))
        };
        let access = ReadAccess::admin(crate::access::WHOLE_TREE);

        let refused = open(None).await.query(&access, sql, &limits).await;
        assert!(
            matches!(&refused, Err(e) if e.to_string().contains("memory")),
            "{refused:?}"
        );

        let dir = std::env::temp_dir().join(format!("dangjian-spill-test-{}", std::process::id()));
        let warehouse = open(Some(dir.clone())).await;
        let answer = warehouse
            .query(&access, sql, &limits)
            .await
            .expect("spilled, not refused");
        assert_eq!(answer.rows, 1_000_000);
        assert!(!answer.truncated);
        let first = &answer.batches.iter().find(|b| b.num_rows() > 0).unwrap();
        use datafusion::arrow::array::AsArray;
        use datafusion::arrow::datatypes::Int64Type;
        assert_eq!(
            first.column(0).as_primitive::<Int64Type>().value(0),
            999_999
        );
        assert_eq!(first.column(1).as_primitive::<Int64Type>().value(0), 4);
        // Its temporary directory was made inside the configured one.
        let made = std::fs::read_dir(&dir).expect("spill dir").count();
        assert!(made >= 1, "nothing under {}", dir.display());
        std::fs::remove_dir_all(&dir).ok();
    }

    fn ipc_bytes(batches: &[RecordBatch]) -> usize {
        let mut out = Vec::new();
        let mut writer =
            datafusion::arrow::ipc::writer::StreamWriter::try_new(&mut out, &batches[0].schema())
                .unwrap();
        for batch in batches {
            writer.write(batch).unwrap();
        }
        writer.finish().unwrap();
        drop(writer);
        out.len()
    }

    /// Ten batches cut from one batch of long strings (as a sort's or an aggregate's output
    /// is cut), beside a column of plain strings: with their own buffers an Arrow stream
    /// holds the strings once, not ten times, and each batch weighs a tenth of the whole
    /// against `sql.max_result_bytes`.
    #[test]
    fn batches_cut_from_one_are_written_and_counted_once() {
        use datafusion::arrow::array::{StringArray, StringViewArray};
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        let text = |i: usize| {
            format!(
                "{{\"period\": \"2026-{:02}\", \"row\": {i:08}}}",
                i % 12 + 1
            )
        };
        let views: StringViewArray = (0..10_000).map(|i| Some(text(i))).collect();
        let plain: StringArray = (0..10_000).map(|i| Some(text(i))).collect();
        let schema = Arc::new(Schema::new(vec![
            Field::new("payload", DataType::Utf8View, true),
            Field::new("note", DataType::Utf8, true),
        ]));
        let whole = RecordBatch::try_new(schema, vec![Arc::new(views), Arc::new(plain)]).unwrap();
        let cut: Vec<RecordBatch> = (0..10).map(|i| whole.slice(i * 1_000, 1_000)).collect();
        let own: Vec<RecordBatch> = cut.iter().map(|b| own_buffers(b).unwrap()).collect();
        // Written: the view column alone (the plain one is written by its slice anyway).
        let views_of = |batches: &[RecordBatch]| -> Vec<RecordBatch> {
            batches.iter().map(|b| b.project(&[0]).unwrap()).collect()
        };
        let (shared, owned, once) = (
            ipc_bytes(&views_of(&cut)),
            ipc_bytes(&views_of(&own)),
            ipc_bytes(&views_of(std::slice::from_ref(&whole))),
        );
        assert!(
            shared > 5 * once,
            "the cut batches share the buffers: {shared} vs {once}"
        );
        assert!(
            owned < once + once / 4,
            "{owned} bytes against {once} for the whole array"
        );
        // Counted: about a tenth of the whole each, where the array's memory size counts
        // the whole buffers of every slice.
        let whole_bytes = rows_bytes(&whole);
        assert!(whole_bytes > 10_000 * 2 * 30, "{whole_bytes}");
        for (cut, own) in cut.iter().zip(&own) {
            for counted in [rows_bytes(cut), rows_bytes(own)] {
                assert!(
                    counted <= whole_bytes / 10 + whole_bytes / 40,
                    "{counted} bytes against {whole_bytes} for the whole"
                );
                assert!(counted >= whole_bytes / 10 - whole_bytes / 40, "{counted}");
            }
            assert!(cut.get_array_memory_size() > whole_bytes / 2);
        }
    }
}
