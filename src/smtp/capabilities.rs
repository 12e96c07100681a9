//! EHLO capabilities (RFC 5321 §4.1.1.1): the extensions a server offers.

use super::reply::Reply;

/// Keywords are kept in the order the server sent them; lookups are case-insensitive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The greeting name on the EHLO reply's first line.
    pub server_name: String,
    pub entries: Vec<Capability>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capability {
    /// Upper-cased keyword.
    pub keyword: String,
    pub params: Vec<String>,
}

impl Capability {
    /// This keyword's parameter read as RFC 1870 §3 `SIZE [1*DIGIT]`.
    pub fn size_limit(&self) -> SizeLimit {
        match self.params.first() {
            None => SizeLimit::Unlimited,
            Some(v) if !v.bytes().all(|b| b.is_ascii_digit()) => SizeLimit::Unparseable,
            Some(v) => match v.parse::<u64>() {
                Ok(0) => SizeLimit::Unlimited,
                Ok(n) => SizeLimit::Bytes(n),
                Err(_) => SizeLimit::Unparseable,
            },
        }
    }
}

/// What RFC 1870 SIZE says about the message size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeLimit {
    /// `SIZE` or `SIZE 0`: the extension is there but states no limit.
    Unlimited,
    Bytes(u64),
    /// A value that is not a number (`SIZE abc`) or does not fit 64 bits.
    Unparseable,
}

impl Capabilities {
    /// Parses a positive EHLO reply. Malformed lines become keywords with no
    /// meaning to us rather than errors: the server's other capabilities still count.
    pub fn from_ehlo(reply: &Reply) -> Capabilities {
        let mut lines = reply.lines.iter();
        let server_name = lines
            .next()
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_default()
            .to_string();
        let entries = lines
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                let keyword = words.next()?.to_ascii_uppercase();
                Some(Capability {
                    keyword,
                    params: words.map(str::to_string).collect(),
                })
            })
            .collect();
        Capabilities {
            server_name,
            entries,
        }
    }

    pub fn get(&self, keyword: &str) -> Option<&Capability> {
        self.entries
            .iter()
            .find(|c| c.keyword.eq_ignore_ascii_case(keyword))
    }

    pub fn has(&self, keyword: &str) -> bool {
        self.get(keyword).is_some()
    }

    pub fn size(&self) -> Option<SizeLimit> {
        self.get("SIZE").map(Capability::size_limit)
    }

    /// SASL mechanisms offered, upper-cased. Also reads the pre-standard `AUTH=` form.
    pub fn auth_mechanisms(&self) -> Vec<String> {
        let mut mechs: Vec<String> = Vec::new();
        for cap in &self.entries {
            let params: Vec<&str> = if cap.keyword == "AUTH" {
                cap.params.iter().map(String::as_str).collect()
            } else if let Some(first) = cap.keyword.strip_prefix("AUTH=") {
                std::iter::once(first)
                    .chain(cap.params.iter().map(String::as_str))
                    .collect()
            } else {
                continue;
            };
            for m in params {
                let m = m.to_ascii_uppercase();
                if !m.is_empty() && !mechs.contains(&m) {
                    mechs.push(m);
                }
            }
        }
        mechs
    }

    pub fn pipelining(&self) -> bool {
        self.has("PIPELINING")
    }

    pub fn starttls(&self) -> bool {
        self.has("STARTTLS")
    }

    pub fn eight_bit_mime(&self) -> bool {
        self.has("8BITMIME")
    }

    pub fn smtputf8(&self) -> bool {
        self.has("SMTPUTF8")
    }

    /// RFC 3030 BDAT.
    pub fn chunking(&self) -> bool {
        self.has("CHUNKING")
    }

    /// RFC 3461 delivery status notifications.
    pub fn dsn(&self) -> bool {
        self.has("DSN")
    }

    /// What changed from these capabilities to `after` (e.g. across STARTTLS, where
    /// RFC 3207 §4.2 has the server announce its list afresh), keyword by keyword.
    pub fn changes_to(&self, after: &Capabilities) -> CapabilityChanges {
        let mut changes = CapabilityChanges::default();
        for (i, cap) in self.entries.iter().enumerate() {
            // A keyword listed twice is judged once, by its first line.
            if self.entries[..i].iter().any(|c| c.keyword == cap.keyword) {
                continue;
            }
            match after.get(&cap.keyword) {
                None => changes.removed.push(cap.clone()),
                Some(new) if new.params != cap.params => {
                    changes.changed.push((cap.clone(), new.clone()));
                }
                Some(_) => {}
            }
        }
        for cap in &after.entries {
            if !self.has(&cap.keyword) && !changes.added.iter().any(|c| c.keyword == cap.keyword) {
                changes.added.push(cap.clone());
            }
        }
        changes
    }
}

