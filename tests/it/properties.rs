//! Property tests of the sans-IO core through its public API, the same four surfaces
//! the cargo-fuzz targets in `fuzz/` hammer: the reply parser, the EHLO capability
//! parser, the DATA encoder and the command encoder. Inputs that once broke something
//! stay below as plain unit tests.

use proptest::prelude::*;
use smtpx::smtp::command::{MAX_AUTH_LINE, MAX_COMMAND_LINE};
use smtpx::smtp::{
    Address, Capabilities, Command, DataEncoder, Domain, Param, Parsed, Reply, ReplyError,
    ReplyLimits, ReplyParser, ReversePath,
};

// ---------------------------------------------------------------------------
// Reply parser
// ---------------------------------------------------------------------------

/// Feeds `input` in the given pieces and collects every reply, up to the first error.
fn parse_pieces(
    limits: ReplyLimits,
    input: &[u8],
    cuts: &[usize],
) -> Vec<Result<Reply, ReplyError>> {
    let mut parser = ReplyParser::new(limits);
    let mut out = Vec::new();
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    bounds.push(input.len());
    bounds.sort_unstable();
    let mut start = 0;
    for end in bounds {
        let mut rest = &input[start..end];
        start = end;
        while !rest.is_empty() {
            match parser.feed(rest) {
                Ok(Parsed::Complete { reply, consumed }) => {
                    assert!(
                        consumed > 0 && consumed <= rest.len(),
                        "consumed {consumed} of {}",
                        rest.len()
                    );
                    out.push(Ok(reply));
                    rest = &rest[consumed..];
                }
                Ok(Parsed::Incomplete) => break,
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }
    out
}

/// Bytes that look like replies often enough to get past the code check.
fn replyish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"250-".to_vec()),
        Just(b"250 ".to_vec()),
        Just(b"220 ".to_vec()),
        Just(b"354 ".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"251 ".to_vec()),
        Just(b"25x".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..12),
        "[ -~]{0,20}".prop_map(String::into_bytes),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// However the bytes are split, the parser sees the same replies and the same
    /// error, and every reply keeps to its limits.
    #[test]
    fn reply_parser_chunked_equals_one_shot(
        input in prop_oneof![replyish(), proptest::collection::vec(any::<u8>(), 0..400)],
        cuts in proptest::collection::vec(0usize..400, 0..10),
        max_line in 1usize..80,
        max_lines in 1usize..6,
    ) {
        let limits = ReplyLimits { max_line, max_lines };
        let whole = parse_pieces(limits, &input, &[]);
        let pieces = parse_pieces(limits, &input, &cuts);
        prop_assert_eq!(&pieces, &whole);
        let bytewise: Vec<usize> = (0..input.len()).collect();
        prop_assert_eq!(&parse_pieces(limits, &input, &bytewise), &whole);
        for reply in whole.iter().flatten() {
            prop_assert!(reply.lines.len() <= max_lines);
            prop_assert!((200..=559).contains(&reply.code.value()));
            for line in &reply.lines {
                prop_assert!(line.len() <= max_line * 3, "{} > {}", line.len(), max_line);
            }
            let _ = (reply.text(), reply.queue_id(), reply.enhanced_status(), reply.class());
        }
    }
}

// ---------------------------------------------------------------------------
// EHLO capabilities
// ---------------------------------------------------------------------------

fn ehlo_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("SIZE".to_string()),
        "SIZE [0-9a-z -]{0,25}",
        "AUTH[ =][A-Za-z0-9 =-]{0,30}",
        "auth=[a-z0-9-]{0,10}",
        "[ \t]*[A-Za-z0-9-]{0,10}[ \t]+[ -~]{0,20}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any EHLO reply text gives capabilities without a panic; keywords are single
    /// upper-case words and mechanisms unique.
    #[test]
    fn capabilities_never_panic_and_are_well_formed(lines in proptest::collection::vec(ehlo_line(), 0..12)) {
        let reply = Reply { code: smtpx::smtp::ReplyCode::OK, lines };
        let caps = Capabilities::from_ehlo(&reply);
        let _ = (caps.size(), caps.pipelining(), caps.starttls(), caps.smtputf8(), caps.eight_bit_mime());
        for cap in &caps.entries {
            prop_assert!(!cap.keyword.is_empty());
            prop_assert!(!cap.keyword.chars().any(char::is_whitespace));
            prop_assert_eq!(cap.keyword.to_ascii_uppercase(), cap.keyword.clone());
            prop_assert!(cap.params.iter().all(|p| !p.is_empty() && !p.chars().any(char::is_whitespace)));
            prop_assert!(caps.has(&cap.keyword.to_ascii_lowercase()));
        }
        let mechs = caps.auth_mechanisms();
        let mut unique = mechs.clone();
        unique.sort();
        unique.dedup();
        prop_assert_eq!(unique.len(), mechs.len());
        prop_assert!(mechs.iter().all(|m| !m.is_empty() && m.to_ascii_uppercase() == *m));
    }

    /// Bytes off the wire, through the parser, into capabilities.
    #[test]
    fn capabilities_from_parsed_bytes(input in replyish()) {
        for reply in parse_pieces(ReplyLimits::default(), &input, &[]).into_iter().flatten() {
            let caps = Capabilities::from_ehlo(&reply);
            let _ = (caps.size(), caps.auth_mechanisms());
        }
    }
}

