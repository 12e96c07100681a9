//! What the user typed, read without I/O: smtpx's own `/` commands (with a suggestion
//! for a typo), SMTP lines and what smtpx must do for them (STARTTLS, a bare AUTH), and
//! lines of message content after DATA's 354.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::smtp::command::{MAX_AUTH_LINE, MAX_COMMAND_LINE};
use crate::smtp::sasl::Mechanism;

/// smtpx's own commands, as the user types them (Tab completes these too).
pub const SLASH_COMMANDS: &[&str] = &[
    "/help",
    "/caps",
    "/tls",
    "/auth",
    "/file",
    "/reconnect",
    "/quit",
];

/// SMTP verbs offered for completion before the server said what it supports.
pub const SMTP_VERBS: &[&str] = &[
    "EHLO",
    "HELO",
    "STARTTLS",
    "AUTH",
    "MAIL FROM:<",
    "RCPT TO:<",
    "DATA",
    "BDAT",
    "RSET",
    "NOOP",
    "VRFY",
    "EXPN",
    "HELP",
    "QUIT",
];

/// One line of `/help`, per command.
pub const SLASH_HELP: &[(&str, &str)] = &[
    ("/help", "this list"),
    (
        "/caps",
        "the capabilities of the last EHLO, each with its meaning",
    ),
    (
        "/tls",
        "STARTTLS, then the TLS handshake (same as typing STARTTLS)",
    ),
    (
        "/auth [MECH]",
        "authenticate: smtpx runs the exchange and asks for what it needs",
    ),
    (
        "/file PATH",
        "after DATA's 354: send a file as the message content",
    ),
    ("/reconnect", "QUIT, then connect again"),
    ("/quit", "QUIT and leave (also Ctrl-D)"),
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slash {
    Help,
    Caps,
    Tls,
    Auth(Option<Mechanism>),
    File(String),
    Reconnect,
    Quit,
}

/// What one line typed at the command prompt asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Typed {
    /// Nothing to send.
    Empty,
    Slash(Slash),
    /// A `/` line smtpx cannot run; never sent to the server.
    SlashError(String),
    Smtp(SmtpLine),
}

/// A line to send to the server, and what smtpx does around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpLine {
    pub text: String,
    pub kind: LineKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineKind {
    Ehlo,
    Helo,
    StartTls,
    /// `AUTH MECH` with no initial response, for a mechanism smtpx can run itself.
    AuthBare(Mechanism),
    /// An AUTH line that carries a response typed by hand (secret).
    AuthTyped,
    Data,
    Quit,
    /// May share a write with the lines after it when the server offers PIPELINING
    /// (RFC 2920 §3.1): MAIL, RCPT, RSET, NOOP.
    Batchable,
    Other,
}

impl LineKind {
    /// May go last in a pipelined group (RFC 2920 §3.1: DATA ends one).
    pub fn ends_batch(&self) -> bool {
        matches!(self, LineKind::Data)
    }
}

/// Reads a line typed at the command prompt.
pub fn parse(line: &str) -> Typed {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Typed::Empty;
    }
    if trimmed.starts_with('/') {
        return parse_slash(trimmed);
    }
    let text = line.trim_end().to_string();
    if let Err(e) = check_line(&text, MAX_COMMAND_LINE) {
        // AUTH lines may be longer (RFC 4954 §4); checked again below.
        if !verb_of(&text).eq_ignore_ascii_case("AUTH") {
            return Typed::SlashError(e);
        }
    }
    let verb = verb_of(&text).to_ascii_uppercase();
    let rest: Vec<&str> = text.split_whitespace().skip(1).collect();
    let kind = match verb.as_str() {
        // LMTP's LHLO (RFC 2033 §4.1) answers with the same capability list.
        "EHLO" | "LHLO" => LineKind::Ehlo,
        "HELO" => LineKind::Helo,
        "STARTTLS" if rest.is_empty() => LineKind::StartTls,
        "AUTH" => {
            if let Err(e) = check_line(&text, MAX_AUTH_LINE) {
                return Typed::SlashError(e);
            }
            match (rest.first().and_then(|m| Mechanism::parse(m)), rest.len()) {
                (Some(m), 1) => LineKind::AuthBare(m),
                (_, n) if n >= 2 => LineKind::AuthTyped,
                _ => LineKind::Other,
            }
        }
        "DATA" => LineKind::Data,
        "QUIT" => LineKind::Quit,
        "MAIL" | "RCPT" | "RSET" | "NOOP" => LineKind::Batchable,
        _ => LineKind::Other,
    };
    Typed::Smtp(SmtpLine { text, kind })
}

