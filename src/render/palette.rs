//! Colours, decided once per run and passed down, so renderers stay testable.

use colored::{ColoredString, Colorize};

use crate::smtp::ReplyClass;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Palette {
    pub enabled: bool,
}

impl Palette {
    pub const PLAIN: Palette = Palette { enabled: false };

    /// `--color auto|always|never` with NO_COLOR, CLICOLOR_FORCE and CI honoured.
    /// `is_tty` says whether the stream being coloured is a terminal.
    pub fn decide(
        choice: ColorChoice,
        is_tty: bool,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Palette {
        let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                if set("NO_COLOR") {
                    false
                } else if env("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
                    true
                } else {
                    is_tty && !set("CI") && env("TERM").as_deref() != Some("dumb")
                }
            }
        };
        Palette { enabled }
    }

    fn paint(&self, s: &str, f: impl Fn(&str) -> ColoredString) -> String {
        if self.enabled {
            f(s).to_string()
        } else {
            s.to_string()
        }
    }

    pub fn reply(&self, class: ReplyClass, s: &str) -> String {
        self.paint(s, |s| match class {
            ReplyClass::Positive => s.green(),
            ReplyClass::Intermediate => s.cyan(),
            ReplyClass::TransientNegative => s.yellow(),
            ReplyClass::PermanentNegative => s.red(),
        })
    }

    pub fn reply_code(&self, class: ReplyClass, s: &str) -> String {
        self.paint(s, |s| match class {
            ReplyClass::Positive => s.green().bold(),
            ReplyClass::Intermediate => s.cyan().bold(),
            ReplyClass::TransientNegative => s.yellow().bold(),
            ReplyClass::PermanentNegative => s.red().bold(),
        })
    }

    pub fn command(&self, s: &str) -> String {
        self.paint(s, |s| s.bold())
    }

    pub fn dim(&self, s: &str) -> String {
        self.paint(s, |s| s.dimmed())
    }

    pub fn good(&self, s: &str) -> String {
        self.paint(s, |s| s.green().bold())
    }

    pub fn bad(&self, s: &str) -> String {
        self.paint(s, |s| s.red().bold())
    }

    pub fn warn(&self, s: &str) -> String {
        self.paint(s, |s| s.yellow().bold())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn decisions() {
        let d = |c, tty, vars| Palette::decide(c, tty, &env(vars)).enabled;
        assert!(d(ColorChoice::Auto, true, &[]));
        assert!(!d(ColorChoice::Auto, false, &[]));
        assert!(!d(ColorChoice::Auto, true, &[("NO_COLOR", "1")]));
        assert!(!d(ColorChoice::Auto, true, &[("CI", "true")]));
        assert!(d(ColorChoice::Auto, false, &[("CLICOLOR_FORCE", "1")]));
        assert!(!d(ColorChoice::Auto, false, &[("CLICOLOR_FORCE", "0")]));
        assert!(d(ColorChoice::Always, false, &[("NO_COLOR", "1")]));
        assert!(!d(ColorChoice::Never, true, &[]));
    }
}
