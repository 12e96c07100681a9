//! Reaching a server other ways than a direct TCP connection: `--socket`, `--pipe`,
//! `--local-addr`, `--proxy-protocol` and `--socks5`, against real peers (a private
//! Postfix, microsocks) and against small in-test servers for the hostile cases.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::thread;
use std::time::Duration;

use crate::support::certs::{CertKind, TestPki};
use crate::support::peers::{POSTFIX_HOSTNAME, PostfixInstance, PostfixOptions, Socks5Proxy};
use crate::support::run::Smtpx;
use crate::support::scripted::{ScriptedServer, Step, expect, greeting_ehlo, happy_send, send};

const DELIVERY_WAIT: Duration = Duration::from_secs(20);

/// A minimal SMTP server on one connection: enough for a send to complete.
fn answer_smtp(stream: impl Read + Write) {
    let mut reader = BufReader::new(stream);
    reader.get_mut().write_all(b"220 tiny ESMTP\r\n").unwrap();
    let mut in_data = false;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let l = line.trim_end();
        let answer: &[u8] = if in_data {
            if l != "." {
                continue;
            }
            in_data = false;
            b"250 2.0.0 queued as TINY1\r\n"
        } else {
            match l
                .split(' ')
                .next()
                .unwrap_or("")
                .to_ascii_uppercase()
                .as_str()
            {
                "EHLO" => b"250-tiny\r\n250 8BITMIME\r\n",
                "DATA" => {
                    in_data = true;
                    b"354 go on\r\n"
                }
                "QUIT" => {
                    let _ = reader.get_mut().write_all(b"221 bye\r\n");
                    return;
                }
                _ => b"250 ok\r\n",
            }
        };
        if reader.get_mut().write_all(answer).is_err() {
            return;
        }
    }
}

fn envelope() -> [&'static str; 4] {
    ["--from", "me@example.org", "--to", "you@example.test"]
}

#[test]
fn send_over_a_unix_socket_to_a_tiny_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smtp.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        answer_smtp(stream);
    });
    let out = Smtpx::send()
        .args(&["--socket", path.to_str().unwrap()])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout
            .contains(&format!("Connected to the Unix socket {}", path.display())),
        "{out}"
    );
    // No address of ours to name: the EHLO literal is the loopback one.
    assert!(out.stdout.contains("EHLO "), "{out}");
    assert!(out.stdout.contains("queued as TINY1"), "{out}");
    server.join().unwrap();
}

#[test]
fn the_json_events_say_what_the_transport_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smtp.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        answer_smtp(stream);
    });
    let out = Smtpx::send()
        .args(&["--socket", path.to_str().unwrap(), "--json"])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 0, "{out}");
    let events = out.json();
    let connected = events
        .iter()
        .find(|e| e["type"] == "connected")
        .expect("a connected event");
    assert_eq!(connected["transport"], "unix", "{connected}");
    assert_eq!(connected["path"], path.to_str().unwrap(), "{connected}");
    assert!(connected["peer"].is_null(), "{connected}");
    server.join().unwrap();
}

#[test]
fn a_missing_socket_is_a_connection_failure() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nothing.sock");
    let out = Smtpx::send()
        .args(&["--socket", path.to_str().unwrap()])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 4, "{out}");
    assert!(out.stdout.contains("no such socket"), "{out}");
}

#[test]
fn send_over_postfix_smtpd_on_a_unix_socket_with_starttls() {
    let pki = TestPki::new();
    let (cert, key) = pki.leaf_pem(CertKind::Valid);
    let opts = PostfixOptions::new().tls(&cert, &key).unix_socket();
    let Some(postfix) = PostfixInstance::start(opts) else {
        return;
    };
    let socket = postfix.socket_path();
    let out = Smtpx::send()
        .args(&[
            "--socket",
            socket.to_str().unwrap(),
            "--tls",
            "starttls",
            "--tls-ca",
            &pki.ca_pem_path.display().to_string(),
            "--subject",
            "over a unix socket",
        ])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("TLSv1."), "{out}");
    let delivered = postfix.wait_delivered(1, DELIVERY_WAIT);
    let text = String::from_utf8_lossy(&delivered[0]);
    assert!(text.contains("Subject: over a unix socket"), "{text}");
    assert!(text.contains("with ESMTPS"), "{text}");
}

