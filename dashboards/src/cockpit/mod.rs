//! The cockpit (党建驾驶舱) itself: what a screen shows, its JSON, and the web page.
//!
//! - [`spec`]: the dashboard specs, `dashboards/specs/*.toml` (panels → models, chart
//!   kinds, the unit of each measure).
//! - [`render`]: [`Cockpit`] — a spec for an org and a period → every panel's JSON, from
//!   the materialised tables, or live over the events recorded up to `as_of`.
//! - [`cache`]: [`ResponseCache`] — the encoded JSON of materialised dashboards, reused
//!   while the model versions and org tree it was rendered from are current.
//! - [`web`]: the web cockpit's assets (`dashboards/web/`), embedded in the binary.

pub mod cache;
pub mod render;
pub mod spec;
pub mod web;

pub use cache::{Encoded, ResponseCache};
pub use render::{AsOf, Cockpit, Period};
