//! The faults a user asks for: replies, delays and drops at chosen stages, replies for
//! chosen recipients, and how often they strike.

use std::time::Duration;

use crate::smtp::{Reply, ReplyCode};

/// The points of a session where a fault can be set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Greeting,
    Ehlo,
    Starttls,
    Auth,
    Mail,
    Rcpt,
    Data,
    Dot,
    Quit,
}

pub const STAGES: [Stage; 9] = [
    Stage::Greeting,
    Stage::Ehlo,
    Stage::Starttls,
    Stage::Auth,
    Stage::Mail,
    Stage::Rcpt,
    Stage::Data,
    Stage::Dot,
    Stage::Quit,
];

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Greeting => "greeting",
            Stage::Ehlo => "ehlo",
            Stage::Starttls => "starttls",
            Stage::Auth => "auth",
            Stage::Mail => "mail",
            Stage::Rcpt => "rcpt",
            Stage::Data => "data",
            Stage::Dot => "dot",
            Stage::Quit => "quit",
        }
    }

    pub fn parse(s: &str) -> Result<Stage, String> {
        STAGES
            .iter()
            .copied()
            .find(|st| st.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = STAGES.iter().map(|s| s.name()).collect();
                format!("unknown stage {s:?} (one of {})", names.join(", "))
            })
    }

    /// Stages of the transaction (counted by `--fail-every` per transaction); the others
    /// belong to the session (counted per session).
    pub fn in_transaction(self) -> bool {
        matches!(self, Stage::Mail | Stage::Rcpt | Stage::Data | Stage::Dot)
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The first digit of the reply this stage gives when all goes well.
    pub fn positive_class(self) -> u16 {
        match self {
            Stage::Data => 3,
            _ => 2,
        }
    }
}

/// What happens at one stage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageFault {
    pub reply: Option<Reply>,
    pub delay: Option<Duration>,
    pub drop: bool,
}

/// A recipient pattern (`*` and `?` wildcards, case-insensitive) and its reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RcptRule {
    pub pattern: String,
    pub reply: Reply,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultPlan {
    stages: [StageFault; 9],
    pub rcpt: Vec<RcptRule>,
    /// Faults strike only every Nth session or transaction.
    pub every: Option<u64>,
}

impl FaultPlan {
    pub fn set_reply(&mut self, stage: Stage, reply: Reply) {
        self.stages[stage.index()].reply = Some(reply);
    }

    pub fn set_delay(&mut self, stage: Stage, delay: Duration) {
        self.stages[stage.index()].delay = Some(delay);
    }

    pub fn set_drop(&mut self, stage: Stage) {
        self.stages[stage.index()].drop = true;
    }

    pub fn at(&self, stage: Stage) -> &StageFault {
        &self.stages[stage.index()]
    }

    pub fn is_empty(&self) -> bool {
        self.rcpt.is_empty() && self.stages.iter().all(|s| *s == StageFault::default())
    }

    /// Whether faults strike the session or transaction numbered `n` (from 1).
    pub fn strikes(&self, n: u64) -> bool {
        self.every.is_none_or(|every| n.is_multiple_of(every))
    }

    pub fn rcpt_reply(&self, address: &str) -> Option<&Reply> {
        self.rcpt
            .iter()
            .find(|r| glob(&r.pattern, address))
            .map(|r| &r.reply)
    }
}

/// `STAGE=CODE [TEXT]`.
pub fn parse_stage_reply(spec: &str) -> Result<(Stage, Reply), String> {
    let (stage, reply) = spec
        .split_once('=')
        .ok_or_else(|| format!("{spec:?}: expected STAGE=CODE [TEXT]"))?;
    let stage = Stage::parse(stage)?;
    Ok((
        stage,
        parse_reply(reply, &format!("--reply {}", stage.name()))?,
    ))
}

