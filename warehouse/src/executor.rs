//! Runtimes of their own for query execution (after InfluxDB 3's `DedicatedExecutor`).
//!
//! DataFusion runs a query as CPU-bound tasks on whatever tokio runtime polls it. On the
//! server's runtime, four heavy queries on a 2-core machine hold every worker thread, and
//! `/healthz`, ingest and a one-row query wait behind them. Analyst SQL and live
//! (`as_of`) dashboards therefore run elsewhere — and each on a runtime of its own,
//! with threads of its own: tokio schedules tasks cooperatively, so on one shared query
//! runtime a small query would still wait for the batches of the large ones, while
//! separate threads are shared by the operating system's scheduler, which gives every
//! query (and the server) its slice within milliseconds. A runtime costs a few hundred
//! microseconds to start; it is shut down with the query, so nothing a cancelled query
//! spawned keeps running. The ingest writer has a runtime of its own for the same reason.

use std::future::Future;

use crate::{Error, Result};

/// Runs each future on a fresh multi-threaded tokio runtime of its own.
pub struct QueryExecutor {
    threads: usize,
}

impl std::fmt::Debug for QueryExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryExecutor")
            .field("threads", &self.threads)
            .finish()
    }
}

impl QueryExecutor {
    /// Each query gets `threads` workers (at least one) named `dangjian-query`.
    pub fn new(threads: usize) -> Self {
        Self {
            threads: threads.max(1),
        }
    }

    /// One worker per core for each query: a query alone may use the whole machine.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// Runs `work` on a runtime of its own and waits for its answer. Dropping the
    /// returned future (the client went away, a timeout outside) cancels the work.
    pub async fn run<F>(&self, work: F) -> Result<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.threads)
            .thread_name("dangjian-query")
            // Planning recurses over the expression tree (as on the server's runtime).
            .thread_stack_size(16 << 20)
            .enable_all()
            .build()
            .map_err(|e| Error::Runtime { source: e })?;
        let runtime = ShutDownOnDrop(Some(runtime));
        let task = AbortOnDrop(runtime.handle().spawn(work));
        match task.await {
            Ok(output) => Ok(output),
            Err(e) if e.is_cancelled() => Err(Error::Cancelled),
            Err(e) => {
                tracing::error!(error = %e, "a query task panicked");
                Err(Error::QueryPanicked)
            }
        }
    }
}

/// A runtime that is shut down in the background when dropped: a runtime may not be
/// dropped (which blocks) inside another runtime.
struct ShutDownOnDrop(Option<tokio::runtime::Runtime>);

impl ShutDownOnDrop {
    fn handle(&self) -> &tokio::runtime::Handle {
        self.0
            .as_ref()
            .expect("the runtime lives until dropped")
            .handle()
    }
}

impl Drop for ShutDownOnDrop {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
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
