//! SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding.
//!
//! The client proves it knows the password without sending it, and the server proves it
//! holds the salted password by returning a signature the client checks (RFC 5802 §3):
//! that check is what makes SCRAM safe to use where the TLS peer is not verified.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{SaslError, b64_decode, b64_encode};

type HmacSha256 = Hmac<Sha256>;

/// RFC 5802 §7 `gs2-header` for a client that does not support channel binding ("n"),
/// without an authorization identity.
const GS2_HEADER: &str = "n,,";
/// base64 of [`GS2_HEADER`]: the `c=` attribute of the client-final message (§5.1).
const CHANNEL_BINDING: &str = "biws";

/// RFC 7677 §4: the iteration count a server announces SHOULD be at least 4096. A lower
/// one would let whoever stands in for the server (the exchange is allowed over TLS whose
/// certificate was not verified) test password guesses against the proof cheaply.
pub const MIN_ITERATIONS: u32 = 4096;
/// The server chooses the PBKDF2 cost the client pays; this bounds that CPU time (about a
/// second in an optimised build).
pub const MAX_ITERATIONS: u32 = 1_000_000;

#[derive(Debug)]
enum Stage {
    /// The client-first message has not been built yet.
    Start,
    ClientFirstSent,
    /// The client-final message went out; the server must answer with this signature.
    ClientFinalSent {
        server_signature: [u8; 32],
    },
    /// The server signature matched (RFC 5802 §5.1 `v=`).
    Verified,
}

/// The client side of one exchange. The password is passed in at the one step that needs
/// it, so this struct holds nothing secret beyond the expected server signature.
#[derive(Debug)]
pub(super) struct ScramClient {
    /// `n=<saslname>,r=<c-nonce>` (RFC 5802 §7 `client-first-message-bare`).
    client_first_bare: String,
    client_nonce: String,
    stage: Stage,
}

impl ScramClient {
    /// `user` must already be SASLprep'd; `client_nonce` must be printable without ','.
    pub(super) fn new(user: &str, client_nonce: &str) -> ScramClient {
        ScramClient {
            client_first_bare: format!("n={},r={client_nonce}", saslname(user)),
            client_nonce: client_nonce.to_string(),
            stage: Stage::Start,
        }
    }

    pub(super) fn started(&self) -> bool {
        !matches!(self.stage, Stage::Start)
    }

    pub(super) fn verified(&self) -> bool {
        matches!(self.stage, Stage::Verified)
    }

    /// Whether the next server message should be the server-final one.
    pub(super) fn awaiting_server_final(&self) -> bool {
        matches!(self.stage, Stage::ClientFinalSent { .. })
    }

    /// The client-first message (RFC 5802 §5.1), raw.
    pub(super) fn client_first(&mut self) -> String {
        self.stage = Stage::ClientFirstSent;
        format!("{GS2_HEADER}{}", self.client_first_bare)
    }

