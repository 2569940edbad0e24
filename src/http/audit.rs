//! The audit middleware: every data access through the API becomes a row of the
//! `audit` table (`warehouse::audit`) — SQL (with its text and rows), dashboard views,
//! warnings lists, acknowledgements, members' pages and push choices — and so does
//! every refused request (401, 403, 429) with the client's address. The middleware
//! sees the request and the answer; a handler adds what only it knows (the SQL text,
//! the rows) as an [`AuditNote`].

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use warehouse::audit::AuditRecord;

use super::AppState;
use super::auth::bearer_value;
use super::error::ErrorKey;

/// What a handler tells the audit trail beyond the request line.
#[derive(Debug, Clone, Default)]
pub struct AuditNote {
    /// What was read (the SQL text); the path and query when empty.
    pub target: String,
    pub rows: Option<u64>,
}

/// The longest target kept (a pasted query of megabytes is cut).
const MAX_TARGET_CHARS: usize = 8_000;

pub async fn record(State(app): State<AppState>, request: Request, next: Next) -> Response {
    // Cheap copies only: most requests (ingest among them) are not audited, and only
    // those that are pay for the caller's lookup and the text of the target.
    let method = request.method().clone();
    let uri = request.uri().clone();
    let authorization = request.headers().get(AUTHORIZATION).cloned();
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let Some(action) = action(&method, uri.path(), status) else {
        return response;
    };
    let elapsed = started.elapsed();
    let caller = authorization
        .as_ref()
        .and_then(bearer_value)
        .and_then(|token| {
            app.tokens
                .current()
                .authenticate(token, app.clock.now())
                .ok()
        });
    let note = response.extensions().get::<AuditNote>().cloned();
    let target = match &note {
        Some(n) if !n.target.is_empty() => n.target.clone(),
        // The API router is nested under `/api/v1`, which its middleware does not see.
        _ => format!(
            "{method} /api/v1{}",
            uri.path_and_query().map_or(uri.path(), |p| p.as_str())
        ),
    };
    app.audit.record(AuditRecord {
        at: app.clock.now(),
        caller: caller.as_ref().map(|c| c.name.clone()),
        role: caller.as_ref().map(|c| c.role.as_str().to_string()),
        scope: caller.as_ref().map(|c| c.scope.clone()),
        client: client.map(|ip| ip.to_string()),
        action: action.to_string(),
        target: target.chars().take(MAX_TARGET_CHARS).collect(),
        status,
        error: response
            .extensions()
            .get::<ErrorKey>()
            .map(|k| k.0.to_string()),
        rows: note.and_then(|n| n.rows),
        elapsed_ms: Some(elapsed.as_secs_f64() * 1000.0),
    });
    response
}

/// Which accesses are recorded, under which action (paths are those under `/api/v1`).
fn action(method: &Method, path: &str, status: u16) -> Option<&'static str> {
    if matches!(status, 401 | 403 | 429) {
        return Some("refused");
    }
    let path = path.trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (method, segments.as_slice()) {
        (&Method::POST, [.., "sql"]) => Some("sql"),
        (&Method::GET, [.., "dashboards", _]) => Some("dashboard"),
        (&Method::GET, [.., "warnings"]) => Some("warnings"),
        (&Method::POST, [.., "warnings", _, "ack"]) => Some("ack"),
        // A member's own record (我的党建) and recommendations, whoever reads them, and
        // the member's choice about the push.
        (&Method::GET, [.., "members", _] | [.., "members", _, "recommendations"]) => {
            Some("member")
        }
        (&Method::POST, [.., "members", _, "push"]) => Some("push_choice"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_accesses_and_refusals_are_recorded() {
        assert_eq!(action(&Method::POST, "/sql", 200), Some("sql"));
        assert_eq!(action(&Method::POST, "/sql", 422), Some("sql"));
        assert_eq!(
            action(&Method::GET, "/dashboards/college", 200),
            Some("dashboard")
        );
        assert_eq!(action(&Method::GET, "/dashboards", 200), None);
        assert_eq!(action(&Method::GET, "/warnings", 200), Some("warnings"));
        assert_eq!(action(&Method::POST, "/warnings/x/ack", 200), Some("ack"));
        assert_eq!(action(&Method::GET, "/whoami", 200), None);
        assert_eq!(action(&Method::GET, "/whoami", 401), Some("refused"));
        assert_eq!(action(&Method::POST, "/events", 403), Some("refused"));
    }
}
