//! The injected clock lives in `warehouse::clock` (the ingest writer reads it too);
//! re-exported here, where the scheduler and the warning engine take it.

pub use warehouse::clock::{Clock, ManualClock, SharedClock, ShiftedClock, SystemClock};
