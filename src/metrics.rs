//! Prometheus metrics: every crate counts through the `metrics` facade; this module
//! installs the recorder, describes each series and renders the text exposition format
//! for `GET /metrics` (an admin token on the main listener, or `metrics.listen` — a
//! separate address without a token, for a scraper on a private network).
//!
//! | series | kind | labels |
//! |---|---|---|
//! | `dangjian_build_info` | gauge (1) | `version` |
//! | `dangjian_http_requests_total`, `dangjian_http_request_seconds` | counter, histogram | `method`, `route`, `status` |
//! | `dangjian_ingest_requests_total` | counter | `status` (`ok` or the error key) |
//! | `dangjian_ingest_events_total`, `dangjian_ingest_bytes_total` | counter | |
//! | `dangjian_ingest_commit_seconds`, `dangjian_ingest_events_per_commit` | histogram | |
//! | `dangjian_ingest_compactions_total` | counter | |
//! | `dangjian_sql_queries_total` | counter | `via` (`http`, `pg`), `status` (`ok` or the error key) |
//! | `dangjian_sql_query_seconds` | histogram | `via` |
//! | `dangjian_pg_connections` | gauge | |
//! | `dangjian_model_refreshes_total`, `dangjian_model_refresh_seconds` | counter, histogram | `model`, `status` |
//! | `dangjian_model_age_seconds` | gauge (at scrape time) | `model` |
//! | `dangjian_warning_runs_total` | counter | `status` |
//! | `dangjian_warning_findings_total` | counter | `rule` |
//! | `dangjian_mails_total` | counter | `status` (`sent`, `failed`) |
//! | `dangjian_study_pushes_total` | counter | |
//! | `dangjian_dashboard_cache_total` | counter | `result` (`hit`, `miss`) |
//! | `dangjian_events_version` | gauge (at scrape time) | |
//!
//! `deploy/grafana-dashboard.json` charts them.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::http::AppState;

/// Buckets of the duration histograms, in seconds: from a small query to a slow refresh.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Buckets of the events in one commit.
const EVENTS: &[f64] = &[1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder (once; servers in one test process share it) and
/// answers its handle.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("dangjian_ingest_events_per_commit".into()),
                    EVENTS,
                )
            })
            .expect("bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only its own");
        }
        describe();
        metrics::gauge!("dangjian_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        // Counters of what may not happen for a while exist from the start, at zero, so
        // that `rate()` and the Grafana panels have a series before the first one.
        for result in ["hit", "miss"] {
            metrics::counter!("dangjian_dashboard_cache_total", "result" => result).absolute(0);
        }
        metrics::counter!("dangjian_ingest_compactions_total").absolute(0);
        for status in ["sent", "failed"] {
            metrics::counter!("dangjian_mails_total", "status" => status).absolute(0);
        }
        handle
    })
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_gauge!("dangjian_build_info", "the running build (always 1)");
    describe_counter!(
        "dangjian_http_requests_total",
        "HTTP requests by route and status"
    );
    describe_histogram!(
        "dangjian_http_request_seconds",
        Unit::Seconds,
        "HTTP request latency"
    );
    describe_counter!(
        "dangjian_ingest_requests_total",
        "ingest requests by outcome"
    );
    describe_counter!("dangjian_ingest_events_total", "events committed");
    describe_counter!(
        "dangjian_ingest_bytes_total",
        Unit::Bytes,
        "request bytes received by ingest"
    );
    describe_histogram!(
        "dangjian_ingest_commit_seconds",
        Unit::Seconds,
        "one group commit: files written and the Delta commit"
    );
    describe_histogram!(
        "dangjian_ingest_events_per_commit",
        "events of one group commit"
    );
    describe_counter!(
        "dangjian_ingest_compactions_total",
        "compactions (Delta OPTIMIZE) of events"
    );
    describe_counter!(
        "dangjian_sql_queries_total",
        "analyst queries by door (http, pg) and outcome"
    );
    describe_histogram!(
        "dangjian_sql_query_seconds",
        Unit::Seconds,
        "analyst query duration"
    );
    describe_gauge!("dangjian_pg_connections", "open Postgres wire connections");
    describe_counter!(
        "dangjian_model_refreshes_total",
        "model refreshes by model and outcome"
    );
    describe_histogram!(
        "dangjian_model_refresh_seconds",
        Unit::Seconds,
        "model refresh duration"
    );
    describe_gauge!(
        "dangjian_model_age_seconds",
        Unit::Seconds,
        "time since the model's table was last refreshed"
    );
    describe_counter!(
        "dangjian_warning_runs_total",
        "warning rule runs by outcome"
    );
    describe_counter!(
        "dangjian_warning_findings_total",
        "findings of warning runs by rule"
    );
    describe_counter!(
        "dangjian_mails_total",
        "mails sent or failed: warning digests and study digests"
    );
    describe_counter!(
        "dangjian_study_pushes_total",
        "weekly study pushes run (智能党建)"
    );
    describe_counter!(
        "dangjian_dashboard_cache_total",
        "materialised dashboard answers from the cache or rendered"
    );
    describe_gauge!(
        "dangjian_events_version",
        "the events table version SQL reads"
    );
}

/// The text exposition of every series, with the gauges read at scrape time set first;
/// `None` when counting is off (`metrics.enabled = false`).
pub fn render(app: &AppState) -> Option<String> {
    let handle = HANDLE.get()?;
    let now = app.clock.now();
    for model in app.runner.materialised() {
        if let Some(at) = app
            .warehouse
            .read_models()
            .get(&model.name)
            .and_then(|t| t.refreshed_at)
        {
            let age = (now - at).num_milliseconds().max(0) as f64 / 1000.0;
            metrics::gauge!("dangjian_model_age_seconds", "model" => model.name.clone()).set(age);
        }
    }
    if let Some(version) = app.warehouse.events_version() {
        metrics::gauge!("dangjian_events_version").set(version as f64);
    }
    Some(handle.render())
}

/// Counts one analyst query of a door (`http`, `pg`): its outcome (`ok` or the error
/// key) and duration.
pub fn sql_query(via: &'static str, status: &str, seconds: f64) {
    metrics::counter!("dangjian_sql_queries_total", "via" => via, "status" => status.to_string())
        .increment(1);
    metrics::histogram!("dangjian_sql_query_seconds", "via" => via).record(seconds);
}
