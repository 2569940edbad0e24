//! The Postgres wire protocol: analysts' own tools (psql, DBeaver, Excel and Power BI
//! through ODBC, Metabase, psycopg, pandas) read the warehouse as a Postgres database.
//!
//! It is one more door onto the reader session of `POST /api/v1/sql`, not a session of
//! its own. The password is a bearer token (any user name); every statement runs through
//! [`warehouse::Warehouse::query_over`] in that token's scope and masking, read-only,
//! within the `[sql]` limits and the token's share of them, and is written to the audit
//! trail as `sql`. What clients send besides queries (`pg_catalog` and
//! `information_schema`, `SET`/`SHOW`, `BEGIN`/`COMMIT`, cursors, psql's `\copy`) is
//! answered in [`queries`], with `datafusion-postgres`'s catalogue and hooks.
//!
//! - [`PgListener`]: the bound address and TLS (`[pg]` settings).
//! - [`TokenStartup`]: sign-in with a token as the password.
//! - [`queries::PgQueries`]: the simple and extended query protocols.

mod catalog;
mod queries;

use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion_postgres::pgwire;
use futures::{Sink, SinkExt};
use pgwire::api::auth::{
    DefaultServerParameterProvider, StartupHandler, finish_authentication, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::{
    ClientInfo, ConnectionManager, PgWireConnectionState, PgWireServerHandlers,
    PidSecretKeyGenerator, RandomPidSecretKeyGenerator,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::startup::Authentication;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::{TlsAcceptor, tokio_rustls};
use tokio::net::TcpListener;
use warehouse::audit::AuditRecord;

use crate::auth::{Caller, Permission, SignInRefused};
use crate::config::PgSettings;
use crate::http::AppState;
use queries::PgQueries;

/// The Postgres version clients are told (`server_version`, `version()`): what they
/// check features against. dangjian speaks protocol 3 and the read-only SQL of
/// DataFusion, with the `pg_catalog` of a Postgres 16.
pub const SERVER_VERSION: &str = "16.6";

/// The bound Postgres address and its TLS, ready to serve.
pub struct PgListener {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
}

impl PgListener {
    /// Binds `pg.listen` (none when it is empty) and loads the TLS certificate.
    pub async fn bind(
        settings: &PgSettings,
    ) -> Result<Option<Self>, Box<dyn std::error::Error + Send + Sync>> {
        if settings.listen.trim().is_empty() {
            return Ok(None);
        }
        let tls = match (settings.tls_cert.as_str(), settings.tls_key.as_str()) {
            ("", "") => None,
            (cert, key) if !cert.is_empty() && !key.is_empty() => Some(tls_acceptor(cert, key)?),
            _ => return Err("pg.tls_cert and pg.tls_key go together: set both or neither".into()),
        };
        let listener = TcpListener::bind(&settings.listen)
            .await
            .map_err(|e| format!("pg.listen `{}`: {e}", settings.listen))?;
        Ok(Some(Self { listener, tls }))
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections until `shutdown` resolves; each runs on its own task and
    /// ends with its client. At shutdown the listener closes first, then every open
    /// connection (a query under way is cancelled: nothing is written over the wire), so
    /// the server stops with no reader left on the warehouse.
    pub async fn serve(self, state: AppState, shutdown: impl std::future::Future<Output = ()>) {
        let connections = Arc::new(ConnectionManager::new());
        let handlers = Arc::new(Handlers {
            startup: Arc::new(TokenStartup {
                state: state.clone(),
                parameters: parameters(),
                connections: connections.clone(),
                keys: RandomPidSecretKeyGenerator::default(),
            }),
            queries: Arc::new(PgQueries::new(state.clone())),
            cancel: Arc::new(DefaultCancelHandler::new(connections)),
        });
        let open = Arc::new(tokio::sync::Semaphore::new(
            state.config.pg.max_connections.max(1),
        ));
        let (closing, _) = tokio::sync::watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        let Self { listener, tls } = self;
        tokio::pin!(shutdown);
        loop {
            let (socket, addr) = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "postgres: accept failed");
                        continue;
                    }
                },
            };
            // Connections that ended leave the set.
            while tasks.try_join_next().is_some() {}
            let Ok(permit) = open.clone().try_acquire_owned() else {
                tracing::warn!(%addr, "postgres: connection refused, pg.max_connections are open");
                tokio::spawn(refuse_busy(socket));
                continue;
            };
            let (handlers, tls) = (handlers.clone(), tls.clone());
            let mut closed = closing.subscribe();
            tasks.spawn(async move {
                let _permit = permit;
                let open = metrics::gauge!("dangjian_pg_connections");
                open.increment(1.0);
                tokio::select! {
                    ended = pgwire::tokio::process_socket(socket, tls, handlers) => {
                        if let Err(e) = ended {
                            tracing::debug!(%addr, error = %e, "postgres: connection ended");
                        }
                    }
                    _ = closed.wait_for(|closed| *closed) => {
                        tracing::debug!(%addr, "postgres: connection closed at shutdown");
                    }
                }
                open.decrement(1.0);
            });
        }
        drop(listener);
        closing.send_replace(true);
        let n = tasks.len();
        while tasks.join_next().await.is_some() {}
        tracing::info!(connections = n, "postgres: stopped, its connections closed");
    }
}

