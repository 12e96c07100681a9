//! Where a password or token comes from: a file, an environment variable, a command, or
//! a prompt without echo. Never from the command line, where `ps` would show it.

use std::io::IsTerminal;
use std::path::Path;
use std::process::{Command, Stdio};

/// Where to read the secret from, in order of preference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    File(std::path::PathBuf),
    Env(String),
    Command(String),
    Prompt,
}

/// Reads the secret. Errors are one line and never contain the secret.
pub fn read(source: &SecretSource, user: &str) -> Result<String, String> {
    let value = match source {
        SecretSource::File(path) => from_file(path)?,
        SecretSource::Env(var) => std::env::var(var).map_err(|_| {
            format!("--password-env {var}: the variable is not set (or not valid UTF-8)")
        })?,
        SecretSource::Command(cmd) => from_command(cmd)?,
        SecretSource::Prompt => from_prompt(user)?,
    };
    let value = strip_line_end(value);
    if value.is_empty() {
        return Err(format!("{}: the password is empty", describe(source)));
    }
    Ok(value)
}

/// The flag a source came from, for messages.
pub fn describe(source: &SecretSource) -> String {
    match source {
        SecretSource::File(p) => format!("--password-file {}", p.display()),
        SecretSource::Env(v) => format!("--password-env {v}"),
        SecretSource::Command(_) => "--password-command".into(),
        SecretSource::Prompt => "the password prompt".into(),
    }
}

/// A file that others can read is not a secret any more: refuse it, as ssh does keys.
fn from_file(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("--password-file {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("--password-file {shown}: not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "--password-file {shown}: readable by group or others (mode {:o}); run chmod 600 {shown}",
                mode & 0o777
            ));
        }
    }
    std::fs::read_to_string(path).map_err(|e| format!("--password-file {shown}: {e}"))
}

fn from_command(cmd: &str) -> Result<String, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("--password-command: cannot run sh: {e}"))?;
    if !out.status.success() {
        return Err(format!("--password-command failed ({})", out.status));
    }
    String::from_utf8(out.stdout).map_err(|_| "--password-command: output is not UTF-8".into())
}

/// Prompts only where a person can answer: a terminal, outside CI.
fn from_prompt(user: &str) -> Result<String, String> {
    if !std::io::stdin().is_terminal() || std::env::var_os("CI").is_some() {
        return Err(
            "no password given: use --password-file, --password-env or --password-command (stdin is not a terminal, so there is no prompt)"
                .into(),
        );
    }
    rpassword::prompt_password(format!("Password for {user}: "))
        .map_err(|e| format!("reading the password failed: {e}"))
}

/// One trailing line end, as `echo` and editors add, is not part of the secret.
fn strip_line_end(mut s: String) -> String {
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn file_permissions_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            read(&SecretSource::File(path.clone()), "u").unwrap(),
            "s3cret"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read(&SecretSource::File(path), "u").unwrap_err();
        assert!(err.contains("readable by group or others"), "{err}");
        assert!(!err.contains("s3cret"));
    }

    #[test]
    fn command_output_is_used_without_its_newline() {
        let got = read(&SecretSource::Command("printf 'tok\\r\\n'".into()), "u").unwrap();
        assert_eq!(got, "tok");
        assert!(read(&SecretSource::Command("exit 3".into()), "u").is_err());
    }

    #[test]
    fn empty_and_missing_are_errors() {
        assert!(read(&SecretSource::Command("true".into()), "u").is_err());
        assert!(read(&SecretSource::Env("SMTPX_TEST_UNSET_VAR_XYZ".into()), "u").is_err());
    }
}
