//! The committed man pages and completions must match what the CLI generates. Outside CI
//! a stale file is rewritten (and the test still fails once, so the change is noticed).

use std::path::Path;

fn check(dir: &str, files: Vec<(String, Vec<u8>)>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut stale = Vec::new();
    for (name, want) in files {
        let path = root.join(&name);
        if std::fs::read(&path).ok().as_deref() != Some(want.as_slice()) {
            stale.push(name);
            if std::env::var_os("CI").is_none() {
                std::fs::create_dir_all(&root).unwrap();
                std::fs::write(&path, &want).unwrap();
            }
        }
    }
    assert!(
        stale.is_empty(),
        "{dir}/ is out of date with the CLI: {stale:?}. Regenerate with `cargo run -- generate` and commit."
    );
}

#[test]
fn man_pages_are_fresh() {
    check("man", smtpx::docs::man_pages().unwrap());
}

#[test]
fn completions_are_fresh() {
    check("completions", smtpx::docs::completions());
}

#[test]
fn man_pages_have_the_required_sections() {
    for (name, page) in smtpx::docs::man_pages().unwrap() {
        let text = String::from_utf8(page).unwrap();
        for section in [
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "EXAMPLES",
            "SECURITY",
        ] {
            assert!(
                text.contains(&format!(".SH \"{section}\""))
                    || text.contains(&format!(".SH {section}")),
                "{name} lacks {section}"
            );
        }
    }
}

#[test]
fn a_failure_outside_any_session_is_exit_1() {
    // Exit 1 is "anything else": here, a file that cannot be written.
    let out = crate::support::run::smtpx(&["generate", "--man-dir", "/proc/smtpx-cannot-write"]);
    assert_eq!(out.code, 1, "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(out.stderr.starts_with("smtpx: error:"), "{out}");
}