#[test]
fn pipe_to_postfix_sendmail_bs_delivers_into_its_maildir() {
    let Some(postfix) = PostfixInstance::start(PostfixOptions::new()) else {
        return;
    };
    let out = Smtpx::send()
        .args(&[
            "--pipe",
            &postfix.sendmail_bs(),
            "--subject",
            "through sendmail -bs",
        ])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("Started \"/usr/sbin/sendmail"), "{out}");
    assert!(out.stdout.contains("exited with status 0"), "{out}");
    let delivered = postfix.wait_delivered(1, DELIVERY_WAIT);
    let text = String::from_utf8_lossy(&delivered[0]);
    assert!(text.contains("Subject: through sendmail -bs"), "{text}");
}

#[test]
fn a_pipe_command_that_does_not_exist_is_exit_4_with_the_os_error() {
    let out = Smtpx::send()
        .args(&["--pipe", "/nonexistent/smtpx-no-such-mta -bs"])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 4, "{out}");
    assert!(out.outcome().contains("No such file or directory"), "{out}");
}

#[test]
fn a_pipe_process_that_exits_early_is_reported_with_its_status_and_stderr() {
    let out = Smtpx::send()
        .args(&["--pipe", "sh -c 'echo cannot start >&2; exit 3'", "--json"])
        .args(&envelope())
        .run();
    assert_ne!(out.code, 0, "{out}");
    let events = out.json();
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "process-stderr" && e["line"] == "cannot start"),
        "{out}"
    );
    let exited = events
        .iter()
        .find(|e| e["type"] == "process-exited")
        .expect("a process-exited event");
    assert_eq!(exited["code"], 3, "{exited}");
    let result = out.result();
    assert_eq!(result["status"], "failed", "{out}");
    assert_eq!(
        result["message"], "at greeting: the process closed its output before sending a greeting",
        "{out}"
    );
}

#[test]
fn a_bad_pipe_command_line_is_a_usage_error() {
    let out = Smtpx::send()
        .args(&["--pipe", "sendmail 'unclosed"])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("unclosed ' quote"), "{out}");
}

/// The client address Postfix logged for the one session it had.
fn postfix_client(postfix: &PostfixInstance) -> String {
    let log = postfix.maillog_after_sessions(1);
    log.lines()
        .find_map(|l| l.split(" connect from ").nth(1))
        .unwrap_or_else(|| panic!("no 'connect from' in the maillog:\n{log}"))
        .trim()
        .to_string()
}

#[test]
fn proxy_protocol_v1_and_v2_name_the_client_to_postfix() {
    for version in ["v1", "v2"] {
        let opts = PostfixOptions::new().upstream_proxy_protocol();
        let Some(postfix) = PostfixInstance::start(opts) else {
            return;
        };
        let out = Smtpx::send()
            .args(&[
                "--server",
                &postfix.server_arg(),
                "--tls",
                "none",
                "--proxy-protocol",
                version,
                "--proxy-source",
                "198.51.100.23:40000",
                "--subject",
                version,
            ])
            .args(&envelope())
            .run();
        assert_eq!(out.code, 0, "{version}: {out}");
        assert!(
            out.stdout.contains(&format!(
                "PROXY {version} header sent: source 198.51.100.23:40000, destination {}",
                postfix.server_arg()
            )),
            "{out}"
        );
        assert_eq!(postfix_client(&postfix), "unknown[198.51.100.23]");
        let delivered = postfix.wait_delivered(1, DELIVERY_WAIT);
        let text = String::from_utf8_lossy(&delivered[0]);
        assert!(text.contains("[198.51.100.23]"), "{text}");
    }
}

