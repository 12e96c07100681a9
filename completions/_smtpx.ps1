
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'smtpx' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'smtpx'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'smtpx' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('send', 'send', [CompletionResultType]::ParameterValue, 'Send a message and show the whole SMTP conversation')
            [CompletionResult]::new('mx', 'mx', [CompletionResultType]::ParameterValue, 'Show a domain''s mail routing: MX hosts, addresses, null MX, implicit MX')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Regenerate man pages and shell completions (for packagers)')
            break
        }
        'smtpx;send' {
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Server to talk to: HOST, HOST:PORT, IPv4:PORT or [IPv6]:PORT [default: the MX hosts of each recipient''s domain]')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Server to talk to: HOST, HOST:PORT, IPv4:PORT or [IPv6]:PORT [default: the MX hosts of each recipient''s domain]')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Port, when --server gives none')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port, when --server gives none')
            [CompletionResult]::new('--dns-server', '--dns-server', [CompletionResultType]::ParameterName, 'Send DNS queries (MX, A, AAAA, PTR) to this server instead of the system''s resolvers')
            [CompletionResult]::new('--dns-timeout', '--dns-timeout', [CompletionResultType]::ParameterName, 'Deadline for each DNS lookup')
            [CompletionResult]::new('--max-hops', '--max-hops', [CompletionResultType]::ParameterName, 'Most MX hosts/addresses to try for one domain (at least 2, RFC 5321 §5.1)')
            [CompletionResult]::new('--helo', '--helo', [CompletionResultType]::ParameterName, 'Name to send in EHLO/HELO [default: this host''s name if fully qualified, else the address literal of our end of the connection, e.g. [127.0.0.1]]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'One deadline for the whole run, e.g. 30s or 1m30s')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'TCP connect timeout')
            [CompletionResult]::new('--greeting-timeout', '--greeting-timeout', [CompletionResultType]::ParameterName, 'Wait for the greeting (RFC 5321 §4.5.3.2.1)')
            [CompletionResult]::new('--command-timeout', '--command-timeout', [CompletionResultType]::ParameterName, 'Wait for replies to EHLO, MAIL, RCPT and other commands (§4.5.3.2.2-3)')
            [CompletionResult]::new('--data-timeout', '--data-timeout', [CompletionResultType]::ParameterName, 'Wait for the reply to DATA (§4.5.3.2.4)')
            [CompletionResult]::new('--data-block-timeout', '--data-block-timeout', [CompletionResultType]::ParameterName, 'Wait for each block of message content to be written (§4.5.3.2.5)')
            [CompletionResult]::new('--final-timeout', '--final-timeout', [CompletionResultType]::ParameterName, 'Wait for the reply to the final dot (§4.5.3.2.6)')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'TLS mode [default: implicit on port 465, starttls on 587, otherwise opportunistic]')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM bundle of CA certificates to trust besides the built-in roots (repeatable)')
            [CompletionResult]::new('--tls-server-name', '--tls-server-name', [CompletionResultType]::ParameterName, 'Name to send as SNI and to verify the certificate against [default: the server''s host name]')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Client certificate chain (PEM), with --tls-key')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'Client private key (PEM), with --tls-cert')
            [CompletionResult]::new('--tls-min', '--tls-min', [CompletionResultType]::ParameterName, 'Lowest TLS version to offer (TLS 1.0 and 1.1 are never offered)')
            [CompletionResult]::new('--auth', '--auth', [CompletionResultType]::ParameterName, 'Authenticate with this mechanism (needs --user)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'User name to authenticate as (implies --auth auto)')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'Read the password (or OAuth token) from FILE; refused if group- or world-readable')
            [CompletionResult]::new('--password-env', '--password-env', [CompletionResultType]::ParameterName, 'Read the password (or OAuth token) from the environment variable VAR')
            [CompletionResult]::new('--password-command', '--password-command', [CompletionResultType]::ParameterName, 'Run CMD with sh -c and use its output as the password or token (like msmtp''s passwordeval)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Envelope sender and From header; '''' or ''<>'' for the null sender [default: $USER@this host]')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Envelope sender and From header; '''' or ''<>'' for the null sender [default: $USER@this host]')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Recipient (repeatable)')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Recipient (repeatable)')
            [CompletionResult]::new('--cc', '--cc', [CompletionResultType]::ParameterName, 'Carbon-copy recipient: envelope and Cc header (repeatable)')
            [CompletionResult]::new('--bcc', '--bcc', [CompletionResultType]::ParameterName, 'Blind-copy recipient: envelope only, never in a header (repeatable)')
            [CompletionResult]::new('--subject', '--subject', [CompletionResultType]::ParameterName, 'Subject header')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra header, ''Name: value'' (repeatable; replaces a generated header of that name)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra header, ''Name: value'' (repeatable; replaces a generated header of that name)')
            [CompletionResult]::new('--body', '--body', [CompletionResultType]::ParameterName, 'Message body text')
            [CompletionResult]::new('--body-file', '--body-file', [CompletionResultType]::ParameterName, 'Read the body text from FILE (''-'' for stdin)')
            [CompletionResult]::new('--data', '--data', [CompletionResultType]::ParameterName, 'Send FILE as the complete message, as it is (''-'' for stdin); no headers are added')
            [CompletionResult]::new('--quit-after', '--quit-after', [CompletionResultType]::ParameterName, 'Stop after this step and QUIT, without sending a message')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Use IPv4 addresses only')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Use IPv4 addresses only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Use IPv6 addresses only')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Use IPv6 addresses only')
            [CompletionResult]::new('--tls-no-verify', '--tls-no-verify', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (every later line is labelled unverified)')
            [CompletionResult]::new('--show-secrets', '--show-secrets', [CompletionResultType]::ParameterName, 'Show AUTH exchanges unredacted (prints a warning)')
            [CompletionResult]::new('--allow-insecure-auth', '--allow-insecure-auth', [CompletionResultType]::ParameterName, 'Allow credentials over plaintext, and PLAIN/LOGIN over unverified TLS (lab servers only)')
            [CompletionResult]::new('--no-pipelining', '--no-pipelining', [CompletionResultType]::ParameterName, 'Send commands one at a time even when the server offers PIPELINING')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the outcome line')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the outcome line')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per event and a final result object, one per line')
            [CompletionResult]::new('--no-timing', '--no-timing', [CompletionResultType]::ParameterName, 'Hide timings, for stable output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'smtpx;mx' {
            [CompletionResult]::new('--dns-server', '--dns-server', [CompletionResultType]::ParameterName, 'Send DNS queries (MX, A, AAAA, PTR) to this server instead of the system''s resolvers')
            [CompletionResult]::new('--dns-timeout', '--dns-timeout', [CompletionResultType]::ParameterName, 'Deadline for each DNS lookup')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Show IPv4 addresses only')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Show IPv4 addresses only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Show IPv6 addresses only')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Show IPv6 addresses only')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the outcome line')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the outcome line')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per event and a final result object, one per line')
            [CompletionResult]::new('--no-timing', '--no-timing', [CompletionResultType]::ParameterName, 'Hide timings, for stable output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'smtpx;generate' {
            [CompletionResult]::new('--man-dir', '--man-dir', [CompletionResultType]::ParameterName, 'Directory to write man pages into')
            [CompletionResult]::new('--completions-dir', '--completions-dir', [CompletionResultType]::ParameterName, 'Directory to write shell completions into')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
