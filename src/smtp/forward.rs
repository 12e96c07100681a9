//! Postfix's XCLIENT and XFORWARD: a proxy or content filter tells the server about the
//! client it speaks for (www.postfix.org/XCLIENT_README.html, XFORWARD_README.html).
//! Attribute values are xtext; a list too long for one 512-octet command line goes as
//! several commands, which both extensions allow.

use std::fmt;

use super::capabilities::Capabilities;
use super::command::{Command, MAX_COMMAND_LINE};
use super::xtext;

/// Which of the two extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forwarding {
    Xclient,
    Xforward,
}

impl Forwarding {
    /// The EHLO keyword and command verb.
    pub fn keyword(self) -> &'static str {
        match self {
            Forwarding::Xclient => "XCLIENT",
            Forwarding::Xforward => "XFORWARD",
        }
    }

    /// The attribute names Postfix defines for the extension.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Forwarding::Xclient => &[
                "ADDR",
                "NAME",
                "REVERSE_NAME",
                "PORT",
                "PROTO",
                "HELO",
                "LOGIN",
                "DESTADDR",
                "DESTPORT",
            ],
            Forwarding::Xforward => &["NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE"],
        }
    }

    fn command(self, attrs: Vec<Attribute>) -> Command {
        match self {
            Forwarding::Xclient => Command::Xclient(attrs),
            Forwarding::Xforward => Command::Xforward(attrs),
        }
    }

    /// The attribute names the server lists after its EHLO keyword; None when it does
    /// not offer the extension.
    pub fn offered(self, caps: &Capabilities) -> Option<Vec<String>> {
        caps.get(self.keyword()).map(|c| {
            c.params
                .iter()
                .map(|p| p.to_ascii_uppercase())
                .collect::<Vec<_>>()
        })
    }
}

impl fmt::Display for Forwarding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// One `NAME=value` attribute; the value is kept as typed and xtext-encoded on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// Upper-cased.
    pub name: String,
    pub value: String,
}

impl Attribute {
    pub fn new(name: &str, value: &str) -> Attribute {
        Attribute {
            name: name.to_ascii_uppercase(),
            value: value.to_string(),
        }
    }

    /// `ATTR=VALUE` as typed, checked against the extension's attribute names.
    pub fn parse(kind: Forwarding, text: &str) -> Result<Attribute, String> {
        let flag = kind.keyword().to_ascii_lowercase();
        let Some((name, value)) = text.split_once('=') else {
            return Err(format!(
                "invalid --{flag} '{}': expected ATTR=VALUE",
                text.escape_debug()
            ));
        };
        let upper = name.trim().to_ascii_uppercase();
        if !kind.names().contains(&upper.as_str()) {
            return Err(format!(
                "invalid --{flag} '{}': {kind} has no attribute '{}' (known: {})",
                text.escape_debug(),
                name.escape_debug(),
                kind.names().join(", ")
            ));
        }
        if value.is_empty() {
            return Err(format!(
                "invalid --{flag} '{}': empty value (Postfix spells an unknown value [UNAVAILABLE])",
                text.escape_debug()
            ));
        }
        let attr = Attribute::new(&upper, value);
        // One attribute must fit a command line on its own.
        let len = kind.keyword().len() + 1 + attr.encoded().len() + 2;
        if len > MAX_COMMAND_LINE {
            return Err(format!(
                "invalid --{flag} {upper}=...: {len} octets as a command, over the limit of {MAX_COMMAND_LINE} (RFC 5321 §4.5.3.1.4)"
            ));
        }
        Ok(attr)
    }

    /// `NAME=xtext`, as it goes on the wire.
    pub fn encoded(&self) -> String {
        format!("{}={}", self.name, xtext::encode(&self.value))
    }
}

/// Attributes that say who the client is. Postfix decides whether XCLIENT is allowed
/// from the client as the previous XCLIENT left it, so these go in the last command:
/// sent earlier, they would make the next command come from an unauthorised client.
const IDENTITY: [&str; 3] = ["NAME", "ADDR", "REVERSE_NAME"];

/// The attributes split into as few commands as fit the 512-octet line limit; for
/// XCLIENT the identity attributes (NAME, ADDR, REVERSE_NAME) in the last one.
/// Otherwise in the order given.
pub fn commands(kind: Forwarding, attrs: &[Attribute]) -> Vec<Command> {
    // XFORWARD changes nothing about who may send it: the order given stands.
    let (identity, other): (Vec<&Attribute>, Vec<&Attribute>) = attrs
        .iter()
        .partition(|a| kind == Forwarding::Xclient && IDENTITY.contains(&a.name.as_str()));
    // Packed from the end, so the last command is filled first, with the identity.
    let mut groups: Vec<Vec<Attribute>> = Vec::new();
    let mut group: Vec<Attribute> = Vec::new();
    let mut len = kind.keyword().len() + 2;
    for attr in identity.iter().rev().chain(other.iter().rev()) {
        let extra = 1 + attr.encoded().len();
        if !group.is_empty() && len + extra > MAX_COMMAND_LINE {
            groups.push(std::mem::take(&mut group));
            len = kind.keyword().len() + 2;
        }
        len += extra;
        group.push((*attr).clone());
    }
    if !group.is_empty() {
        groups.push(group);
    }
    groups
        .into_iter()
        .rev()
        .map(|mut g| {
            g.reverse();
            kind.command(g)
        })
        .collect()
}

