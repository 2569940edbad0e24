//! sqllogictest files of `tests/slt/` against the views and models of `queries/`.
//!
//! Each `.slt` file runs in a fresh in-memory warehouse (`memory://`) loaded through the
//! ingest library with the fixture its first line names (`# fixture: views_fixture.ndjson`,
//! a file of `tests/data/`). Values print as Arrow displays them; NULL as `NULL`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use ingest::{IngestConfig, Ingestor};
use sqllogictest::{DBOutput, DefaultColumnType};
use warehouse::queries::QueryCatalog;
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

/// A warehouse in memory, loaded with `fixture` through the ingest library.
pub async fn load_fixture(fixture: &Path) -> Arc<Warehouse> {
    let root =
        StorageRoot::parse(&format!("memory:///slt-{}/", uuid::Uuid::now_v7().simple())).unwrap();
    let (warehouse, table) = Warehouse::open(root, QueryCatalog::embedded().unwrap())
        .await
        .unwrap();
    let warehouse = Arc::new(warehouse);
    let ingest = Ingestor::start(warehouse.clone(), table, IngestConfig::default())
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
        let mut runner = sqllogictest::Runner::new(|| {
            let ctx = warehouse.context();
            async move { Ok::<_, SltError>(Dangjian { ctx }) }
        });
        if let Err(e) = runner.run_file_async(file).await {
            failures.push(format!("{}:\n{e}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