// ---------------------------------------------------------------------------
// DATA encoder
// ---------------------------------------------------------------------------

fn message_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            Just(b'\r'),
            Just(b'\n'),
            Just(b'.'),
            Just(b'x'),
            Just(0u8),
            any::<u8>()
        ],
        0..600,
    )
}

fn encode_in_pieces(input: &[u8], cuts: &[usize]) -> (Vec<u8>, u64) {
    let mut enc = DataEncoder::new();
    let mut out = Vec::new();
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    bounds.push(input.len());
    bounds.sort_unstable();
    let mut start = 0;
    for end in bounds {
        enc.encode(&input[start..end], &mut out);
        start = end;
    }
    enc.finish(&mut out);
    (out, enc.stats().output_bytes)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Chunked equals one-shot; the output has no bare CR or LF, and the only place a
    /// receiver applying any lenient rule sees end-of-data is the very end.
    #[test]
    fn data_encoder_is_transparent(input in message_bytes(), cuts in proptest::collection::vec(0usize..600, 0..12)) {
        let (whole, counted) = encode_in_pieces(&input, &[]);
        let (pieces, _) = encode_in_pieces(&input, &cuts);
        prop_assert_eq!(&pieces, &whole);
        prop_assert_eq!(counted, whole.len() as u64);
        prop_assert!(whole.ends_with(b"\r\n.\r\n") || whole == b".\r\n");
        for (i, &b) in whole.iter().enumerate() {
            if b == b'\r' {
                prop_assert_eq!(whole.get(i + 1), Some(&b'\n'), "bare CR at {}", i);
            }
            if b == b'\n' {
                prop_assert!(i > 0 && whole[i - 1] == b'\r', "bare LF at {}", i);
            }
            let line_start = i == 0 || matches!(whole[i - 1], b'\r' | b'\n');
            let line_end = matches!(whole.get(i + 1), Some(b'\r' | b'\n'));
            if b == b'.' && line_start && line_end {
                prop_assert_eq!(i, whole.len() - 3, "early end-of-data at {}", i);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Command encoder
// ---------------------------------------------------------------------------

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,600}",
        "[a-zA-Z0-9.@<>:= -]{0,80}[\r\n\0\u{7f}\u{85}\u{2028}]?[a-zA-Z0-9 ]{0,20}",
        any::<String>(),
    ]
}

fn address() -> impl Strategy<Value = Option<Address>> {
    prop_oneof![
        "[a-zA-Z0-9.+_=-]{1,70}@[a-z0-9-]{1,70}(\\.[a-z0-9-]{1,70}){0,4}",
        "[^@]{0,20}@\\[[0-9.:a-fA-Fv6IP]{0,40}\\]",
        any::<String>(),
    ]
    .prop_map(|s| Address::parse(&s).ok())
}

fn param() -> impl Strategy<Value = Param> {
    (
        prop_oneof!["[A-Z0-9-]{1,12}", any::<String>()],
        proptest::option::of(prop_oneof!["[!-~]{1,40}", any::<String>()]),
    )
        .prop_map(|(k, v)| Param::new(&k, v))
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        text().prop_filter_map("EHLO name", |s| Domain::parse(&s).ok().map(Command::Ehlo)),
        text().prop_filter_map("HELO name", |s| Domain::parse(&s).ok().map(Command::Helo)),
        (address(), proptest::collection::vec(param(), 0..8)).prop_map(|(a, params)| {
            Command::Mail {
                from: a.map_or(ReversePath::Null, ReversePath::Mailbox),
                params,
            }
        }),
        (address(), proptest::collection::vec(param(), 0..8))
            .prop_filter_map("RCPT address", |(a, params)| a
                .map(|to| Command::Rcpt { to, params })),
        text().prop_map(Command::Vrfy),
        text().prop_map(Command::Expn),
        proptest::option::of(text()).prop_map(Command::Help),
        (
            text(),
            proptest::option::of(prop_oneof![
                "[A-Za-z0-9+/=]{0,300}",
                (12270usize..12300).prop_map(|n| "A".repeat(n)),
                text(),
            ])
        )
            .prop_map(|(mechanism, initial)| Command::Auth { mechanism, initial }),
        text().prop_map(Command::AuthResponse),
        (any::<u64>(), any::<bool>()).prop_map(|(size, last)| Command::Bdat { size, last }),
        Just(Command::Data),
        Just(Command::Quit),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Every encoded command is exactly one line: CRLF at the end and nowhere else, no
    /// NUL, within 512 octets (12288 for AUTH, RFC 4954 §4) — or it is refused.
    #[test]
    fn encoded_commands_are_one_bounded_line_or_an_error(cmd in command()) {
        let limit = match cmd {
            Command::Auth { .. } | Command::AuthResponse(_) => MAX_AUTH_LINE,
            _ => MAX_COMMAND_LINE,
        };
        if let Ok(bytes) = cmd.encode() {
            prop_assert!(bytes.len() <= limit, "{} octets", bytes.len());
            prop_assert!(bytes.ends_with(b"\r\n"));
            let line = &bytes[..bytes.len() - 2];
            prop_assert!(!line.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0), "{:?}", line.escape_ascii().to_string());
            prop_assert!(std::str::from_utf8(line).is_ok());
            if !cmd.is_secret() {
                let shown = cmd.redacted_line();
                prop_assert_eq!(shown.as_bytes(), line);
            }
        }
    }
}
