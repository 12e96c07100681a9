# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_smtpx_global_optspecs
    string join \n config= profile= h/help V/version
end

function __fish_smtpx_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_smtpx_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_smtpx_using_subcommand
    set -l cmd (__fish_smtpx_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c smtpx -n "__fish_smtpx_needs_command" -l config -d 'Config file [default: $XDG_CONFIG_HOME/smtpx/config.toml or ~/.config/smtpx/config.toml]' -r -F
complete -c smtpx -n "__fish_smtpx_needs_command" -l profile -d 'Use this profile from the config file (flags still win)' -r
complete -c smtpx -n "__fish_smtpx_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c smtpx -n "__fish_smtpx_needs_command" -s V -l version -d 'Print version'
complete -c smtpx -n "__fish_smtpx_needs_command" -f -a "send" -d 'Send a message and show the whole SMTP conversation'
complete -c smtpx -n "__fish_smtpx_needs_command" -f -a "mx" -d 'Show a domain\'s mail routing: MX hosts, addresses, null MX, implicit MX'
complete -c smtpx -n "__fish_smtpx_needs_command" -f -a "domain" -d 'Check a domain\'s mail security from DNS and HTTPS alone: DNSSEC, MX, DANE, MTA-STS, TLS-RPT, SPF, DMARC and DKIM, each with a pass/warn/fail verdict and its reason'
complete -c smtpx -n "__fish_smtpx_needs_command" -f -a "check" -d 'Diagnose a mail server: banner, reverse DNS, EHLO, STARTTLS and certificate, VRFY, EXPN, TURN, timing, and a pass/warn/fail verdict list'
complete -c smtpx -n "__fish_smtpx_needs_command" -f -a "vrfy" -d 'Ask a server to verify addresses (VRFY), with the RFC 5321 meaning of each reply'
complete -c smtpx -n "__fish_smtpx_needs_command" -f -a "expn" -d 'Ask a server to expand mailing lists (EXPN), listing the members it returns'
complete -c smtpx -n "__fish_smtpx_needs_command" -f -a "size" -d 'Show a server\'s advertised message size limit and probe what MAIL FROM ... SIZE=n accepts, without sending a message'
complete -c smtpx -n "__fish_smtpx_needs_command" -f -a "verify" -d 'Verify addresses in bulk by asking each domain\'s MX hosts at RCPT TO (nothing is sent), with a catch-all probe per domain and a progress bar'
complete -c smtpx -n "__fish_smtpx_needs_command" -f -a "bench" -d 'Load-test a server: many messages over parallel sessions, with PIPELINING, and a report of counts, throughput and latency percentiles (like Postfix\'s smtp-source)'
complete -c smtpx -n "__fish_smtpx_needs_command" -f -a "session" -d 'Type SMTP by hand, with smtpx doing STARTTLS, AUTH, dot-stuffing and reply meanings: a telnet or `openssl s_client` that knows SMTP'
complete -c smtpx -n "__fish_smtpx_needs_command" -f -a "serve" -d 'Run a local SMTP server that catches mail (Maildir, mbox or discard), shows each session, and refuses, delays or drops on request'
complete -c smtpx -n "__fish_smtpx_needs_command" -f -a "config" -d 'Show the settings a profile resolves to (secrets redacted)'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -s s -l server -d 'Server to talk to: HOST, HOST:PORT, IPv4:PORT or [IPv6]:PORT [default: the MX hosts of each recipient\'s domain]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -s p -l port -d 'Port, when --server gives none (1-65535)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l dns-server -d 'Send DNS queries (MX, A, AAAA, PTR) to this server instead of the system\'s resolvers' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l dns-timeout -d 'Deadline for each DNS lookup' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l dns-trust-anchor -d 'Validate DNSSEC from the DS or DNSKEY records in FILE (zone-file syntax) instead of the built-in root trust anchor' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l socket -d 'Talk to the server over the Unix domain socket PATH instead of TCP' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l pipe -d 'Run COMMAND and speak SMTP over its stdin and stdout, e.g. \'sendmail -bs\' or \'exim -bh 192.0.2.1\' (split into words like a shell, with simple quoting; no shell runs). Its stderr is shown marked; at the end its stdin is closed and its exit status reported (killed if it does not exit within 5s)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l local-addr -l local-interface -d 'Connect from this source address, and port if given: IP, IP:PORT or [IPv6]:PORT (bench and verify, which open many connections, take no port)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l proxy-protocol -l proxy-version -d 'Send a HAProxy PROXY protocol header (v1 text, v2 binary) before anything else' -r -f -a "v1\t'The text header: PROXY TCP4 SOURCE DEST SPORT DPORT'
v2\t'The binary header'"
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l proxy-source -d 'Client address the PROXY header names [default: our end of the connection]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l proxy-dest -d 'Server address the PROXY header names [default: the server\'s end of the connection]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l socks5 -d 'Connect through the SOCKS5 proxy HOST[:PORT] (RFC 1928; port 1080 by default); the server\'s name goes to the proxy unresolved' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l socks5-user -d 'User name for the SOCKS5 proxy (RFC 1929); the password comes from --socks5-password-file, --socks5-password-env, --socks5-password-command or a prompt' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l socks5-password-file -d 'Read the SOCKS5 password from FILE; refused if group- or world-readable' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l socks5-password-env -d 'Read the SOCKS5 password from the environment variable VAR' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l socks5-password-command -d 'Run CMD with sh -c and use its output as the SOCKS5 password' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l max-hops -d 'Most MX hosts/addresses to try for one domain (at least 2, RFC 5321 §5.1)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l helo -d 'Name to send in EHLO/HELO [default: this host\'s name if fully qualified, else the address literal of our end of the connection, e.g. [127.0.0.1]]. An IDN name goes as A-labels' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l timeout -d 'One deadline for the whole run, e.g. 30s, 1m30s, or 30 (seconds)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l connect-timeout -d 'TCP connect timeout' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l greeting-timeout -d 'Wait for the greeting (RFC 5321 §4.5.3.2.1)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l command-timeout -d 'Wait for replies to EHLO, MAIL, RCPT and other commands (§4.5.3.2.2-3)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l data-timeout -d 'Wait for the reply to DATA (§4.5.3.2.4)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l data-block-timeout -d 'Wait for each block of message content to be written (§4.5.3.2.5)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l final-timeout -d 'Wait for the reply to the final dot (§4.5.3.2.6)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l tls -d 'TLS mode [default: implicit on port 465, starttls on 587, otherwise opportunistic]' -r -f -a "starttls\t'STARTTLS is required: no plaintext fallback'
implicit\t'TLS from the first byte (port 465)'
opportunistic\t'STARTTLS when offered, otherwise plaintext (clearly labelled)'
none\t'Never use TLS'"
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l tls-ca -d 'PEM bundle of CA certificates to trust besides the built-in roots (repeatable)' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l tls-server-name -d 'Name to send as SNI and to verify the certificate against [default: the server\'s host name]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l tls-cert -d 'Client certificate chain (PEM), with --tls-key' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l tls-key -d 'Client private key (PEM), with --tls-cert' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l tls-min -d 'Lowest TLS version to offer (TLS 1.0 and 1.1 are never offered)' -r -f -a "1.2\t''
1.3\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l tls-policy -d 'Recipient domain TLS policy to obey when routing by MX (no --server) [default: auto, or none with --tls none, --tls implicit or --tls-no-verify]' -r -f -a "auto\t'DANE where an MX host publishes DNSSEC-secure TLSA records, else the domain\'s MTA-STS policy, else opportunistic TLS (what an MTA does)'
dane\t'Deliver only to MX hosts with DNSSEC-secure TLSA records, authenticated by them'
mta-sts\t'Deliver only to MX hosts the MTA-STS policy names, with a WebPKI-valid certificate, even when the policy is in testing mode'
none\t'Ignore both: opportunistic TLS'"
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l auth -d 'Authenticate with this mechanism (needs --user)' -r -f -a "auto\t'The strongest mechanism the server offers after TLS'
plain\t''
login\t''
cram-md5\t''
scram-sha-256\t''
xoauth2\t''
oauthbearer\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l user -d 'User name to authenticate as (implies --auth auto)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l password-file -d 'Read the password (or OAuth token) from FILE; refused if group- or world-readable' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l password-env -d 'Read the password (or OAuth token) from the environment variable VAR' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l password-command -d 'Run CMD with sh -c and use its output as the password or token (like msmtp\'s passwordeval)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -s f -l from -d 'Envelope sender and From header, ADDRESS or \'Name <ADDRESS>\'; \'\' or \'<>\' for the null sender [default: $USER@this host]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -s t -l to -d 'Recipient, ADDRESS or \'Name <ADDRESS>\' (repeatable, or a comma-separated list as in swaks). IDN domains go as A-labels; a non-ASCII local part needs a server offering SMTPUTF8. Required unless --quit-after stops before RCPT' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l cc -d 'Carbon-copy recipient: envelope and Cc header (repeatable or comma-separated)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l bcc -d 'Blind-copy recipient: envelope only, never in a header (repeatable or comma-separated)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l subject -d 'Subject header (non-ASCII is RFC 2047-encoded)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -s H -l header -d 'Extra header, \'Name: value\' (repeatable; replaces a generated header of that name)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l add-header -d 'Add a header, \'Name: value\' (repeatable), after the others, even when one of that name is generated or given with --header (swaks\' --add-header)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l body -d 'Message body text' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l body-file -d 'Read the body text from FILE (\'-\' for stdin)' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l html -d 'HTML body; with a text body (--body, --body-file) the two go as multipart/alternative' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l html-file -d 'Read the HTML body from FILE (\'-\' for stdin)' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l attach -d 'Attach FILE, base64-encoded, with a content type from its name (repeatable)' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l attach-name -d 'File name the next --attach goes by in the message [default: its own name]; with no NAME, that attachment carries no file name (as in swaks)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l attach-type -d 'Content type of every --attach that follows, e.g. application/pdf (as in swaks) [default: from each file\'s name]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l data -d 'Send FILE as the complete message, as it is (\'-\' for stdin); no headers are added. Memory stays bounded for any size. A file is scanned first: 8-bit content goes with BODY=8BITMIME, or is refused by a server without it. Stdin cannot be scanned ahead: it is declared 8BITMIME when offered, and otherwise stopped, unsent, at its first 8-bit byte' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l dkim-key -d 'Sign the message with DKIM (RFC 6376) using the PEM private key in FILE: RSA (PKCS#8 or PKCS#1, at least 1024 bits) signs rsa-sha256, Ed25519 (PKCS#8) ed25519-sha256 (RFC 8463); the type comes from the file. Relaxed/relaxed, with From, Reply-To, Subject, Date, To, Cc, Message-ID, In-Reply-To, References, MIME-Version, Content-Type, Content-Transfer-Encoding and List-Unsubscribe signed when present and From oversigned. A --data message (file or stdin) is read whole to sign it, at most 100 MiB. A key file others can read is a warning' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l dkim-selector -d 'DKIM selector: the key record is published at SELECTOR._domainkey.DOMAIN' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l dkim-domain -d 'Signing domain (d=) [default: the From header\'s domain, so DMARC aligns]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l quit-after -d 'Stop after this step and QUIT; no message is ever sent. Steps before MAIL need no --to; `auth` needs --user, `tls` a TLS mode other than none (any case: RCPT works)' -r -f -a "connect\t'After the TCP connection is made (closes without QUIT: there is no greeting yet)'
greeting\t'After the server\'s greeting'
ehlo\t'After EHLO (or HELO)'
tls\t'After the TLS handshake and the EHLO that follows it'
auth\t'After a successful AUTH'
mail\t'After MAIL FROM'
rcpt\t'After RCPT TO (checks recipients without sending a message)'"
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l drop-after -d 'Close the connection after this step, without QUIT, to see how the server handles an abandoned session (swaks\' --drop-after); smtpx never sends QUIT then, also when a refusal ends the session sooner. Every step but `dot` sends no message' -r -f -a "connect\t'Once the TCP connection is made (and the TLS handshake, with implicit TLS)'
greeting\t'After the server\'s greeting'
ehlo\t'After EHLO (or HELO)'
tls\t'After the TLS handshake and the EHLO that follows it'
auth\t'After a successful AUTH'
mail\t'After the reply to MAIL FROM'
rcpt\t'After the replies to RCPT TO'
data\t'After DATA\'s 354, before any content (DATA is used even with --chunking)'
dot\t'After the reply to the end of the message: the message is sent'"
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l protocol -d 'Protocol to speak: smtp, or lmtp (RFC 2033: LHLO, one reply per accepted recipient after the message). LMTP needs --server with a port other than 25' -r -f -a "smtp\t'SMTP (RFC 5321): EHLO, one reply to the message'
lmtp\t'LMTP (RFC 2033): LHLO, one reply per accepted recipient to the message'"
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l xclient -d 'Postfix XCLIENT attribute, ATTR=VALUE (repeatable): ADDR, NAME, PORT, PROTO, HELO, LOGIN, DESTADDR, DESTPORT, REVERSE_NAME. Sent after TLS, followed by EHLO again; only the attributes the server lists; refused before MAIL (exit 7) when the server does not offer XCLIENT' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l xforward -d 'Postfix XFORWARD attribute, ATTR=VALUE (repeatable): NAME, ADDR, PORT, PROTO, HELO, IDENT, SOURCE. Sent before MAIL; only the attributes the server lists; refused before MAIL (exit 7) when the server does not offer XFORWARD' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l dsn-notify -d 'Ask for delivery status notifications (RFC 3461): \'never\', or a comma-separated list of success, failure, delay. Sent when the server offers DSN, with ORCPT' -r -f -a "never\t'No notification at all (cannot be combined)'
success\t'When the message is delivered'
failure\t'When delivery fails'
delay\t'When delivery is delayed'"
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l dsn-ret -d 'What a failure notification returns: the full message or its headers only' -r -f -a "full\t'The whole message'
hdrs\t'Its headers only'"
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l dsn-envid -d 'Envelope identifier that every notification carries back (RFC 3461 §4.4)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l output -l output-file -d 'Also write the output to FILE, without colour: the transcript with its warnings (all of it under -q), or the JSON lines with --json. FILE is created with mode 0600 and must not exist' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l tls-save-chain -d 'Write the certificate chain the server presents to FILE as PEM, leaf first, even when it fails verification; a later handshake of the same run (another MX host) is appended. Certificates are public: the file gets the usual mode' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l config -d 'Config file [default: $XDG_CONFIG_HOME/smtpx/config.toml or ~/.config/smtpx/config.toml]' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l profile -d 'Use this profile from the config file (flags still win)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l no-dnssec -d 'Do not validate DNSSEC: every answer\'s status is "unchecked" (for resolvers that strip DNSSEC records, and private trees without signatures)'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l tls-no-verify -d 'Do not verify the server\'s certificate (every later line is labelled unverified)'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l show-secrets -d 'Show AUTH exchanges unredacted (prints a warning)'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l allow-insecure-auth -d 'Allow credentials over plaintext, and PLAIN/LOGIN over unverified TLS (lab servers only)'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l allow-empty -d 'Send an empty --data message instead of refusing it'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l print -d 'Print the composed message (headers and body, as it would be sent) and exit without connecting; with --dkim-key, the signed message (a --data one too)'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l no-pipelining -d 'Send commands one at a time even when the server offers PIPELINING'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l chunking -d 'Send the message in BDAT chunks (RFC 3030) when the server offers CHUNKING, with BODY=BINARYMIME when the content needs it and it is offered [default: DATA]'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l prdr -d 'Ask for per-recipient replies to the message (PRDR, offered by Exim): MAIL FROM ... PRDR, then one reply per accepted recipient after the final dot, each counted. A server that does not offer PRDR gets a normal transaction, with a warning'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l requiretls -d 'Require TLS all the way to the recipient (RFC 8689): MAIL FROM ... REQUIRETLS. Refused before MAIL (exit 5) unless the session is TLS with a verified certificate and the server offers REQUIRETLS'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l show-data -d 'Show the message content line by line in the transcript, after DATA or BDAT, with control characters escaped (swaks\' default) [default: one summary line]'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -s q -l quiet -d 'Print only the outcome line'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l json -d 'One JSON object per event and a final result object, one per line'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -l no-timing -d 'Hide timings, for stable output'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c smtpx -n "__fish_smtpx_using_subcommand send" -s V -l version -d 'Print version'
complete -c smtpx -n "__fish_smtpx_using_subcommand mx" -l dns-server -d 'Send DNS queries (MX, A, AAAA, PTR) to this server instead of the system\'s resolvers' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand mx" -l dns-timeout -d 'Deadline for each DNS lookup' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand mx" -l dns-trust-anchor -d 'Validate DNSSEC from the DS or DNSKEY records in FILE (zone-file syntax) instead of the built-in root trust anchor' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand mx" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand mx" -l config -d 'Config file [default: $XDG_CONFIG_HOME/smtpx/config.toml or ~/.config/smtpx/config.toml]' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand mx" -l profile -d 'Use this profile from the config file (flags still win)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand mx" -l no-dnssec -d 'Do not validate DNSSEC: every answer\'s status is "unchecked" (for resolvers that strip DNSSEC records, and private trees without signatures)'
complete -c smtpx -n "__fish_smtpx_using_subcommand mx" -s 4 -l ipv4 -d 'Show IPv4 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand mx" -s 6 -l ipv6 -d 'Show IPv6 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand mx" -l dnssec -d 'Validate DNSSEC and show each answer\'s status (implied by --dns-trust-anchor)'
complete -c smtpx -n "__fish_smtpx_using_subcommand mx" -s q -l quiet -d 'Print only the outcome line'
complete -c smtpx -n "__fish_smtpx_using_subcommand mx" -l json -d 'One JSON object per event and a final result object, one per line'
complete -c smtpx -n "__fish_smtpx_using_subcommand mx" -l no-timing -d 'Hide timings, for stable output'
complete -c smtpx -n "__fish_smtpx_using_subcommand mx" -s h -l help -d 'Print help'
complete -c smtpx -n "__fish_smtpx_using_subcommand mx" -s V -l version -d 'Print version'
complete -c smtpx -n "__fish_smtpx_using_subcommand domain" -l dkim-selector -d 'Check the DKIM key published under this selector (repeatable); selectors cannot be listed from DNS' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand domain" -l dane-port -d 'The SMTP port whose TLSA records are looked up on each MX host' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand domain" -l tls-ca -d 'Trust these CA certificates (PEM) for the MTA-STS policy fetch, besides the public roots (repeatable)' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand domain" -l fetch-timeout -d 'Deadline for fetching each MTA-STS policy over HTTPS' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand domain" -l dns-server -d 'Send DNS queries (MX, A, AAAA, PTR) to this server instead of the system\'s resolvers' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand domain" -l dns-timeout -d 'Deadline for each DNS lookup' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand domain" -l dns-trust-anchor -d 'Validate DNSSEC from the DS or DNSKEY records in FILE (zone-file syntax) instead of the built-in root trust anchor' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand domain" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand domain" -l config -d 'Config file [default: $XDG_CONFIG_HOME/smtpx/config.toml or ~/.config/smtpx/config.toml]' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand domain" -l profile -d 'Use this profile from the config file (flags still win)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand domain" -l no-dnssec -d 'Do not validate DNSSEC: every answer\'s status is "unchecked" (for resolvers that strip DNSSEC records, and private trees without signatures)'
complete -c smtpx -n "__fish_smtpx_using_subcommand domain" -s q -l quiet -d 'Print only the outcome line'
complete -c smtpx -n "__fish_smtpx_using_subcommand domain" -l json -d 'One JSON object per event and a final result object, one per line'
complete -c smtpx -n "__fish_smtpx_using_subcommand domain" -l no-timing -d 'Hide timings, for stable output'
complete -c smtpx -n "__fish_smtpx_using_subcommand domain" -s h -l help -d 'Print help'
complete -c smtpx -n "__fish_smtpx_using_subcommand domain" -s V -l version -d 'Print version'
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -s s -l server -d 'Server to talk to: HOST, HOST:PORT, IPv4:PORT or [IPv6]:PORT [default: the MX hosts of each recipient\'s domain]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -s p -l port -d 'Port, when --server gives none (1-65535)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l dns-server -d 'Send DNS queries (MX, A, AAAA, PTR) to this server instead of the system\'s resolvers' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l dns-timeout -d 'Deadline for each DNS lookup' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l dns-trust-anchor -d 'Validate DNSSEC from the DS or DNSKEY records in FILE (zone-file syntax) instead of the built-in root trust anchor' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l socket -d 'Talk to the server over the Unix domain socket PATH instead of TCP' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l pipe -d 'Run COMMAND and speak SMTP over its stdin and stdout, e.g. \'sendmail -bs\' or \'exim -bh 192.0.2.1\' (split into words like a shell, with simple quoting; no shell runs). Its stderr is shown marked; at the end its stdin is closed and its exit status reported (killed if it does not exit within 5s)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l local-addr -l local-interface -d 'Connect from this source address, and port if given: IP, IP:PORT or [IPv6]:PORT (bench and verify, which open many connections, take no port)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l proxy-protocol -l proxy-version -d 'Send a HAProxy PROXY protocol header (v1 text, v2 binary) before anything else' -r -f -a "v1\t'The text header: PROXY TCP4 SOURCE DEST SPORT DPORT'
v2\t'The binary header'"
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l proxy-source -d 'Client address the PROXY header names [default: our end of the connection]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l proxy-dest -d 'Server address the PROXY header names [default: the server\'s end of the connection]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l socks5 -d 'Connect through the SOCKS5 proxy HOST[:PORT] (RFC 1928; port 1080 by default); the server\'s name goes to the proxy unresolved' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l socks5-user -d 'User name for the SOCKS5 proxy (RFC 1929); the password comes from --socks5-password-file, --socks5-password-env, --socks5-password-command or a prompt' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l socks5-password-file -d 'Read the SOCKS5 password from FILE; refused if group- or world-readable' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l socks5-password-env -d 'Read the SOCKS5 password from the environment variable VAR' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l socks5-password-command -d 'Run CMD with sh -c and use its output as the SOCKS5 password' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l max-hops -d 'Most MX hosts/addresses to try for one domain (at least 2, RFC 5321 §5.1)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l helo -d 'Name to send in EHLO/HELO [default: this host\'s name if fully qualified, else the address literal of our end of the connection, e.g. [127.0.0.1]]. An IDN name goes as A-labels' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l timeout -d 'One deadline for the whole run, e.g. 30s, 1m30s, or 30 (seconds)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l connect-timeout -d 'TCP connect timeout' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l greeting-timeout -d 'Wait for the greeting (RFC 5321 §4.5.3.2.1)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l command-timeout -d 'Wait for replies to EHLO, MAIL, RCPT and other commands (§4.5.3.2.2-3)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l data-timeout -d 'Wait for the reply to DATA (§4.5.3.2.4)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l data-block-timeout -d 'Wait for each block of message content to be written (§4.5.3.2.5)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l final-timeout -d 'Wait for the reply to the final dot (§4.5.3.2.6)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l tls -d 'TLS mode [default: implicit on port 465, starttls on 587, otherwise opportunistic]' -r -f -a "starttls\t'STARTTLS is required: no plaintext fallback'
implicit\t'TLS from the first byte (port 465)'
opportunistic\t'STARTTLS when offered, otherwise plaintext (clearly labelled)'
none\t'Never use TLS'"
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l tls-ca -d 'PEM bundle of CA certificates to trust besides the built-in roots (repeatable)' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l tls-server-name -d 'Name to send as SNI and to verify the certificate against [default: the server\'s host name]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l tls-cert -d 'Client certificate chain (PEM), with --tls-key' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l tls-key -d 'Client private key (PEM), with --tls-cert' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l tls-min -d 'Lowest TLS version to offer (TLS 1.0 and 1.1 are never offered)' -r -f -a "1.2\t''
1.3\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l relay-from -d 'Outside sender for --relay-test' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l relay-to -d 'Outside recipient for --relay-test' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l output -l output-file -d 'Also write the output to FILE, without colour: the transcript with its warnings (all of it under -q), or the JSON lines with --json. FILE is created with mode 0600 and must not exist' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l tls-save-chain -d 'Write the certificate chain the server presents to FILE as PEM, leaf first, even when it fails verification; a later handshake of the same run (another MX host) is appended. Certificates are public: the file gets the usual mode' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l config -d 'Config file [default: $XDG_CONFIG_HOME/smtpx/config.toml or ~/.config/smtpx/config.toml]' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l profile -d 'Use this profile from the config file (flags still win)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l no-dnssec -d 'Do not validate DNSSEC: every answer\'s status is "unchecked" (for resolvers that strip DNSSEC records, and private trees without signatures)'
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l tls-no-verify -d 'Do not verify the server\'s certificate (every later line is labelled unverified)'
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l relay-test -d 'Also test whether the server relays mail from an outside sender to an outside recipient; decided at RCPT, DATA is never sent'
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -s q -l quiet -d 'Print only the outcome line'
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l json -d 'One JSON object per event and a final result object, one per line'
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -l no-timing -d 'Hide timings, for stable output'
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c smtpx -n "__fish_smtpx_using_subcommand check" -s V -l version -d 'Print version'
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -s s -l server -d 'Server to talk to: HOST, HOST:PORT, IPv4:PORT or [IPv6]:PORT [default: the MX hosts of each recipient\'s domain]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -s p -l port -d 'Port, when --server gives none (1-65535)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l dns-server -d 'Send DNS queries (MX, A, AAAA, PTR) to this server instead of the system\'s resolvers' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l dns-timeout -d 'Deadline for each DNS lookup' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l dns-trust-anchor -d 'Validate DNSSEC from the DS or DNSKEY records in FILE (zone-file syntax) instead of the built-in root trust anchor' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l socket -d 'Talk to the server over the Unix domain socket PATH instead of TCP' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l pipe -d 'Run COMMAND and speak SMTP over its stdin and stdout, e.g. \'sendmail -bs\' or \'exim -bh 192.0.2.1\' (split into words like a shell, with simple quoting; no shell runs). Its stderr is shown marked; at the end its stdin is closed and its exit status reported (killed if it does not exit within 5s)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l local-addr -l local-interface -d 'Connect from this source address, and port if given: IP, IP:PORT or [IPv6]:PORT (bench and verify, which open many connections, take no port)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l proxy-protocol -l proxy-version -d 'Send a HAProxy PROXY protocol header (v1 text, v2 binary) before anything else' -r -f -a "v1\t'The text header: PROXY TCP4 SOURCE DEST SPORT DPORT'
v2\t'The binary header'"
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l proxy-source -d 'Client address the PROXY header names [default: our end of the connection]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l proxy-dest -d 'Server address the PROXY header names [default: the server\'s end of the connection]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l socks5 -d 'Connect through the SOCKS5 proxy HOST[:PORT] (RFC 1928; port 1080 by default); the server\'s name goes to the proxy unresolved' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l socks5-user -d 'User name for the SOCKS5 proxy (RFC 1929); the password comes from --socks5-password-file, --socks5-password-env, --socks5-password-command or a prompt' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l socks5-password-file -d 'Read the SOCKS5 password from FILE; refused if group- or world-readable' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l socks5-password-env -d 'Read the SOCKS5 password from the environment variable VAR' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l socks5-password-command -d 'Run CMD with sh -c and use its output as the SOCKS5 password' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l max-hops -d 'Most MX hosts/addresses to try for one domain (at least 2, RFC 5321 §5.1)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l helo -d 'Name to send in EHLO/HELO [default: this host\'s name if fully qualified, else the address literal of our end of the connection, e.g. [127.0.0.1]]. An IDN name goes as A-labels' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l timeout -d 'One deadline for the whole run, e.g. 30s, 1m30s, or 30 (seconds)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l connect-timeout -d 'TCP connect timeout' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l greeting-timeout -d 'Wait for the greeting (RFC 5321 §4.5.3.2.1)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l command-timeout -d 'Wait for replies to EHLO, MAIL, RCPT and other commands (§4.5.3.2.2-3)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l data-timeout -d 'Wait for the reply to DATA (§4.5.3.2.4)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l data-block-timeout -d 'Wait for each block of message content to be written (§4.5.3.2.5)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l final-timeout -d 'Wait for the reply to the final dot (§4.5.3.2.6)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l tls -d 'TLS mode [default: implicit on port 465, starttls on 587, otherwise opportunistic]' -r -f -a "starttls\t'STARTTLS is required: no plaintext fallback'
implicit\t'TLS from the first byte (port 465)'
opportunistic\t'STARTTLS when offered, otherwise plaintext (clearly labelled)'
none\t'Never use TLS'"
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l tls-ca -d 'PEM bundle of CA certificates to trust besides the built-in roots (repeatable)' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l tls-server-name -d 'Name to send as SNI and to verify the certificate against [default: the server\'s host name]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l tls-cert -d 'Client certificate chain (PEM), with --tls-key' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l tls-key -d 'Client private key (PEM), with --tls-cert' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l tls-min -d 'Lowest TLS version to offer (TLS 1.0 and 1.1 are never offered)' -r -f -a "1.2\t''
1.3\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l tls-policy -d 'Recipient domain TLS policy to obey when routing by MX (no --server) [default: auto, or none with --tls none, --tls implicit or --tls-no-verify]' -r -f -a "auto\t'DANE where an MX host publishes DNSSEC-secure TLSA records, else the domain\'s MTA-STS policy, else opportunistic TLS (what an MTA does)'
dane\t'Deliver only to MX hosts with DNSSEC-secure TLSA records, authenticated by them'
mta-sts\t'Deliver only to MX hosts the MTA-STS policy names, with a WebPKI-valid certificate, even when the policy is in testing mode'
none\t'Ignore both: opportunistic TLS'"
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l auth -d 'Authenticate with this mechanism (needs --user)' -r -f -a "auto\t'The strongest mechanism the server offers after TLS'
plain\t''
login\t''
cram-md5\t''
scram-sha-256\t''
xoauth2\t''
oauthbearer\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l user -d 'User name to authenticate as (implies --auth auto)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l password-file -d 'Read the password (or OAuth token) from FILE; refused if group- or world-readable' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l password-env -d 'Read the password (or OAuth token) from the environment variable VAR' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l password-command -d 'Run CMD with sh -c and use its output as the password or token (like msmtp\'s passwordeval)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l output -l output-file -d 'Also write the output to FILE, without colour: the transcript with its warnings (all of it under -q), or the JSON lines with --json. FILE is created with mode 0600 and must not exist' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l tls-save-chain -d 'Write the certificate chain the server presents to FILE as PEM, leaf first, even when it fails verification; a later handshake of the same run (another MX host) is appended. Certificates are public: the file gets the usual mode' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l config -d 'Config file [default: $XDG_CONFIG_HOME/smtpx/config.toml or ~/.config/smtpx/config.toml]' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l profile -d 'Use this profile from the config file (flags still win)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l no-dnssec -d 'Do not validate DNSSEC: every answer\'s status is "unchecked" (for resolvers that strip DNSSEC records, and private trees without signatures)'
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l tls-no-verify -d 'Do not verify the server\'s certificate (every later line is labelled unverified)'
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l show-secrets -d 'Show AUTH exchanges unredacted (prints a warning)'
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l allow-insecure-auth -d 'Allow credentials over plaintext, and PLAIN/LOGIN over unverified TLS (lab servers only)'
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -s q -l quiet -d 'Print only the outcome line'
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l json -d 'One JSON object per event and a final result object, one per line'
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -l no-timing -d 'Hide timings, for stable output'
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c smtpx -n "__fish_smtpx_using_subcommand vrfy" -s V -l version -d 'Print version'
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -s s -l server -d 'Server to talk to: HOST, HOST:PORT, IPv4:PORT or [IPv6]:PORT [default: the MX hosts of each recipient\'s domain]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -s p -l port -d 'Port, when --server gives none (1-65535)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l dns-server -d 'Send DNS queries (MX, A, AAAA, PTR) to this server instead of the system\'s resolvers' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l dns-timeout -d 'Deadline for each DNS lookup' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l dns-trust-anchor -d 'Validate DNSSEC from the DS or DNSKEY records in FILE (zone-file syntax) instead of the built-in root trust anchor' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l socket -d 'Talk to the server over the Unix domain socket PATH instead of TCP' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l pipe -d 'Run COMMAND and speak SMTP over its stdin and stdout, e.g. \'sendmail -bs\' or \'exim -bh 192.0.2.1\' (split into words like a shell, with simple quoting; no shell runs). Its stderr is shown marked; at the end its stdin is closed and its exit status reported (killed if it does not exit within 5s)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l local-addr -l local-interface -d 'Connect from this source address, and port if given: IP, IP:PORT or [IPv6]:PORT (bench and verify, which open many connections, take no port)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l proxy-protocol -l proxy-version -d 'Send a HAProxy PROXY protocol header (v1 text, v2 binary) before anything else' -r -f -a "v1\t'The text header: PROXY TCP4 SOURCE DEST SPORT DPORT'
v2\t'The binary header'"
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l proxy-source -d 'Client address the PROXY header names [default: our end of the connection]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l proxy-dest -d 'Server address the PROXY header names [default: the server\'s end of the connection]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l socks5 -d 'Connect through the SOCKS5 proxy HOST[:PORT] (RFC 1928; port 1080 by default); the server\'s name goes to the proxy unresolved' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l socks5-user -d 'User name for the SOCKS5 proxy (RFC 1929); the password comes from --socks5-password-file, --socks5-password-env, --socks5-password-command or a prompt' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l socks5-password-file -d 'Read the SOCKS5 password from FILE; refused if group- or world-readable' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l socks5-password-env -d 'Read the SOCKS5 password from the environment variable VAR' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l socks5-password-command -d 'Run CMD with sh -c and use its output as the SOCKS5 password' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l max-hops -d 'Most MX hosts/addresses to try for one domain (at least 2, RFC 5321 §5.1)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l helo -d 'Name to send in EHLO/HELO [default: this host\'s name if fully qualified, else the address literal of our end of the connection, e.g. [127.0.0.1]]. An IDN name goes as A-labels' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l timeout -d 'One deadline for the whole run, e.g. 30s, 1m30s, or 30 (seconds)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l connect-timeout -d 'TCP connect timeout' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l greeting-timeout -d 'Wait for the greeting (RFC 5321 §4.5.3.2.1)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l command-timeout -d 'Wait for replies to EHLO, MAIL, RCPT and other commands (§4.5.3.2.2-3)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l data-timeout -d 'Wait for the reply to DATA (§4.5.3.2.4)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l data-block-timeout -d 'Wait for each block of message content to be written (§4.5.3.2.5)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l final-timeout -d 'Wait for the reply to the final dot (§4.5.3.2.6)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l tls -d 'TLS mode [default: implicit on port 465, starttls on 587, otherwise opportunistic]' -r -f -a "starttls\t'STARTTLS is required: no plaintext fallback'
implicit\t'TLS from the first byte (port 465)'
opportunistic\t'STARTTLS when offered, otherwise plaintext (clearly labelled)'
none\t'Never use TLS'"
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l tls-ca -d 'PEM bundle of CA certificates to trust besides the built-in roots (repeatable)' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l tls-server-name -d 'Name to send as SNI and to verify the certificate against [default: the server\'s host name]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l tls-cert -d 'Client certificate chain (PEM), with --tls-key' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l tls-key -d 'Client private key (PEM), with --tls-cert' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l tls-min -d 'Lowest TLS version to offer (TLS 1.0 and 1.1 are never offered)' -r -f -a "1.2\t''
1.3\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l auth -d 'Authenticate with this mechanism (needs --user)' -r -f -a "auto\t'The strongest mechanism the server offers after TLS'
plain\t''
login\t''
cram-md5\t''
scram-sha-256\t''
xoauth2\t''
oauthbearer\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l user -d 'User name to authenticate as (implies --auth auto)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l password-file -d 'Read the password (or OAuth token) from FILE; refused if group- or world-readable' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l password-env -d 'Read the password (or OAuth token) from the environment variable VAR' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l password-command -d 'Run CMD with sh -c and use its output as the password or token (like msmtp\'s passwordeval)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l output -l output-file -d 'Also write the output to FILE, without colour: the transcript with its warnings (all of it under -q), or the JSON lines with --json. FILE is created with mode 0600 and must not exist' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l tls-save-chain -d 'Write the certificate chain the server presents to FILE as PEM, leaf first, even when it fails verification; a later handshake of the same run (another MX host) is appended. Certificates are public: the file gets the usual mode' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l config -d 'Config file [default: $XDG_CONFIG_HOME/smtpx/config.toml or ~/.config/smtpx/config.toml]' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l profile -d 'Use this profile from the config file (flags still win)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l no-dnssec -d 'Do not validate DNSSEC: every answer\'s status is "unchecked" (for resolvers that strip DNSSEC records, and private trees without signatures)'
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l tls-no-verify -d 'Do not verify the server\'s certificate (every later line is labelled unverified)'
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l show-secrets -d 'Show AUTH exchanges unredacted (prints a warning)'
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l allow-insecure-auth -d 'Allow credentials over plaintext, and PLAIN/LOGIN over unverified TLS (lab servers only)'
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -s q -l quiet -d 'Print only the outcome line'
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l json -d 'One JSON object per event and a final result object, one per line'
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -l no-timing -d 'Hide timings, for stable output'
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c smtpx -n "__fish_smtpx_using_subcommand expn" -s V -l version -d 'Print version'
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -s s -l server -d 'Server to talk to: HOST, HOST:PORT, IPv4:PORT or [IPv6]:PORT [default: the MX hosts of each recipient\'s domain]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -s p -l port -d 'Port, when --server gives none (1-65535)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l dns-server -d 'Send DNS queries (MX, A, AAAA, PTR) to this server instead of the system\'s resolvers' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l dns-timeout -d 'Deadline for each DNS lookup' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l dns-trust-anchor -d 'Validate DNSSEC from the DS or DNSKEY records in FILE (zone-file syntax) instead of the built-in root trust anchor' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l socket -d 'Talk to the server over the Unix domain socket PATH instead of TCP' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l pipe -d 'Run COMMAND and speak SMTP over its stdin and stdout, e.g. \'sendmail -bs\' or \'exim -bh 192.0.2.1\' (split into words like a shell, with simple quoting; no shell runs). Its stderr is shown marked; at the end its stdin is closed and its exit status reported (killed if it does not exit within 5s)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l local-addr -l local-interface -d 'Connect from this source address, and port if given: IP, IP:PORT or [IPv6]:PORT (bench and verify, which open many connections, take no port)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l proxy-protocol -l proxy-version -d 'Send a HAProxy PROXY protocol header (v1 text, v2 binary) before anything else' -r -f -a "v1\t'The text header: PROXY TCP4 SOURCE DEST SPORT DPORT'
v2\t'The binary header'"
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l proxy-source -d 'Client address the PROXY header names [default: our end of the connection]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l proxy-dest -d 'Server address the PROXY header names [default: the server\'s end of the connection]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l socks5 -d 'Connect through the SOCKS5 proxy HOST[:PORT] (RFC 1928; port 1080 by default); the server\'s name goes to the proxy unresolved' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l socks5-user -d 'User name for the SOCKS5 proxy (RFC 1929); the password comes from --socks5-password-file, --socks5-password-env, --socks5-password-command or a prompt' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l socks5-password-file -d 'Read the SOCKS5 password from FILE; refused if group- or world-readable' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l socks5-password-env -d 'Read the SOCKS5 password from the environment variable VAR' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l socks5-password-command -d 'Run CMD with sh -c and use its output as the SOCKS5 password' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l max-hops -d 'Most MX hosts/addresses to try for one domain (at least 2, RFC 5321 §5.1)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l helo -d 'Name to send in EHLO/HELO [default: this host\'s name if fully qualified, else the address literal of our end of the connection, e.g. [127.0.0.1]]. An IDN name goes as A-labels' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l timeout -d 'One deadline for the whole run, e.g. 30s, 1m30s, or 30 (seconds)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l connect-timeout -d 'TCP connect timeout' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l greeting-timeout -d 'Wait for the greeting (RFC 5321 §4.5.3.2.1)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l command-timeout -d 'Wait for replies to EHLO, MAIL, RCPT and other commands (§4.5.3.2.2-3)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l data-timeout -d 'Wait for the reply to DATA (§4.5.3.2.4)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l data-block-timeout -d 'Wait for each block of message content to be written (§4.5.3.2.5)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l final-timeout -d 'Wait for the reply to the final dot (§4.5.3.2.6)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l tls -d 'TLS mode [default: implicit on port 465, starttls on 587, otherwise opportunistic]' -r -f -a "starttls\t'STARTTLS is required: no plaintext fallback'
implicit\t'TLS from the first byte (port 465)'
opportunistic\t'STARTTLS when offered, otherwise plaintext (clearly labelled)'
none\t'Never use TLS'"
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l tls-ca -d 'PEM bundle of CA certificates to trust besides the built-in roots (repeatable)' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l tls-server-name -d 'Name to send as SNI and to verify the certificate against [default: the server\'s host name]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l tls-cert -d 'Client certificate chain (PEM), with --tls-key' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l tls-key -d 'Client private key (PEM), with --tls-cert' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l tls-min -d 'Lowest TLS version to offer (TLS 1.0 and 1.1 are never offered)' -r -f -a "1.2\t''
1.3\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -s f -l from -d 'Envelope sender of the MAIL probes [default: $USER@this host]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l output -l output-file -d 'Also write the output to FILE, without colour: the transcript with its warnings (all of it under -q), or the JSON lines with --json. FILE is created with mode 0600 and must not exist' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l tls-save-chain -d 'Write the certificate chain the server presents to FILE as PEM, leaf first, even when it fails verification; a later handshake of the same run (another MX host) is appended. Certificates are public: the file gets the usual mode' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l config -d 'Config file [default: $XDG_CONFIG_HOME/smtpx/config.toml or ~/.config/smtpx/config.toml]' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l profile -d 'Use this profile from the config file (flags still win)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l no-dnssec -d 'Do not validate DNSSEC: every answer\'s status is "unchecked" (for resolvers that strip DNSSEC records, and private trees without signatures)'
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l tls-no-verify -d 'Do not verify the server\'s certificate (every later line is labelled unverified)'
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l probe -d 'When the server advertises SIZE with no limit, search for the largest declaration it accepts (at most 20 MAIL commands)'
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -s q -l quiet -d 'Print only the outcome line'
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l json -d 'One JSON object per event and a final result object, one per line'
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -l no-timing -d 'Hide timings, for stable output'
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c smtpx -n "__fish_smtpx_using_subcommand size" -s V -l version -d 'Print version'
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -s s -l server -d 'Server to talk to: HOST, HOST:PORT, IPv4:PORT or [IPv6]:PORT [default: the MX hosts of each recipient\'s domain]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -s p -l port -d 'Port, when --server gives none (1-65535)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l dns-server -d 'Send DNS queries (MX, A, AAAA, PTR) to this server instead of the system\'s resolvers' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l dns-timeout -d 'Deadline for each DNS lookup' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l dns-trust-anchor -d 'Validate DNSSEC from the DS or DNSKEY records in FILE (zone-file syntax) instead of the built-in root trust anchor' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l socket -d 'Talk to the server over the Unix domain socket PATH instead of TCP' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l pipe -d 'Run COMMAND and speak SMTP over its stdin and stdout, e.g. \'sendmail -bs\' or \'exim -bh 192.0.2.1\' (split into words like a shell, with simple quoting; no shell runs). Its stderr is shown marked; at the end its stdin is closed and its exit status reported (killed if it does not exit within 5s)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l local-addr -l local-interface -d 'Connect from this source address, and port if given: IP, IP:PORT or [IPv6]:PORT (bench and verify, which open many connections, take no port)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l proxy-protocol -l proxy-version -d 'Send a HAProxy PROXY protocol header (v1 text, v2 binary) before anything else' -r -f -a "v1\t'The text header: PROXY TCP4 SOURCE DEST SPORT DPORT'
v2\t'The binary header'"
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l proxy-source -d 'Client address the PROXY header names [default: our end of the connection]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l proxy-dest -d 'Server address the PROXY header names [default: the server\'s end of the connection]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l socks5 -d 'Connect through the SOCKS5 proxy HOST[:PORT] (RFC 1928; port 1080 by default); the server\'s name goes to the proxy unresolved' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l socks5-user -d 'User name for the SOCKS5 proxy (RFC 1929); the password comes from --socks5-password-file, --socks5-password-env, --socks5-password-command or a prompt' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l socks5-password-file -d 'Read the SOCKS5 password from FILE; refused if group- or world-readable' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l socks5-password-env -d 'Read the SOCKS5 password from the environment variable VAR' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l socks5-password-command -d 'Run CMD with sh -c and use its output as the SOCKS5 password' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l max-hops -d 'Most MX hosts/addresses to try for one domain (at least 2, RFC 5321 §5.1)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l helo -d 'Name to send in EHLO/HELO [default: this host\'s name if fully qualified, else the address literal of our end of the connection, e.g. [127.0.0.1]]. An IDN name goes as A-labels' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l timeout -d 'One deadline for the whole run, e.g. 30s, 1m30s, or 30 (seconds)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l connect-timeout -d 'TCP connect timeout' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l greeting-timeout -d 'Wait for the greeting (RFC 5321 §4.5.3.2.1)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l command-timeout -d 'Wait for replies to EHLO, MAIL, RCPT and other commands (§4.5.3.2.2-3)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l data-timeout -d 'Wait for the reply to DATA (§4.5.3.2.4)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l data-block-timeout -d 'Wait for each block of message content to be written (§4.5.3.2.5)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l final-timeout -d 'Wait for the reply to the final dot (§4.5.3.2.6)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l tls -d 'TLS mode [default: implicit on port 465, starttls on 587, otherwise opportunistic]' -r -f -a "starttls\t'STARTTLS is required: no plaintext fallback'
implicit\t'TLS from the first byte (port 465)'
opportunistic\t'STARTTLS when offered, otherwise plaintext (clearly labelled)'
none\t'Never use TLS'"
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l tls-ca -d 'PEM bundle of CA certificates to trust besides the built-in roots (repeatable)' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l tls-server-name -d 'Name to send as SNI and to verify the certificate against [default: the server\'s host name]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l tls-cert -d 'Client certificate chain (PEM), with --tls-key' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l tls-key -d 'Client private key (PEM), with --tls-cert' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l tls-min -d 'Lowest TLS version to offer (TLS 1.0 and 1.1 are never offered)' -r -f -a "1.2\t''
1.3\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l tls-policy -d 'Recipient domain TLS policy to obey when routing by MX (no --server) [default: auto, or none with --tls none, --tls implicit or --tls-no-verify]' -r -f -a "auto\t'DANE where an MX host publishes DNSSEC-secure TLSA records, else the domain\'s MTA-STS policy, else opportunistic TLS (what an MTA does)'
dane\t'Deliver only to MX hosts with DNSSEC-secure TLSA records, authenticated by them'
mta-sts\t'Deliver only to MX hosts the MTA-STS policy names, with a WebPKI-valid certificate, even when the policy is in testing mode'
none\t'Ignore both: opportunistic TLS'"
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l file -d 'Read addresses from FILE (\'-\' for stdin), one per line; blank lines, lines starting with \'#\', CRLF line ends and a UTF-8 BOM are fine, and a bad line is reported by its number without stopping the run' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -s f -l from -d 'Envelope sender of the probes [default: postmaster@ the EHLO name when that is a domain (--helo, or this host\'s name when fully qualified), else the null sender <>, as callout verifiers use]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l format -d 'Output format [default: table; jsonl with --json; only the counts with -q]' -r -f -a "table\t'Aligned columns: address, verdict, reply'
csv\t'RFC 4180 CSV with a header line: line,address,verdict,code,enhanced,detail,host'
jsonl\t'One JSON object per address, then a result object with the counts'"
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l concurrency -d 'Sessions (and MX lookups) at once, over all domains' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l per-host -d 'Sessions at once to one MX host (or to --server). Each carries the host\'s domains one after another (RSET between them); a domain with more than 100 addresses is shared among up to N sessions' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l rate -d 'At most N RCPT commands a second to one host, 0 for no limit [default: 10 with MX routing; no limit with --server]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l retry-temporary -d 'Ask addresses that got a temporary (4xx) answer once more after DURATION, in the same run, e.g. 5m for greylisting [default: report them as temporary at once]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l batch -d 'RCPTs per pipelined transaction, the catch-all probe included [default: learnt per host from its reply times, between 5 and 100]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l resume -d 'Record each verdict in STATE as it is decided (append-only, synced after each batch); when STATE exists, decide only the addresses it lacks and print its verdicts first, so the output is complete. Refused (exit 2) when STATE was made for another input or with other verdict-changing options' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l shard -d 'Verify only the K-th of N shares of the input, chosen by domain (a fixed hash of it), so that N runs, anywhere, verify the whole list once between them' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l config -d 'Config file [default: $XDG_CONFIG_HOME/smtpx/config.toml or ~/.config/smtpx/config.toml]' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l profile -d 'Use this profile from the config file (flags still win)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l no-dnssec -d 'Do not validate DNSSEC: every answer\'s status is "unchecked" (for resolvers that strip DNSSEC records, and private trees without signatures)'
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l tls-no-verify -d 'Do not verify the server\'s certificate (every later line is labelled unverified)'
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l no-pipelining -d 'Send commands one at a time even when the server offers PIPELINING'
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -s v -l verbose -d 'Show each session\'s commands and replies on stderr, tagged with the domain'
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -s q -l quiet -d 'Print only the outcome line'
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l json -d 'One JSON object per event and a final result object, one per line'
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -l no-timing -d 'Hide timings, for stable output'
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c smtpx -n "__fish_smtpx_using_subcommand verify" -s V -l version -d 'Print version'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s p -l port -d 'Port, when --server gives none (1-65535)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l dns-trust-anchor -d 'Validate DNSSEC from the DS or DNSKEY records in FILE (zone-file syntax) instead of the built-in root trust anchor' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l socket -d 'Talk to the server over the Unix domain socket PATH instead of TCP' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l pipe -d 'Run COMMAND and speak SMTP over its stdin and stdout, e.g. \'sendmail -bs\' or \'exim -bh 192.0.2.1\' (split into words like a shell, with simple quoting; no shell runs). Its stderr is shown marked; at the end its stdin is closed and its exit status reported (killed if it does not exit within 5s)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l local-addr -l local-interface -d 'Connect from this source address, and port if given: IP, IP:PORT or [IPv6]:PORT (bench and verify, which open many connections, take no port)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l proxy-protocol -l proxy-version -d 'Send a HAProxy PROXY protocol header (v1 text, v2 binary) before anything else' -r -f -a "v1\t'The text header: PROXY TCP4 SOURCE DEST SPORT DPORT'
v2\t'The binary header'"
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l proxy-source -d 'Client address the PROXY header names [default: our end of the connection]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l proxy-dest -d 'Server address the PROXY header names [default: the server\'s end of the connection]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l socks5 -d 'Connect through the SOCKS5 proxy HOST[:PORT] (RFC 1928; port 1080 by default); the server\'s name goes to the proxy unresolved' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l socks5-user -d 'User name for the SOCKS5 proxy (RFC 1929); the password comes from --socks5-password-file, --socks5-password-env, --socks5-password-command or a prompt' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l socks5-password-file -d 'Read the SOCKS5 password from FILE; refused if group- or world-readable' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l socks5-password-env -d 'Read the SOCKS5 password from the environment variable VAR' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l socks5-password-command -d 'Run CMD with sh -c and use its output as the SOCKS5 password' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l helo -d 'Name to send in EHLO/HELO [default: this host\'s name if fully qualified, else the address literal of our end of the connection, e.g. [127.0.0.1]]. An IDN name goes as A-labels' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l timeout -d 'One deadline for the whole run, e.g. 30s, 1m30s, or 30 (seconds)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l connect-timeout -d 'TCP connect timeout' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l greeting-timeout -d 'Wait for the greeting (RFC 5321 §4.5.3.2.1)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l command-timeout -d 'Wait for replies to EHLO, MAIL, RCPT and other commands (§4.5.3.2.2-3)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l data-timeout -d 'Wait for the reply to DATA (§4.5.3.2.4)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l data-block-timeout -d 'Wait for each block of message content to be written (§4.5.3.2.5)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l final-timeout -d 'Wait for the reply to the final dot (§4.5.3.2.6)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l tls -d 'TLS mode [default: implicit on port 465, starttls on 587, otherwise opportunistic]' -r -f -a "starttls\t'STARTTLS is required: no plaintext fallback'
implicit\t'TLS from the first byte (port 465)'
opportunistic\t'STARTTLS when offered, otherwise plaintext (clearly labelled)'
none\t'Never use TLS'"
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l tls-ca -d 'PEM bundle of CA certificates to trust besides the built-in roots (repeatable)' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l tls-server-name -d 'Name to send as SNI and to verify the certificate against [default: the server\'s host name]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l tls-cert -d 'Client certificate chain (PEM), with --tls-key' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l tls-key -d 'Client private key (PEM), with --tls-cert' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l tls-min -d 'Lowest TLS version to offer (TLS 1.0 and 1.1 are never offered)' -r -f -a "1.2\t''
1.3\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l auth -d 'Authenticate with this mechanism (needs --user)' -r -f -a "auto\t'The strongest mechanism the server offers after TLS'
plain\t''
login\t''
cram-md5\t''
scram-sha-256\t''
xoauth2\t''
oauthbearer\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l user -d 'User name to authenticate as (implies --auth auto)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l password-file -d 'Read the password (or OAuth token) from FILE; refused if group- or world-readable' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l password-env -d 'Read the password (or OAuth token) from the environment variable VAR' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l password-command -d 'Run CMD with sh -c and use its output as the password or token (like msmtp\'s passwordeval)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s n -l messages -d 'Messages to send [default: 1000; with --duration, until the time is up, at most 10000000]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s c -l sessions -d 'Sessions (connections) in parallel' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l per-session -d 'Messages per connection before reconnecting [default: as many as there are]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l duration -d 'Stop starting messages after this long, even if some remain (e.g. 30s, 5m)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l rate -d 'Start at most this many messages per second, over all sessions: N, N/s, N/m or N/h' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s f -l from -d 'Envelope sender and From header [default: $USER@this host]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s t -l to -d 'Recipient, or a pattern with a counter, as in the default: it numbers every recipient of the run (1, 2, ...); {n%K} cycles through 1..K' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l rcpts -d 'Recipients per message' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l size -d 'Size of the generated body in bytes (headers not included, as smtp-source -l); a k or m suffix means KiB or MiB' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l data -d 'Send this file as every message, as it is (read once, held in memory)' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s s -l server -d 'Server to load: HOST, HOST:PORT, IPv4:PORT or [IPv6]:PORT (bench does not route by MX)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l config -d 'Config file [default: $XDG_CONFIG_HOME/smtpx/config.toml or ~/.config/smtpx/config.toml]' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l profile -d 'Use this profile from the config file (flags still win)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l no-dnssec -d 'Do not validate DNSSEC: every answer\'s status is "unchecked" (for resolvers that strip DNSSEC records, and private trees without signatures)'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l tls-no-verify -d 'Do not verify the server\'s certificate (every later line is labelled unverified)'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l show-secrets -d 'Show AUTH exchanges unredacted (prints a warning)'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l allow-insecure-auth -d 'Allow credentials over plaintext, and PLAIN/LOGIN over unverified TLS (lab servers only)'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l chunking -d 'Send the content with BDAT (RFC 3030) when the server offers CHUNKING'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l no-pipelining -d 'Send one command at a time even when the server offers PIPELINING'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s q -l quiet -d 'Print only the outcome line'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l json -d 'One JSON object per event and a final result object, one per line'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l no-timing -d 'Hide timings, for stable output'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s V -l version -d 'Print version'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and not __fish_seen_subcommand_from merge" -f -a "merge" -d 'Join the --json reports of many bench runs (other machines, other times) into the report of one run that did all their work: counts add, latency histograms add, so the percentiles are exact'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and __fish_seen_subcommand_from merge" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and __fish_seen_subcommand_from merge" -l config -d 'Config file [default: $XDG_CONFIG_HOME/smtpx/config.toml or ~/.config/smtpx/config.toml]' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and __fish_seen_subcommand_from merge" -l profile -d 'Use this profile from the config file (flags still win)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and __fish_seen_subcommand_from merge" -l force -d 'Merge reports of different servers or differently shaped messages anyway (the first report\'s values are shown, the differences noted)'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and __fish_seen_subcommand_from merge" -s q -l quiet -d 'Print only the outcome line'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and __fish_seen_subcommand_from merge" -l json -d 'One JSON object per event and a final result object, one per line'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and __fish_seen_subcommand_from merge" -l no-timing -d 'Hide timings, for stable output'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and __fish_seen_subcommand_from merge" -s h -l help -d 'Print help'
complete -c smtpx -n "__fish_smtpx_using_subcommand bench; and __fish_seen_subcommand_from merge" -s V -l version -d 'Print version'
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -s s -l server -d 'Server to talk to: HOST, HOST:PORT, IPv4:PORT or [IPv6]:PORT [default: the MX hosts of each recipient\'s domain]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -s p -l port -d 'Port, when --server gives none (1-65535)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l dns-server -d 'Send DNS queries (MX, A, AAAA, PTR) to this server instead of the system\'s resolvers' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l dns-timeout -d 'Deadline for each DNS lookup' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l dns-trust-anchor -d 'Validate DNSSEC from the DS or DNSKEY records in FILE (zone-file syntax) instead of the built-in root trust anchor' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l socket -d 'Talk to the server over the Unix domain socket PATH instead of TCP' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l pipe -d 'Run COMMAND and speak SMTP over its stdin and stdout, e.g. \'sendmail -bs\' or \'exim -bh 192.0.2.1\' (split into words like a shell, with simple quoting; no shell runs). Its stderr is shown marked; at the end its stdin is closed and its exit status reported (killed if it does not exit within 5s)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l local-addr -l local-interface -d 'Connect from this source address, and port if given: IP, IP:PORT or [IPv6]:PORT (bench and verify, which open many connections, take no port)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l proxy-protocol -l proxy-version -d 'Send a HAProxy PROXY protocol header (v1 text, v2 binary) before anything else' -r -f -a "v1\t'The text header: PROXY TCP4 SOURCE DEST SPORT DPORT'
v2\t'The binary header'"
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l proxy-source -d 'Client address the PROXY header names [default: our end of the connection]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l proxy-dest -d 'Server address the PROXY header names [default: the server\'s end of the connection]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l socks5 -d 'Connect through the SOCKS5 proxy HOST[:PORT] (RFC 1928; port 1080 by default); the server\'s name goes to the proxy unresolved' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l socks5-user -d 'User name for the SOCKS5 proxy (RFC 1929); the password comes from --socks5-password-file, --socks5-password-env, --socks5-password-command or a prompt' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l socks5-password-file -d 'Read the SOCKS5 password from FILE; refused if group- or world-readable' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l socks5-password-env -d 'Read the SOCKS5 password from the environment variable VAR' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l socks5-password-command -d 'Run CMD with sh -c and use its output as the SOCKS5 password' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l max-hops -d 'Most MX hosts/addresses to try for one domain (at least 2, RFC 5321 §5.1)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l helo -d 'Name to send in EHLO/HELO [default: this host\'s name if fully qualified, else the address literal of our end of the connection, e.g. [127.0.0.1]]. An IDN name goes as A-labels' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l timeout -d 'One deadline for the whole run, e.g. 30s, 1m30s, or 30 (seconds)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l connect-timeout -d 'TCP connect timeout' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l greeting-timeout -d 'Wait for the greeting (RFC 5321 §4.5.3.2.1)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l command-timeout -d 'Wait for replies to EHLO, MAIL, RCPT and other commands (§4.5.3.2.2-3)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l data-timeout -d 'Wait for the reply to DATA (§4.5.3.2.4)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l data-block-timeout -d 'Wait for each block of message content to be written (§4.5.3.2.5)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l final-timeout -d 'Wait for the reply to the final dot (§4.5.3.2.6)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l tls -d 'TLS mode [default: implicit on port 465, starttls on 587, otherwise opportunistic]' -r -f -a "starttls\t'STARTTLS is required: no plaintext fallback'
implicit\t'TLS from the first byte (port 465)'
opportunistic\t'STARTTLS when offered, otherwise plaintext (clearly labelled)'
none\t'Never use TLS'"
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l tls-ca -d 'PEM bundle of CA certificates to trust besides the built-in roots (repeatable)' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l tls-server-name -d 'Name to send as SNI and to verify the certificate against [default: the server\'s host name]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l tls-cert -d 'Client certificate chain (PEM), with --tls-key' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l tls-key -d 'Client private key (PEM), with --tls-cert' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l tls-min -d 'Lowest TLS version to offer (TLS 1.0 and 1.1 are never offered)' -r -f -a "1.2\t''
1.3\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l auth -d 'Authenticate with this mechanism (needs --user)' -r -f -a "auto\t'The strongest mechanism the server offers after TLS'
plain\t''
login\t''
cram-md5\t''
scram-sha-256\t''
xoauth2\t''
oauthbearer\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l user -d 'User name to authenticate as (implies --auth auto)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l password-file -d 'Read the password (or OAuth token) from FILE; refused if group- or world-readable' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l password-env -d 'Read the password (or OAuth token) from the environment variable VAR' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l password-command -d 'Run CMD with sh -c and use its output as the password or token (like msmtp\'s passwordeval)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l config -d 'Config file [default: $XDG_CONFIG_HOME/smtpx/config.toml or ~/.config/smtpx/config.toml]' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l profile -d 'Use this profile from the config file (flags still win)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l no-dnssec -d 'Do not validate DNSSEC: every answer\'s status is "unchecked" (for resolvers that strip DNSSEC records, and private trees without signatures)'
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l tls-no-verify -d 'Do not verify the server\'s certificate (every later line is labelled unverified)'
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l show-secrets -d 'Show AUTH exchanges unredacted (prints a warning)'
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l allow-insecure-auth -d 'Allow credentials over plaintext, and PLAIN/LOGIN over unverified TLS (lab servers only)'
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l no-history -d 'Keep no history of typed lines (on a terminal, lines other than AUTH are kept in $XDG_STATE_HOME/smtpx/history)'
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -s q -l quiet -d 'Print only the outcome line'
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l json -d 'One JSON object per event and a final result object, one per line'
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -l no-timing -d 'Hide timings, for stable output'
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c smtpx -n "__fish_smtpx_using_subcommand session" -s V -l version -d 'Print version'
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l listen -d 'Listen for SMTP on ADDR:PORT (repeatable; port 0 picks a free one, printed first). An address that is not loopback listens to the network: name it only on purpose [default: 127.0.0.1:2525]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l listen-tls -d 'Listen for implicit TLS (RFC 8314, as on port 465) on ADDR:PORT (repeatable; needs a certificate)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l hostname -d 'Name in the greeting, the EHLO reply and the Received field [default: localhost]' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l maildir -d 'Store each message as one file in this Maildir (created if missing), moved into new/ once complete' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l mbox -d 'Append each message to this mbox file (mboxrd quoting, LF line ends)' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l tls-cert -d 'Certificate chain (PEM) for STARTTLS and --listen-tls, with --tls-key' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l tls-key -d 'Private key (PEM) of --tls-cert' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l tls-cert-out -d 'Write the certificate in use (PEM) to FILE, e.g. for `smtpx send --tls-ca FILE`' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l users -d 'Offer AUTH (SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN) for the user:password lines of FILE; refused if group- or world-readable' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l reply -d 'Answer STAGE with this reply instead: STAGE=CODE [TEXT], STAGE one of greeting, ehlo, starttls, auth, mail, rcpt, data, dot, quit (repeatable). A 421 closes the connection' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l reply-rcpt -d 'Answer RCPT for recipients matching PATTERN (* and ? wildcards, any case) with this reply: PATTERN=CODE [TEXT] (repeatable; the first match wins)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l delay -d 'Wait before answering STAGE: STAGE=DURATION, e.g. greeting=5s (repeatable)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l drop -d 'Close the connection at STAGE without a reply (repeatable)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l fail-every -d 'Apply the faults above only to every Nth transaction (mail, rcpt, data, dot) and every Nth session (greeting, ehlo, starttls, auth, quit)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l max-messages -d 'Stop after accepting this many messages' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l max-sessions -d 'Stop after this many sessions (connections) have ended' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l size -d 'Largest message accepted, advertised as SIZE (RFC 1870); k, m suffixes; 0 for no limit' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l max-recipients -d 'Recipients per message; more get 452 (RFC 5321 §4.5.3.1.10)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l max-commands -d 'Commands per session before it is closed with 421' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l max-concurrent -d 'Sessions at once; more are answered 421 and closed' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l idle-timeout -d 'Close a session that sends nothing for this long (RFC 5321 §4.5.3.2.7: 5 minutes)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l config -d 'Config file [default: $XDG_CONFIG_HOME/smtpx/config.toml or ~/.config/smtpx/config.toml]' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l profile -d 'Use this profile from the config file (flags still win)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l discard -d 'Accept messages and keep nothing (the default when no storage is named)'
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l tls-self-signed -d 'Make a certificate at start (for localhost, 127.0.0.1, ::1 and --hostname); its SHA-256 is printed so that a client can pin it'
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l auth-any -d 'Offer AUTH (CRAM-MD5, PLAIN, LOGIN) and accept any user name and password'
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l allow-insecure-auth -d 'Offer AUTH before TLS too (by default only after STARTTLS or on --listen-tls)'
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -s q -l quiet -d 'Print only the outcome line'
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l json -d 'One JSON object per event and a final result object, one per line'
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -l no-timing -d 'Hide timings, for stable output'
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -s h -l help -d 'Print help'
complete -c smtpx -n "__fish_smtpx_using_subcommand serve" -s V -l version -d 'Print version'
complete -c smtpx -n "__fish_smtpx_using_subcommand config; and not __fish_seen_subcommand_from show" -l config -d 'Config file [default: $XDG_CONFIG_HOME/smtpx/config.toml or ~/.config/smtpx/config.toml]' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand config; and not __fish_seen_subcommand_from show" -l profile -d 'Use this profile from the config file (flags still win)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand config; and not __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c smtpx -n "__fish_smtpx_using_subcommand config; and not __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c smtpx -n "__fish_smtpx_using_subcommand config; and not __fish_seen_subcommand_from show" -f -a "show" -d 'Print the resolved settings of the selected profile, and where each came from'
complete -c smtpx -n "__fish_smtpx_using_subcommand config; and __fish_seen_subcommand_from show" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c smtpx -n "__fish_smtpx_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'Config file [default: $XDG_CONFIG_HOME/smtpx/config.toml or ~/.config/smtpx/config.toml]' -r -F
complete -c smtpx -n "__fish_smtpx_using_subcommand config; and __fish_seen_subcommand_from show" -l profile -d 'Use this profile from the config file (flags still win)' -r
complete -c smtpx -n "__fish_smtpx_using_subcommand config; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only the outcome line'
complete -c smtpx -n "__fish_smtpx_using_subcommand config; and __fish_seen_subcommand_from show" -l json -d 'One JSON object per event and a final result object, one per line'
complete -c smtpx -n "__fish_smtpx_using_subcommand config; and __fish_seen_subcommand_from show" -l no-timing -d 'Hide timings, for stable output'
complete -c smtpx -n "__fish_smtpx_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c smtpx -n "__fish_smtpx_using_subcommand config; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
