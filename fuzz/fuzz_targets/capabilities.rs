//! The EHLO capability parser on arbitrary reply text: no panic, keywords are single
//! upper-case words, mechanisms unique.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpx::smtp::{Capabilities, Reply, ReplyCode};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let caps = Capabilities::from_ehlo(&Reply {
        code: ReplyCode::OK,
        lines,
    });
    let _ = (
        caps.size(),
        caps.pipelining(),
        caps.starttls(),
        caps.smtputf8(),
    );
    for cap in &caps.entries {
        assert!(!cap.keyword.is_empty());
        assert!(!cap.keyword.chars().any(char::is_whitespace));
        assert_eq!(cap.keyword.to_ascii_uppercase(), cap.keyword);
    }
    let mechs = caps.auth_mechanisms();
    let mut unique = mechs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), mechs.len());
});
