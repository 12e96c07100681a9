//! What each man page says beyond the options clap lists: its description, the rules
//! and JSON objects of its subcommand, its own exit status table and its own examples.

use crate::cli::exit::{self, ExitTable};

/// One man page's own text. Paragraphs are plain text; roff escaping happens when the
/// page is written.
pub struct Page {
    /// `smtpx` for the top-level page, else the subcommand's name.
    pub name: &'static str,
    pub description: &'static [&'static str],
    /// Further sections, each a title and its paragraphs.
    pub sections: &'static [(&'static str, &'static [&'static str])],
    pub exit: ExitTable,
    /// (what it does, the command).
    pub examples: &'static [(&'static str, &'static str)],
}

/// The deadlines every session-running subcommand shares.
const TIMEOUTS: &[&str] = &[
    "Defaults follow RFC 5321 section 4.5.3.2: --greeting-timeout 5m, --command-timeout 5m \
     (EHLO, MAIL, RCPT, VRFY and the other commands), --data-timeout 2m, \
     --data-block-timeout 3m (each block of content written), --final-timeout 10m (the \
     reply to the final dot); --connect-timeout 30s. The TLS handshake waits at most 1m \
     and the reply to QUIT at most 10s, both shortened by --command-timeout. --timeout \
     sets one deadline for the whole run, which bounds every other. Durations read 30s, \
     2m, 1m30s, or a bare number of seconds.",
    "A server that sends no greeting within 3s gets a note that the port may expect \
     implicit TLS (--tls implicit); smtpx goes on waiting until --greeting-timeout.",
];

/// The ways to reach a server besides TCP, shared by every session-running subcommand.
const TRANSPORTS: &[&str] = &[
    "--socket PATH talks over a Unix domain socket; --pipe 'COMMAND ARGS' runs a process \
     (sendmail -bs, exim -bh IP) and talks over its stdin and stdout, its stderr shown as \
     notes and its exit status reported at the end (killed if it has not exited 5s after \
     its stdin closed); --socks5 HOST[:PORT] goes through a SOCKS5 proxy (RFC 1928), a \
     server name sent to it unresolved, with --socks5-user and a password file, variable, \
     command or prompt for RFC 1929 authentication; --local-addr IP[:PORT] binds the \
     source address; --proxy-protocol v1|v2 sends a HAProxy PROXY header first, naming \
     --proxy-source and --proxy-dest (by default the connection's own addresses). TLS \
     and every other option work the same over each. The connecting and connected lines \
     (and JSON events) name the transport.",
];

const TRANSCRIPT: &str = "Every command sent and every reply received is printed as it \
    happens: -> and <- mark client and server lines in plaintext, ~> and <~ inside \
    verified TLS, ?> and <? inside TLS whose certificate was not verified; * lines are \
    smtpx's own notes. Reply codes are coloured by class on a terminal. Control characters \
    in server text are shown escaped. -q prints only the outcome line; --json prints one \
    JSON object per event (connecting, connected, command, reply, body, tls, warning, \
    note) and a final result object.";

const RESULT_JSON: &str = "The last JSON line is always {\"type\": \"result\"} with \
    status (accepted, partially-accepted, stopped, rejected, failed, unknown, ok), \
    exit_code, message and, as they apply, phase, failure, reply (code, enhanced, text), \
    queue_id, recipients and elapsed_ms. A command line that cannot be parsed still ends \
    --json output with a result (failure \"input\", exit code 2).";

