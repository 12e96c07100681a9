//! Config profiles: precedence flags > environment > profile > defaults, errors that
//! name the line and key, and `config show` with secrets kept out.

use std::path::Path;

use crate::support::run::{Out, Smtpx};
use crate::support::scripted::{ScriptedServer, Step, expect, greeting_ehlo, happy_send, send};

fn smtpx(args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut run = Smtpx::new().args(args);
    for (k, v) in env {
        run = run.env(k, v);
    }
    run.run()
}

fn write_config(dir: &Path, text: &str) -> String {
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn the_profile_supplies_the_server_and_sender() {
    let server = ScriptedServer::start(happy_send(1));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "default_profile = \"lab\"\n[profiles.lab]\nserver = \"{}\"\ntls = \"none\"\nfrom = \"lab@example.org\"\nhelo = \"lab.example.org\"\n",
            server.server_arg()
        ),
    );
    let out = smtpx(
        &[
            "--config",
            &config,
            "send",
            "--to",
            "you@example.org",
            "--no-timing",
        ],
        &[],
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(record.commands[0], "EHLO lab.example.org");
    assert!(record.commands[1].starts_with("MAIL FROM:<lab@example.org>"));
}

#[test]
fn flags_beat_the_profile() {
    let server = ScriptedServer::start(happy_send(1));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[profiles.lab]\nserver = \"127.0.0.1:1\"\nfrom = \"lab@example.org\"\n",
    );
    let out = smtpx(
        &[
            "send",
            "--config",
            &config,
            "--profile",
            "lab",
            "--server",
            &server.server_arg(),
            "--from",
            "flag@example.org",
            "--to",
            "you@example.org",
            "--tls",
            "none",
        ],
        &[],
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(record.commands[1].starts_with("MAIL FROM:<flag@example.org>"));
}

#[test]
fn environment_selects_the_profile_and_xdg_finds_the_file() {
    let server = ScriptedServer::start(happy_send(1));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("smtpx")).unwrap();
    write_config(
        &dir.path().join("smtpx"),
        &format!(
            "default_profile = \"other\"\n[profiles.other]\nserver = \"127.0.0.1:1\"\n[profiles.lab]\nserver = \"{}\"\ntls = \"none\"\n",
            server.server_arg()
        ),
    );
    let xdg = dir.path().display().to_string();
    let out = smtpx(
        &["send", "--to", "you@example.org"],
        &[("XDG_CONFIG_HOME", &xdg), ("SMTPX_PROFILE", "lab")],
    );
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn a_password_command_from_the_profile_is_used() {
    let mut script = greeting_ehlo(&["AUTH PLAIN", "PIPELINING"]);
    script.extend([
        expect("AUTH PLAIN AHRpbQB0YW5zdGFhZg=="),
        send("235 ok\r\n"),
    ]);
    script.extend([expect("QUIT"), send("221 bye\r\n"), Step::Close]);
    let server = ScriptedServer::start(script);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "[profiles.p]\nserver = \"{}\"\ntls = \"none\"\nuser = \"tim\"\npassword_command = \"echo tanstaaf\"\nauth = \"plain\"\n",
            server.server_arg()
        ),
    );
    let out = smtpx(
        &[
            "send",
            "--config",
            &config,
            "--profile",
            "p",
            "--to",
            "a@example.org",
            "--allow-insecure-auth",
            "--quit-after",
            "auth",
        ],
        &[],
    );
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("tanstaaf"));
}

#[test]
fn a_bad_config_names_the_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[profiles.lab]\nserver = \"x:25\"\nsevrer = \"y\"\n",
    );
    let out = smtpx(&["--config", &config, "send", "--to", "a@b.c"], &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("line 3"), "{}", out.stderr);
    assert!(out.stderr.contains("sevrer"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

#[test]
fn an_unknown_profile_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "[profiles.lab]\nserver = \"x:25\"\n");
    let out = smtpx(
        &[
            "--config",
            &config,
            "--profile",
            "nope",
            "send",
            "--to",
            "a@b.c",
        ],
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no profile 'nope'"), "{}", out.stderr);
    assert!(out.stderr.contains("lab"), "{}", out.stderr);
    let missing = smtpx(
        &[
            "--config",
            "/nonexistent/config.toml",
            "send",
            "--to",
            "a@b.c",
        ],
        &[],
    );
    assert_eq!(missing.code, 2);
}

#[test]
fn config_show_redacts_the_password_command() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[profiles.work]\nserver = \"smtp.example.org:587\"\nuser = \"me\"\npassword_command = \"echo hunter2\"\n",
    );
    let out = smtpx(
        &["config", "show", "--config", &config, "--profile", "work"],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("smtp.example.org:587"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("from a command (not shown)"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("hunter2"), "{}", out.stdout);
    let json = smtpx(
        &[
            "config",
            "show",
            "--config",
            &config,
            "--profile",
            "work",
            "--json",
        ],
        &[],
    );
    assert!(!json.stdout.contains("hunter2"), "{}", json.stdout);
    let first: serde_json::Value =
        serde_json::from_str(json.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["settings"]["password_command"], "[redacted]");
}
