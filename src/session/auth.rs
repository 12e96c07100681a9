//! AUTH (RFC 4954): mechanism choice from the post-TLS EHLO, the policy on where
//! credentials may go, the challenge loop, and redaction of anything that could leak.

use super::{Channel, Event, Session};
use crate::outcome::{Failure, FailureKind, Phase};
use crate::smtp::redact;
use crate::smtp::sasl::{self, Credentials, MAX_CHALLENGES, Mechanism, SaslClient, SaslError};
use crate::smtp::{Command, Reply, ReplyClass};

/// What to authenticate with.
#[derive(Clone, Debug)]
pub struct AuthPlan {
    /// None picks the strongest offered (`--auth auto`).
    pub mechanism: Option<Mechanism>,
    pub credentials: Credentials,
    /// `--allow-insecure-auth`: credentials over plaintext or PLAIN/LOGIN over unverified TLS.
    pub allow_insecure: bool,
    /// The server as the user named it (OAUTHBEARER sends it).
    pub host_port: Option<(String, u16)>,
}

fn auth_failure(message: impl Into<String>) -> Failure {
    Failure::new(Phase::Auth, FailureKind::Auth, message)
}

impl Session<'_> {
    /// Runs one AUTH exchange. Ok only on a 235 that answers the last step (and, for
    /// SCRAM, a verified server signature).
    pub async fn authenticate(&mut self, plan: &AuthPlan) -> Result<Reply, Failure> {
        // Nothing may be sent in plaintext whatever is offered, so say that first: a
        // server that offers AUTH only after STARTTLS (Postfix's smtpd_tls_auth_only)
        // lists none here, and "no AUTH offered" would hide that `--tls none` is why.
        if matches!(self.channel(), Channel::Plain) && !plan.allow_insecure {
            let caps = self.capabilities.clone().unwrap_or_default();
            // With neither AUTH nor STARTTLS offered, TLS would not help: AUTH is missing.
            return Err(match (caps.starttls(), caps.auth_mechanisms().is_empty()) {
                (false, true) => auth_failure(
                    "the server offers no AUTH (and no STARTTLS); credentials were given, so the mail is not sent unauthenticated",
                ),
                (false, false) => insecure_refusal_without_starttls(),
                (true, _) => insecure_refusal("over a plaintext connection"),
            });
        }
        let mech = self.choose_mechanism(plan)?;
        self.check_channel(mech, plan.allow_insecure)?;
        // A fixed nonce lets tests replay a recorded SCRAM exchange (RFC 7677 §3).
        let nonce = std::env::var("SMTPX_SCRAM_CLIENT_NONCE")
            .unwrap_or_else(|_| sasl::client_nonce(&random_bytes()));
        let mut client = SaslClient::new(
            mech,
            plan.credentials.clone(),
            &nonce,
            plan.host_port.clone(),
        )
        .map_err(|e| Failure::input(format!("--user/--password: {e}")))?;
        // From here on, nothing that reveals the secret may reach any output.
        let mut forms = client.secret_forms();
        forms.extend(redact::leak_forms(plan.credentials.secret.expose()));
        self.redact(forms);
        let initial = client.initial_response();
        let auth = Command::Auth {
            mechanism: mech.name().to_string(),
            initial,
        };
        let mut reply = self.command(&auth, Phase::Auth).await?;
        let mut challenges = 0;
        while reply.code.value() == 334 {
            challenges += 1;
            let challenge = reply.lines.first().cloned().unwrap_or_default();
            let challenge = challenge.trim();
            if challenges > MAX_CHALLENGES {
                self.cancel().await;
                return Err(violation(format!(
                    "the server sent more than {MAX_CHALLENGES} AUTH challenges; cancelled"
                )));
            }
            if let Some(text) = client.describe_challenge(challenge) {
                self.ctx.emit(Event::Note {
                    message: format!("Server challenge (decoded): {text}"),
                });
            }
            match client.respond(challenge) {
                Ok(line) => {
                    reply = self
                        .command(&Command::AuthResponse(line), Phase::Auth)
                        .await?;
                }
                Err(e) => {
                    self.cancel().await;
                    return Err(match e {
                        SaslError::ServerSignatureMismatch => auth_failure(format!(
                            "{e}: the server does not know the password (or someone is in the path)"
                        )),
                        other => {
                            violation(format!("bad AUTH challenge: {other}; cancelled with '*'"))
                        }
                    });
                }
            }
        }
        match reply.class() {
            ReplyClass::Positive if reply.code.value() == 235 => {
                let extra = reply.lines.first().map(String::as_str);
                client
                    .finish(extra)
                    .map_err(|e| auth_failure(e.to_string()))?;
                if !client.completed() {
                    return Err(auth_failure("the exchange did not complete"));
                }
                Ok(reply)
            }
            ReplyClass::TransientNegative => Err(Failure::new(
                Phase::Auth,
                FailureKind::Temporary,
                format!("authentication failed temporarily: {}", words(&reply)),
            )),
            ReplyClass::PermanentNegative => Err(auth_failure(format!(
                "authentication failed: {}",
                words(&reply)
            ))),
            _ => Err(violation(format!(
                "AUTH answered with {} instead of 235",
                reply.code
            ))),
        }
    }

    /// RFC 4954 §4: choose from what the post-TLS EHLO offers; never the unauthenticated
    /// road if credentials were given (§9).
    fn choose_mechanism(&self, plan: &AuthPlan) -> Result<Mechanism, Failure> {
        let offered = self
            .capabilities
            .as_ref()
            .map(|c| c.auth_mechanisms())
            .unwrap_or_default();
        if offered.is_empty() {
            return Err(auth_failure(
                "the server offers no AUTH here; credentials were given, so the mail is not sent unauthenticated",
            ));
        }
        match plan.mechanism {
            Some(m) if offered.iter().any(|o| o == m.name()) => Ok(m),
            Some(m) => Err(auth_failure(format!(
                "the server does not offer AUTH {} (it offers {})",
                m.name(),
                offered.join(" ")
            ))),
            None => sasl::choose(&offered, false).ok_or_else(|| {
                auth_failure(format!(
                    "none of the offered mechanisms ({}) can be used with a password",
                    offered.join(" ")
                ))
            }),
        }
    }

    /// Credentials never travel in plaintext, nor readable by anyone who can sit in the
    /// path of an unverified TLS session, unless the user allows it.
    fn check_channel(&mut self, mech: Mechanism, allow_insecure: bool) -> Result<(), Failure> {
        let problem = match self.channel() {
            Channel::Plain => Some("over a plaintext connection"),
            Channel::TlsUnverified if mech.sends_secret_in_clear() => {
                Some("over TLS whose certificate was not verified")
            }
            _ => None,
        };
        match (problem, allow_insecure) {
            (None, _) => Ok(()),
            (Some(where_), true) => {
                self.ctx.emit(Event::Warning {
                    message: format!("--allow-insecure-auth: sending credentials {where_}"),
                });
                Ok(())
            }
            (Some(where_), false) => Err(insecure_refusal(where_)),
        }
    }

    /// `*` ends an exchange (RFC 4954 §4); the 501 that follows changes nothing.
    async fn cancel(&mut self) {
        let timeout = self.ctx.timeouts.command;
        if self
            .send(&[&Command::AuthResponse("*".into())], Phase::Auth)
            .await
            .is_ok()
        {
            let _ = self.read_reply(Phase::Auth, timeout).await;
        }
    }
}

