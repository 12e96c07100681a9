//! How `smtpx vrfy` and `smtpx expn` answers read: the argument, the reply code, its
//! RFC 5321 meaning, and the address or members the server returned.

use serde_json::{Value, json};

use super::outcome::reply_json;
use super::text::escape_controls;
use crate::smtp::Reply;
use crate::smtp::vrfy::{Decision, Meaning, Query, members, returned_address};

/// Members of an expanded list shown before the rest is left to `--json`.
const MAX_MEMBERS: usize = 100;

/// One argument and the reply it got, or why it was never asked.
pub struct Asked<'a> {
    pub argument: &'a str,
    pub result: Result<&'a Reply, &'a str>,
}

/// The lines for each argument, in columns shared by all of them.
pub fn lines(query: Query, asked: &[Asked]) -> Vec<Vec<String>> {
    let width = asked
        .iter()
        .map(|a| escape_controls(a.argument).chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    asked
        .iter()
        .map(|a| {
            let arg = escape_controls(a.argument);
            let reply = match a.result {
                Err(why) => {
                    return vec![format!(
                        "{arg:<width$}  -    not asked: {}",
                        escape_controls(why)
                    )];
                }
                Ok(r) => r,
            };
            let meaning = Meaning::of(reply);
            let mut head = format!("{arg:<width$}  {}  {}", reply.code, meaning.words(query));
            let text = escape_controls(&reply.text());
            let mut out = Vec::new();
            match (meaning, query) {
                (Meaning::Verified, Query::Expn) => {
                    let list = members(reply);
                    head.push_str(&format!(": {} member(s)", list.len()));
                    out.push(head);
                    for m in list.iter().take(MAX_MEMBERS) {
                        out.push(format!("{:width$}         {}", "", escape_controls(m)));
                    }
                    if list.len() > MAX_MEMBERS {
                        out.push(format!(
                            "{:width$}         ... and {} more (all are in --json)",
                            "",
                            list.len() - MAX_MEMBERS
                        ));
                    }
                    return out;
                }
                (Meaning::Verified, Query::Vrfy) => match returned_address(reply) {
                    Some(addr) => head.push_str(&format!(": <{}>", escape_controls(&addr))),
                    None => head.push_str(&format!(" (no address returned: {text})")),
                },
                _ if !text.is_empty() => head.push_str(&format!(" ({text})")),
                _ => {}
            }
            out.push(head);
            out
        })
        .collect()
}

/// One `{"type": "vrfy"|"expn", ...}` object per argument.
pub fn json(query: Query, a: &Asked) -> Value {
    let kind = query.verb().to_ascii_lowercase();
    match a.result {
        Err(why) => json!({"type": kind, "argument": a.argument, "asked": false, "reason": why}),
        Ok(reply) => {
            let meaning = Meaning::of(reply);
            let mut v = json!({
                "type": kind,
                "argument": a.argument,
                "asked": true,
                "meaning": meaning.name(),
                "decision": decision_name(meaning.decision()),
                "reply": reply_json(reply),
            });
            match query {
                Query::Vrfy => v["address"] = json!(returned_address(reply)),
                Query::Expn => v["members"] = json!(members(reply)),
            }
            v
        }
    }
}

fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Verified => "verified",
        Decision::Refused => "refused",
        Decision::Undecided => "undecided",
    }
}

/// The outcome line and its counts: "2 verified, 1 refused (eve), 1 undecided".
pub fn tally(query: Query, asked: &[Asked]) -> (String, Value) {
    let mut verified = Vec::new();
    let mut refused = Vec::new();
    let mut undecided = Vec::new();
    let mut not_asked = Vec::new();
    for a in asked {
        let name = escape_controls(a.argument);
        match a.result {
            Ok(r) => match Meaning::of(r).decision() {
                Decision::Verified => verified.push(name),
                Decision::Refused => refused.push(name),
                Decision::Undecided => undecided.push(name),
            },
            Err(_) => not_asked.push(name),
        }
    }
    let verified_word = match query {
        Query::Vrfy => "verified",
        Query::Expn => "expanded",
    };
    let mut parts = vec![format!(
        "{} of {} {verified_word}",
        verified.len(),
        asked.len()
    )];
    for (list, word) in [
        (&refused, "refused"),
        (&undecided, "undecided"),
        (&not_asked, "not asked"),
    ] {
        if !list.is_empty() {
            parts.push(format!("{} {word} ({})", list.len(), list.join(", ")));
        }
    }
    let counts = json!({
        "verified": verified.len(),
        "refused": refused.len(),
        "undecided": undecided.len(),
        "not_asked": not_asked.len(),
    });
    (parts.join("; "), counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_answer_reads_with_its_meaning() {
        let ok = Reply::new(250, &["2.1.5 Bob <bob@example.org>"]);
        let maybe = Reply::new(252, &["2.5.2 Cannot VRFY user"]);
        let no = Reply::new(550, &["5.1.1 <eve>: unknown \u{1b}[2J"]);
        let asked = [
            Asked {
                argument: "bob",
                result: Ok(&ok),
            },
            Asked {
                argument: "alice",
                result: Ok(&maybe),
            },
            Asked {
                argument: "eve",
                result: Ok(&no),
            },
            Asked {
                argument: "carol",
                result: Err("at connect: refused"),
            },
        ];
        let text: Vec<String> = lines(Query::Vrfy, &asked).concat();
        assert_eq!(text[0], "bob    250  verified: <bob@example.org>");
        assert!(text[1].starts_with("alice  252  cannot verify, will accept and try"));
        assert!(!text[1].contains("verified"));
        assert_eq!(
            text[2],
            "eve    550  unknown or refused (<eve>: unknown \\x1b[2J)"
        );
        assert_eq!(text[3], "carol  -    not asked: at connect: refused");
        let (words, counts) = tally(Query::Vrfy, &asked);
        assert_eq!(
            words,
            "1 of 4 verified; 1 refused (eve); 1 undecided (alice); 1 not asked (carol)"
        );
        assert_eq!(counts["refused"], 1);
        let j = json(Query::Vrfy, &asked[0]);
        assert_eq!(j["meaning"], "verified");
        assert_eq!(j["address"], "bob@example.org");
    }

    #[test]
    fn expn_lists_members() {
        let list = Reply::new(250, &["2.1.5 Jon <jon@x.test>", "2.1.5 <ann@x.test>"]);
        let asked = [Asked {
            argument: "staff",
            result: Ok(&list),
        }];
        let text = lines(Query::Expn, &asked).concat();
        assert_eq!(text[0], "staff  250  expanded: 2 member(s)");
        assert_eq!(text[1], "              Jon <jon@x.test>");
        assert_eq!(json(Query::Expn, &asked[0])["members"][1], "<ann@x.test>");
    }
}
