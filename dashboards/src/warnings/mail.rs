//! Mail delivery of the warning digests: SMTP with `lettre`, or `.eml` files in an
//! outbox folder when no SMTP server is configured (a laptop, the demo).
//!
//! A digest is one message per secretary per run, in Chinese, HTML with a plain-text
//! alternative. A send that fails is retried with exponential backoff; what still fails
//! is reported to the caller, which leaves the warnings un-notified for the next run.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption (a relay on loopback, tests).
    None,
}

impl Security {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "starttls" => Some(Self::StartTls),
            "tls" => Some(Self::Tls),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

/// Where and how mail goes.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// SMTP host; empty = write `.eml` files to `outbox` instead.
    pub smtp_host: String,
    pub smtp_port: u16,
    pub security: Security,
    pub username: String,
    pub password: String,
    /// The sender, e.g. `党建预警 <dangjian@example.edu.cn>`.
    pub from: String,
    pub outbox: PathBuf,
    /// Attempts per message (the first one included).
    pub attempts: u32,
    /// Wait before the second attempt; doubled for each further one.
    pub backoff: Duration,
}

/// One message to send.
#[derive(Debug, Clone)]
pub struct Digest {
    pub to: Vec<Mailbox>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail setting {field}: {reason}")]
    Settings { field: &'static str, reason: String },
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("the mail server did not accept the message after {attempts} attempt(s): {last}")]
    Undelivered { attempts: u32, last: String },
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(AsyncFileTransport<Tokio1Executor>),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    settings: MailSettings,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("smtp_host", &self.settings.smtp_host)
            .field("outbox", &self.settings.outbox)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    pub fn new(settings: MailSettings) -> Result<Self, MailError> {
        let from: Mailbox = settings.from.parse().map_err(|e| MailError::Settings {
            field: "mail.from",
            reason: format!("`{}` is not a mailbox: {e}", settings.from),
        })?;
        let transport = if settings.smtp_host.is_empty() {
            Transport::Outbox(AsyncFileTransport::new(&settings.outbox))
        } else {
            let host = settings.smtp_host.as_str();
            let tls_error = |e: lettre::transport::smtp::Error| MailError::Settings {
                field: "mail.smtp_host",
                reason: e.to_string(),
            };
            let builder = match settings.security {
                Security::StartTls => {
                    AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(tls_error)?
                }
                Security::Tls => {
                    AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(tls_error)?
                }
                Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            };
            let mut builder = builder
                .port(settings.smtp_port)
                .timeout(Some(Duration::from_secs(20)));
            if !settings.username.is_empty() {
                builder = builder.credentials(Credentials::new(
                    settings.username.clone(),
                    settings.password.clone(),
                ));
            }
            Transport::Smtp(builder.build())
        };
        Ok(Self {
            transport,
            from,
            settings,
        })
    }

    /// Where mail goes, for logs and the CLI.
    pub fn describe(&self) -> String {
        match self.transport {
            Transport::Smtp(_) => format!(
                "SMTP {}:{}",
                self.settings.smtp_host, self.settings.smtp_port
            ),
            Transport::Outbox(_) => format!("outbox {}", self.settings.outbox.display()),
        }
    }

    /// Sends `digest`, retrying with backoff; `Ok` only once the server (or the
    /// outbox) accepted it.
    pub async fn send(&self, digest: &Digest) -> Result<(), MailError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(digest.subject.as_str());
        for to in &digest.to {
            builder = builder.to(to.clone());
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(
                digest.text.clone(),
                digest.html.clone(),
            ))
            .map_err(|e| MailError::Build(e.to_string()))?;
        let attempts = self.settings.attempts.max(1);
        let mut wait = self.settings.backoff;
        let mut last = String::new();
        for attempt in 1..=attempts {
            let outcome = match &self.transport {
                Transport::Smtp(t) => t
                    .send(message.clone())
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string()),
                Transport::Outbox(t) => {
                    match tokio::fs::create_dir_all(&self.settings.outbox).await {
                        Ok(()) => t
                            .send(message.clone())
                            .await
                            .map(drop)
                            .map_err(|e| e.to_string()),
                        Err(e) => Err(format!(
                            "cannot create {}: {e}",
                            self.settings.outbox.display()
                        )),
                    }
                }
            };
            match outcome {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::warn!(attempt, attempts, error = %e, "mail not accepted");
                    last = e;
                }
            }
            if attempt < attempts {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
        Err(MailError::Undelivered { attempts, last })
    }
}

/// Text made safe inside the HTML part of a message (and its attribute values).
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
