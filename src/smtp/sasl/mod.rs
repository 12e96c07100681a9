//! SASL client mechanisms for SMTP AUTH (RFC 4954), sans-IO.
//!
//! A [`SaslClient`] turns server challenges (the base64 text of 334 replies) into the
//! base64 lines to send back; the session owns the socket, the `*` cancel and the limit
//! of [`MAX_CHALLENGES`]. Everything that could reveal the secret is listed by
//! [`SaslClient::secret_forms`] so that whatever shows replies can redact it.

mod mechanism;
mod scram;

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use md5::Md5;

pub use mechanism::{Mechanism, choose};
use scram::ScramClient;
pub use scram::{MAX_ITERATIONS as MAX_SCRAM_ITERATIONS, MIN_ITERATIONS as MIN_SCRAM_ITERATIONS};

/// The most 334 challenges one exchange may take; the session cancels with `*` beyond
/// this (RFC 4954 §4). No mechanism here needs more than three.
pub const MAX_CHALLENGES: usize = 8;

/// A password or bearer token. It has no `Display`, and its `Debug` hides the value, so
/// it cannot reach output by accident.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Clone, Debug)]
pub struct Credentials {
    /// The authentication identity (RFC 4422 §2); also the mailbox for the OAuth ones.
    pub user: String,
    pub secret: Secret,
}

impl Credentials {
    pub fn new(user: impl Into<String>, secret: impl Into<String>) -> Credentials {
        Credentials {
            user: user.into(),
            secret: Secret::new(secret),
        }
    }

