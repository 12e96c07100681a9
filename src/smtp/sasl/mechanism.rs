//! The mechanisms and the choice among those a server offers.

use std::fmt;

/// The mechanisms this client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// RFC 4616.
    Plain,
    /// draft-murchison-sasl-login.
    Login,
    /// RFC 2195.
    CramMd5,
    /// RFC 5802 and RFC 7677, without channel binding.
    ScramSha256,
    /// Google's and Microsoft's OAuth 2.0 bearer-token mechanism.
    XOAuth2,
    /// RFC 7628.
    OAuthBearer,
}

impl Mechanism {
    pub const ALL: [Mechanism; 6] = [
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::CramMd5,
        Mechanism::ScramSha256,
        Mechanism::XOAuth2,
        Mechanism::OAuthBearer,
    ];

    /// The name registered with IANA, as it appears in EHLO and on the AUTH line.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// Mechanism names are case-insensitive (RFC 4422 §3.1).
    pub fn parse(s: &str) -> Option<Mechanism> {
        Mechanism::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s.trim()))
    }

    /// Whether the password or token itself crosses the wire (under TLS only), so anyone
    /// who can read the TLS plaintext, such as an unverified peer, learns it.
    pub fn sends_secret_in_clear(self) -> bool {
        matches!(
            self,
            Mechanism::Plain | Mechanism::Login | Mechanism::XOAuth2 | Mechanism::OAuthBearer
        )
    }

    /// Whether the secret is an OAuth 2.0 bearer token rather than a password.
    pub fn is_oauth(self) -> bool {
        matches!(self, Mechanism::XOAuth2 | Mechanism::OAuthBearer)
    }

    /// Whether the client speaks first, so the response can go on the AUTH line
    /// (RFC 4954 §4). LOGIN and CRAM-MD5 wait for the server's first challenge.
    pub fn has_initial_response(self) -> bool {
        !matches!(self, Mechanism::Login | Mechanism::CramMd5)
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Preference when the secret is a password: the mechanisms that keep it off the wire
/// first.
const PASSWORD_PREFERENCE: [Mechanism; 4] = [
    Mechanism::ScramSha256,
    Mechanism::CramMd5,
    Mechanism::Plain,
    Mechanism::Login,
];
/// Preference when the secret is a bearer token: the standard one first.
const TOKEN_PREFERENCE: [Mechanism; 2] = [Mechanism::OAuthBearer, Mechanism::XOAuth2];

/// The strongest offered mechanism that fits the secret: SCRAM-SHA-256, CRAM-MD5, PLAIN,
/// LOGIN for a password; OAUTHBEARER, XOAUTH2 for a bearer token (`token`). A caller that
/// must not send the secret in clear filters `offered` first.
pub fn choose(offered: &[String], token: bool) -> Option<Mechanism> {
    let offered: Vec<Mechanism> = offered.iter().filter_map(|s| Mechanism::parse(s)).collect();
    let preference: &[Mechanism] = if token {
        &TOKEN_PREFERENCE
    } else {
        &PASSWORD_PREFERENCE
    };
    preference.iter().copied().find(|m| offered.contains(m))
}
