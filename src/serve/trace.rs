//! The envelope recorded beside each stored message, as header fields prepended to it
//! (the way Postfix's local delivery does): `Return-Path`, one `X-Original-To` per
//! recipient with its DSN parameters, `X-Smtpx-Mail-Params` for MAIL's parameters, and a
//! `Received` field (RFC 5321 §4.4) with the client, TLS, AUTH user and protocol
//! (RFC 3848 ESMTP/ESMTPS/ESMTPA/ESMTPSA).

use std::net::SocketAddr;

use super::machine::Envelope;
use crate::smtp::Param;

/// Session facts known only to the driver.
#[derive(Clone, Debug, Default)]
pub struct Context<'a> {
    pub client: Option<SocketAddr>,
    pub hostname: &'a str,
    pub id: &'a str,
    /// e.g. "TLSv1.3 TLS13_AES_256_GCM_SHA384".
    pub tls: Option<&'a str>,
    /// Seconds since the Unix epoch.
    pub now: u64,
}

pub fn headers(env: &Envelope, ctx: &Context<'_>) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(&format!("Return-Path: {}\r\n", env.from));
    for r in &env.recipients {
        out.push_str(&format!(
            "X-Original-To: <{}>{}\r\n",
            r.address,
            params(&r.params)
        ));
    }
    if !env.mail_params.is_empty() {
        out.push_str(&format!(
            "X-Smtpx-Mail-Params:{}\r\n",
            params(&env.mail_params)
        ));
    }
    let protocol = match (env.esmtp, env.tls, env.auth_user.is_some()) {
        (false, _, _) => "SMTP",
        (true, false, false) => "ESMTP",
        (true, true, false) => "ESMTPS",
        (true, false, true) => "ESMTPA",
        (true, true, true) => "ESMTPSA",
    };
    let client = ctx
        .client
        .map(|a| format!(" ([{}]:{})", a.ip(), a.port()))
        .unwrap_or_default();
    out.push_str(&format!(
        "Received: from {}{client}\r\n\tby {} (smtpx serve) with {protocol} id {}",
        env.helo, ctx.hostname, ctx.id
    ));
    if let Some(tls) = ctx.tls {
        out.push_str(&format!("\r\n\t({tls})"));
    }
    if let Some(user) = &env.auth_user {
        out.push_str(&format!("\r\n\t(authenticated as {})", user.escape_debug()));
    }
    out.push_str(&format!(";\r\n\t{}\r\n", rfc5322_date(ctx.now)));
    out
}

fn params(params: &[Param]) -> String {
    params
        .iter()
        .map(|p| match &p.value {
            Some(v) => format!(" {}={v}", p.keyword),
            None => format!(" {}", p.keyword),
        })
        .collect()
}

/// RFC 5322 §3.3 date-time in UTC, e.g. `Sat, 05 Dec 2026 08:47:41 +0000`.
pub fn rfc5322_date(unix: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} +0000",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::machine::{BodyType, Recipient};
    use crate::smtp::ReversePath;

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_796_460_461),
            "Sat, 05 Dec 2026 08:47:41 +0000"
        );
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn envelope_headers() {
        let env = Envelope {
            from: ReversePath::parse("a@example.org").unwrap(),
            mail_params: vec![Param::new("RET", Some("HDRS".into()))],
            recipients: vec![Recipient {
                address: "b@example.org".into(),
                params: vec![Param::new("NOTIFY", Some("SUCCESS".into()))],
            }],
            helo: "client.example".into(),
            esmtp: true,
            tls: true,
            auth_user: Some("tim".into()),
            body: BodyType::SevenBit,
        };
        let ctx = Context {
            client: Some("127.0.0.1:4000".parse().unwrap()),
            hostname: "mx.test",
            id: "ID1",
            tls: Some("TLSv1.3 X"),
            now: 0,
        };
        assert_eq!(
            headers(&env, &ctx),
            "Return-Path: <a@example.org>\r\n\
             X-Original-To: <b@example.org> NOTIFY=SUCCESS\r\n\
             X-Smtpx-Mail-Params: RET=HDRS\r\n\
             Received: from client.example ([127.0.0.1]:4000)\r\n\
             \tby mx.test (smtpx serve) with ESMTPSA id ID1\r\n\
             \t(TLSv1.3 X)\r\n\
             \t(authenticated as tim);\r\n\
             \tThu, 01 Jan 1970 00:00:00 +0000\r\n"
        );
    }
}
