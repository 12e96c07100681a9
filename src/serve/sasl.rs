//! The server side of SMTP AUTH (RFC 4954): PLAIN (RFC 4616), LOGIN, CRAM-MD5
//! (RFC 2195) and SCRAM-SHA-256 (RFC 5802, RFC 7677), checked against a user table or
//! accepting anyone. Sans-IO: lines in, steps out; randomness comes from the caller.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use md5::Md5;
use sha2::{Digest, Sha256};

use crate::smtp::sasl::Secret;

/// SCRAM's PBKDF2 cost (RFC 7677 §4 asks for at least 4096).
const SCRAM_ITERATIONS: u32 = 4096;

/// Who may authenticate.
#[derive(Debug)]
pub enum Users {
    /// Any user name and any password (`--auth-any`).
    Any,
    /// user → password (`--users FILE`).
    Table(HashMap<String, Secret>),
}

impl Users {
    /// The mechanisms offered in EHLO, strongest first. SCRAM needs the password to
    /// compute its proof, so `--auth-any` cannot offer it.
    pub fn mechanisms(&self) -> &'static [&'static str] {
        match self {
            Users::Any => &["CRAM-MD5", "PLAIN", "LOGIN"],
            Users::Table(_) => &["SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"],
        }
    }

    fn password(&self, user: &str) -> Option<&str> {
        match self {
            Users::Any => None,
            Users::Table(t) => t.get(user).map(Secret::expose),
        }
    }

    fn check(&self, user: &str, password: &str) -> bool {
        match self {
            Users::Any => true,
            Users::Table(_) => self
                .password(user)
                .is_some_and(|p| constant_time_eq(p.as_bytes(), password.as_bytes())),
        }
    }

    /// Parses `user:password` lines; blank lines and `#` comments are skipped.
    pub fn parse_table(text: &str) -> Result<Users, String> {
        let mut table = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, password) = line
                .split_once(':')
                .filter(|(u, _)| !u.is_empty())
                .ok_or_else(|| format!("line {}: expected user:password", n + 1))?;
            table.insert(user.to_string(), Secret::new(password));
        }
        if table.is_empty() {
            return Err("no user:password line".into());
        }
        Ok(Users::Table(table))
    }
}

