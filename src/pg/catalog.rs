//! The catalogue Postgres clients read: `pg_catalog` (from `datafusion-pg-catalog`) over
//! a reader's session, with what is stored (`events`, the model tables, `audit`) shown
//! as tables and the SQL views of `queries/views/` as views, so that psql's `\dt` lists
//! the tables and `\dv` the views, and DBeaver's navigator sorts them the same way.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::{
    CatalogProvider, CatalogProviderList, MemoryCatalogProvider, MemoryCatalogProviderList,
    SchemaProvider, TableProvider,
};
use datafusion::datasource::TableType;
use datafusion::error::Result;
use datafusion::execution::SessionState;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::SessionContext;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::setup_pg_catalog;
use warehouse::queries::{QueryCatalog, QueryKind};

use super::SERVER_VERSION;

/// `reader` with a `pg_catalog` schema describing what it sees, the functions clients
/// call (`current_schema()`, `pg_get_userbyid`, `has_table_privilege`, …) and a
/// `version()` that names a Postgres release, as drivers parse it. Built over a catalog
/// list of its own, so the reader session that HTTP answers from is left as it was.
pub(super) fn with_pg_catalog(
    reader: &SessionState,
    queries: &QueryCatalog,
) -> Result<SessionState> {
    let views: HashSet<String> = queries
        .of_kind(QueryKind::View)
        .map(|view| view.name.clone())
        .collect();
    let default_schema = reader.config().options().catalog.default_schema.clone();
    let list = Arc::new(MemoryCatalogProviderList::new());
    let source = reader.catalog_list();
    for name in source.catalog_names() {
        let Some(from) = source.catalog(&name) else {
            continue;
        };
        let catalog = Arc::new(MemoryCatalogProvider::new());
        for schema in from.schema_names() {
            if let Some(provider) = from.schema(&schema) {
                let stored = schema == default_schema;
                let provider = Arc::new(PgSchema::new(provider, stored, &views));
                catalog.register_schema(&schema, provider)?;
            }
        }
        list.register_catalog(name, catalog);
    }
    let catalog_name = reader.config().options().catalog.default_catalog.clone();
    let state = SessionStateBuilder::new_from_existing(reader.clone())
        .with_catalog_list(list)
        .build();
    let ctx = SessionContext::new_with_state(state);
    setup_pg_catalog(&ctx, &catalog_name, EmptyContextProvider).map_err(|e| *e)?;
    ctx.register_udf(text_udf(
        "version",
        &format!(
            "PostgreSQL {SERVER_VERSION} (dangjian {}, Apache DataFusion {})",
            env!("CARGO_PKG_VERSION"),
            datafusion::DATAFUSION_VERSION
        ),
    ));
    ctx.register_udf(to_regtype());
    Ok(ctx.state())
}

/// `to_regtype(name)`: the oid of a built-in type, NULL for any other (drivers ask for
/// extension types such as `hstore` this way, and take NULL as "not installed").
fn to_regtype() -> ScalarUDF {
    use datafusion::arrow::array::{Array, AsArray, Int32Array};
    const TYPES: &[(&str, i32)] = &[
        ("bool", 16),
        ("boolean", 16),
        ("bytea", 17),
        ("int8", 20),
        ("bigint", 20),
        ("int2", 21),
        ("smallint", 21),
        ("int4", 23),
        ("integer", 23),
        ("text", 25),
        ("json", 114),
        ("float4", 700),
        ("real", 700),
        ("float8", 701),
        ("double precision", 701),
        ("varchar", 1043),
        ("date", 1082),
        ("timestamp", 1114),
        ("timestamptz", 1184),
        ("interval", 1186),
        ("numeric", 1700),
        ("uuid", 2950),
        ("jsonb", 3802),
    ];
    let oid = |name: &str| {
        let name = name
            .trim()
            .trim_start_matches("pg_catalog.")
            .to_ascii_lowercase();
        TYPES.iter().find(|(n, _)| *n == name).map(|(_, oid)| *oid)
    };
    create_udf(
        "to_regtype",
        vec![DataType::Utf8],
        DataType::Int32,
        Volatility::Stable,
        Arc::new(move |args: &[ColumnarValue]| {
            let names = match &args[0] {
                ColumnarValue::Array(a) => a.clone(),
                ColumnarValue::Scalar(s) => s.to_array()?,
            };
            let names = datafusion::arrow::compute::cast(&names, &DataType::Utf8)?;
            let oids: Int32Array = names
                .as_string::<i32>()
                .iter()
                .map(|name| name.and_then(oid))
                .collect();
            let oids: Arc<dyn Array> = Arc::new(oids);
            Ok(match &args[0] {
                ColumnarValue::Scalar(_) => ColumnarValue::Scalar(
                    datafusion::common::ScalarValue::try_from_array(&oids, 0)?,
                ),
                ColumnarValue::Array(_) => ColumnarValue::Array(oids),
            })
        }),
    )
}

/// A function of no arguments that answers `value`.
pub(super) fn text_udf(name: &str, value: &str) -> ScalarUDF {
    let value = value.to_string();
    create_udf(
        name,
        vec![],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |_args: &[ColumnarValue]| Ok(ColumnarValue::Scalar(value.as_str().into()))),
    )
}

/// A schema of the reader's session as `pg_catalog` shows it: a relation that is not a
/// view of `queries/views/` is stored, so a table (`relkind` `r`); the `live` schema's
/// computations are all views.
#[derive(Debug)]
struct PgSchema {
    inner: Arc<dyn SchemaProvider>,
    /// Whether the schema holds what is stored (the default schema), or only
    /// computations (`live`).
    stored: bool,
    views: HashSet<String>,
}

impl PgSchema {
    fn new(inner: Arc<dyn SchemaProvider>, stored: bool, views: &HashSet<String>) -> Self {
        Self {
            inner,
            stored,
            views: views.clone(),
        }
    }
}

#[async_trait]
impl SchemaProvider for PgSchema {
    fn owner_name(&self) -> Option<&str> {
        self.inner.owner_name()
    }

    fn table_names(&self) -> Vec<String> {
        self.inner.table_names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        self.inner.table(name).await
    }

    async fn table_type(&self, name: &str) -> Result<Option<TableType>> {
        Ok(match self.inner.table_type(name).await? {
            Some(TableType::View) if self.stored && !self.views.contains(name) => {
                Some(TableType::Base)
            }
            other => other,
        })
    }

    fn table_exist(&self, name: &str) -> bool {
        self.inner.table_exist(name)
    }
}