fn tls_acceptor(
    cert: &str,
    key: &str,
) -> Result<TlsAcceptor, Box<dyn std::error::Error + Send + Sync>> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("pg.tls_cert `{cert}`: {e}"))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("pg.tls_key `{key}`: {e}"))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("pg.tls_cert / pg.tls_key: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Tells a client over the connection limit why, as Postgres does, and hangs up.
async fn refuse_busy(mut socket: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The startup packet first (its length, then the rest), so the client reads the
    // answer instead of a reset.
    let mut length = [0u8; 4];
    if socket.read_exact(&mut length).await.is_ok() {
        let rest = (u32::from_be_bytes(length) as usize)
            .saturating_sub(4)
            .min(10_000);
        let mut skip = vec![0u8; rest];
        socket.read_exact(&mut skip).await.ok();
    }
    let fields: [(u8, &str); 3] = [
        (b'S', "FATAL"),
        (b'C', "53300"),
        (b'M', "too many connections (pg.max_connections)"),
    ];
    let mut body = Vec::new();
    for (code, text) in fields {
        body.push(code);
        body.extend_from_slice(text.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut message = vec![b'E'];
    message.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    message.extend_from_slice(&body);
    socket.write_all(&message).await.ok();
}

/// What clients are told on sign-in: a Postgres 16 that is read-only.
fn parameters() -> DefaultServerParameterProvider {
    let mut parameters = DefaultServerParameterProvider::default();
    parameters.server_version = SERVER_VERSION.to_string();
    parameters.is_superuser = false;
    parameters.default_transaction_read_only = true;
    parameters
}

struct Handlers {
    startup: Arc<TokenStartup>,
    queries: Arc<PgQueries>,
    cancel: Arc<DefaultCancelHandler>,
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl pgwire::api::query::SimpleQueryHandler> {
        self.queries.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl pgwire::api::query::ExtendedQueryHandler> {
        self.queries.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.startup.clone()
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        self.cancel.clone()
    }
}

/// The caller of a connection, kept in its session extensions once signed in.
#[derive(Debug, Clone)]
pub struct PgCaller {
    pub caller: Caller,
    pub access: warehouse::ReadAccess,
    pub client: SocketAddr,
}

/// Sign-in: the password is a bearer token, the user name is free (`whoami` and
/// `current_user` answer the token's name). Failed sign-ins count towards the client
/// address's throttle and are audited, as over HTTP.
struct TokenStartup {
    state: AppState,
    parameters: DefaultServerParameterProvider,
    connections: Arc<ConnectionManager>,
    keys: RandomPidSecretKeyGenerator,
}

fn refusal(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".to_string(),
        code.to_string(),
        message.into(),
    )))
}

impl TokenStartup {
    /// The caller of `token`, or why not (as the SQLSTATE and message to send).
    fn sign_in(&self, token: &str, client: SocketAddr) -> PgWireResult<Caller> {
        let state = &self.state;
        let now = std::time::Instant::now();
        if let Some(wait) = state.sign_ins.blocked(client.ip(), now) {
            return Err(refusal(
                "53400",
                format!("too many failed sign-ins from this address; retry in {wait} s"),
            ));
        }
        let caller = state
            .tokens
            .current()
            .authenticate(token.trim(), state.clock.now())
            .map_err(|refused| {
                state.sign_ins.failed(client.ip(), now);
                self.audit_refusal(client, None, "pg sign-in");
                refusal(
                    "28P01",
                    match refused {
                        SignInRefused::Unknown => {
                            "password authentication failed: the password is a dangjian token, and this one is unknown"
                        }
                        SignInRefused::Expired => "this token has expired",
                        SignInRefused::Revoked => "this token has been revoked",
                    },
                )
            })?;
        if !caller.role.allows(Permission::Sql) {
            self.audit_refusal(client, Some(&caller), "pg sign-in");
            return Err(refusal(
                "42501",
                format!(
                    "the role `{}` may not {}",
                    caller.role.as_str(),
                    Permission::Sql.as_str()
                ),
            ));
        }
        Ok(caller)
    }

    fn audit_refusal(&self, client: SocketAddr, caller: Option<&Caller>, target: &str) {
        self.state.audit.record(AuditRecord {
            at: self.state.clock.now(),
            caller: caller.map(|c| c.name.clone()),
            role: caller.map(|c| c.role.as_str().to_string()),
            scope: caller.map(|c| c.scope.clone()),
            client: Some(client.ip().to_string()),
            action: "refused".into(),
            target: target.into(),
            status: if caller.is_some() { 403 } else { 401 },
            error: Some(
                if caller.is_some() {
                    "forbidden"
                } else {
                    "unauthorized"
                }
                .into(),
            ),
            rows: None,
            elapsed_ms: None,
        });
    }
}

#[async_trait]
impl StartupHandler for TokenStartup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                if !client.is_secure() && !client.socket_addr().ip().is_loopback() {
                    return Err(refusal(
                        "28000",
                        "connect with TLS (sslmode=require): only loopback clients may connect without it",
                    ));
                }
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                client
                    .send(PgWireBackendMessage::Authentication(
                        Authentication::CleartextPassword,
                    ))
                    .await?;
            }
            PgWireFrontendMessage::PasswordMessageFamily(password) => {
                let password = password.into_password()?;
                let addr = client.socket_addr();
                let caller = self.sign_in(&password.password, addr)?;
                let access = self.state.access(&caller);
                tracing::info!(caller = %caller.name, client = %addr, "postgres: signed in");
                client.session_extensions().insert(PgCaller {
                    caller,
                    access,
                    client: addr,
                });
                let (pid, key) = self.keys.generate(client);
                client.set_pid_and_secret_key(pid, key);
                let (handle, guard) = self.connections.register(pid, key_of(client));
                client.session_extensions().insert(handle);
                client.session_extensions().insert(guard);
                finish_authentication(client, &self.parameters).await?;
            }
            _ => {}
        }
        Ok(())
    }
}

fn key_of<C: ClientInfo>(client: &C) -> pgwire::messages::startup::SecretKey {
    client.pid_and_secret_key().1
}
