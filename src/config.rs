//! Config profiles: `~/.config/smtpx/config.toml` (XDG), named settings a flag can
//! override. Precedence: flags > environment > profile > defaults.
//!
//! ```toml
//! default_profile = "work"
//!
//! [profiles.work]
//! server = "smtp.example.org:587"
//! tls = "starttls"
//! from = "Me <me@example.org>"
//! user = "me@example.org"
//! password_command = "pass show mail/work"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The profile used when neither `--profile` nor `SMTPX_PROFILE` names one.
    pub default_profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One named set of defaults. Every key is optional.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub server: Option<String>,
    pub port: Option<u16>,
    /// `starttls`, `implicit`, `opportunistic` or `none`.
    pub tls: Option<String>,
    pub tls_ca: Option<PathBuf>,
    pub helo: Option<String>,
    pub from: Option<String>,
    pub user: Option<String>,
    pub password_command: Option<String>,
    pub password_file: Option<PathBuf>,
    /// `auto`, `plain`, `login`, `cram-md5`, `scram-sha-256`, `xoauth2`, `oauthbearer`.
    pub auth: Option<String>,
}

/// Where the config file is: `--config`, else `$XDG_CONFIG_HOME/smtpx/config.toml`,
/// else `~/.config/smtpx/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("smtpx").join("config.toml"))
}

/// Reads and checks a config file. A missing default file is an empty config; a
/// missing file named with `--config` is an error.
pub fn load(path: &Path, explicit: bool) -> Result<ConfigFile, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            return Ok(ConfigFile::default());
        }
        Err(e) => return Err(format!("config file {}: {e}", path.display())),
    };
    parse(&text).map_err(|e| format!("config file {}: {e}", path.display()))
}

/// Parses config text; errors name the line and the key.
pub fn parse(text: &str) -> Result<ConfigFile, String> {
    let config: ConfigFile = toml::from_str(text).map_err(|e| describe(&e, text))?;
    for (name, profile) in &config.profiles {
        profile
            .check()
            .map_err(|e| format!("profile '{name}': {e}"))?;
    }
    Ok(config)
}

fn describe(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].lines().count().max(1);
            let line = if text[..span.start.min(text.len())].ends_with('\n') {
                line + 1
            } else {
                line
            };
            format!("line {line}: {message}")
        }
        None => message,
    }
}

impl Profile {
    fn check(&self) -> Result<(), String> {
        if let Some(tls) = &self.tls
            && !matches!(
                tls.as_str(),
                "starttls" | "implicit" | "opportunistic" | "none"
            )
        {
            return Err(format!(
                "key 'tls': '{tls}' is not one of starttls, implicit, opportunistic, none"
            ));
        }
        if let Some(auth) = &self.auth {
            let known = [
                "auto",
                "plain",
                "login",
                "cram-md5",
                "scram-sha-256",
                "xoauth2",
                "oauthbearer",
            ];
            if !known.contains(&auth.as_str()) {
                return Err(format!("key 'auth': '{auth}' is not a known mechanism"));
            }
        }
        if self.password_command.is_some() && self.password_file.is_some() {
            return Err("keys 'password_command' and 'password_file' exclude each other".into());
        }
        Ok(())
    }
}

impl ConfigFile {
    /// The profile to use: the one named (an unknown name is an error), else the default.
    pub fn select(&self, name: Option<&str>) -> Result<Option<(String, Profile)>, String> {
        let name = match name.or(self.default_profile.as_deref()) {
            Some(n) => n,
            None => return Ok(None),
        };
        match self.profiles.get(name) {
            Some(p) => Ok(Some((name.to_string(), p.clone()))),
            None => {
                let known: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
                Err(format!(
                    "no profile '{name}' in the config file (profiles: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
default_profile = "work"

[profiles.work]
server = "smtp.example.org:587"
tls = "starttls"
from = "me@example.org"
user = "me"
password_command = "pass show smtp"
auth = "plain"

[profiles.lab]
server = "127.0.0.1:2525"
tls = "none"
"#;

    #[test]
    fn parses_and_selects() {
        let c = parse(GOOD).unwrap();
        let (name, p) = c.select(None).unwrap().unwrap();
        assert_eq!(name, "work");
        assert_eq!(p.server.as_deref(), Some("smtp.example.org:587"));
        let (_, lab) = c.select(Some("lab")).unwrap().unwrap();
        assert_eq!(lab.tls.as_deref(), Some("none"));
        let err = c.select(Some("nope")).unwrap_err();
        assert!(err.contains("lab, work"), "{err}");
    }

    #[test]
    fn errors_name_the_line_and_key() {
        let err = parse("[profiles.a]\nserver = \"x\"\nsevrer = \"y\"\n").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("sevrer"), "{err}");
        let err = parse("[profiles.a]\nport = \"many\"\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let err = parse("[profiles.a]\ntls = \"maybe\"\n").unwrap_err();
        assert!(err.contains("key 'tls'"), "{err}");
        let err = parse("[profiles.a\n").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn missing_default_file_is_empty() {
        let c = load(Path::new("/nonexistent/smtpx/config.toml"), false).unwrap();
        assert_eq!(c, ConfigFile::default());
        assert!(load(Path::new("/nonexistent/smtpx/config.toml"), true).is_err());
    }
}