#[test]
fn local_addr_binds_the_source_address_postfix_sees() {
    // Postfix listens on 127.0.0.1 only; all of 127/8 is routed to lo.
    let Some(postfix) = PostfixInstance::start(PostfixOptions::new()) else {
        return;
    };
    let out = Smtpx::send()
        .args(&[
            "--server",
            &postfix.server_arg(),
            "--tls",
            "none",
            "--local-addr",
            "127.0.0.2",
            "--quit-after",
            "ehlo",
        ])
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("from 127.0.0.2:"), "{out}");
    assert_eq!(postfix_client(&postfix), "unknown[127.0.0.2]");
}

#[test]
fn an_unusable_local_addr_is_a_connection_failure() {
    let out = Smtpx::send()
        .args(&[
            "--server",
            "127.0.0.1:9",
            "--local-addr",
            "192.0.2.77",
            "--quit-after",
            "connect",
        ])
        .run();
    assert_eq!(out.code, 4, "{out}");
    assert!(
        out.outcome()
            .contains("cannot bind --local-addr 192.0.2.77:0"),
        "{out}"
    );
}

#[test]
fn socks5_without_authentication_reaches_postfix_by_name() {
    let Some(postfix) = PostfixInstance::start(PostfixOptions::new()) else {
        return;
    };
    let Some(proxy) = Socks5Proxy::start() else {
        return;
    };
    let server = format!("localhost:{}", postfix.addr().port());
    let out = Smtpx::send()
        .args(&[
            "--server",
            &server,
            "--tls",
            "none",
            "--socks5",
            &proxy.server_arg(),
            "--subject",
            "through socks",
        ])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains(&format!(
            "Connecting to {server} through the SOCKS5 proxy {}",
            proxy.server_arg()
        )),
        "{out}"
    );
    let delivered = postfix.wait_delivered(1, DELIVERY_WAIT);
    assert!(String::from_utf8_lossy(&delivered[0]).contains("Subject: through socks"));
}

#[test]
fn socks5_with_username_and_password() {
    let Some(postfix) = PostfixInstance::start(PostfixOptions::new()) else {
        return;
    };
    let Some(proxy) = Socks5Proxy::with_auth("tunnel", "s3cret-socks") else {
        return;
    };
    let base = |extra: &[&str]| {
        Smtpx::send()
            .args(&[
                "--server",
                &postfix.server_arg(),
                "--tls",
                "none",
                "--socks5",
                &proxy.server_arg(),
                "--quit-after",
                "ehlo",
            ])
            .args(extra)
            .env("SOCKS_PW", "s3cret-socks")
            .env("WRONG_PW", "nope")
            .run()
    };
    let out = base(&[
        "--socks5-user",
        "tunnel",
        "--socks5-password-env",
        "SOCKS_PW",
    ]);
    assert_eq!(out.code, 0, "{out}");
    assert!(!out.all().contains("s3cret-socks"), "{out}");

    let out = base(&[
        "--socks5-user",
        "tunnel",
        "--socks5-password-env",
        "WRONG_PW",
    ]);
    assert_eq!(out.code, 4, "{out}");
    assert!(
        out.outcome().contains("rejected the user name or password"),
        "{out}"
    );

    let out = base(&[]);
    assert_eq!(out.code, 4, "{out}");
    assert!(out.outcome().contains("requires authentication"), "{out}");
}

/// A fake SOCKS5 proxy that reads the method request and answers with `reply`
/// (after a method choice of "no authentication" when `choose_method`).
fn fake_socks(choose_method: bool, reply: &'static [u8]) -> (String, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut head = [0u8; 3];
        s.read_exact(&mut head).unwrap();
        if choose_method {
            s.write_all(&[5, 0]).unwrap();
            let mut req = [0u8; 10];
            s.read_exact(&mut req).unwrap();
        }
        if reply.is_empty() {
            // Hang up without a word.
            return;
        }
        s.write_all(reply).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    (addr, handle)
}