/// What the exchange asks the session to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send `334 <challenge>` (already base64) and wait for a line.
    Challenge(String),
    /// 235: the user is authenticated.
    Success(String),
    /// 535: wrong credentials (or a malformed exchange, with the reason).
    Failure(&'static str),
    /// 501: the response was not base64, or the client cancelled with `*`.
    Malformed(&'static str),
}

#[derive(Debug)]
enum State {
    PlainWaiting,
    LoginUser,
    LoginPassword { user: String },
    Cram { challenge: String },
    ScramFirst,
    ScramFinal(Box<ScramWait>),
    ScramDone { user: String },
}

#[derive(Debug)]
struct ScramWait {
    user: String,
    nonce: String,
    client_first_bare: String,
    server_first: String,
    gs2_header: String,
    salted: [u8; 32],
}

/// One AUTH exchange.
#[derive(Debug)]
pub struct Exchange {
    state: State,
    random: [u8; 32],
}

/// Starts an exchange; `None` when the mechanism is not offered. `initial` is the
/// initial response as sent (`=` for an empty one).
pub fn start(
    mechanism: &str,
    initial: Option<&str>,
    users: &Users,
    hostname: &str,
    random: [u8; 32],
) -> Option<(Exchange, Step)> {
    if !users.mechanisms().contains(&mechanism) {
        return None;
    }
    let (state, challenge) = match mechanism {
        "PLAIN" => (State::PlainWaiting, String::new()),
        "LOGIN" => (State::LoginUser, STANDARD.encode("Username:")),
        "CRAM-MD5" => {
            let challenge = format!("<{}.{}@{hostname}>", hex(&random[..8]), hex(&random[8..12]));
            let encoded = STANDARD.encode(&challenge);
            (State::Cram { challenge }, encoded)
        }
        _ => (State::ScramFirst, String::new()),
    };
    let mut exchange = Exchange { state, random };
    let step = match initial {
        // CRAM-MD5 has no initial response (RFC 2195); one is a protocol error.
        Some(_) if matches!(exchange.state, State::Cram { .. }) => {
            Step::Malformed("CRAM-MD5 takes no initial response")
        }
        Some(ir) => exchange.respond(ir, users),
        None => Step::Challenge(challenge),
    };
    Some((exchange, step))
}

impl Exchange {
    /// The client's answer to the last challenge (or the initial response).
    pub fn respond(&mut self, line: &str, users: &Users) -> Step {
        if line == "*" {
            return Step::Malformed("authentication cancelled");
        }
        let decoded = if line == "=" || line.is_empty() {
            Vec::new()
        } else {
            match STANDARD.decode(line) {
                Ok(d) => d,
                Err(_) => return Step::Malformed("the response is not base64"),
            }
        };
        let state = std::mem::replace(&mut self.state, State::PlainWaiting);
        match state {
            State::PlainWaiting => plain(&decoded, users),
            State::LoginUser => match String::from_utf8(decoded) {
                Ok(user) => {
                    self.state = State::LoginPassword { user };
                    Step::Challenge(STANDARD.encode("Password:"))
                }
                Err(_) => Step::Failure("the user name is not UTF-8"),
            },
            State::LoginPassword { user } => match std::str::from_utf8(&decoded) {
                Ok(password) if users.check(&user, password) => Step::Success(user),
                _ => Step::Failure("wrong user name or password"),
            },
            State::Cram { challenge } => cram(&decoded, &challenge, users),
            State::ScramFirst => self.scram_first(&decoded, users),
            State::ScramFinal(wait) => self.scram_final(&decoded, *wait),
            State::ScramDone { user } => {
                if decoded.is_empty() {
                    Step::Success(user)
                } else {
                    Step::Failure("expected an empty response after the server signature")
                }
            }
        }
    }

    fn scram_first(&mut self, msg: &[u8], users: &Users) -> Step {
        let Ok(msg) = std::str::from_utf8(msg) else {
            return Step::Failure("SCRAM message is not UTF-8");
        };
        // gs2-header: "n,," or "y,," (no channel binding), optionally with "a=authzid".
        let mut parts = msg.splitn(3, ',');
        let (Some(cb), Some(authz), Some(bare)) = (parts.next(), parts.next(), parts.next()) else {
            return Step::Failure("malformed SCRAM client-first message");
        };
        if cb != "n" && cb != "y" {
            return Step::Failure("channel binding is not supported");
        }
        let gs2_header = format!("{cb},{authz},");
        let mut user = None;
        let mut nonce = None;
        for attr in bare.split(',') {
            if let Some(v) = attr.strip_prefix("n=") {
                user = Some(v.replace("=2C", ",").replace("=3D", "="));
            } else if let Some(v) = attr.strip_prefix("r=") {
                nonce = Some(v.to_string());
            }
        }
        let (Some(user), Some(cnonce)) = (user, nonce) else {
            return Step::Failure("malformed SCRAM client-first message");
        };
        if cnonce.is_empty() || !cnonce.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
            return Step::Failure("malformed SCRAM nonce");
        }
        // An unknown user gets a made-up salt and fails at the proof, so the exchange
        // does not tell which user names exist.
        let password = users.password(&user).unwrap_or("");
        let salt = &self.random[..16];
        let nonce = format!("{cnonce}{}", STANDARD.encode(&self.random[16..]));
        let server_first = format!("r={nonce},s={},i={SCRAM_ITERATIONS}", STANDARD.encode(salt));
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, SCRAM_ITERATIONS, &mut salted);
        let known = users.password(&user).is_some();
        self.state = State::ScramFinal(Box::new(ScramWait {
            user: if known { user } else { String::new() },
            nonce,
            client_first_bare: bare.to_string(),
            server_first: server_first.clone(),
            gs2_header,
            salted,
        }));
        Step::Challenge(STANDARD.encode(server_first))
    }

    fn scram_final(&mut self, msg: &[u8], wait: ScramWait) -> Step {
        let Ok(msg) = std::str::from_utf8(msg) else {
            return Step::Failure("SCRAM message is not UTF-8");
        };
        let Some((without_proof, proof)) = msg.rsplit_once(",p=") else {
            return Step::Failure("SCRAM client-final message without a proof");
        };
        let mut channel = None;
        let mut nonce = None;
        for attr in without_proof.split(',') {
            if let Some(v) = attr.strip_prefix("c=") {
                channel = Some(v);
            } else if let Some(v) = attr.strip_prefix("r=") {
                nonce = Some(v);
            }
        }
        if channel != Some(&STANDARD.encode(&wait.gs2_header)) || nonce != Some(&wait.nonce) {
            return Step::Failure("SCRAM channel binding or nonce mismatch");
        }
        let Ok(proof) = STANDARD.decode(proof) else {
            return Step::Failure("SCRAM proof is not base64");
        };
        let auth_message = format!(
            "{},{},{without_proof}",
            wait.client_first_bare, wait.server_first
        );
        let client_key = hmac256(&wait.salted, b"Client Key");
        let stored_key: [u8; 32] = Sha256::digest(client_key).into();
        let signature = hmac256(&stored_key, auth_message.as_bytes());
        if proof.len() != 32 || wait.user.is_empty() {
            return Step::Failure("wrong user name or password");
        }
        let recovered: Vec<u8> = proof.iter().zip(signature).map(|(p, s)| p ^ s).collect();
        let recovered_stored: [u8; 32] = Sha256::digest(&recovered).into();
        if !constant_time_eq(&recovered_stored, &stored_key) {
            return Step::Failure("wrong user name or password");
        }
        let server_key = hmac256(&wait.salted, b"Server Key");
        let server_signature = hmac256(&server_key, auth_message.as_bytes());
        self.state = State::ScramDone { user: wait.user };
        Step::Challenge(STANDARD.encode(format!("v={}", STANDARD.encode(server_signature))))
    }
}