/// The attributes the server lists, and the names of those it does not.
pub fn listed(attrs: &[Attribute], offered: &[String]) -> (Vec<Attribute>, Vec<String>) {
    let (kept, dropped): (Vec<&Attribute>, Vec<&Attribute>) =
        attrs.iter().partition(|a| offered.contains(&a.name));
    (
        kept.into_iter().cloned().collect(),
        dropped.into_iter().map(|a| a.name.clone()).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::Reply;
    use proptest::prelude::*;

    #[test]
    fn parses_known_attributes_in_any_case() {
        let a = Attribute::parse(Forwarding::Xclient, "addr=192.0.2.7").unwrap();
        assert_eq!(a, Attribute::new("ADDR", "192.0.2.7"));
        assert!(Attribute::parse(Forwarding::Xclient, "IDENT=x").is_err());
        assert!(Attribute::parse(Forwarding::Xforward, "IDENT=x").is_ok());
        assert!(Attribute::parse(Forwarding::Xforward, "DESTADDR=x").is_err());
        assert!(Attribute::parse(Forwarding::Xclient, "ADDR").is_err());
        assert!(Attribute::parse(Forwarding::Xclient, "ADDR=").is_err());
        assert!(
            Attribute::parse(Forwarding::Xclient, &format!("NAME={}", "x".repeat(600))).is_err()
        );
    }

    #[test]
    fn values_are_xtext() {
        let a = Attribute::new("HELO", "evil\r\nMAIL FROM:<x>");
        assert_eq!(a.encoded(), "HELO=evil+0D+0AMAIL+20FROM:<x>");
        let cmd = Command::Xclient(vec![a]);
        assert!(cmd.encode().is_ok());
    }

    #[test]
    fn reads_what_the_server_lists() {
        let reply = Reply::new(
            250,
            &[
                "mx.example",
                "XCLIENT NAME ADDR PROTO HELO",
                "XFORWARD name addr",
            ],
        );
        let caps = Capabilities::from_ehlo(&reply);
        assert_eq!(
            Forwarding::Xclient.offered(&caps),
            Some(vec![
                "NAME".into(),
                "ADDR".into(),
                "PROTO".into(),
                "HELO".into()
            ])
        );
        assert_eq!(
            Forwarding::Xforward.offered(&caps),
            Some(vec!["NAME".into(), "ADDR".into()])
        );
        let none = Capabilities::from_ehlo(&Reply::new(250, &["mx.example"]));
        assert_eq!(Forwarding::Xclient.offered(&none), None);
        let attrs = [Attribute::new("ADDR", "1"), Attribute::new("LOGIN", "u")];
        let (kept, dropped) = listed(&attrs, &["ADDR".into(), "NAME".into()]);
        assert_eq!(kept, vec![Attribute::new("ADDR", "1")]);
        assert_eq!(dropped, vec!["LOGIN".to_string()]);
    }

    #[test]
    fn long_lists_are_split_with_the_identity_last() {
        let attrs: Vec<Attribute> = ["NAME", "HELO", "LOGIN"]
            .iter()
            .map(|n| Attribute::new(n, &"h".repeat(200)))
            .collect();
        let cmds = commands(Forwarding::Xclient, &attrs);
        assert_eq!(cmds.len(), 2);
        let names = |c: &Command| match c {
            Command::Xclient(g) => g.iter().map(|a| a.name.clone()).collect::<Vec<_>>(),
            _ => panic!(),
        };
        assert_eq!(names(&cmds[0]), ["HELO"]);
        assert_eq!(names(&cmds[1]), ["LOGIN", "NAME"]);
        let short = [
            Attribute::new("ADDR", "192.0.2.1"),
            Attribute::new("HELO", "x"),
            Attribute::new("NAME", "n"),
        ];
        let one = commands(Forwarding::Xclient, &short);
        assert_eq!(one.len(), 1);
        assert_eq!(names(&one[0]), ["HELO", "ADDR", "NAME"]);
        let Command::Xforward(kept) = &commands(Forwarding::Xforward, &short)[0] else {
            panic!()
        };
        assert_eq!(kept, &short.to_vec());
        assert!(commands(Forwarding::Xforward, &[]).is_empty());
    }

    proptest! {
        #[test]
        fn every_attribute_goes_once_within_the_limit_identity_last(
            values in proptest::collection::vec(".{1,150}", 0..12)
        ) {
            let names = Forwarding::Xclient.names();
            let attrs: Vec<Attribute> = values
                .iter()
                .enumerate()
                .map(|(i, v)| Attribute::new(names[i % names.len()], v))
                .filter(|a| a.encoded().len() + 10 <= MAX_COMMAND_LINE)
                .collect();
            let cmds = commands(Forwarding::Xclient, &attrs);
            let mut seen = Vec::new();
            for cmd in &cmds {
                let bytes = cmd.encode().expect("encodes");
                prop_assert!(bytes.len() <= MAX_COMMAND_LINE);
                let Command::Xclient(group) = cmd else { unreachable!() };
                prop_assert!(!group.is_empty());
                seen.extend(group.iter().cloned());
            }
            let mut want = attrs.clone();
            let key = |a: &Attribute| (a.name.clone(), a.value.clone());
            want.sort_by_key(key);
            seen.sort_by_key(key);
            prop_assert_eq!(&seen, &want);
            // When the identity attributes fit one command, they share the last one.
            let identity: Vec<&Attribute> =
                attrs.iter().filter(|a| IDENTITY.contains(&a.name.as_str())).collect();
            let identity_len: usize =
                identity.iter().map(|a| a.encoded().len() + 1).sum::<usize>() + 9;
            if !identity.is_empty() && identity_len <= MAX_COMMAND_LINE {
                let Some(Command::Xclient(last)) = cmds.last() else { unreachable!() };
                for a in identity {
                    prop_assert!(last.contains(a));
                }
            }
        }
    }
}