#[test]
fn a_socks5_refusal_is_one_line_and_exit_4() {
    let (proxy, handle) = fake_socks(true, &[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
    let out = Smtpx::send()
        .args(&["--server", "192.0.2.1:25", "--socks5", &proxy])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 4, "{out}");
    assert!(
        out.outcome()
            .contains("the SOCKS5 proxy refused: connection refused by the destination (reply 5)"),
        "{out}"
    );
    handle.join().unwrap();
}

#[test]
fn a_proxy_that_hangs_up_mid_negotiation() {
    let (proxy, handle) = fake_socks(false, b"");
    let out = Smtpx::send()
        .args(&["--server", "192.0.2.1:25", "--socks5", &proxy])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 4, "{out}");
    assert!(
        out.outcome().ends_with(&format!(
            "SOCKS5 proxy {proxy}: the proxy closed the connection"
        )),
        "{out}"
    );
    handle.join().unwrap();
}

#[test]
fn a_proxy_that_is_not_socks5_is_named_as_such() {
    let (proxy, handle) = fake_socks(false, b"HTTP/1.1 400 Bad Request\r\n\r\n");
    let out = Smtpx::send()
        .args(&["--server", "192.0.2.1:25", "--socks5", &proxy])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 4, "{out}");
    assert!(
        out.outcome().contains("did not answer as a SOCKS5 server"),
        "{out}"
    );
    handle.join().unwrap();
}

#[test]
fn transports_that_contradict_each_other_are_usage_errors() {
    for bad in [
        &["--socket", "/x", "--server", "h"][..],
        &["--socket", "/x", "--pipe", "sendmail -bs"],
        &["--pipe", "sendmail -bs", "--socks5", "p"],
        &["--proxy-source", "192.0.2.1:1"],
        &["--socks5-user", "u"],
    ] {
        let out = Smtpx::send().args(bad).args(&envelope()).run();
        assert_eq!(out.code, 2, "{bad:?}: {out}");
    }
    let out = Smtpx::send()
        .args(&[
            "--server",
            "127.0.0.1:9",
            "--proxy-protocol",
            "v1",
            "--proxy-source",
            "192.0.2.1:1",
            "--proxy-dest",
            "[2001:db8::1]:25",
        ])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("one address family"), "{out}");
}

#[test]
fn every_session_subcommand_goes_over_a_unix_socket() {
    let opts = PostfixOptions::new().users(&["you"]).unix_socket();
    let Some(postfix) = PostfixInstance::start(opts) else {
        return;
    };
    let socket = postfix.socket_path();
    let socket = socket.to_str().unwrap();
    let common = ["--socket", socket, "--tls", "none", "--no-timing"];
    let run = |verb: &str, args: &[&str]| {
        Smtpx::new()
            .arg(verb)
            .args(&common)
            .args(args)
            .args(&["--timeout", "30s"])
            .run()
    };
    let out = run("vrfy", &["you@example.test"]);
    assert_eq!(out.code, 8, "252 is undecided: {out}");
    assert!(out.stdout.contains("252"), "{out}");
    assert!(out.stdout.contains("Unix socket"), "{out}");

    let out = run("expn", &["you@example.test"]);
    assert!(out.stdout.contains("Unix socket"), "{out}");
    assert!(out.stdout.contains("EXPN you@example.test"), "{out}");

    let out = run("size", &[]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("10240000"), "{out}");

    let out = run("check", &[]);
    assert!(out.stdout.contains("== check localhost =="), "{out}");
    assert!(out.stdout.contains(POSTFIX_HOSTNAME), "{out}");
    // A socket has no address: nothing to look up in reverse DNS.
    assert!(!out.stdout.contains("reverse DNS"), "{out}");
    assert_eq!(out.code, 7, "this Postfix offers no STARTTLS: {out}");

    let out = run("verify", &["you@example.test", "nobody@example.test"]);
    assert!(out.stdout.contains("nobody@example.test"), "{out}");
    assert_eq!(out.code, 7, "one address is unknown: {out}");

    let out = Smtpx::new()
        .arg("bench")
        .args(&common)
        .args(&[
            "-n",
            "4",
            "-c",
            "2",
            "--to",
            "you@example.test",
            "--from",
            "me@example.org",
        ])
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout
            .contains(&format!("server         Unix socket {socket}")),
        "{out}"
    );
    postfix.wait_delivered(4, DELIVERY_WAIT);

    let out = Smtpx::new()
        .arg("session")
        .args(&common)
        .stdin("NOOP\n")
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("250"), "{out}");
}

