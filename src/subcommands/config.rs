//! `smtpx config show`: what a profile resolves to, with secrets kept out.

use serde_json::json;

use super::plan::Run;
use super::profile::Parsed;
use crate::cli::{ConfigAction, ConfigArgs};
use crate::config::Profile;
use crate::outcome::ExitCode;
use crate::render::{Status, Summary};

pub fn run(args: &ConfigArgs, parsed: &Parsed) -> u8 {
    let ConfigAction::Show { output } = &args.action;
    let mut run = Run::new(output);
    let file = match &parsed.config_path {
        Some(path) if path.exists() => format!("{}", path.display()),
        Some(path) => format!("{} (not found: no profiles)", path.display()),
        None => "none (no HOME or XDG_CONFIG_HOME)".to_string(),
    };
    let (name, profile) = match &parsed.profile {
        Some((name, p)) => (Some(name.as_str()), p.clone()),
        None => (None, Profile::default()),
    };
    let lines = describe(&file, name, &profile);
    run.renderer.report(
        &lines,
        json!({
            "type": "config",
            "file": parsed.config_path,
            "profile": name,
            "settings": redacted(&profile),
        }),
    );
    let summary = Summary::new(
        Status::Ok,
        ExitCode::Success,
        match name {
            Some(n) => format!("profile '{n}'; flags and environment variables override it"),
            None => "no profile in use: built-in defaults".to_string(),
        },
    );
    run.finish(&summary)
}

fn describe(file: &str, name: Option<&str>, p: &Profile) -> Vec<String> {
    let mut lines = vec![
        format!("config file       {file}"),
        format!("profile           {}", name.unwrap_or("(none)")),
    ];
    let show = |key: &str, value: Option<String>| {
        format!("{key:<17} {}", value.unwrap_or_else(|| "(default)".into()))
    };
    lines.push(show("server", p.server.clone()));
    lines.push(show("port", p.port.map(|n| n.to_string())));
    lines.push(show("tls", p.tls.clone()));
    lines.push(show(
        "tls_ca",
        p.tls_ca.as_ref().map(|c| c.display().to_string()),
    ));
    lines.push(show("helo", p.helo.clone()));
    lines.push(show("from", p.from.clone()));
    lines.push(show("user", p.user.clone()));
    lines.push(show("auth", p.auth.clone()));
    lines.push(format!("{:<17} {}", "password", password_source(p)));
    lines
}

/// Where the password comes from, never what it is: a command line may hold one too.
fn password_source(p: &Profile) -> String {
    match (&p.password_file, &p.password_command) {
        (Some(f), _) => format!("from file {} (contents not shown)", f.display()),
        (None, Some(_)) => "from a command (not shown)".to_string(),
        (None, None) => "(none: flags, environment or a prompt)".to_string(),
    }
}

fn redacted(p: &Profile) -> serde_json::Value {
    let mut v = serde_json::to_value(p).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        if obj.get("password_command").is_some_and(|c| !c.is_null()) {
            obj.insert("password_command".into(), json!("[redacted]"));
        }
        obj.retain(|_, value| !value.is_null());
    }
    v
}