/// The difference between two capability lists, in the order each list gave them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CapabilityChanges {
    pub added: Vec<Capability>,
    pub removed: Vec<Capability>,
    /// Same keyword, other parameters: (before, after).
    pub changed: Vec<(Capability, Capability)>,
}

impl CapabilityChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(lines: &[&str]) -> Capabilities {
        Capabilities::from_ehlo(&Reply::new(250, lines))
    }

    #[test]
    fn parses_a_postfix_ehlo() {
        let c = caps(&[
            "mx.example.org",
            "PIPELINING",
            "SIZE 10240000",
            "VRFY",
            "ETRN",
            "STARTTLS",
            "AUTH PLAIN LOGIN",
            "AUTH=PLAIN LOGIN",
            "ENHANCEDSTATUSCODES",
            "8BITMIME",
            "DSN",
            "SMTPUTF8",
            "CHUNKING",
        ]);
        assert_eq!(c.server_name, "mx.example.org");
        assert!(c.pipelining() && c.starttls() && c.eight_bit_mime() && c.smtputf8());
        assert_eq!(c.size(), Some(SizeLimit::Bytes(10_240_000)));
        assert_eq!(c.auth_mechanisms(), vec!["PLAIN", "LOGIN"]);
        assert!(c.has("chunking"));
    }

    #[test]
    fn hostile_size_values() {
        assert_eq!(caps(&["x", "SIZE"]).size(), Some(SizeLimit::Unlimited));
        assert_eq!(caps(&["x", "SIZE 0"]).size(), Some(SizeLimit::Unlimited));
        assert_eq!(
            caps(&["x", "SIZE abc"]).size(),
            Some(SizeLimit::Unparseable)
        );
        assert_eq!(
            caps(&["x", "SIZE 99999999999999999999"]).size(),
            Some(SizeLimit::Unparseable)
        );
        assert_eq!(caps(&["x", "SIZE -1"]).size(), Some(SizeLimit::Unparseable));
        assert_eq!(caps(&["x"]).size(), None);
    }

    #[test]
    fn changes_across_starttls() {
        let before = caps(&["x", "PIPELINING", "STARTTLS", "SIZE 100", "AUTH LOGIN"]);
        let after = caps(&[
            "x",
            "PIPELINING",
            "SIZE 200",
            "AUTH PLAIN LOGIN",
            "AUTH=LOGIN",
        ]);
        let d = before.changes_to(&after);
        let names = |v: &[Capability]| v.iter().map(|c| c.keyword.clone()).collect::<Vec<_>>();
        assert_eq!(names(&d.added), ["AUTH=LOGIN"]);
        assert_eq!(names(&d.removed), ["STARTTLS"]);
        assert_eq!(d.changed.len(), 2);
        assert_eq!(d.changed[0].1.params, ["200"]);
        assert!(before.changes_to(&before).is_empty());
        let twice = caps(&["x", "AUTH PLAIN", "AUTH LOGIN", "AUTH LOGIN"]);
        assert!(twice.changes_to(&twice).is_empty());
    }

    #[test]
    fn empty_and_odd_lines() {
        let c = caps(&["", "", "  X-FOO  bar  ", "auth=cram-md5"]);
        assert_eq!(c.server_name, "");
        assert_eq!(c.get("x-foo").unwrap().params, vec!["bar"]);
        assert_eq!(c.auth_mechanisms(), vec!["CRAM-MD5"]);
    }
}