fn verb_of(text: &str) -> &str {
    text.split_whitespace().next().unwrap_or("")
}

/// A line must not break the protocol: no control characters (a CR or LF inside would
/// smuggle a second command) and within the line limit (RFC 5321 §4.5.3.1.4).
pub fn check_line(text: &str, limit: usize) -> Result<(), String> {
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(format!(
            "not sent: the line contains the control character {:?}",
            c
        ));
    }
    if text.len() + 2 > limit {
        return Err(format!(
            "not sent: the line is {} octets with CRLF, over the limit of {limit}",
            text.len() + 2
        ));
    }
    Ok(())
}

fn parse_slash(line: &str) -> Typed {
    let mut words = line.split_whitespace();
    let word = words.next().unwrap_or("/").to_ascii_lowercase();
    let args: Vec<&str> = words.collect();
    let no_args = |s: Slash| {
        if args.is_empty() {
            Typed::Slash(s)
        } else {
            Typed::SlashError(format!("{word} takes no argument"))
        }
    };
    match word.as_str() {
        "/help" | "/?" => no_args(Slash::Help),
        "/caps" => no_args(Slash::Caps),
        "/tls" | "/starttls" => no_args(Slash::Tls),
        "/reconnect" => no_args(Slash::Reconnect),
        "/quit" | "/exit" => no_args(Slash::Quit),
        "/auth" => match args.as_slice() {
            [] => Typed::Slash(Slash::Auth(None)),
            [m] => match Mechanism::parse(m) {
                Some(m) => Typed::Slash(Slash::Auth(Some(m))),
                None => Typed::SlashError(format!(
                    "/auth: unknown mechanism '{}' (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256, XOAUTH2, OAUTHBEARER)",
                    m.escape_debug()
                )),
            },
            _ => Typed::SlashError("/auth takes at most one mechanism".into()),
        },
        "/file" => {
            let path = line["/file".len()..].trim();
            if path.is_empty() {
                Typed::SlashError("/file needs a PATH".into())
            } else {
                Typed::Slash(Slash::File(path.to_string()))
            }
        }
        _ => Typed::SlashError(unknown_slash(&word)),
    }
}

fn unknown_slash(word: &str) -> String {
    let shown = word.escape_debug();
    match suggest(word) {
        Some(s) => format!(
            "unknown command {shown}; did you mean {s}? (/help lists them; nothing was sent)"
        ),
        None => format!("unknown command {shown}; /help lists smtpx's commands (nothing was sent)"),
    }
}

