//! SMTP TLS Reporting (RFC 8460): the `_smtp._tls.DOMAIN` TXT record.

use super::tags::{self, Selection};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRptRecord {
    /// Where aggregate reports go, in record order.
    pub rua: Vec<ReportUri>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportUri {
    Mailto(String),
    Https(String),
}

impl std::fmt::Display for ReportUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReportUri::Mailto(a) => write!(f, "mailto:{a}"),
            ReportUri::Https(u) => f.write_str(u),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    Absent,
    /// More than one record: senders must not send reports (§3).
    Several(usize),
    Malformed(String),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Absent => f.write_str("no v=TLSRPTv1 TXT record"),
            RecordError::Several(n) => write!(
                f,
                "{n} TXT records start with v=TLSRPTv1; exactly one is allowed (RFC 8460 §3), so no reports are sent"
            ),
            RecordError::Malformed(why) => write!(f, "malformed record: {why}"),
        }
    }
}

/// Picks and parses the TLS-RPT record among the TXT records at `_smtp._tls.DOMAIN`.
pub fn select_record(txts: &[String]) -> Result<TlsRptRecord, RecordError> {
    match tags::select_one(txts, "v=TLSRPTv1") {
        Ok(one) => parse_record(one),
        Err(Selection::Absent) => Err(RecordError::Absent),
        Err(Selection::Several(n)) => Err(RecordError::Several(n)),
    }
}

/// `rua` is a comma-separated list (spaces allowed around commas, so the generic tag
/// parser cannot split it) of `mailto:` and `https:` URIs.
pub fn parse_record(txt: &str) -> Result<TlsRptRecord, RecordError> {
    let rest = txt.strip_prefix("v=TLSRPTv1").ok_or(RecordError::Absent)?;
    let mut rua = None;
    for field in rest.split(';').map(|f| f.trim_matches([' ', '\t'])) {
        if let Some(list) = field.strip_prefix("rua=") {
            let uris = list
                .split(',')
                .map(|u| parse_uri(u.trim_matches([' ', '\t'])))
                .collect::<Result<Vec<_>, _>>()?;
            rua.get_or_insert(uris);
        }
    }
    let rua = rua.ok_or_else(|| RecordError::Malformed("no rua= field".into()))?;
    Ok(TlsRptRecord { rua })
}

fn parse_uri(uri: &str) -> Result<ReportUri, RecordError> {
    let bad = |why: &str| RecordError::Malformed(format!("rua {uri:?}: {why}"));
    if uri.is_empty() || uri.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
        return Err(bad("not a URI"));
    }
    let (scheme, rest) = uri.split_once(':').ok_or_else(|| bad("no scheme"))?;
    match scheme.to_ascii_lowercase().as_str() {
        "mailto" => {
            let addr = rest.split('?').next().unwrap_or("");
            match addr.split_once('@') {
                Some((local, domain)) if !local.is_empty() && domain.contains('.') => {
                    Ok(ReportUri::Mailto(addr.to_owned()))
                }
                _ => Err(bad("not a mail address")),
            }
        }
        "https" => {
            let host = rest
                .strip_prefix("//")
                .and_then(|r| r.split(['/', '?', '#']).next())
                .filter(|h| !h.is_empty());
            match host {
                Some(_) => Ok(ReportUri::Https(uri.to_owned())),
                None => Err(bad("no host")),
            }
        }
        _ => Err(bad("only mailto: and https: are allowed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailto_and_https_destinations() {
        let r = parse_record(
            "v=TLSRPTv1; rua=mailto:tls@example.com, https://reports.example.com/v1/tlsrpt",
        )
        .unwrap();
        assert_eq!(
            r.rua,
            [
                ReportUri::Mailto("tls@example.com".into()),
                ReportUri::Https("https://reports.example.com/v1/tlsrpt".into())
            ]
        );
    }

    #[test]
    fn bad_destinations_say_why() {
        for (txt, why) in [
            ("v=TLSRPTv1;", "no rua"),
            ("v=TLSRPTv1; rua=http://x.example/", "only mailto"),
            ("v=TLSRPTv1; rua=mailto:nobody", "mail address"),
            ("v=TLSRPTv1; rua=https:///path", "no host"),
            ("v=TLSRPTv1; rua=", "not a URI"),
        ] {
            let err = parse_record(txt).unwrap_err().to_string();
            assert!(err.contains(why), "{txt}: {err}");
        }
    }

    #[test]
    fn several_records_mean_no_reports() {
        let txts = vec![
            "v=TLSRPTv1; rua=mailto:a@example.com".to_string(),
            "v=TLSRPTv1; rua=mailto:b@example.com".to_string(),
        ];
        assert_eq!(select_record(&txts), Err(RecordError::Several(2)));
        assert_eq!(
            select_record(&["v=spf1 -all".to_string()]),
            Err(RecordError::Absent)
        );
    }
}