    /// Answers the server-first message with the client-final message, raw.
    pub(super) fn client_final(
        &mut self,
        server_first: &[u8],
        password: &str,
    ) -> Result<String, SaslError> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| bad("the server-first message is not UTF-8"))?;
        let first = parse_server_first(server_first, &self.client_nonce)?;

        let salted = salted_password(password, &first.salt, first.iterations);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key: [u8; 32] = Sha256::digest(client_key).into();
        let without_proof = format!("c={CHANNEL_BINDING},r={}", first.nonce);
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = hmac(&stored_key, auth_message.as_bytes());
        let mut proof = client_key;
        for (p, s) in proof.iter_mut().zip(client_signature) {
            *p ^= s;
        }
        let server_key = hmac(&salted, b"Server Key");
        let server_signature = hmac(&server_key, auth_message.as_bytes());

        self.stage = Stage::ClientFinalSent { server_signature };
        Ok(format!("{without_proof},p={}", b64_encode(&proof)))
    }

    /// Checks the server-final message (RFC 5802 §5.1 `v=` or `e=`).
    pub(super) fn server_final(&mut self, server_final: &[u8]) -> Result<(), SaslError> {
        let Stage::ClientFinalSent { server_signature } = self.stage else {
            return Err(SaslError::Unexpected(
                "a SCRAM server-final message arrived out of order".into(),
            ));
        };
        let text = std::str::from_utf8(server_final)
            .map_err(|_| bad("the server-final message is not UTF-8"))?;
        // Extensions may follow the first attribute (§7 `server-final-message`).
        let first = text.split(',').next().unwrap_or_default();
        if let Some(error) = first.strip_prefix("e=") {
            return Err(SaslError::Rejected(error.to_string()));
        }
        let Some(verifier) = first.strip_prefix("v=") else {
            return Err(bad("the server-final message has no v= attribute"));
        };
        let verifier = b64_decode(verifier).map_err(|_| bad("v= is not base64"))?;
        if !constant_time_eq(&verifier, &server_signature) {
            return Err(SaslError::ServerSignatureMismatch);
        }
        self.stage = Stage::Verified;
        Ok(())
    }
}

struct ServerFirst {
    nonce: String,
    salt: Vec<u8>,
    iterations: u32,
}

/// RFC 5802 §7: `server-first-message = [reserved-mext ","] nonce "," salt ","
/// iteration-count ["," extensions]`.
fn parse_server_first(text: &str, client_nonce: &str) -> Result<ServerFirst, SaslError> {
    let mut attrs = text.split(',');
    let mut next = attrs.next().unwrap_or_default();
    if next.starts_with("m=") {
        // §5.1: a client that does not support a mandatory extension MUST fail.
        return Err(bad(
            "the server requires an unsupported SCRAM extension (m=)",
        ));
    }
    let nonce = next
        .strip_prefix("r=")
        .ok_or_else(|| bad("the server-first message does not start with r="))?;
    // §5.1: the server appends its part to ours; a nonce that does not extend ours is not
    // an answer to this exchange.
    if nonce.len() <= client_nonce.len() || !nonce.starts_with(client_nonce) {
        return Err(bad("the server nonce does not extend the client nonce"));
    }
    if !nonce.bytes().all(is_nonce_byte) {
        return Err(bad(
            "the server nonce has characters outside printable ASCII",
        ));
    }
    next = attrs.next().unwrap_or_default();
    let salt = next
        .strip_prefix("s=")
        .ok_or_else(|| bad("the server-first message has no s= after r="))?;
    let salt = b64_decode(salt).map_err(|_| bad("the salt (s=) is not base64"))?;
    if salt.is_empty() {
        return Err(bad("the salt (s=) is empty"));
    }
    next = attrs.next().unwrap_or_default();
    let count = next
        .strip_prefix("i=")
        .ok_or_else(|| bad("the server-first message has no i= after s="))?;
    let iterations: u32 = count
        .parse()
        .ok()
        .filter(|_| count.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| bad("the iteration count (i=) is not a number"))?;
    if iterations < MIN_ITERATIONS {
        return Err(bad(&format!(
            "the server asks for {iterations} iterations, fewer than the {MIN_ITERATIONS} RFC 7677 §4 requires"
        )));
    }
    if iterations > MAX_ITERATIONS {
        return Err(bad(&format!(
            "the server asks for {iterations} iterations, more than the {MAX_ITERATIONS} we accept"
        )));
    }
    Ok(ServerFirst {
        nonce: nonce.to_string(),
        salt,
        iterations,
    })
}

/// RFC 5802 §7 `printable`: %x21-2B / %x2D-7E, i.e. visible ASCII except ','.
pub(super) fn is_nonce_byte(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && b != b','
}