/// `smtpx serve` with implicit TLS only, its certificate written to `dir/cert.pem`.
fn implicit_tls_serve(dir: &std::path::Path) -> crate::support::serve::Serve {
    let cert = dir.join("cert.pem").display().to_string();
    let maildir = dir.join("md").display().to_string();
    crate::support::serve::Serve::start_with(
        &["--listen-tls", "127.0.0.1:0"],
        &[
            "--tls-self-signed",
            "--tls-cert-out",
            &cert,
            "--maildir",
            &maildir,
        ],
    )
}

#[test]
fn implicit_tls_goes_through_a_socks5_tunnel() {
    let Some(proxy) = Socks5Proxy::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let serve = implicit_tls_serve(dir.path());
    let server = format!("localhost:{}", serve.addr.port());
    let out = Smtpx::send()
        .args(&[
            "--server",
            &server,
            "--socks5",
            &proxy.server_arg(),
            "--tls",
            "implicit",
            "--tls-ca",
            &dir.path().join("cert.pem").display().to_string(),
        ])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("through the SOCKS5 proxy"), "{out}");
    assert!(
        out.stdout.contains("~> EHLO"),
        "verified TLS from the start: {out}"
    );
}

#[test]
fn implicit_tls_runs_over_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let serve = implicit_tls_serve(dir.path());
    // A process that relays its stdin and stdout to the TLS port: the TLS bytes
    // travel through pipes, not a socket of ours.
    let relay = format!(
        "/usr/bin/python3 -c 'import os,socket,threading\n\
         s=socket.create_connection((\"127.0.0.1\",{}))\n\
         def up():\n    while (b:=os.read(0,65536)): s.sendall(b)\n    s.shutdown(socket.SHUT_WR)\n\
         threading.Thread(target=up,daemon=True).start()\n\
         while (b:=s.recv(65536)):\n    while b: b=b[os.write(1,b):]\n\
         os._exit(0)'",
        serve.addr.port()
    );
    let out = Smtpx::send()
        .args(&[
            "--pipe",
            &relay,
            "--tls",
            "implicit",
            "--tls-ca",
            &dir.path().join("cert.pem").display().to_string(),
        ])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("~> EHLO"),
        "verified TLS from the start: {out}"
    );
    assert!(out.stdout.contains("exited with status 0"), "{out}");
}

/// A Unix socket in `dir` that forwards each connection to `tcp`: the scripted server
/// (TCP only) reached over a Unix socket, byte for byte.
fn unix_to_tcp(dir: &std::path::Path, tcp: std::net::SocketAddr) -> std::path::PathBuf {
    let path = dir.join("fwd.sock");
    let listener = UnixListener::bind(&path).unwrap();
    thread::spawn(move || {
        let Ok((unix, _)) = listener.accept() else {
            return;
        };
        let tcp = std::net::TcpStream::connect(tcp).unwrap();
        let (mut u2, mut t2) = (unix.try_clone().unwrap(), tcp.try_clone().unwrap());
        let up = thread::spawn(move || {
            let _ = std::io::copy(&mut u2, &mut t2);
            let _ = t2.shutdown(std::net::Shutdown::Write);
        });
        let (mut t, mut u) = (tcp, unix);
        let _ = std::io::copy(&mut t, &mut u);
        let _ = u.shutdown(std::net::Shutdown::Write);
        let _ = up.join();
    });
    path
}

