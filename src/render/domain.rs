//! How a domain's mail-security report reads (`smtpx domain`).

use serde_json::{Value, json};

use crate::policy::report::Report;

/// Lines for people: the domain and its verdict, then one line per finding, the row's
/// name on its first, and the row's details under them.
pub fn describe(report: &Report) -> Vec<String> {
    let mut lines = vec![format!("{}: {}", report.domain, report.status().as_str())];
    for row in &report.rows {
        for (i, finding) in row.findings.iter().enumerate() {
            let key = if i == 0 { row.key } else { "" };
            lines.push(format!(
                "  {key:<8} {:<4}  {}",
                finding.status.as_str(),
                finding.reason
            ));
        }
        for detail in &row.details {
            lines.push(format!("                 {detail}"));
        }
    }
    lines
}

/// One JSON object: `type`, `domain`, `status`, and a key per row with its status,
/// findings and facts.
pub fn to_json(report: &Report) -> Value {
    let mut object = json!({
        "type": "domain",
        "domain": report.domain,
        "status": report.status(),
        "dns_failed": report.dns_failed,
    });
    for row in &report.rows {
        let mut value = json!({ "status": row.status(), "findings": row.findings });
        if let (Value::Object(target), Value::Object(facts)) = (&mut value, &row.facts) {
            for (k, v) in facts {
                target.insert(k.clone(), v.clone());
            }
        }
        object[row.key] = value;
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::report::Row;
    use crate::policy::verdict::Status;

    fn report() -> Report {
        let mut spf = Row::new("spf");
        spf.add(Status::Fail, "11 DNS lookups");
        spf.add(Status::Pass, "ends with -all");
        spf.details.push("v=spf1 -all".into());
        spf.facts = json!({"lookups": 11});
        let mut mx = Row::new("mx");
        mx.add(Status::Pass, "1 MX host");
        Report {
            domain: "example.org".into(),
            rows: vec![mx, spf],
            dns_failed: false,
        }
    }

    #[test]
    fn lines_name_each_row_once_with_every_finding() {
        let lines = describe(&report());
        assert_eq!(lines[0], "example.org: fail");
        assert_eq!(lines[1], "  mx       pass  1 MX host");
        assert_eq!(lines[2], "  spf      fail  11 DNS lookups");
        assert_eq!(lines[3], "           pass  ends with -all");
        assert_eq!(lines[4], "                 v=spf1 -all");
    }

    #[test]
    fn json_has_a_key_per_row_with_its_facts() {
        let v = to_json(&report());
        assert_eq!(v["status"], "fail");
        assert_eq!(v["spf"]["status"], "fail");
        assert_eq!(v["spf"]["lookups"], 11);
        assert_eq!(v["spf"]["findings"][1]["reason"], "ends with -all");
        assert_eq!(v["mx"]["status"], "pass");
    }
}
