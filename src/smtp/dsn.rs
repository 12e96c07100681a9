//! Delivery status notification requests (RFC 3461): RET and ENVID on MAIL, NOTIFY and
//! ORCPT on each RCPT, with their values xtext-encoded.

use super::address::Address;
use super::command::Param;
use super::xtext;

/// RFC 3461 §4.1: when the sender wants a DSN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Notify {
    Never,
    Success,
    Failure,
    Delay,
}

impl Notify {
    fn keyword(self) -> &'static str {
        match self {
            Notify::Never => "NEVER",
            Notify::Success => "SUCCESS",
            Notify::Failure => "FAILURE",
            Notify::Delay => "DELAY",
        }
    }
}

/// RFC 3461 §4.3: how much of the message a failure DSN returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    Full,
    Hdrs,
}

/// RFC 3461 §4.4: ENVID is at most 100 characters.
pub const MAX_ENVID: usize = 100;

/// What the user asked of DSN; empty when nothing was asked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DsnRequest {
    notify: Vec<Notify>,
    ret: Option<Ret>,
    envid: Option<String>,
}

impl DsnRequest {
    /// Checks the combination: NEVER stands alone (RFC 3461 §4.1), and ENVID is 1 to 100
    /// printable ASCII characters (§4.4).
    pub fn new(
        notify: &[Notify],
        ret: Option<Ret>,
        envid: Option<&str>,
    ) -> Result<DsnRequest, String> {
        let mut notify = notify.to_vec();
        notify.sort_unstable();
        notify.dedup();
        if notify.contains(&Notify::Never) && notify.len() > 1 {
            return Err("NEVER cannot be combined with SUCCESS, FAILURE or DELAY".into());
        }
        if let Some(id) = envid {
            if id.is_empty() || id.chars().count() > MAX_ENVID {
                return Err(format!(
                    "must be 1 to {MAX_ENVID} characters (RFC 3461 §4.4)"
                ));
            }
            if !id.bytes().all(|b| (b' '..=b'~').contains(&b)) {
                return Err("must be printable ASCII (RFC 3461 §4.4)".into());
            }
        }
        Ok(DsnRequest {
            notify,
            ret,
            envid: envid.map(str::to_string),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.notify.is_empty() && self.ret.is_none() && self.envid.is_none()
    }

    /// RET and ENVID for MAIL FROM.
    pub fn mail_params(&self) -> Vec<Param> {
        let mut params = Vec::new();
        if let Some(ret) = self.ret {
            let v = match ret {
                Ret::Full => "FULL",
                Ret::Hdrs => "HDRS",
            };
            params.push(Param::new("RET", Some(v.into())));
        }
        if let Some(id) = &self.envid {
            params.push(Param::new("ENVID", Some(xtext::encode(id))));
        }
        params
    }

    /// NOTIFY and ORCPT for one RCPT TO. ORCPT records the recipient as given, so a DSN
    /// can name it even after forwarding (§4.2); it is sent whenever DSN was asked for.
    pub fn rcpt_params(&self, rcpt: &Address) -> Vec<Param> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut params = Vec::new();
        if !self.notify.is_empty() {
            let list: Vec<&str> = self.notify.iter().map(|n| n.keyword()).collect();
            params.push(Param::new("NOTIFY", Some(list.join(","))));
        }
        params.push(Param::new("ORCPT", Some(orcpt(rcpt))));
        params
    }
}

/// `rfc822;` with xtext for an ASCII address; RFC 6533's `utf-8;` with utf-8-addr-xtext
/// for one that is not, which is 7-bit and so safe with or without SMTPUTF8.
pub fn orcpt(rcpt: &Address) -> String {
    let text = rcpt.to_string();
    if text.is_ascii() {
        format!("rfc822;{}", xtext::encode(&text))
    } else {
        format!("utf-8;{}", xtext::encode_utf8_addr(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::{Command, ReversePath};

    fn addr(s: &str) -> Address {
        Address::parse(s).unwrap()
    }

    #[test]
    fn params_on_the_wire() {
        let dsn = DsnRequest::new(
            &[Notify::Failure, Notify::Success, Notify::Failure],
            Some(Ret::Hdrs),
            Some("id=1 +x"),
        )
        .unwrap();
        let mail = Command::Mail {
            from: ReversePath::parse("a@b.org").unwrap(),
            params: dsn.mail_params(),
        };
        assert_eq!(
            mail.encode().unwrap(),
            b"MAIL FROM:<a@b.org> RET=HDRS ENVID=id+3D1+20+2Bx\r\n"
        );
        let to = addr("bob+tag@example.org");
        let rcpt = Command::Rcpt {
            params: dsn.rcpt_params(&to),
            to,
        };
        assert_eq!(
            rcpt.encode().unwrap(),
            b"RCPT TO:<bob+tag@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+2Btag@example.org\r\n"
        );
    }

    #[test]
    fn never_stands_alone() {
        assert!(DsnRequest::new(&[Notify::Never, Notify::Delay], None, None).is_err());
        let never = DsnRequest::new(&[Notify::Never], None, None).unwrap();
        assert_eq!(
            never.rcpt_params(&addr("a@b.c"))[0],
            Param::new("NOTIFY", Some("NEVER".into()))
        );
    }

    #[test]
    fn envid_limits() {
        assert!(DsnRequest::new(&[], None, Some(&"x".repeat(101))).is_err());
        assert!(DsnRequest::new(&[], None, Some("")).is_err());
        assert!(DsnRequest::new(&[], None, Some("é")).is_err());
        assert!(DsnRequest::new(&[], None, Some("a\r\nb")).is_err());
        assert!(DsnRequest::new(&[], None, Some(&"x".repeat(100))).is_ok());
    }

    #[test]
    fn nothing_asked_nothing_sent() {
        let none = DsnRequest::default();
        assert!(none.is_empty());
        assert!(none.mail_params().is_empty());
        assert!(none.rcpt_params(&addr("a@b.c")).is_empty());
    }

    #[test]
    fn orcpt_for_a_utf8_address() {
        assert_eq!(
            orcpt(&addr("josé@example.org")),
            "utf-8;jos\\x{E9}@example.org"
        );
    }
}