pub const PAGES: &[Page] = &[
    Page {
        name: "smtpx",
        description: &[
            "smtpx opens an SMTP session and walks through the conversation - greeting, \
             EHLO (HELO fallback), STARTTLS or implicit TLS, AUTH, MAIL FROM, RCPT TO, DATA, \
             QUIT - printing every command it sends and every reply it gets, with reply \
             codes, timings and TLS details.",
            "Each subcommand has its own page: smtpx-send(1) sends a message, smtpx-mx(1) \
             shows a domain's mail routing, smtpx-domain(1) checks its mail security, smtpx-check(1) diagnoses a server, smtpx-vrfy(1), \
             smtpx-expn(1) and smtpx-size(1) probe it, smtpx-verify(1) verifies addresses in \
             bulk, smtpx-bench(1) loads a server (smtpx-bench-merge(1) joins the reports of many \
             runs), smtpx-session(1) lets you type SMTP by hand, \
             smtpx-serve(1) catches mail locally, smtpx-config(1) shows a profile.",
            TRANSCRIPT,
        ],
        sections: &[],
        exit: exit::SEND,
        examples: &[
            (
                "Send a message and watch the conversation",
                "smtpx send --server mail.example.org:25 --from me@example.org --to you@example.org --subject hi --body hello",
            ),
            ("Where does mail for a domain go?", "smtpx mx example.org"),
            (
                "Diagnose every MX host of a domain",
                "smtpx check example.org",
            ),
            (
                "Verify a list of addresses, as CSV",
                "smtpx verify --file list.txt --format csv > verdicts.csv",
            ),
        ],
    },
    Page {
        name: "send",
        description: &[
            "Sends one message and shows the whole SMTP conversation. With --server, to that \
             server; without, recipients are grouped by domain and each domain's MX hosts \
             are tried in preference order, like an MTA (RFC 5321 section 5.1).",
            "The message is composed from flags (Date, Message-ID, From, To, Cc, Subject and \
             MIME headers added; --html and --attach make MIME parts), or --data sends a \
             prepared RFC 5322 message as it is, streamed. Addresses, the EHLO name and \
             header values are checked before connecting; IDN domains go as A-labels. \
             --to, --cc and --bcc repeat or take a comma-separated list.",
            "Extensions are used when the post-TLS EHLO offers them: PIPELINING, SIZE, \
             8BITMIME, SMTPUTF8, DSN, and CHUNKING with --chunking. The message is claimed \
             sent only when the server accepted the final dot (or BDAT LAST).",
            "--quit-after STEP stops after connect, greeting, ehlo, tls, auth, mail or rcpt \
             and never sends a message. Steps before RCPT need no --to. auth without --user \
             and tls with --tls none are usage errors; a tls stop where no handshake \
             happened is exit 5.",
            "The switches swaks users test with: --drop-after STEP (also data and dot) \
             closes the connection after that step without QUIT, and then no QUIT is ever \
             sent; --show-data prints every line of the content, escaped; --output FILE \
             keeps the transcript in a new file of mode 0600 (all of it under -q); \
             --tls-save-chain FILE writes the chain the server presented as PEM, leaf \
             first, even when it fails verification; --add-header adds a header beside a \
             generated one; --attach-name names the next --attach and --attach-type types \
             every --attach after it.",
            "--protocol lmtp speaks LMTP (RFC 2033): LHLO, and one reply per accepted \
             recipient after the final dot, each shown and counted; --prdr asks a server \
             offering PRDR for the same in SMTP. A message accepted for some recipients and \
             refused for others has the exit code of the worst refusal. --requiretls (RFC \
             8689) and --xclient/--xforward (Postfix) are refused before MAIL when the \
             server or the session cannot honour them.",
            "Without --server (MX routing) each MX host is held to the recipient domain's \
             TLS policy as an MTA would: DNSSEC-secure usable TLSA records make TLS \
             mandatory and authenticated by them (RFC 7672); otherwise an MTA-STS policy in \
             enforce mode makes TLS mandatory with a WebPKI-valid certificate and rules out \
             hosts it does not list (RFC 8461); testing mode only reports. A host failing its \
             policy is skipped for the next MX; with none left the exit code is 5. \
             --tls-policy auto|dane|mta-sts|none picks the rule; the transcript and the \
             tls-policy JSON events say which applied to each host and why.",
            "--dkim-key FILE --dkim-selector S signs the message with DKIM (RFC 6376) before \
             connecting: RSA (rsa-sha256) or Ed25519 (ed25519-sha256, RFC 8463) keys from \
             PEM, relaxed/relaxed, the usual headers when present and From oversigned, d= \
             the From header's domain unless --dkim-domain says otherwise. A --data message \
             is then read whole (at most 100 MiB). --print shows the signed message. A key \
             file others can read is a warning; an unusable key, a bad selector or domain \
             and a message without From are usage errors.",
            TRANSCRIPT,
        ],
        sections: &[
            ("TIMEOUTS", TIMEOUTS),
            ("TRANSPORTS", TRANSPORTS),
            ("JSON OUTPUT", &[RESULT_JSON]),
        ],
        exit: exit::SEND,
        examples: &[
            (
                "Send a message and watch the conversation",
                "smtpx send -s mail.example.org --from me@example.org --to you@example.org --subject hi --body hello",
            ),
            (
                "Check whether a recipient would be accepted, without sending",
                "smtpx send -s mx.example.org --from me@example.org --to you@example.org --quit-after rcpt",
            ),
            (
                "Look at the STARTTLS certificate chain",
                "smtpx send -s mx.example.org --tls starttls --quit-after tls",
            ),
            (
                "Abandon a session after RCPT, keeping the transcript in a file",
                "smtpx send -s mx.example.org --to you@example.org --drop-after rcpt --output dropped.txt",
            ),
            (
                "Save the certificate chain, whatever the verdict on it",
                "smtpx send -s mx.example.org --tls starttls --quit-after tls --tls-save-chain mx.pem",
            ),
            (
                "Submit with AUTH, the password from a file",
                "smtpx send -s smtp.example.org:587 --user me@example.org --password-file ~/.smtp-pass --to you@example.net --body-file report.txt --attach report.pdf",
            ),
            (
                "Send a prepared message from stdin, machine-readable",
                "smtpx send -s 127.0.0.1:2525 --to you@example.org --data - --json < message.eml",
            ),
            (
                "Sign with DKIM, d= the From domain, and see the signed message",
                "smtpx send --from me@example.org --to you@example.net --dkim-key dkim.pem --dkim-selector s2026 --print",
            ),
            (
                "Hand a message to the local MTA as a sendmail -bs session",
                "smtpx send --pipe 'sendmail -bs' --from me@example.org --to you@example.org",
            ),
            (
                "Claim another client address to a server behind a PROXY-protocol load balancer",
                "smtpx send -s mx.example.org --proxy-protocol v2 --proxy-source 198.51.100.23:40000 --to you@example.org --quit-after rcpt",
            ),
            (
                "Deliver over LMTP to two mailboxes, one reply each",
                "smtpx send --protocol lmtp -s 127.0.0.1:24 --to alice@example.org,bob@example.org --body hi",
            ),
            (
                "Speak for another client through Postfix XCLIENT",
                "smtpx send -s mx.example.org --xclient ADDR=192.0.2.7 --xclient NAME=client.example --to you@example.org",
            ),
        ],
    },
    Page {
        name: "mx",
        description: &[
            "Shows each domain's mail routing, as an MTA would follow it: the MX hosts in \
             preference order (ties shown as ties), each with its A and AAAA addresses and \
             TTLs; an implicit MX when the domain has addresses but no MX; a null MX (RFC \
             7505); dangling MX targets. NXDOMAIN and temporary failures (SERVFAIL, timeout) \
             are told apart. Domains are looked up concurrently. No SMTP connection is made.",
            "With --dnssec (or --dns-trust-anchor), smtpx validates DNSSEC itself, from the \
             built-in root key or the given anchor, never trusting a resolver's AD bit, and \
             shows the status of the MX answer and of each host's addresses: secure, \
             insecure, bogus (with the broken link) or indeterminate.",
        ],
        sections: &[(
            "JSON OUTPUT",
            &[
                "--json prints one {\"type\": \"route\"} object per domain with domain, \
               deliverable, temporary and route (kind: mx, implicit, null_mx, no_mail, \
               nx_domain, temporary, invalid_domain, with hosts, preferences, addresses and \
               TTLs), then the result object. With --dnssec it also holds dnssec: {mx, \
               hosts: [{host, addresses}]}, each status as {status, reason}.",
            ],
        )],
        exit: exit::MX,
        examples: &[
            (
                "Where does mail for two domains go?",
                "smtpx mx example.org example.net",
            ),
            (
                "Ask a particular DNS server, IPv4 addresses only",
                "smtpx mx example.org --dns-server 192.0.2.53 -4",
            ),
            (
                "Is the route DNSSEC-signed? (validated by smtpx, from the root key)",
                "smtpx mx example.org --dnssec",
            ),
        ],
    },
    Page {
        name: "domain",
        description: &[
            "Checks a domain's mail security from DNS and HTTPS alone; it never opens an \
             SMTP connection. Each row is pass, warn or fail (or info when there is nothing \
             to judge) with the reason: dnssec (how far the answers below can be trusted), \
             mx (the route as smtpx-mx(1) shows it), dane (TLSA records at _PORT._tcp of each \
             MX host: DANE-TA and DANE-EE are usable for SMTP; records in an unsigned zone \
             are ignored by senders), mta_sts (the _mta-sts TXT record, the policy fetched \
             from https://mta-sts.DOMAIN/.well-known/mta-sts.txt with a verified certificate \
             and no redirects, and whether every MX host matches a policy pattern), tls_rpt \
             (the _smtp._tls record and its report addresses), spf (one record, at most 10 \
             DNS lookups and 2 void lookups through includes and redirects, the all \
             qualifier), dmarc (the policy, found at the domain or a parent, its report \
             addresses and their authorisation records) and dkim (the key at each \
             --dkim-selector: type, size, testing, revoked).",
            "The lookups run concurrently, so a domain costs about its longest chain of \
             dependent lookups. SPF, DMARC and DKIM syntax is read by the mail-auth crate.",
        ],
        sections: &[(
            "JSON OUTPUT",
            &[
                "--json prints one {\"type\": \"domain\"} object per domain with domain, \
                 status, dns_failed and a key per row (dnssec, mx, dane, mta_sts, tls_rpt, \
                 spf, dmarc, dkim), each with status, findings (status and reason) and the \
                 row's facts; then the result object.",
            ],
        )],
        exit: exit::DOMAIN,
        examples: &[
            ("The whole picture for a domain", "smtpx domain example.org"),
            (
                "Also the DKIM keys of two selectors, as JSON",
                "smtpx domain example.org --dkim-selector s1 --dkim-selector s2 --json",
            ),
        ],
    },
    Page {
        name: "check",
        description: &[
            "Diagnoses a mail server on one screen: the banner, reverse DNS (PTR and \
             forward confirmation), EHLO capabilities before and after STARTTLS, the TLS \
             protocol, cipher and certificate chain, VRFY, EXPN, HELP, NOOP and TURN, and \
             the timing of each step. For a domain, every MX host is checked (the domain \
             itself as an implicit MX when it has none). No message is sent.",
            "Each finding is a pass, warn or fail verdict with its reason. Fails: no usable \
             address, a refused greeting or EHLO, no STARTTLS, STARTTLS refused or failing, \
             a certificate that does not verify or has expired, TURN accepted, an open relay \
             (--relay-test), a session that ended early. Warns: HELO only, a certificate \
             expiring within 14 days, AUTH offered without TLS, no or unconfirmed reverse DNS, a PTR \
             name that differs from the banner, VRFY or EXPN that answer, an unreadable \
             SIZE, STARTTLS offered again inside TLS, an inconclusive relay test.",
            "--relay-test asks at RCPT whether the server would relay mail from an outside \
             sender (--relay-from) to an outside recipient (--relay-to); DATA is never sent.",
            "--tls-save-chain FILE writes each host's certificate chain as PEM, leaf first, \
             each after a comment line naming the host, even when it fails verification.",
            "For a domain, the domain's own report comes first (as smtpx-domain(1) gives \
             it), and each MX host gets a tls-policy verdict: the chain it presented held \
             against the DNSSEC-secure TLSA records (DANE-EE: the key; DANE-TA: the path, \
             name and dates up to the matched certificate) or the MTA-STS policy \
             (WebPKI-valid, host listed in the policy). A host authenticated by DANE does \
             not fail the certificate verdict. A failing domain row makes the exit code 7.",
        ],
        sections: &[
            ("TIMEOUTS", TIMEOUTS),
            (
                "JSON OUTPUT",
                &[
                    "--json prints one {\"type\": \"check\"} object per host: host, peer, \
                   preference, greeting, banner_name, ehlo_name, helo_fallback, reverse_dns, \
                   capabilities and capabilities_tls (each keyword, params, meaning), \
                   capability_changes, starttls, tls, vrfy, expn, help, noop, turn, relay, \
                   verdicts (each level, topic, reason), reached, ended, unreachable, \
                   unusable, tls_policy (for a domain: policy, detail), after the domain's \
                   {\"type\": \"domain\"} object; then the result object.",
                ],
            ),
        ],
        exit: exit::CHECK,
        examples: &[
            ("Every MX host of a domain", "smtpx check example.org"),
            (
                "One server, with an open-relay test",
                "smtpx check mx.example.org:25 --relay-test",
            ),
            (
                "Every MX host's certificate chain, into one PEM file",
                "smtpx check example.org --tls-save-chain chains.pem",
            ),
        ],
    },
    Page {
        name: "vrfy",
        description: &[
            "Asks a server to verify addresses or user names with VRFY (RFC 5321 section \
             3.5), one command each, and labels every reply with its RFC meaning: 250 and \
             251 verified, 252 cannot verify but will accept (never called valid), 550, 551 \
             and 553 unknown, 500 and 502 disabled, 4xx temporary. Without --server each \
             argument must be an address, and its domain's MX hosts are asked.",
            "One session asks everything, unless the server closes it (Exim closes past \
             smtp_accept_max_nonmail, 10, with 554 Too many nonmail commands): then the \
             rest is asked in new sessions of no more commands than the closed one \
             answered, with a note, and the parting reply counts for no argument.",
        ],
        sections: &[
            ("TIMEOUTS", TIMEOUTS),
            (
                "JSON OUTPUT",
                &[
                    "--json prints one {\"type\": \"vrfy\"} object per argument: argument, \
                   asked, meaning, decision (verified, undecided, refused), address (the \
                   canonical address returned) and reply; then the result object.",
                ],
            ),
        ],
        exit: exit::QUERY,
        examples: &[
            (
                "Does the server know these mailboxes?",
                "smtpx vrfy -s mx.example.org postmaster bob@example.org",
            ),
            (
                "Ask the domain's MX hosts, as JSON",
                "smtpx vrfy bob@example.org --json",
            ),
        ],
    },
    Page {
        name: "expn",
        description: &[
            "Asks a server to expand mailing lists with EXPN (RFC 5321 section 3.5), one \
             command each, listing the members it returns and labelling the reply with its \
             RFC meaning (250 expanded, 252 cannot expand, 550 unknown, 500 and 502 \
             disabled). Without --server each list must be an address, and its domain's MX \
             hosts are asked.",
        ],
        sections: &[
            ("TIMEOUTS", TIMEOUTS),
            (
                "JSON OUTPUT",
                &[
                    "--json prints one {\"type\": \"expn\"} object per list: argument, asked, \
                   meaning, decision (verified, undecided, refused), members and reply; then \
                   the result object.",
                ],
            ),
        ],
        exit: exit::QUERY,
        examples: &[
            (
                "Who is on the staff list?",
                "smtpx expn -s mx.example.org staff",
            ),
            (
                "Several lists, as JSON",
                "smtpx expn -s mx.example.org staff all --json",
            ),
        ],
    },
    Page {
        name: "size",
        description: &[
            "Shows the message size limit a server advertises (SIZE, RFC 1870) and probes \
             it with MAIL FROM ... SIZE=n at and just over the limit: no \
             recipient is named and no message is sent. With --probe and a SIZE with no \
             limit, it searches for the largest declaration the server accepts (at most 20 \
             MAIL commands).",
        ],
        sections: &[
            ("TIMEOUTS", TIMEOUTS),
            (
                "JSON OUTPUT",
                &[
                    "--json prints one {\"type\": \"size\"} object: host, peer, advertised, \
                   limit_check, probes (each with its reply), search and result; then the \
                   result object.",
                ],
            ),
        ],
        exit: exit::SIZE,
        examples: &[
            (
                "The limit of a domain's first MX host",
                "smtpx size example.org",
            ),
            (
                "Search for the real limit of a server that advertises none",
                "smtpx size mx.example.org:25 --probe",
            ),
        ],
    },
    Page {
        name: "verify",
        description: &[
            "Verifies addresses in bulk by asking each domain's MX hosts at RCPT TO; DATA is \
             never sent, so nothing is delivered. Addresses come as arguments, from --file, \
             or one a line on stdin; a line that is not an address is reported by its number \
             and the run goes on.",
            "Each MX host gets one session (--per-host N allows N), which carries every \
             domain routed to it, one after another: MAIL FROM, then the RCPTs (at most 100 \
             a transaction, pipelined when offered, in batches sized per host from its reply \
             times unless --batch fixes them), RSET between transactions and between \
             domains. A host that closes a session mid-work (Exim's 554 Too many nonmail \
             commands at an RSET, Postfix's 421 too many errors after 20 refused \
             recipients) has its limits learnt: later sessions end before them and a new \
             session goes on, with a note on stderr. MX answers are cached for their TTL, once for the whole run. The first \
             RCPT of a domain is a random local part: a server that accepts it accepts \
             anything, and no address of that domain is called deliverable.",
            "Each MX host is held to the recipient domain's TLS policy as smtpx-send(1) \
             does (DANE, then MTA-STS; --tls-policy): addresses whose MX hosts all fail it \
             are unreachable, the note saying why.",
            "Verdicts: deliverable (250/251 and the random local part refused), \
             undeliverable (550/551/553, 5.1.x, 5.2.x), accept-all, temporary (4xx), \
             no-mail (null MX), no-domain (NXDOMAIN), dns-error, unreachable, policy (5.7.x, \
             554, a refused MAIL FROM or greeting), invalid.",
        ],
        sections: &[
            ("TIMEOUTS", TIMEOUTS),
            (
                "OUTPUT",
                &[
                    "A table by default; --format csv (line, address, verdict, code, \
                   enhanced, detail, host) or --format jsonl (--json): one {\"type\": \
                   \"verdict\"} object per address with line, address, verdict, reply, note \
                   and host, then a result object with counts per verdict, total, decided, \
                   duplicates, interrupted and resumed. A progress bar shows on a terminal \
                   only.",
                ],
            ),
            (
                "RESUMING AND SHARDING",
                &[
                    "--resume STATE appends one line per verdict to STATE as it is decided \
                     and syncs it after each batch, so a crash or kill -9 loses at most the \
                     batches in flight and never records an address twice (a line torn by \
                     the crash is dropped). Run the same command again: the verdicts in \
                     STATE are printed first, in the order they were decided, and only the \
                     rest is asked. STATE names the input and the options that change \
                     verdicts (--from, --server, --port, --dns-server, --helo, --tls, \
                     --tls-no-verify, --retry-temporary, --shard); another input or other \
                     values are refused with exit 2, and the file is left as it is.",
                    "--shard K/N takes the addresses whose domain falls in share K of N \
                     (FNV-1a of the lower-case domain, modulo N), so one domain, and the \
                     hosts behind it, is asked by one run only. The N outputs together are \
                     the unsharded result: CSV rows after each header line, or JSON verdict \
                     lines without the result lines, whose counts add up.",
                ],
            ),
        ],
        exit: exit::VERIFY,
        examples: &[
            (
                "Two addresses",
                "smtpx verify alice@example.org bob@example.net",
            ),
            (
                "A list, as CSV",
                "smtpx verify --file list.txt --format csv > verdicts.csv",
            ),
            (
                "Ask greylisted addresses again after five minutes",
                "smtpx verify --file list.txt --retry-temporary 5m",
            ),
            (
                "A restartable run: after a crash, the same command goes on where it stopped",
                "smtpx verify --file list.txt --resume list.state --format csv > verdicts.csv",
            ),
            (
                "The third of four shares, on one of four machines",
                "smtpx verify --file list.txt --shard 3/4 --format csv > part3.csv",
            ),
        ],
    },
    Page {
        name: "bench",
        description: &[
            "Loads one server with many messages over parallel sessions, like Postfix's \
             smtp-source, and reports counts, throughput and latency percentiles. With \
             PIPELINING a message's content leaves in the same write as the next message's \
             envelope (RFC 2920 section 3.1), so each message costs one round trip.",
            "Every started message ends in exactly one bucket: accepted (the final dot or \
             BDAT LAST answered 2xx), rejected by phase and code, or failed by the phase \
             whose reply never came. -n and --duration both bound the run; --rate caps \
             starts; --per-session reconnects. Memory does not grow with -n.",
            "For more load than one machine makes, run bench on many machines with any job \
             runner and join their --json reports with smtpx bench merge; see \
             smtpx-bench-merge(1).",
        ],
        sections: &[
            ("TIMEOUTS", TIMEOUTS),
            (
                "JSON OUTPUT",
                &[
                    "--json prints one {\"type\": \"bench\"} object: server, request, stopped, \
                   messages, rejected, failed (each with its exit_code), recipients, sessions, \
                   notes, content_bytes, runs (1, or how many runs a merged report covers), \
                   forced and, unless --no-timing, elapsed_ms, messages_per_s, mb_per_s, \
                   latency_ms (count, p50, p90, p99, max per step), latency_histograms (each \
                   step's HdrHistogram, V2 compressed, base64: the HISTFAAA... strings every \
                   HdrHistogram library reads, in microseconds from 1 to 3600000000 at 2 \
                   significant digits), started_at and ended_at (RFC 3339, UTC, \
                   microseconds); then the result object.",
                ],
            ),
        ],
        exit: exit::BENCH,
        examples: &[
            (
                "10 sessions share 10000 messages with 1 KB bodies",
                "smtpx bench -s 127.0.0.1:2525 -n 10000 -c 10 --size 1024",
            ),
            (
                "At most 500 messages a second for five minutes, 3 recipients each",
                "smtpx bench -s mx.lab.example -c 20 --rcpts 3 --to 'user{n%1000}@lab.example' --rate 500/s --duration 5m",
            ),
        ],
    },
    Page {
        name: "bench-merge",
        description: &[
            "Joins the --json reports of many smtpx bench runs - on other machines, or at \
             other times - into the report of one run that did all their work, printed as \
             bench prints its own (--json gives the same object, so merged reports merge \
             again). Each REPORT is a file of bench --json output, or - for stdin; every \
             {\"type\": \"bench\"} object in it is one run, so concatenated outputs work \
             too. smtpx coordinates no machines: a job runner (GNU parallel over ssh, a \
             Kubernetes Indexed Job, a CI matrix) starts the runs and gathers the files.",
            "Counts add up exactly: messages started, accepted, rejected by phase and code, \
             failed by phase (the first reason seen is kept), recipients, sessions and \
             content bytes. Latency percentiles are exact too: each report carries every \
             step's HdrHistogram, and the histograms add bucket by bucket, so the merged \
             percentiles are those of one histogram that recorded every sample. Sessions, -n \
             and --rate add up (machines may carry unequal shares); --duration is the \
             longest.",
            "Throughput is the accepted messages over the span from the earliest started_at \
             to the latest ended_at, which are wall-clock times: the machines' clocks must \
             agree (NTP) for it to mean anything, and runs that did not overlap make it \
             lower. Reports made with --no-timing merge their counts, with no latencies or \
             throughput.",
            "Reports of different servers, or of different messages (recipients per \
             message, sizes, --per-session, --chunking, --no-pipelining), or one bounded by \
             -n and one only by --duration, are refused with the differences named (exit 2); \
             --force merges them anyway, keeps the first report's values and notes the \
             differences. A report whose counts do not add up (a message in two buckets, a \
             histogram with another number of samples) is refused as edited or cut short.",
        ],
        sections: &[(
            "JSON OUTPUT",
            &[
                "--json prints one {\"type\": \"bench\"} object in bench's format (see \
                 smtpx-bench(1)) with runs the number of runs covered and forced what \
                 differed under --force; then the result object.",
            ],
        )],
        exit: exit::BENCH_MERGE,
        examples: &[
            (
                "Join the reports of three machines",
                "smtpx bench merge a.json b.json c.json",
            ),
            (
                "Every report in a directory, merged as JSON (which merges again)",
                "smtpx bench merge --json reports/*.json > merged.json",
            ),
        ],
    },
    Page {
        name: "session",
        description: &[
            "An interactive SMTP session: what telnet or openssl s_client -starttls smtp \
             give, with smtpx doing the parts that are hard by hand. It connects to \
             HOST[:PORT] (or a domain's first usable MX host), shows the greeting, and sends \
             each line typed as one SMTP command (CRLF added). The server is read all the \
             time, so an unsolicited reply (a 421) or a closed connection shows at once.",
            "Replies are annotated: the reply code and the enhanced status code (RFC 3463) \
             in plain words, and each EHLO capability with its meaning, as smtpx-check(1) \
             gives them.",
            "STARTTLS typed by hand (or /tls): on its 220 the TLS handshake happens at once, \
             the certificate and verdict are shown and the markers switch to ~> and <~; the \
             verification rules and flags are those of smtpx-send(1) (on port 587 or with \
             --tls starttls an unverified certificate ends the session). Send EHLO again \
             after it (RFC 3207 section 4.2).",
            "AUTH PLAIN, AUTH LOGIN, AUTH CRAM-MD5, AUTH SCRAM-SHA-256, AUTH XOAUTH2 or AUTH \
             OAUTHBEARER typed without arguments (or /auth [MECH]): smtpx runs the exchange, \
             with the user name from --user and the password from --password-file, \
             --password-env, --password-command or, on a terminal, a prompt without echo. \
             Credentials are never sent in plaintext without --allow-insecure-auth. An AUTH \
             line typed with its base64 is redacted in every output, and so is anything \
             typed while the server's 334 awaits an answer.",
            "After DATA's 354, lines typed are the message: a lone . ends it, and a line that \
             starts with a dot is dot-stuffed by smtpx (type the message, not its wire \
             form). /file PATH sends a file there instead, CRLF-normalised, dot-stuffed and \
             streamed. If the input ends inside DATA the final dot is never sent.",
            "smtpx's own commands start with /: /help, /caps, /tls, /auth [MECH], /file \
             PATH, /reconnect, /quit. A mistyped one gets a suggestion and is never sent to \
             the server.",
            "On a terminal: line editing, a history kept in $XDG_STATE_HOME/smtpx/history \
             (~/.local/state/smtpx/history; AUTH lines are never stored; --no-history keeps \
             none), Tab completion of SMTP verbs, the server's AUTH mechanisms and extension \
             verbs and the / commands, Ctrl-C cancels the line being typed, Ctrl-D ends the \
             session with QUIT. Off a terminal (stdin a pipe or a file) lines are read the \
             same way, so sessions can be scripted: each line waits for its reply, except \
             that lines that arrived together go in one write when the server offers \
             PIPELINING (MAIL, RCPT, RSET, NOOP, ending with DATA at most). At the end of \
             the input smtpx sends QUIT.",
            TRANSCRIPT,
        ],
        sections: &[("TIMEOUTS", TIMEOUTS), ("JSON OUTPUT", &[RESULT_JSON])],
        exit: exit::SESSION,
        examples: &[
            (
                "Talk to a server by hand",
                "smtpx session mx.example.org:25",
            ),
            (
                "Debug submission: STARTTLS and AUTH typed, the password asked without echo",
                "smtpx session smtp.example.org:587 --user me@example.org",
            ),
            (
                "A scripted session (one SMTP line per line of the file), as JSON events",
                "smtpx session -s mx.example.org --json < lines.txt",
            ),
        ],
    },
    Page {
        name: "serve",
        description: &[
            "A local SMTP server for testing: it catches the mail an application sends \
             (in a Maildir, an mbox, or nowhere) and shows each session from the server's \
             side, with the arrows mirrored (-> is what the server said, <- what it heard) \
             and a line per message. It listens on 127.0.0.1:2525 unless --listen or \
             --listen-tls say otherwise; an address that is not loopback must be named \
             explicitly. The first line printed is the bound address.",
            "It offers PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, CHUNKING \
             (BDAT) with BINARYMIME and DSN; STARTTLS with --tls-cert and --tls-key or \
             --tls-self-signed (whose SHA-256 is printed); AUTH (SCRAM-SHA-256, CRAM-MD5, \
             PLAIN, LOGIN) with --users FILE or --auth-any, only after TLS unless \
             --allow-insecure-auth.",
        ],
        sections: &[
            (
                "DATA AND STORAGE",
                &[
                    "Only CRLF . CRLF ends DATA, and one leading dot is removed from each \
                     line (RFC 5321 section 4.5.2). A bare LF or CR in the content, in \
                     particular the end-of-data forms of the SMTP smuggling advisories, never \
                     ends it: the message is read to its real end and refused with 550 5.6.0.",
                    "--maildir DIR writes each message in DIR/tmp and renames it into DIR/new \
                     when complete; --mbox FILE appends under a lock with mboxrd quoting. The \
                     envelope is recorded in front of the message as Return-Path, one \
                     X-Original-To per recipient, X-Smtpx-Mail-Params and a Received field. \
                     Content streams to disk, so memory stays flat.",
                ],
            ),
            (
                "FAULTS",
                &[
                    "Stages are greeting, ehlo, starttls, auth, mail, rcpt, data, dot and \
                     quit. --reply STAGE=CODE [TEXT] answers a stage with that reply; \
                     --reply-rcpt PATTERN=CODE [TEXT] answers matching recipients; --delay \
                     STAGE=DURATION waits before answering; --drop STAGE closes the \
                     connection instead; --fail-every N applies the faults to every Nth \
                     transaction or session only.",
                ],
            ),
            (
                "LIMITS",
                &[
                    "Command lines of 512 octets (12288 for AUTH), --max-recipients, \
                     --max-commands per session, 20 refused commands per session, \
                     --idle-timeout and --max-concurrent bound what any client can make the \
                     server hold. --max-messages and --max-sessions end the run, as do SIGINT \
                     and SIGTERM; sessions in progress then get 5 seconds to finish.",
                ],
            ),
            (
                "JSON OUTPUT",
                &[
                    "--json prints one object per event: listening, certificate, connected, \
                     turned-away, command (AUTH redacted), reply, content, tls, message, \
                     closed, warning, stopping; the last line is the result object with \
                     messages, sessions and stopped.",
                ],
            ),
        ],
        exit: exit::SERVE,
        examples: &[
            (
                "Catch one message, and send it from another terminal",
                "smtpx serve --max-messages 1",
            ),
            (
                "Keep every message in a Maildir, refusing one recipient domain",
                "smtpx serve --maildir ~/caught --reply-rcpt '*@bad.example=550 5.1.1 no such user'",
            ),
            (
                "STARTTLS with a certificate made at start, written out for the client",
                "smtpx serve --tls-self-signed --tls-cert-out cert.pem --auth-any",
            ),
        ],
    },
    Page {
        name: "config",
        description: &[
            "Config profiles live in $XDG_CONFIG_HOME/smtpx/config.toml (or the file \
             --config names). smtpx config show prints the settings the selected profile \
             (--profile, SMTPX_PROFILE, or default_profile in the file) resolves to, and \
             where each came from; a password command or file is named, never run or read.",
            "Flags and environment variables always override a profile. An error in the \
             file names its line and key.",
        ],
        sections: &[(
            "JSON OUTPUT",
            &[
                "--json prints one {\"type\": \"config\"} object with file, profile and \
               settings (password_command shown as [redacted]), then the result object.",
            ],
        )],
        exit: exit::CONFIG,
        examples: &[
            (
                "What does the default profile resolve to?",
                "smtpx config show",
            ),
            (
                "A named profile, as JSON",
                "smtpx config show --profile work --json",
            ),
        ],
    },
];

/// The page of `name` (`smtpx` for the top level).
pub fn page(name: &str) -> Option<&'static Page> {
    PAGES.iter().find(|p| p.name == name)
}
