//! Memory for queries: each query has a pool of its own (its operators share it fairly)
//! and every query's pool draws on one budget for the whole process, so N heavy queries
//! at once cannot take the machine, whatever each one's limit is.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

/// What the process lets all bounded queries hold together, in bytes.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: usize,
    used: AtomicUsize,
}

/// The marker of an error raised because the process budget, not the query's own
/// limit, ran out (the server answers 503 and asks the client to come back).
pub const BUDGET_EXHAUSTED: &str = "the server's memory for queries is in use by other queries";

impl MemoryBudget {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            used: AtomicUsize::new(0),
        })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes held by all bounded queries now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    fn try_take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    fn take(&self, bytes: usize) {
        self.used.fetch_add(bytes, Ordering::AcqRel);
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// One query's pool: at most its own limit, and only what the process budget has left.
#[derive(Debug)]
pub struct QueryPool {
    own: FairSpillPool,
    budget: Arc<MemoryBudget>,
}

impl QueryPool {
    pub fn new(limit: usize, budget: Arc<MemoryBudget>) -> Self {
        Self {
            own: FairSpillPool::new(limit),
            budget,
        }
    }
}

impl std::fmt::Display for QueryPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "query pool: {} bytes held; process budget {} of {} bytes",
            self.own.reserved(),
            self.budget.used(),
            self.budget.limit()
        )
    }
}

impl MemoryPool for QueryPool {
    fn name(&self) -> &str {
        "dangjian_query"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.own.register(consumer)
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.own.unregister(consumer)
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.own.grow(reservation, additional);
        self.budget.take(additional);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.own.shrink(reservation, shrink);
        self.budget.give_back(shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        if !self.budget.try_take(additional) {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "{BUDGET_EXHAUSTED} ({} of {} bytes)",
                self.budget.used(),
                self.budget.limit()
            )));
        }
        self.own.try_grow(reservation, additional).inspect_err(|_| {
            self.budget.give_back(additional);
        })
    }

    fn reserved(&self) -> usize {
        self.own.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.own.memory_limit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_share_the_budget_and_keep_their_own_limit() {
        let budget = MemoryBudget::new(100);
        let a: Arc<dyn MemoryPool> = Arc::new(QueryPool::new(80, budget.clone()));
        let b: Arc<dyn MemoryPool> = Arc::new(QueryPool::new(80, budget.clone()));
        let ra = MemoryConsumer::new("a").register(&a);
        let rb = MemoryConsumer::new("b").register(&b);
        ra.try_grow(70).unwrap();
        assert!(ra.try_grow(20).is_err(), "over its own limit");
        let err = rb.try_grow(40).unwrap_err().to_string();
        assert!(err.contains(BUDGET_EXHAUSTED), "{err}");
        rb.try_grow(30).unwrap();
        assert_eq!(budget.used(), 100);
        drop(ra);
        assert_eq!(budget.used(), 30, "a finished query gives its memory back");
        rb.try_grow(40).unwrap();
    }
}
