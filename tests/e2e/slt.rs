//! sqllogictest files of `tests/slt/` against the views and models of `queries/`.
//!
//! Each `.slt` file runs in a fresh in-memory warehouse (`memory://`) loaded through the
//! ingest library with the fixture its first line names (`# fixture: views_fixture.ndjson`,
//! a file of `tests/data/`). Values print as Arrow displays them; NULL as `NULL`.
//!
//! The query catalog is read from `queries/` on disk (as `QueryCatalog::from_dir`), so an
//! edit of a `.sql` file needs no rebuild of this test; `SLT_QUERIES_DIR` points it at
//! another copy of that directory. A file with a line `# as_of: <RFC 3339 instant>` also
//! gets the answer of every warning rule of `queries/warnings/` as a table
//! `warning_<name>`, and of every query of `queries/recommendations/` as a table
//! `recommendation_<name>`, evaluated as the engines do: in the session of the events
//! that had occurred by that instant, with `${as_of}` (the instant in China time) and
//! `${as_of_date}` (its China date).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use ingest::{IngestConfig, Ingestor};
use sqllogictest::{DBOutput, DefaultColumnType};
use warehouse::queries::{QueryCatalog, QueryKind};
use warehouse::{StorageRoot, Warehouse};

struct Dangjian {
    ctx: SessionContext,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SltError(String);

#[async_trait]
impl sqllogictest::AsyncDB for Dangjian {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let df = self
            .ctx
            .sql(sql)
            .await
            .map_err(|e| SltError(e.to_string()))?;
        let columns = df.schema().fields().len();
        let batches = df.collect().await.map_err(|e| SltError(e.to_string()))?;
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for batch in &batches {
            let formatters: Vec<_> = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<_, _>>()
                .map_err(|e| SltError(e.to_string()))?;
            for row in 0..batch.num_rows() {
                rows.push(
                    formatters
                        .iter()
                        .map(|f| f.value(row).to_string())
                        .collect(),
                );
            }
        }
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; columns],
            rows,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "dangjian"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }
}

/// The `queries/` directory the tests read: `SLT_QUERIES_DIR`, else the repository's.
fn queries_dir() -> PathBuf {
    std::env::var_os("SLT_QUERIES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("queries"))
}

/// A warehouse in memory, loaded with `fixture` through the ingest library.
pub async fn load_fixture(fixture: &Path) -> Arc<Warehouse> {
    let root =
        StorageRoot::parse(&format!("memory:///slt-{}/", uuid::Uuid::now_v7().simple())).unwrap();
    let catalog = QueryCatalog::from_dir(&queries_dir()).unwrap();
    let (warehouse, table) = Warehouse::open(root, catalog).await.unwrap();
    let warehouse = Arc::new(warehouse);
    let ingest = Ingestor::start(warehouse.clone(), table, IngestConfig::pinned_for_tests())
        .await
        .unwrap();
    let values: Vec<serde_json::Value> = std::fs::read_to_string(fixture)
        .unwrap_or_else(|e| panic!("{}: {e}", fixture.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    ingest
        .ingest(values)
        .await
        .unwrap_or_else(|e| panic!("{}: {e:?}", fixture.display()));
    ingest.shutdown().await;
    warehouse
}

/// The warning rules and recommendation queries evaluated at `as_of` (RFC 3339) as the
/// engines evaluate them — in the session of the events that had occurred by then,
/// `${as_of}` the instant in China time, `${as_of_date}` its China date — each answer a
/// table `warning_<name>` or `recommendation_<name>`.
async fn warning_tables(warehouse: &Warehouse, as_of: &str) -> Vec<(String, Arc<MemTable>)> {
    let instant = chrono::DateTime::parse_from_rfc3339(as_of)
        .unwrap_or_else(|e| panic!("# as_of: {as_of}: {e}"))
        .with_timezone(&chrono::Utc);
    let catalog = warehouse.catalog();
    let params = catalog.params_at(instant);
    let ctx = warehouse.rules_context(instant).await.unwrap();
    let mut tables = Vec::new();
    let evaluated = catalog
        .of_kind(QueryKind::Warning)
        .map(|q| (q, "warning"))
        .chain(
            catalog
                .of_kind(QueryKind::Recommendation)
                .map(|q| (q, "recommendation")),
        );
    for (rule, prefix) in evaluated {
        let sql = rule
            .render(&params)
            .unwrap_or_else(|e| panic!("{}: {e}", rule.path));
        let df = ctx
            .sql(&sql)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", rule.path));
        let schema = df.schema().inner().clone();
        let batches = df
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", rule.path));
        // The batches' own schema: a plan may call a column nullable that none of its
        // batches' arrays is (or the other way round).
        let schema = batches.first().map_or(schema, |b| b.schema());
        let table = MemTable::try_new(schema, vec![batches]).unwrap();
        tables.push((format!("{prefix}_{}", rule.name), Arc::new(table)));
    }
    tables
}

fn slt_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread")]
async fn sqllogictest_files() {
    let files = slt_files();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let fixture = text
            .lines()
            .find_map(|l| l.strip_prefix("# fixture:"))
            .map(str::trim)
            .unwrap_or("views_fixture.ndjson");
        let warehouse = load_fixture(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data")
                .join(fixture),
        )
        .await;
        let rules = match text.lines().find_map(|l| l.strip_prefix("# as_of:")) {
            Some(as_of) => warning_tables(&warehouse, as_of.trim()).await,
            None => Vec::new(),
        };
        let mut runner = sqllogictest::Runner::new(|| {
            let ctx = warehouse.context();
            let rules = rules.clone();
            async move {
                for (name, table) in rules {
                    ctx.register_table(name.as_str(), table)
                        .map_err(|e| SltError(format!("{name}: {e}")))?;
                }
                Ok::<_, SltError>(Dangjian { ctx })
            }
        });
        if let Err(e) = runner.run_file_async(file).await {
            failures.push(format!("{}:\n{e}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
