//! The seeded generator of a realistic university (placeholder: orgs only; the full
//! generator replaces this).

use chrono::NaiveDate;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct DemoSpec {
    pub seed: u64,
    pub scale: u32,
    pub today: NaiveDate,
}

/// The orgs the demo tokens are scoped to.
#[derive(Debug, Clone)]
pub struct DemoPlan {
    pub university: String,
    pub college: String,
    pub branch: String,
}

pub fn plan(_spec: &DemoSpec) -> DemoPlan {
    DemoPlan {
        university: "U".into(),
        college: "C01".into(),
        branch: "C01-B01".into(),
    }
}

pub fn estimated_events(_spec: &DemoSpec) -> u64 {
    3
}

pub fn chunks(spec: &DemoSpec) -> impl Iterator<Item = Vec<Value>> {
    let day = spec.today.format("%Y-%m-%d").to_string();
    std::iter::once(vec![
        json!({"event_type": "org.created", "occurred_at": day, "org_id": "U", "payload": {"name": "某大学党委", "kind": "university"}}),
        json!({"event_type": "org.created", "occurred_at": day, "org_id": "C01", "payload": {"name": "计算机学院党委", "kind": "college", "parent_id": "U"}}),
        json!({"event_type": "org.created", "occurred_at": day, "org_id": "C01-B01", "payload": {"name": "计算机学院本科生第一党支部", "kind": "branch", "parent_id": "C01"}}),
    ])
}
