//! `smtpx session` on a real terminal (tmux): typing, Tab completion of a verb, Ctrl-C
//! dropping a line, Ctrl-D ending with QUIT, and the history file, all read back from
//! the captured screen.

use std::path::Path;
use std::time::Duration;

use crate::support::scripted::{ScriptedServer, Step, ehlo_reply, expect, send};
use crate::support::terminal::Tmux;

#[test]
fn typing_tab_ctrl_c_and_ctrl_d_on_a_terminal() {
    let mut script = vec![
        send("220 mx.test ESMTP scripted\r\n"),
        expect("EHLO client.test"),
    ];
    script.push(Step::Send(ehlo_reply(
        "mx.test",
        &["PIPELINING", "AUTH PLAIN"],
    )));
    script.extend([expect("QUIT"), send("221 2.0.0 Bye\r\n"), Step::Close]);
    let server = ScriptedServer::start(script);
    let state = tempfile::tempdir().unwrap();
    let command = format!(
        "env XDG_STATE_HOME={} TERM=xterm {} session -s {} --tls none --no-timing --color never",
        state.path().display(),
        env!("CARGO_BIN_EXE_smtpx"),
        server.server_arg()
    );
    let Some(tmux) = Tmux::start_sized(&command, 120, 50) else {
        return;
    };
    tmux.wait_for("<- 220 mx.test ESMTP scripted");
    tmux.wait_for("Ctrl-D or /quit ends with QUIT");
    // tmux may redraw the prompt only on the next key; typed keys wait in the tty.
    std::thread::sleep(Duration::from_millis(300));
    // Tab completes the verb: "EH" becomes "EHLO".
    tmux.keys(&["EH", "Tab"]);
    std::thread::sleep(Duration::from_millis(500));
    tmux.wait_for("smtpx -> EHLO");
    tmux.keys(&[" client.test", "Enter"]);
    tmux.wait_for("*  AUTH PLAIN: authentication: PLAIN (RFC 4954)");
    // Ctrl-C drops the line being typed: it never reaches the server.
    tmux.keys(&["NOOP never sent", "C-c"]);
    std::thread::sleep(Duration::from_millis(200));
    tmux.keys(&["C-d"]);
    let screen = tmux.wait_for("EXIT=");
    assert!(screen.contains("-> EHLO client.test"), "{screen}");
    assert!(screen.contains("<- 221 2.0.0 Bye"), "{screen}");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        !screen.lines().any(|l| l.starts_with("-> NOOP")),
        "{screen}"
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.commands, ["EHLO client.test", "QUIT"]);
    let history = std::fs::read_to_string(Path::new(state.path()).join("smtpx/history"))
        .expect("history file");
    assert!(history.contains("EHLO client.test"), "{history}");
    assert!(!history.contains("NOOP"), "{history}");
}