    /// The checks that do not depend on the mechanism, so they can run before connecting:
    /// a non-empty user without control characters, a non-empty secret without NUL
    /// (RFC 4616 §2 `SAFE`; SASLprep prohibits it too).
    pub fn validate(&self) -> Result<(), SaslError> {
        if self.user.is_empty() {
            return Err(invalid("the AUTH user is empty"));
        }
        if self.user.chars().any(char::is_control) {
            return Err(invalid("the AUTH user contains control characters"));
        }
        let secret = self.secret.expose();
        if secret.is_empty() {
            return Err(invalid("the password is empty"));
        }
        if secret.contains('\0') {
            return Err(invalid("the password contains a NUL character"));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaslError {
    /// A challenge that is not base64; RFC 4954 §4 says to cancel with `*`.
    BadBase64,
    /// A challenge that decodes but cannot be answered.
    BadChallenge(String),
    /// The SCRAM server did not prove it knows the password (RFC 5802 §5.1 `v=`).
    ServerSignatureMismatch,
    /// More than [`MAX_CHALLENGES`] challenges. The mechanisms here fail sooner on an
    /// extra challenge; this also names the session's own limit.
    TooManySteps,
    /// A challenge, or a success, where the mechanism allows none.
    Unexpected(String),
    /// The server reported a mechanism-level failure (SCRAM `e=`).
    Rejected(String),
    /// Credentials or parameters this mechanism cannot carry.
    InvalidInput(String),
}

impl fmt::Display for SaslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaslError::BadBase64 => write!(f, "the server's challenge is not valid base64"),
            SaslError::BadChallenge(why) => write!(f, "unusable server challenge: {why}"),
            SaslError::ServerSignatureMismatch => write!(
                f,
                "the server did not prove it knows the password (wrong SCRAM server signature)"
            ),
            SaslError::TooManySteps => {
                write!(f, "the server sent more than {MAX_CHALLENGES} challenges")
            }
            SaslError::Unexpected(why) => f.write_str(why),
            SaslError::Rejected(why) => write!(f, "the server rejected authentication: {why}"),
            SaslError::InvalidInput(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for SaslError {}

/// A SCRAM client nonce from random bytes (18 from the OS give 24 characters): base64 is
/// printable and has no ',' as RFC 5802 §7 `c-nonce` requires.
pub fn client_nonce(random: &[u8]) -> String {
    b64_encode(random)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting to send the first client message.
    Start,
    /// The single message of PLAIN, CRAM-MD5 or an OAuth mechanism went out.
    Sent,
    /// LOGIN: the user name went out, the password is next.
    LoginUserSent,
    /// LOGIN: the password went out.
    LoginPasswordSent,
    /// An OAuth server sent its error challenge and got the dummy answer; only a 535 can
    /// follow (RFC 7628 §3.2.3).
    OAuthErrorAnswered,
    /// SCRAM runs its own stages.
    Scram,
    /// A step failed; the session must cancel.
    Failed,
    Finished,
}

/// One client-side SASL exchange.
#[derive(Debug)]
pub struct SaslClient {
    mech: Mechanism,
    creds: Credentials,
    host_port: Option<(String, u16)>,
    scram: Option<ScramClient>,
    stage: Stage,
    challenges: usize,
}

impl SaslClient {
    /// `nonce` is the SCRAM client nonce (see [`client_nonce`]); other mechanisms ignore
    /// it. `host_port` is the server as the user named it, which OAUTHBEARER sends
    /// (RFC 7628 §3.1); others ignore it. Fails when the credentials cannot be carried by
    /// `mech`, before anything is sent.
    pub fn new(
        mech: Mechanism,
        creds: Credentials,
        nonce: &str,
        host_port: Option<(String, u16)>,
    ) -> Result<SaslClient, SaslError> {
        creds.validate()?;
        if mech.is_oauth() && !creds.secret.expose().bytes().all(|b| b.is_ascii_graphic()) {
            // RFC 6750 §2.1 `b64token` is visible ASCII; anything else (a space, a newline
            // left from a file, the 0x01 separator) would corrupt the message.
            return Err(invalid(
                "the OAuth token contains spaces or non-ASCII characters",
            ));
        }
        if let Some((host, _)) = &host_port
            && (host.is_empty() || host.chars().any(char::is_control))
        {
            return Err(invalid(
                "the server host name is empty or has control characters",
            ));
        }
        let scram = if mech == Mechanism::ScramSha256 {
            if nonce.is_empty() || !nonce.bytes().all(scram::is_nonce_byte) {
                return Err(invalid(
                    "the SCRAM client nonce must be printable ASCII without ',' (RFC 5802 §7)",
                ));
            }
            // RFC 5802 §5.1: the user name SHOULD be prepared with SASLprep, and the
            // exchange aborted if that fails.
            let user = stringprep::saslprep(&creds.user)
                .map_err(|_| invalid("the AUTH user is not a valid SASLprep string (RFC 4013)"))?;
            Some(ScramClient::new(&user, nonce))
        } else {
            None
        };
        Ok(SaslClient {
            mech,
            creds,
            host_port,
            scram,
            stage: Stage::Start,
            challenges: 0,
        })
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mech
    }

    /// The initial response, base64, for the AUTH line (RFC 4954 §4), or `None` when the
    /// mechanism waits for a 334 first (LOGIN, CRAM-MD5) or something was already sent.
    /// If the line would be too long the session may omit it and answer the server's
    /// empty 334 through [`respond`](Self::respond) instead.
    pub fn initial_response(&mut self) -> Option<String> {
        if self.stage != Stage::Start || !self.mech.has_initial_response() {
            return None;
        }
        Some(self.first_message())
    }

    /// The base64 line answering one 334 challenge (its text, base64). After an `Err`
    /// the session cancels with `*` (RFC 4954 §4).
    pub fn respond(&mut self, challenge_b64: &str) -> Result<String, SaslError> {
        let result = self.step(challenge_b64);
        if result.is_err() {
            self.stage = Stage::Failed;
        }
        result
    }

    fn step(&mut self, challenge_b64: &str) -> Result<String, SaslError> {
        match self.stage {
            Stage::Failed => return Err(unexpected("the exchange has already failed")),
            Stage::Finished => return Err(unexpected("a challenge after the exchange ended")),
            _ => {}
        }
        self.challenges += 1;
        if self.challenges > MAX_CHALLENGES {
            return Err(SaslError::TooManySteps);
        }
        // RFC 4954 §4: a challenge the client cannot decode is cancelled.
        let challenge = b64_decode(challenge_b64.trim()).map_err(|_| SaslError::BadBase64)?;

        match (self.mech, self.stage) {
            // The server did not take (or was not sent) an initial response: RFC 4954 §4
            // has it send an empty challenge, answered with what would have been sent.
            (
                Mechanism::Plain
                | Mechanism::XOAuth2
                | Mechanism::OAuthBearer
                | Mechanism::ScramSha256,
                Stage::Start,
            ) => {
                if !challenge.is_empty() {
                    return Err(unexpected(&format!(
                        "{} starts with the client's message, but the server sent a non-empty challenge",
                        self.mech
                    )));
                }
                Ok(self.first_message())
            }
            (Mechanism::Plain, _) => Err(unexpected(
                "PLAIN has a single message, but the server sent another challenge",
            )),
            (Mechanism::Login, Stage::Start) => {
                // The draft's challenges are "User Name" / "Username:" and "Password" /
                // "Password:"; servers vary, so the order decides, not the text.
                self.stage = Stage::LoginUserSent;
                Ok(b64_encode(self.creds.user.as_bytes()))
            }
            (Mechanism::Login, Stage::LoginUserSent) => {
                self.stage = Stage::LoginPasswordSent;
                Ok(b64_encode(self.creds.secret.expose().as_bytes()))
            }
            (Mechanism::Login, _) => Err(unexpected(
                "LOGIN asks for a user name and a password, but the server sent a third challenge",
            )),
            (Mechanism::CramMd5, Stage::Start) => {
                // RFC 2195 §2: the challenge is a msg-id-like string; an empty one would
                // make the digest a fixed function of the password.
                if challenge.is_empty() {
                    return Err(SaslError::BadChallenge(
                        "the CRAM-MD5 challenge is empty".into(),
                    ));
                }
                self.stage = Stage::Sent;
                Ok(b64_encode(self.cram_md5_response(&challenge).as_bytes()))
            }
            (Mechanism::CramMd5, _) => Err(unexpected(
                "CRAM-MD5 has a single response, but the server sent another challenge",
            )),
            (Mechanism::XOAuth2 | Mechanism::OAuthBearer, Stage::Sent) => {
                // The token was refused: the challenge is a JSON error (shown through
                // describe_challenge). XOAUTH2 expects an empty answer; RFC 7628 §3.2.3
                // a single 0x01. The server then sends 535.
                self.stage = Stage::OAuthErrorAnswered;
                Ok(if self.mech == Mechanism::XOAuth2 {
                    String::new()
                } else {
                    b64_encode(b"\x01")
                })
            }
            (Mechanism::XOAuth2 | Mechanism::OAuthBearer, _) => Err(unexpected(
                "the server sent another challenge after its OAuth error",
            )),
            (Mechanism::ScramSha256, _) => self.scram_step(&challenge),
        }
    }

    fn scram_step(&mut self, challenge: &[u8]) -> Result<String, SaslError> {
        let password = scram_password(self.creds.secret.expose());
        let scram = self.scram.as_mut().expect("SCRAM state exists for SCRAM");
        if scram.verified() {
            return Err(unexpected(
                "the server sent a challenge after its SCRAM signature was verified",
            ));
        }
        if scram.awaiting_server_final() {
            // Server-final data sent as a challenge is answered by an empty line
            // (RFC 4422 §5, item 2b); the 235 follows.
            scram.server_final(challenge)?;
            return Ok(String::new());
        }
        let client_final = scram.client_final(challenge, &password)?;
        Ok(b64_encode(client_final.as_bytes()))
    }

    /// Handles the 235 reply. For SCRAM, the server must have proven it knows the password,
    /// either already in a 334 or in `success_text`, where a base64 word holding the
    /// server-final message is accepted as additional data with success (RFC 4422 §5); a
    /// missing or wrong signature is an error and the session must not treat the connection
    /// as authenticated.
    pub fn finish(&mut self, success_text: Option<&str>) -> Result<(), SaslError> {
        match self.stage {
            Stage::Failed => return Err(unexpected("the exchange has already failed")),
            Stage::Finished => return Ok(()),
            // Only a success that answers the last step counts: an early 235 means the
            // server did not check what it was meant to check.
            Stage::Start | Stage::LoginUserSent => {
                self.stage = Stage::Failed;
                return Err(unexpected(
                    "the server reported success before the client sent its credentials",
                ));
            }
            Stage::OAuthErrorAnswered => {
                self.stage = Stage::Failed;
                return Err(unexpected(
                    "the server reported success after refusing the token",
                ));
            }
            _ => {}
        }
        if let Some(scram) = self.scram.as_mut()
            && !scram.verified()
        {
            let server_final = success_text.and_then(find_server_final);
            let result = match server_final {
                Some(message) if scram.awaiting_server_final() => scram.server_final(&message),
                _ => Err(unexpected(
                    "the server accepted SCRAM authentication without proving it knows the password",
                )),
            };
            if result.is_err() {
                self.stage = Stage::Failed;
                return result;
            }
        }
        self.stage = Stage::Finished;
        Ok(())
    }

    /// Whether [`finish`](Self::finish) succeeded; for SCRAM this means the server
    /// signature was verified.
    pub fn completed(&self) -> bool {
        self.stage == Stage::Finished && self.scram.as_ref().is_none_or(ScramClient::verified)
    }

    /// Every string whose appearance in output would reveal the secret: the secret, its
    /// base64, and the base64 of each client message that carries it; longest first, never
    /// an empty string.
    pub fn secret_forms(&self) -> Vec<String> {
        let secret = self.creds.secret.expose();
        let mut forms = vec![secret.to_string(), b64_encode(secret.as_bytes())];
        match self.mech {
            Mechanism::Plain | Mechanism::XOAuth2 | Mechanism::OAuthBearer => {
                forms.push(b64_encode(&self.client_message()));
            }
            // LOGIN sends the base64 of the password alone; CRAM-MD5 and SCRAM send
            // digests only.
            Mechanism::Login | Mechanism::CramMd5 | Mechanism::ScramSha256 => {}
        }
        forms.retain(|f| !f.is_empty());
        // Longest first, so a redactor that replaces in order never leaves part of a
        // longer form behind after masking a shorter one inside it.
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        forms
    }

    /// The decoded challenge for the transcript: LOGIN's prompt, CRAM-MD5's timestamp,
    /// SCRAM's `r=`/`s=`/`i=` or `v=`, an OAuth JSON error. `None` when it is empty or not
    /// base64. Invalid UTF-8 is replaced and control characters are left for the
    /// renderer to escape; a challenge that echoes the secret has it masked.
    pub fn describe_challenge(&self, challenge_b64: &str) -> Option<String> {
        let bytes = b64_decode(challenge_b64.trim()).ok()?;
        if bytes.is_empty() {
            return None;
        }
        let text = String::from_utf8_lossy(&bytes);
        let secret = self.creds.secret.expose();
        Some(text.replace(secret, "[redacted]"))
    }

    /// The client's first message, base64; moves past the start.
    fn first_message(&mut self) -> String {
        let message = match self.scram.as_mut() {
            Some(scram) if !scram.started() => {
                self.stage = Stage::Scram;
                scram.client_first().into_bytes()
            }
            _ => {
                self.stage = Stage::Sent;
                self.client_message()
            }
        };
        b64_encode(&message)
    }

    /// The raw message of the single-message mechanisms (PLAIN, XOAUTH2, OAUTHBEARER).
    fn client_message(&self) -> Vec<u8> {
        let user = &self.creds.user;
        let secret = self.creds.secret.expose();
        match self.mech {
            Mechanism::Plain => plain_message("", user, secret),
            Mechanism::XOAuth2 => format!("user={user}\x01auth=Bearer {secret}\x01\x01").into(),
            Mechanism::OAuthBearer => {
                // RFC 7628 §3.1: gs2-header with the user as authzid, then key/value
                // pairs each ended by 0x01, then a final 0x01.
                let mut m = format!("n,a={},\x01", scram::saslname(user));
                if let Some((host, port)) = &self.host_port {
                    m.push_str(&format!("host={host}\x01port={port}\x01"));
                }
                m.push_str(&format!("auth=Bearer {secret}\x01\x01"));
                m.into()
            }
            Mechanism::Login | Mechanism::CramMd5 | Mechanism::ScramSha256 => Vec::new(),
        }
    }

    /// RFC 2195 §2: the user, a space, and the lowercase hex HMAC-MD5 of the challenge
    /// keyed with the password.
    fn cram_md5_response(&self, challenge: &[u8]) -> String {
        let mut mac = Hmac::<Md5>::new_from_slice(self.creds.secret.expose().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(challenge);
        let digest = mac.finalize().into_bytes();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("{} {hex}", self.creds.user)
    }
}

/// RFC 4616 §2: `[authzid] NUL authcid NUL passwd`.
fn plain_message(authzid: &str, authcid: &str, passwd: &str) -> Vec<u8> {
    format!("{authzid}\0{authcid}\0{passwd}").into_bytes()
}

/// RFC 5802 §2.2 `Normalize()`: SASLprep the password. When that fails the raw password
/// is used: a server that prepares passwords could not have stored such a one, and one
/// that does not prepare them stored it raw, so this is the only form that can work.
fn scram_password(password: &str) -> String {
    stringprep::saslprep(password)
        .map(|p| p.into_owned())
        .unwrap_or_else(|_| password.to_string())
}

/// A base64 word in a 235 reply's text that decodes to a SCRAM server-final message.
fn find_server_final(text: &str) -> Option<Vec<u8>> {
    text.split_ascii_whitespace()
        .filter_map(|word| b64_decode(word).ok())
        .find(|bytes| bytes.starts_with(b"v=") || bytes.starts_with(b"e="))
}

/// Encoding is canonical (padded); decoding also takes unpadded input, which some servers
/// send, but no other deviation.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn b64_encode(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn b64_decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    B64.decode(text)
}

fn invalid(why: &str) -> SaslError {
    SaslError::InvalidInput(why.to_string())
}

fn unexpected(why: &str) -> SaslError {
    SaslError::Unexpected(why.to_string())
}

#[cfg(test)]
mod tests;