/// RFC 5802 §5.1: in `n=` (and RFC 7628's `a=`), '=' and ',' are written `=3D` and `=2C`.
pub(super) fn saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// RFC 5802 §2.2 `Hi()`: PBKDF2 with HMAC-SHA-256 and a 32-byte output.
fn salted_password(password: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut out);
    out
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bad(why: &str) -> SaslError {
    SaslError::BadChallenge(why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7677 §3.
    const NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
    const SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    #[test]
    fn rfc7677_vector() {
        let mut c = ScramClient::new("user", NONCE);
        assert_eq!(c.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let fin = c.client_final(SERVER_FIRST.as_bytes(), "pencil").unwrap();
        assert_eq!(fin, CLIENT_FINAL);
        assert!(c.awaiting_server_final());
        c.server_final(SERVER_FINAL.as_bytes()).unwrap();
        assert!(c.verified());
    }

    fn after_client_final() -> ScramClient {
        let mut c = ScramClient::new("user", NONCE);
        c.client_first();
        c.client_final(SERVER_FIRST.as_bytes(), "pencil").unwrap();
        c
    }

    #[test]
    fn wrong_server_signature_is_refused() {
        let mut c = after_client_final();
        let tampered = "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
        assert_eq!(
            c.server_final(tampered.as_bytes()),
            Err(SaslError::ServerSignatureMismatch)
        );
        assert!(!c.verified());
        // Truncated signatures must not match a prefix.
        let mut c = after_client_final();
        assert_eq!(
            c.server_final(b"v=6rriTRBi23WpRR/wtup+mA=="),
            Err(SaslError::ServerSignatureMismatch)
        );
    }

    #[test]
    fn server_error_attribute_is_a_rejection() {
        let mut c = after_client_final();
        assert_eq!(
            c.server_final(b"e=invalid-proof"),
            Err(SaslError::Rejected("invalid-proof".into()))
        );
    }

    #[test]
    fn server_first_checks() {
        let cases = [
            (
                "m=ext,r=rOprNGfwEbeRWgbNEkqOxyz,s=QSXCR+Q6sek8bf92,i=4096",
                "m=",
            ),
            ("r=somebodyelse,s=QSXCR+Q6sek8bf92,i=4096", "extend"),
            ("r=rOprNGfwEbeRWgbNEkqO,s=QSXCR+Q6sek8bf92,i=4096", "extend"),
            ("r=rOprNGfwEbeRWgbNEkqOx,s=***,i=4096", "salt"),
            ("r=rOprNGfwEbeRWgbNEkqOx,s=,i=4096", "empty"),
            ("r=rOprNGfwEbeRWgbNEkqOx,s=QSXCR+Q6sek8bf92,i=1", "fewer"),
            (
                "r=rOprNGfwEbeRWgbNEkqOx,s=QSXCR+Q6sek8bf92,i=4294967295",
                "more",
            ),
            (
                "r=rOprNGfwEbeRWgbNEkqOx,s=QSXCR+Q6sek8bf92,i=+4096",
                "number",
            ),
            ("r=rOprNGfwEbeRWgbNEkqOx,s=QSXCR+Q6sek8bf92", "i="),
            ("s=QSXCR+Q6sek8bf92,r=rOprNGfwEbeRWgbNEkqOx,i=4096", "r="),
            (
                "r=rOprNGfwEbeRWgbNEkqO\u{7f},s=QSXCR+Q6sek8bf92,i=4096",
                "printable",
            ),
        ];
        for (server_first, why) in cases {
            let mut c = ScramClient::new("user", NONCE);
            c.client_first();
            match c.client_final(server_first.as_bytes(), "pencil") {
                Err(SaslError::BadChallenge(m)) => assert!(m.contains(why), "{server_first}: {m}"),
                other => panic!("{server_first}: {other:?}"),
            }
        }
    }

    #[test]
    fn names_are_escaped() {
        assert_eq!(saslname("a=b,c"), "a=3Db=2Cc");
        let mut c = ScramClient::new("a,b", NONCE);
        assert_eq!(c.client_first(), "n,,n=a=2Cb,r=rOprNGfwEbeRWgbNEkqO");
    }
}
