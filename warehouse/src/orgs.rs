//! The organisation tree (university → college → branch → Party group), kept in memory
//! for access checks: a token's scope is an org subtree, and every event, query and
//! dashboard is checked against it.
//!
//! It is loaded from the `orgs` view at start-up, extended by ingest right after each
//! commit that creates orgs, and read again from the view after a rename or retraction.

use std::collections::HashMap;
use std::future::Future;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::members::Journal;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgNode {
    pub parent: Option<String>,
    pub name: String,
    pub kind: String,
}

#[derive(Debug, Default)]
pub struct OrgDirectory {
    nodes: RwLock<HashMap<String, OrgNode>>,
    /// Bumped by every insert, so a cached answer that shows org names or children
    /// (the dashboards' response cache) can tell that the tree changed.
    generation: AtomicU64,
    /// While a reload reads the view: the orgs inserted meanwhile (see [`Self::reload`]).
    pending: Journal<(String, OrgNode)>,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
}

impl OrgDirectory {
    pub fn insert(&self, org_id: &str, node: OrgNode) {
        let mut nodes = self.nodes.write().expect("org directory lock poisoned");
        self.pending.record(|| (org_id.to_string(), node.clone()));
        nodes.insert(org_id.to_string(), node);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Replaces the whole tree with what `read` reads from the `orgs` view. An org
    /// inserted (after its commit) while the view is read may be missing from the
    /// reading: every insert meanwhile is recorded and put into the reading before it
    /// replaces the tree (an org is created once, so an insert the reading already holds
    /// changes nothing). One reload at a time; a failed reading leaves the tree as it was.
    pub async fn reload<E>(
        &self,
        read: impl Future<Output = Result<HashMap<String, OrgNode>, E>>,
    ) -> Result<(), E> {
        let _one = self.reloading.lock().await;
        let recording = self.pending.start();
        let mut tree = read.await?;
        let mut nodes = self.nodes.write().expect("org directory lock poisoned");
        tree.extend(recording.finish());
        *nodes = tree;
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Every org of the tree, by id (for tests comparing it with the `orgs` view).
    pub fn snapshot(&self) -> HashMap<String, OrgNode> {
        self.nodes
            .read()
            .expect("org directory lock poisoned")
            .clone()
    }

    /// How many times the tree has changed; equal numbers mean the same tree.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn get(&self, org_id: &str) -> Option<OrgNode> {
        self.nodes
            .read()
            .expect("org directory lock poisoned")
            .get(org_id)
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.nodes
            .read()
            .expect("org directory lock poisoned")
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `org_id` lies in the subtree rooted at `scope`. A scope at the top of
    /// the tree (an org without a parent) covers every org, including ones not created
    /// yet; any other scope covers only the orgs known to sit under it.
    pub fn is_within(&self, org_id: &str, scope: &str) -> bool {
        let nodes = self.nodes.read().expect("org directory lock poisoned");
        if matches!(nodes.get(scope), Some(node) if node.parent.is_none()) {
            return true;
        }
        let mut current = Some(org_id);
        // The depth bound guards against a cycle in bad data.
        for _ in 0..64 {
            let Some(org) = current else { return false };
            if org == scope {
                return true;
            }
            current = nodes.get(org).and_then(|n| n.parent.as_deref());
        }
        false
    }

    /// `scope` and every org under it.
    pub fn subtree(&self, scope: &str) -> Vec<String> {
        let nodes = self.nodes.read().expect("org directory lock poisoned");
        let mut out = vec![scope.to_string()];
        let mut i = 0;
        while i < out.len() {
            let parent = out[i].clone();
            out.extend(
                nodes
                    .iter()
                    .filter(|(_, n)| n.parent.as_deref() == Some(parent.as_str()))
                    .map(|(id, _)| id.clone()),
            );
            i += 1;
        }
        out
    }

    /// The direct children of `org_id`, sorted by id.
    pub fn children(&self, org_id: &str) -> Vec<String> {
        let nodes = self.nodes.read().expect("org directory lock poisoned");
        let mut out: Vec<String> = nodes
            .iter()
            .filter(|(_, n)| n.parent.as_deref() == Some(org_id))
            .map(|(id, _)| id.clone())
            .collect();
        out.sort();
        out
    }

    /// The chain from the top of the tree down to `org_id` (both included), for a
    /// breadcrumb; empty when the org is unknown.
    pub fn path(&self, org_id: &str) -> Vec<(String, OrgNode)> {
        let nodes = self.nodes.read().expect("org directory lock poisoned");
        let mut out = Vec::new();
        let mut current = Some(org_id.to_string());
        // The depth bound guards against a cycle in bad data.
        while let Some(id) = current.take() {
            let Some(node) = nodes.get(&id) else { break };
            current = node.parent.clone();
            out.push((id, node.clone()));
            if out.len() >= 64 {
                break;
            }
        }
        out.reverse();
        out
    }

    /// The org without a parent, if there is exactly one.
    pub fn root(&self) -> Option<String> {
        let nodes = self.nodes.read().expect("org directory lock poisoned");
        let mut roots = nodes.iter().filter(|(_, n)| n.parent.is_none());
        match (roots.next(), roots.next()) {
            (Some((id, _)), None) => Some(id.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(parent: Option<&str>) -> OrgNode {
        OrgNode {
            parent: parent.map(str::to_string),
            name: String::new(),
            kind: String::new(),
        }
    }

    #[tokio::test]
    async fn a_reload_read_before_an_insert_does_not_drop_it() {
        let dir = OrgDirectory::default();
        dir.insert("U", node(None));
        dir.insert("GONE", node(Some("U")));
        // A reload reads the view (U only: GONE's creation was retracted) while C2 is
        // committed and inserted.
        dir.reload(async {
            dir.insert("C2", node(Some("U")));
            Ok::<_, ()>(HashMap::from([("U".to_string(), node(None))]))
        })
        .await
        .unwrap();
        assert!(
            dir.get("C2").is_some(),
            "the insert during the reading is kept"
        );
        assert!(dir.get("GONE").is_none(), "the reading replaces the rest");
        // A failed reading leaves the tree alone, and stops recording.
        dir.reload(async { Err(()) }).await.unwrap_err();
        assert_eq!(dir.len(), 2);
        dir.insert("C3", node(Some("U")));
        assert!(dir.pending.is_idle());
    }

    #[test]
    fn subtree_membership() {
        let dir = OrgDirectory::default();
        dir.insert("U", node(None));
        dir.insert("C1", node(Some("U")));
        dir.insert("C2", node(Some("U")));
        dir.insert("B1", node(Some("C1")));
        assert!(dir.is_within("B1", "C1"));
        assert!(dir.is_within("B1", "U"));
        assert!(!dir.is_within("B1", "C2"));
        assert!(
            dir.is_within("NEW", "U"),
            "the top scope covers orgs not yet created"
        );
        assert!(!dir.is_within("NEW", "C1"));
        let mut sub = dir.subtree("C1");
        sub.sort();
        assert_eq!(sub, ["B1", "C1"]);
        assert_eq!(dir.root().as_deref(), Some("U"));
        let path: Vec<_> = dir.path("B1").into_iter().map(|(id, _)| id).collect();
        assert_eq!(path, ["U", "C1", "B1"]);
    }
}
