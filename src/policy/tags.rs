//! The `name=value; name=value` tag lists of MTA-STS and TLS-RPT TXT records.

/// One TXT record's tags, in order, after checking that it starts with `version`
/// (e.g. `v=STSv1`) followed by a separator or the end.
///
/// Separators are `;` with optional spaces or tabs around them, and one may end the
/// record (RFC 8461 §3.1, RFC 8460 §3). Names and values may not be empty, and values
/// hold no `;`, spaces or controls.
pub fn parse<'a>(record: &'a str, version: &str) -> Result<Vec<(&'a str, &'a str)>, TagError> {
    let rest = record.strip_prefix(version).ok_or(TagError::NotThisKind)?;
    if !(rest.is_empty() || rest.trim_start_matches([' ', '\t']).starts_with(';')) {
        return Err(TagError::NotThisKind);
    }
    let mut tags = Vec::new();
    let fields: Vec<&str> = rest.split(';').skip(1).collect();
    for (i, field) in fields.iter().enumerate() {
        let field = field.trim_matches([' ', '\t']);
        if field.is_empty() {
            // Only a trailing separator may leave an empty field.
            if i + 1 == fields.len() {
                continue;
            }
            return Err(TagError::Malformed("empty field between separators".into()));
        }
        let (name, value) = field
            .split_once('=')
            .ok_or_else(|| TagError::Malformed(format!("{field:?} is not name=value")))?;
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if !name_ok {
            return Err(TagError::Malformed(format!("bad field name {name:?}")));
        }
        if value.is_empty() || value.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
            return Err(TagError::Malformed(format!(
                "bad value for {name}: {value:?}"
            )));
        }
        tags.push((name, value));
    }
    Ok(tags)
}

/// Of a name's TXT records, the one that starts with `version`: those that do not are
/// someone else's, and more than one means none counts (RFC 8461 §3.1, RFC 8460 §3).
pub fn select_one<'a>(txts: &'a [String], version: &str) -> Result<&'a str, Selection> {
    let ours: Vec<&String> = txts
        .iter()
        .filter(|t| parse(t, version) != Err(TagError::NotThisKind))
        .collect();
    match ours.as_slice() {
        [] => Err(Selection::Absent),
        [one] => Ok(one.as_str()),
        many => Err(Selection::Several(many.len())),
    }
}

/// Why [`select_one`] found no record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    Absent,
    Several(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagError {
    /// The record does not start with the version tag: it is some other TXT record.
    NotThisKind,
    Malformed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_first_then_fields() {
        let tags = parse("v=STSv1; id=20160831085700Z;", "v=STSv1").unwrap();
        assert_eq!(tags, [("id", "20160831085700Z")]);
        let tags = parse("v=STSv1 ;\tid=abc ; ext=1", "v=STSv1").unwrap();
        assert_eq!(tags, [("id", "abc"), ("ext", "1")]);
        assert_eq!(parse("v=STSv1", "v=STSv1").unwrap(), []);
    }

    #[test]
    fn other_records_are_not_this_kind() {
        assert_eq!(parse("v=spf1 -all", "v=STSv1"), Err(TagError::NotThisKind));
        assert_eq!(
            parse("v=STSv10; id=1", "v=STSv1"),
            Err(TagError::NotThisKind)
        );
        assert_eq!(
            parse("id=1; v=STSv1", "v=STSv1"),
            Err(TagError::NotThisKind)
        );
    }

    #[test]
    fn malformed_fields() {
        for bad in [
            "v=STSv1; id",
            "v=STSv1; =x",
            "v=STSv1; id=",
            "v=STSv1; id=a b",
            "v=STSv1;; id=a",
        ] {
            assert!(
                matches!(parse(bad, "v=STSv1"), Err(TagError::Malformed(_))),
                "{bad}"
            );
        }
    }
}
