//! After a commit: the org and member directories (`warehouse::orgs`, `warehouse::members`)
//! and the projections (`warehouse::projections`) follow what was committed, and a rename or
//! retraction has them read again from the views.

use super::*;

impl Writer {
    /// A rename (or a retraction, which may undo one) changes what the `orgs` view
    /// answers for an org already known: the org directory reads the view again, after
    /// the commit is published and off the writer's path (renames are rare).
    pub(super) fn reload_orgs_if_renamed(&mut self, rows: &[ValidEvent]) {
        let changes_names = rows.iter().any(|e| {
            matches!(
                e.event_type,
                EventType::OrgRenamed | EventType::EventRetracted
            )
        });
        // A retraction can take back a creation, a registration or a transfer: the
        // directories are read again from the views, which leave retracted events out.
        let retracts = rows
            .iter()
            .any(|e| e.event_type == EventType::EventRetracted);
        if changes_names {
            // Forget the reloads that have finished; keep the running ones.
            while self.org_reloads.try_join_next().is_some() {}
            let warehouse = self.warehouse.clone();
            self.org_reloads.spawn_on(
                async move {
                    if let Err(e) = warehouse.load_orgs().await {
                        tracing::error!(error = %e, "could not reload the org directory after a rename");
                    }
                    if retracts {
                        if let Err(e) = warehouse.load_members().await {
                            tracing::error!(error = %e, "could not reload the member directory after a retraction");
                        }
                    }
                },
                &self.callers,
            );
        }
    }

    /// Where the committed events move people (see `warehouse::members`).
    pub(super) fn note_members(&self, rows: &[ValidEvent]) {
        for e in rows {
            if let Some((member, change)) = crate::rules::home_change(e) {
                self.warehouse
                    .members()
                    .apply(member, e.occurred_at, change);
            }
        }
    }

    /// The people, orgs and meetings the committed events touch: their rows of the projections
    /// (`warehouse::projections`) are computed again, before the commit is acknowledged
    /// (until they are, the projected views answer live).
    pub(super) fn note_projections(&self, version: u64, rows: &[ValidEvent]) {
        self.warehouse.projections().note(
            version,
            rows.iter().map(|e| warehouse::projections::Touch {
                event_type: e.event_type.as_str(),
                org_id: &e.org_id,
                member_id: e.member_id.as_deref(),
                meeting_id: match &e.payload {
                    Payload::MeetingHeld(m) => Some(m.meeting_id.0.as_str()),
                    Payload::MeetingAttended(a) => Some(a.meeting_id.0.as_str()),
                    _ => None,
                },
                retracts: match &e.payload {
                    Payload::EventRetracted(r) => Some(r.event_id.to_string()),
                    _ => None,
                },
            }),
        );
    }

    pub(super) fn note_orgs(&self, rows: &[ValidEvent]) {
        for e in rows {
            if let Payload::OrgCreated(created) = &e.payload {
                self.warehouse.orgs().insert(
                    &e.org_id,
                    OrgNode {
                        parent: created.parent_id.as_ref().map(|p| p.0.clone()),
                        name: created.name.0.clone(),
                        kind: created.kind.as_str().to_string(),
                    },
                );
            }
        }
    }
}
