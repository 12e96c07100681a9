
use builtin;
use str;

set edit:completion:arg-completer[smtpx] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'smtpx'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'smtpx'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand send 'Send a message and show the whole SMTP conversation'
            cand mx 'Show a domain''s mail routing: MX hosts, addresses, null MX, implicit MX'
            cand generate 'Regenerate man pages and shell completions (for packagers)'
        }
        &'smtpx;send'= {
            cand -s 'Server to talk to: HOST, HOST:PORT, IPv4:PORT or [IPv6]:PORT [default: the MX hosts of each recipient''s domain]'
            cand --server 'Server to talk to: HOST, HOST:PORT, IPv4:PORT or [IPv6]:PORT [default: the MX hosts of each recipient''s domain]'
            cand -p 'Port, when --server gives none'
            cand --port 'Port, when --server gives none'
            cand --dns-server 'Send DNS queries (MX, A, AAAA, PTR) to this server instead of the system''s resolvers'
            cand --dns-timeout 'Deadline for each DNS lookup'
            cand --max-hops 'Most MX hosts/addresses to try for one domain (at least 2, RFC 5321 §5.1)'
            cand --helo 'Name to send in EHLO/HELO [default: this host''s name if fully qualified, else the address literal of our end of the connection, e.g. [127.0.0.1]]'
            cand --timeout 'One deadline for the whole run, e.g. 30s or 1m30s'
            cand --connect-timeout 'TCP connect timeout'
            cand --greeting-timeout 'Wait for the greeting (RFC 5321 §4.5.3.2.1)'
            cand --command-timeout 'Wait for replies to EHLO, MAIL, RCPT and other commands (§4.5.3.2.2-3)'
            cand --data-timeout 'Wait for the reply to DATA (§4.5.3.2.4)'
            cand --data-block-timeout 'Wait for each block of message content to be written (§4.5.3.2.5)'
            cand --final-timeout 'Wait for the reply to the final dot (§4.5.3.2.6)'
            cand --tls 'TLS mode [default: implicit on port 465, starttls on 587, otherwise opportunistic]'
            cand --tls-ca 'PEM bundle of CA certificates to trust besides the built-in roots (repeatable)'
            cand --tls-server-name 'Name to send as SNI and to verify the certificate against [default: the server''s host name]'
            cand --tls-cert 'Client certificate chain (PEM), with --tls-key'
            cand --tls-key 'Client private key (PEM), with --tls-cert'
            cand --tls-min 'Lowest TLS version to offer (TLS 1.0 and 1.1 are never offered)'
            cand --auth 'Authenticate with this mechanism (needs --user)'
            cand --user 'User name to authenticate as (implies --auth auto)'
            cand --password-file 'Read the password (or OAuth token) from FILE; refused if group- or world-readable'
            cand --password-env 'Read the password (or OAuth token) from the environment variable VAR'
            cand --password-command 'Run CMD with sh -c and use its output as the password or token (like msmtp''s passwordeval)'
            cand -f 'Envelope sender and From header; '''' or ''<>'' for the null sender [default: $USER@this host]'
            cand --from 'Envelope sender and From header; '''' or ''<>'' for the null sender [default: $USER@this host]'
            cand -t 'Recipient (repeatable)'
            cand --to 'Recipient (repeatable)'
            cand --cc 'Carbon-copy recipient: envelope and Cc header (repeatable)'
            cand --bcc 'Blind-copy recipient: envelope only, never in a header (repeatable)'
            cand --subject 'Subject header'
            cand -H 'Extra header, ''Name: value'' (repeatable; replaces a generated header of that name)'
            cand --header 'Extra header, ''Name: value'' (repeatable; replaces a generated header of that name)'
            cand --body 'Message body text'
            cand --body-file 'Read the body text from FILE (''-'' for stdin)'
            cand --data 'Send FILE as the complete message, as it is (''-'' for stdin); no headers are added'
            cand --quit-after 'Stop after this step and QUIT, without sending a message'
            cand --color 'When to colour the output'
            cand -4 'Use IPv4 addresses only'
            cand --ipv4 'Use IPv4 addresses only'
            cand -6 'Use IPv6 addresses only'
            cand --ipv6 'Use IPv6 addresses only'
            cand --tls-no-verify 'Do not verify the server''s certificate (every later line is labelled unverified)'
            cand --show-secrets 'Show AUTH exchanges unredacted (prints a warning)'
            cand --allow-insecure-auth 'Allow credentials over plaintext, and PLAIN/LOGIN over unverified TLS (lab servers only)'
            cand --no-pipelining 'Send commands one at a time even when the server offers PIPELINING'
            cand -q 'Print only the outcome line'
            cand --quiet 'Print only the outcome line'
            cand --json 'One JSON object per event and a final result object, one per line'
            cand --no-timing 'Hide timings, for stable output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'smtpx;mx'= {
            cand --dns-server 'Send DNS queries (MX, A, AAAA, PTR) to this server instead of the system''s resolvers'
            cand --dns-timeout 'Deadline for each DNS lookup'
            cand --color 'When to colour the output'
            cand -4 'Show IPv4 addresses only'
            cand --ipv4 'Show IPv4 addresses only'
            cand -6 'Show IPv6 addresses only'
            cand --ipv6 'Show IPv6 addresses only'
            cand -q 'Print only the outcome line'
            cand --quiet 'Print only the outcome line'
            cand --json 'One JSON object per event and a final result object, one per line'
            cand --no-timing 'Hide timings, for stable output'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'smtpx;generate'= {
            cand --man-dir 'Directory to write man pages into'
            cand --completions-dir 'Directory to write shell completions into'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