#[test]
fn the_proxy_v1_header_is_the_first_line_on_the_wire() {
    let mut script = vec![expect("PROXY TCP4 192.0.2.9 203.0.113.5 1234 25")];
    script.extend(happy_send(1));
    let server = ScriptedServer::start(script);
    let out = Smtpx::send()
        .args(&[
            "--server",
            &server.server_arg(),
            "--proxy-protocol",
            "1",
            "--proxy-source",
            "192.0.2.9:1234",
            "--proxy-dest",
            "203.0.113.5:25",
        ])
        .args(&envelope())
        .run();
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        record
            .received_text()
            .starts_with("PROXY TCP4 192.0.2.9 203.0.113.5 1234 25\r\nEHLO "),
        "{}",
        record.received_text()
    );
}

#[test]
fn over_a_unix_socket_the_proxy_header_needs_both_addresses() {
    // Found before connecting: the socket need not exist.
    let out = Smtpx::send()
        .args(&[
            "--socket",
            "/nonexistent/smtp.sock",
            "--proxy-protocol",
            "v2",
        ])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("needs --proxy-source and --proxy-dest"),
        "{out}"
    );
    let out = Smtpx::send()
        .args(&["--pipe", "/nonexistent/mta -bs", "--proxy-protocol", "v1"])
        .args(&["--proxy-source", "192.0.2.1:1"])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 2, "{out}");
}

#[test]
fn starttls_response_injection_is_caught_over_a_unix_socket_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut script = greeting_ehlo(&["STARTTLS"]);
    script.extend([
        expect("STARTTLS"),
        send("220 go ahead\r\n250-injected\r\n250 PIPELINING\r\n"),
        Step::ReadUntilClose,
    ]);
    let server = ScriptedServer::start(script);
    let path = unix_to_tcp(dir.path(), server.addr());
    let out = Smtpx::send()
        .args(&["--socket", path.to_str().unwrap(), "--tls", "starttls"])
        .args(&envelope())
        .run();
    let record = server.finish();
    assert_eq!(out.code, 9, "{out}");
    assert!(out.stdout.contains("response injection"), "{out}");
    let text = record.received_text();
    let tail = &text[text.find("STARTTLS\r\n").unwrap() + 10..];
    assert!(tail.is_empty(), "client sent {tail:?} after STARTTLS");
}

#[test]
fn local_addr_takes_a_source_port_too() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server_addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, peer) = listener.accept().unwrap();
        answer_smtp(stream);
        peer
    });
    // A port nobody holds now: bound, then let go.
    let port = TcpListener::bind("127.0.0.3:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let local = format!("127.0.0.3:{port}");
    let out = Smtpx::send()
        .args(&[
            "--server",
            &server_addr.to_string(),
            "--local-interface",
            &local,
        ])
        .args(&envelope())
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(server.join().unwrap().to_string(), local);
    assert!(out.stdout.contains(&format!("from {local}")), "{out}");
}

#[test]
fn many_connections_cannot_share_one_source_port() {
    for argv in [
        &[
            "bench",
            "-s",
            "127.0.0.1:9",
            "--local-addr",
            "127.0.0.2:2525",
        ][..],
        &[
            "verify",
            "-s",
            "127.0.0.1:9",
            "--local-addr",
            "127.0.0.2:2525",
            "a@b.example",
        ],
    ] {
        let out = Smtpx::new().args(argv).run();
        assert_eq!(out.code, 2, "{argv:?}: {out}");
        assert!(out.stderr.contains("without a port"), "{out}");
    }
}

#[test]
fn a_pipe_process_that_does_not_exit_is_killed_and_said_so() {
    // It greets, then ignores its input and holds its stdout open.
    let out = Smtpx::send()
        .args(&[
            "--pipe",
            "sh -c 'echo 220 stubborn; exec sleep 60'",
            "--quit-after",
            "greeting",
            "--command-timeout",
            "1s",
            "--json",
        ])
        .run();
    let events = out.json();
    let exited = events
        .iter()
        .find(|e| e["type"] == "process-exited")
        .unwrap_or_else(|| panic!("no process-exited event: {out}"));
    assert_eq!(exited["killed"], true, "{exited}");
    assert_eq!(exited["signal"], 9, "{exited}");
}