/// `PATTERN=CODE [TEXT]`. The text may hold `=`, the pattern may not be followed by a
/// code-like `=NNN` inside it: the split is at the first `=` followed by three digits.
pub fn parse_rcpt_rule(spec: &str) -> Result<RcptRule, String> {
    let split = spec
        .match_indices('=')
        .map(|(i, _)| i)
        .find(|&i| {
            spec.as_bytes()
                .get(i + 1..i + 4)
                .is_some_and(|c| c.iter().all(u8::is_ascii_digit))
        })
        .ok_or_else(|| format!("{spec:?}: expected PATTERN=CODE [TEXT]"))?;
    let pattern = &spec[..split];
    if pattern.is_empty() {
        return Err(format!("{spec:?}: empty recipient pattern"));
    }
    Ok(RcptRule {
        pattern: pattern.to_ascii_lowercase(),
        reply: parse_reply(&spec[split + 1..], "--reply-rcpt")?,
    })
}

/// `CODE [TEXT]`: a code from 200 to 599; text defaults to one naming the flag.
pub fn parse_reply(spec: &str, flag: &str) -> Result<Reply, String> {
    let spec = spec.trim();
    let (code, text) = match spec.split_once(' ') {
        Some((c, t)) => (c, t.trim()),
        None => (spec, ""),
    };
    let code: u16 = code
        .parse()
        .ok()
        .filter(|c| (200..=599).contains(c))
        .ok_or_else(|| format!("{spec:?}: the reply code must be a number from 200 to 599"))?;
    if text.chars().any(char::is_control) {
        return Err(format!("{spec:?}: control characters in the reply text"));
    }
    let text = if text.is_empty() {
        let class = code / 100;
        let status = if class == 3 {
            String::new()
        } else {
            format!("{class}.0.0 ")
        };
        format!("{status}Answered on request ({flag})")
    } else {
        text.to_string()
    };
    let code = ReplyCode::new(code).ok_or_else(|| format!("{spec:?}: bad reply code"))?;
    Ok(Reply {
        code,
        lines: vec![text],
    })
}

/// `STAGE=DURATION`.
pub fn parse_delay(spec: &str) -> Result<(Stage, Duration), String> {
    let (stage, d) = spec
        .split_once('=')
        .ok_or_else(|| format!("{spec:?}: expected STAGE=DURATION, e.g. rcpt=5s"))?;
    let stage = Stage::parse(stage)?;
    let d = humantime::parse_duration(d.trim())
        .map_err(|e| format!("{spec:?}: {e} (examples: 500ms, 5s, 2m)"))?;
    Ok((stage, d))
}

/// Case-insensitive match with `*` (any run) and `?` (one character).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let (stage, reply) = parse_stage_reply("rcpt=550 5.1.1 no such user").unwrap();
        assert_eq!(stage, Stage::Rcpt);
        assert_eq!(reply, Reply::new(550, &["5.1.1 no such user"]));
        let (_, reply) = parse_stage_reply("mail=451").unwrap();
        assert_eq!(
            reply,
            Reply::new(451, &["4.0.0 Answered on request (--reply mail)"])
        );
        assert!(parse_stage_reply("nowhere=550").is_err());
        assert!(parse_stage_reply("rcpt=650").is_err());
        assert!(parse_stage_reply("rcpt").is_err());
        let rule = parse_rcpt_rule("*@Bad.example=550 5.1.1 x=y").unwrap();
        assert_eq!(rule.pattern, "*@bad.example");
        assert_eq!(rule.reply, Reply::new(550, &["5.1.1 x=y"]));
        assert_eq!(
            parse_delay("dot=1500ms").unwrap(),
            (Stage::Dot, Duration::from_millis(1500))
        );
        assert!(parse_delay("dot=soon").is_err());
    }

    #[test]
    fn globs() {
        assert!(glob("*@bad.example", "Joe@BAD.example"));
        assert!(glob("a?c@*", "abc@x"));
        assert!(!glob("*@bad.example", "joe@good.example"));
        assert!(glob("*", ""));
        assert!(glob("*b*", "aaabaaa"));
    }

    #[test]
    fn every_nth() {
        let plan = FaultPlan {
            every: Some(3),
            ..FaultPlan::default()
        };
        let hits: Vec<u64> = (1..=9).filter(|&n| plan.strikes(n)).collect();
        assert_eq!(hits, [3, 6, 9]);
        assert!(FaultPlan::default().strikes(1));
    }
}