fn insecure_refusal(where_: &str) -> Failure {
    Failure::new(
        Phase::Auth,
        FailureKind::Tls,
        format!(
            "refusing to send credentials {where_}: use --tls starttls or --tls implicit with a verified certificate (--tls-ca for a private CA), or --allow-insecure-auth for a lab server"
        ),
    )
}

/// AUTH is offered in plaintext only: STARTTLS cannot protect it here.
fn insecure_refusal_without_starttls() -> Failure {
    Failure::new(
        Phase::Auth,
        FailureKind::Tls,
        "refusing to send credentials over a plaintext connection: the server offers no STARTTLS (try its implicit TLS port with --tls implicit, e.g. 465), or --allow-insecure-auth for a lab server",
    )
}

fn violation(message: String) -> Failure {
    Failure::new(
        Phase::Auth,
        FailureKind::Protocol,
        format!("protocol violation: {message}"),
    )
}

fn words(reply: &Reply) -> String {
    format!("{} {}", reply.code, reply.lines.join(" "))
}

/// Randomness for the SCRAM client nonce (RFC 5802 §5.1).
fn random_bytes() -> [u8; 18] {
    use std::io::Read;
    let mut buf = [0u8; 18];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_err()
    {
        // Unpredictable enough for a nonce where /dev/urandom is missing.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_le_bytes();
        buf[..16].copy_from_slice(&t);
    }
    buf
}