/// The known `/` command nearest to a typo: a prefix of one, or at most two edits away.
pub fn suggest(word: &str) -> Option<&'static str> {
    let word = word.to_ascii_lowercase();
    if word.len() > 1
        && let Some(c) = SLASH_COMMANDS.iter().find(|c| c.starts_with(&word))
    {
        return Some(c);
    }
    SLASH_COMMANDS
        .iter()
        .map(|c| (distance(&word, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, with transpositions counted as one edit.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// A line typed after DATA's 354.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContentLine {
    /// A lone dot: the end of the message.
    End,
    /// `/file PATH`: the file's content goes here.
    File(String),
    /// A line of the message as the user means it; smtpx dot-stuffs it.
    Text(String),
}

pub fn content_line(line: &str) -> ContentLine {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line == "." {
        return ContentLine::End;
    }
    if let Some(rest) = line.strip_prefix("/file ") {
        let path = rest.trim();
        if !path.is_empty() {
            return ContentLine::File(path.to_string());
        }
    }
    ContentLine::Text(line.to_string())
}

/// What to scrub from every later output after the user typed an AUTH response by hand:
/// the base64 itself and, decoded, each NUL-separated part (PLAIN's password) long enough
/// to matter.
pub fn typed_secret_forms(response_b64: &str) -> Vec<String> {
    let mut forms = vec![response_b64.to_string()];
    if let Ok(bytes) = STANDARD.decode(response_b64.trim()) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        forms.extend(
            text.split('\0')
                .filter(|p| p.len() >= 4)
                .map(str::to_string),
        );
    }
    forms
}

/// Whether a typed line may be kept in the history file: never an AUTH line, nor
/// anything typed while an AUTH exchange is open.
pub fn may_remember(line: &str, in_auth: bool) -> bool {
    !in_auth && !verb_of(line).eq_ignore_ascii_case("AUTH")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::DataEncoder;

    fn kind(line: &str) -> LineKind {
        match parse(line) {
            Typed::Smtp(l) => l.kind,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn smtp_lines_are_classified() {
        assert_eq!(kind("ehlo me.example"), LineKind::Ehlo);
        assert_eq!(kind("LHLO me.example"), LineKind::Ehlo);
        assert_eq!(kind("STARTTLS"), LineKind::StartTls);
        assert_eq!(kind("starttls now"), LineKind::Other);
        assert_eq!(kind("AUTH PLAIN"), LineKind::AuthBare(Mechanism::Plain));
        assert_eq!(
            kind("auth cram-md5"),
            LineKind::AuthBare(Mechanism::CramMd5)
        );
        assert_eq!(kind("AUTH PLAIN AGJvYgBzM2NyZXQ="), LineKind::AuthTyped);
        assert_eq!(kind("AUTH GSSAPI"), LineKind::Other);
        assert_eq!(kind("MAIL FROM:<a@b>"), LineKind::Batchable);
        assert_eq!(kind("data"), LineKind::Data);
        assert_eq!(kind("QUIT"), LineKind::Quit);
        assert_eq!(parse("   "), Typed::Empty);
    }

    #[test]
    fn a_line_that_would_break_the_protocol_is_not_sent() {
        assert!(matches!(parse("NOOP\rRSET"), Typed::SlashError(e) if e.contains("control")));
        let long = format!("NOOP {}", "x".repeat(600));
        assert!(matches!(parse(&long), Typed::SlashError(e) if e.contains("limit")));
        let long_auth = format!("AUTH PLAIN {}", "x".repeat(600));
        assert_eq!(kind(&long_auth), LineKind::AuthTyped);
    }

    #[test]
    fn slash_commands_and_typos() {
        assert_eq!(parse("/help"), Typed::Slash(Slash::Help));
        assert_eq!(parse("/QUIT"), Typed::Slash(Slash::Quit));
        assert_eq!(parse("/auth"), Typed::Slash(Slash::Auth(None)));
        assert_eq!(
            parse("/auth login"),
            Typed::Slash(Slash::Auth(Some(Mechanism::Login)))
        );
        assert_eq!(
            parse("/file /tmp/my message.eml"),
            Typed::Slash(Slash::File("/tmp/my message.eml".into()))
        );
        let err = |l: &str| match parse(l) {
            Typed::SlashError(e) => e,
            other => panic!("{other:?}"),
        };
        assert!(err("/hepl").contains("did you mean /help?"));
        assert!(err("/qiut").contains("did you mean /quit?"));
        assert!(err("/recon").contains("did you mean /reconnect?"));
        assert!(err("/zzzzzz").contains("/help lists"));
        assert!(err("/caps now").contains("no argument"));
        assert!(err("/file").contains("PATH"));
        assert!(err("/auth FOO").contains("unknown mechanism"));
    }

    #[test]
    fn content_lines_are_what_the_user_means() {
        assert_eq!(content_line("."), ContentLine::End);
        assert_eq!(content_line(".\r"), ContentLine::End);
        assert_eq!(content_line(".."), ContentLine::Text("..".into()));
        assert_eq!(
            content_line("/file a.eml"),
            ContentLine::File("a.eml".into())
        );
        assert_eq!(content_line("/files"), ContentLine::Text("/files".into()));
    }

    #[test]
    fn typed_content_is_dot_stuffed_on_the_wire() {
        let mut enc = DataEncoder::new();
        let mut out = Vec::new();
        for line in ["Subject: x", "", ".hidden", "..two", "end"] {
            enc.encode(format!("{line}\n").as_bytes(), &mut out);
        }
        enc.finish(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Subject: x\r\n\r\n..hidden\r\n...two\r\nend\r\n.\r\n"
        );
        assert_eq!(enc.stats().dots_stuffed, 2);
    }

    #[test]
    fn hand_typed_auth_is_scrubbed_and_never_remembered() {
        // AUTH PLAIN of "\0bob\0s3cret-canary"
        let b64 = STANDARD.encode(b"\0bob\0s3cret-canary");
        let forms = typed_secret_forms(&b64);
        assert!(forms.contains(&b64));
        assert!(forms.contains(&"s3cret-canary".to_string()));
        assert!(!may_remember(&format!("auth plain {b64}"), false));
        assert!(!may_remember("Ym9i", true));
        assert!(may_remember("MAIL FROM:<a@b>", false));
    }
}