fn plain(msg: &[u8], users: &Users) -> Step {
    let mut fields = msg.split(|&b| b == 0);
    let (Some(authz), Some(user), Some(password), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Step::Failure("malformed PLAIN message");
    };
    let (Ok(authz), Ok(user), Ok(password)) = (
        std::str::from_utf8(authz),
        std::str::from_utf8(user),
        std::str::from_utf8(password),
    ) else {
        return Step::Failure("PLAIN message is not UTF-8");
    };
    if !authz.is_empty() && authz != user {
        return Step::Failure("authorization identity differs from the user");
    }
    if users.check(user, password) {
        Step::Success(user.to_string())
    } else {
        Step::Failure("wrong user name or password")
    }
}

fn cram(msg: &[u8], challenge: &str, users: &Users) -> Step {
    let Some((user, digest)) = std::str::from_utf8(msg)
        .ok()
        .and_then(|m| m.rsplit_once(' '))
    else {
        return Step::Failure("malformed CRAM-MD5 response");
    };
    let ok = match users {
        Users::Any => true,
        Users::Table(_) => users.password(user).is_some_and(|password| {
            let mut mac =
                <Hmac<Md5> as Mac>::new_from_slice(password.as_bytes()).expect("any key length");
            mac.update(challenge.as_bytes());
            constant_time_eq(
                hex(&mac.finalize().into_bytes()).as_bytes(),
                digest.as_bytes(),
            )
        }),
    };
    if ok {
        Step::Success(user.to_string())
    } else {
        Step::Failure("wrong user name or password")
    }
}

fn hmac256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::sasl::{Credentials, Mechanism, SaslClient};

    fn users() -> Users {
        Users::parse_table("# test\ntim:tanstaaftanstaaf\nuser:pencil\n").unwrap()
    }

    /// Runs our own client against the server side: the two must agree.
    fn exchange(mech: Mechanism, user: &str, password: &str) -> Step {
        let users = users();
        let mut client = SaslClient::new(
            mech,
            Credentials::new(user, password),
            "rOprNGfwEbeRWgbNEkqO",
            None,
        )
        .expect("client");
        let ir = client.initial_response();
        let (mut server, mut step) =
            start(mech.name(), ir.as_deref(), &users, "mx.example", [7; 32]).unwrap();
        for _ in 0..5 {
            match step {
                Step::Challenge(c) => {
                    let answer = match client.respond(&c) {
                        Ok(a) => a,
                        Err(_) => return Step::Failure("client refused"),
                    };
                    step = server.respond(&answer, &users);
                }
                other => return other,
            }
        }
        panic!("too many steps")
    }

    #[test]
    fn every_mechanism_against_our_client() {
        for mech in [
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::CramMd5,
            Mechanism::ScramSha256,
        ] {
            assert_eq!(
                exchange(mech, "user", "pencil"),
                Step::Success("user".into()),
                "{mech:?}"
            );
            assert!(
                matches!(exchange(mech, "user", "wrong"), Step::Failure(_)),
                "{mech:?}"
            );
            assert!(
                matches!(exchange(mech, "nobody", "pencil"), Step::Failure(_)),
                "{mech:?}"
            );
        }
    }

    #[test]
    fn rfc2195_example() {
        let users = users();
        let challenge = "<1896.697170952@postoffice.reston.mci.net>";
        assert_eq!(
            cram(b"tim b913a602c7eda7a495b4e6e7334d3890", challenge, &users),
            Step::Success("tim".into())
        );
    }

    #[test]
    fn cancel_and_garbage() {
        let users = users();
        let (mut ex, _) = start("LOGIN", None, &users, "h", [0; 32]).unwrap();
        assert_eq!(
            ex.respond("*", &users),
            Step::Malformed("authentication cancelled")
        );
        let (mut ex, _) = start("PLAIN", None, &users, "h", [0; 32]).unwrap();
        assert!(matches!(ex.respond("!!!", &users), Step::Malformed(_)));
        assert!(start("XOAUTH2", None, &users, "h", [0; 32]).is_none());
        assert!(start("SCRAM-SHA-256", None, &Users::Any, "h", [0; 32]).is_none());
    }
}
