//! Runtimes of their own for query execution (after InfluxDB 3's `DedicatedExecutor`).
//!
//! DataFusion runs a query as CPU-bound tasks on whatever tokio runtime polls it. On the
//! server's runtime, four heavy queries on a 2-core machine hold every worker thread, and
//! `/healthz`, ingest and a one-row query wait behind them. Analyst SQL and live
//! (`as_of`) dashboards therefore run elsewhere — and each on a runtime of its own,
//! with threads of its own: tokio schedules tasks cooperatively, so on one shared query
//! runtime a small query would still wait for the batches of the large ones, while
//! separate threads are shared by the operating system's scheduler, which gives every
//! query (and the server) its slice within milliseconds. Starting a runtime costs its
//! threads, so runtimes are kept: a query leases an idle one (or starts one) and gives it
//! back when it finished, up to `keep` idle ones. A query that was cancelled (its future
//! dropped) or panicked does not give its runtime back: that runtime is shut down, so
//! nothing such a query spawned keeps running. The ingest writer has a runtime of its
//! own for the same reason.

use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::{Error, Result};

/// Runs each future on a multi-threaded tokio runtime of its own (leased from the idle
/// ones it keeps).
pub struct QueryExecutor {
    threads: usize,
    /// At most this many idle runtimes are kept for the next queries.
    keep: usize,
    idle: Arc<Idle>,
}

impl std::fmt::Debug for QueryExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryExecutor")
            .field("threads", &self.threads)
            .field("keep", &self.keep)
            .finish_non_exhaustive()
    }
}

impl QueryExecutor {
    /// Each query gets `threads` workers (at least one) named `dangjian-query`; up to
    /// 16 idle runtimes are kept.
    pub fn new(threads: usize) -> Self {
        Self {
            threads: threads.max(1),
            keep: 16,
            idle: Arc::new(Idle::default()),
        }
    }

    /// One worker per core for each query: a query alone may use the whole machine.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// Keeps at most `keep` idle runtimes (0: a fresh runtime for every query).
    pub fn keeping(mut self, keep: usize) -> Self {
        self.keep = keep;
        self
    }

    /// Runs `work` on a runtime of its own and waits for its answer. Dropping the
    /// returned future (the client went away, a timeout outside) cancels the work.
    pub async fn run<F>(&self, work: F) -> Result<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let leased = self.idle.0.lock().expect("runtimes lock").pop();
        let runtime = match leased {
            Some(runtime) => runtime,
            None => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(self.threads)
                .thread_name("dangjian-query")
                // Planning recurses over the expression tree (as on the server's runtime).
                .thread_stack_size(16 << 20)
                .enable_all()
                .build()
                .map_err(|e| Error::Runtime { source: e })?,
        };
        let mut lease = Lease {
            runtime: Some(runtime),
            back_to: (self.keep > 0).then(|| (self.idle.clone(), self.keep)),
            finished: false,
        };
        let task = AbortOnDrop(lease.handle().spawn(work));
        match task.await {
            Ok(output) => {
                lease.finished = true;
                Ok(output)
            }
            Err(e) if e.is_cancelled() => Err(Error::Cancelled),
            Err(e) => {
                tracing::error!(error = %e, "a query task panicked");
                Err(Error::QueryPanicked)
            }
        }
    }
}

/// The idle runtimes. They are shut down in the background when the last holder lets
/// go: a runtime may not be dropped (which blocks) inside another runtime.
#[derive(Default)]
struct Idle(Mutex<Vec<tokio::runtime::Runtime>>);

impl Drop for Idle {
    fn drop(&mut self) {
        let idle = self.0.get_mut().map(std::mem::take).unwrap_or_default();
        for runtime in idle {
            runtime.shutdown_background();
        }
    }
}

/// A runtime leased for one query: given back to the idle ones when the query finished
/// (and fewer than `keep` are idle), else shut down in the background — a runtime may
/// not be dropped (which blocks) inside another runtime.
struct Lease {
    runtime: Option<tokio::runtime::Runtime>,
    back_to: Option<(Arc<Idle>, usize)>,
    finished: bool,
}

impl Lease {
    fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime
            .as_ref()
            .expect("the runtime lives until dropped")
            .handle()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        if self.finished {
            if let Some((idle, keep)) = &self.back_to {
                let mut idle = idle.0.lock().expect("runtimes lock");
                if idle.len() < *keep {
                    idle.push(runtime);
                    return;
                }
            }
        }
        runtime.shutdown_background();
    }
}

/// A spawned task that is aborted when its handle is dropped unfinished.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = std::result::Result<T, tokio::task::JoinError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_the_query_threads() {
        let executor = QueryExecutor::new(1);
        let name = executor
            .run(async { std::thread::current().name().map(str::to_string) })
            .await
            .unwrap();
        // Its runtime was shut down inside ours, in the background: no panic.
        assert_eq!(name.as_deref(), Some("dangjian-query"));
    }

    #[tokio::test]
    async fn a_finished_querys_runtime_is_reused_a_cancelled_ones_is_not() {
        let executor = QueryExecutor::new(1);
        let thread = || async { std::thread::current().id() };
        let first = executor.run(thread()).await.unwrap();
        assert_eq!(executor.run(thread()).await.unwrap(), first, "leased again");
        // Cancelled while leasing the same runtime: that runtime is shut down.
        let wait = executor.run(std::future::pending::<()>());
        let _ = tokio::time::timeout(std::time::Duration::from_millis(20), wait).await;
        assert_ne!(
            executor.run(thread()).await.unwrap(),
            first,
            "a fresh runtime"
        );

        let fresh = QueryExecutor::new(1).keeping(0);
        let first = fresh.run(thread()).await.unwrap();
        assert_ne!(fresh.run(thread()).await.unwrap(), first, "none kept");
    }

    #[tokio::test]
    async fn dropping_the_wait_cancels_the_work() {
        let executor = QueryExecutor::new(1);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let wait = executor.run(async move {
            let _tx = tx;
            std::future::pending::<()>().await
        });
        // Polled once (spawned), then dropped: the task is aborted and drops `tx`.
        let _ = tokio::time::timeout(std::time::Duration::from_millis(20), wait).await;
        assert!(rx.await.is_err(), "the task was aborted");
    }
}
