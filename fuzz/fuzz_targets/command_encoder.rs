//! The command encoder on arbitrary arguments: every encoded command is one line of at
//! most 512 octets (12288 for AUTH) with no NUL, or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpx::smtp::command::{MAX_AUTH_LINE, MAX_COMMAND_LINE};
use smtpx::smtp::{Address, Command, Domain, Param, ReversePath};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    // 0x1f separates the main argument from ESMTP parameters, '=' a keyword from its value.
    let mut parts = text.split('\u{1f}');
    let arg = parts.next().unwrap_or_default().to_string();
    let params: Vec<Param> = parts
        .map(|p| match p.split_once('=') {
            Some((k, v)) => Param::new(k, Some(v.to_string())),
            None => Param::new(p, None),
        })
        .collect();
    let cmd = match which % 11 {
        0 => Domain::parse(&arg).ok().map(Command::Ehlo),
        1 => Domain::parse(&arg).ok().map(Command::Helo),
        2 => ReversePath::parse(&arg)
            .ok()
            .map(|from| Command::Mail { from, params }),
        3 => Address::parse(&arg)
            .ok()
            .map(|to| Command::Rcpt { to, params }),
        4 => Some(Command::Vrfy(arg)),
        5 => Some(Command::Expn(arg)),
        6 => Some(Command::Help(Some(arg))),
        7 => Some(Command::Auth {
            mechanism: "PLAIN".into(),
            initial: Some(arg),
        }),
        8 => Some(Command::Auth {
            mechanism: arg,
            initial: None,
        }),
        9 => Some(Command::AuthResponse(arg)),
        _ => Some(Command::Bdat {
            size: rest.len() as u64,
            last: which & 0x80 != 0,
        }),
    };
    let Some(cmd) = cmd else {
        return;
    };
    let limit = match cmd {
        Command::Auth { .. } | Command::AuthResponse(_) => MAX_AUTH_LINE,
        _ => MAX_COMMAND_LINE,
    };
    if let Ok(bytes) = cmd.encode() {
        assert!(bytes.len() <= limit);
        assert!(bytes.ends_with(b"\r\n"));
        let line = &bytes[..bytes.len() - 2];
        assert!(!line.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0));
    }
});
