//! A real terminal for tests of what a person sees: a private tmux server running one
//! command, its screen captured as text.

/// A private tmux server running one command in a 100x20 terminal; killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// None when tmux is not installed (outside CI, where it must be).
    pub fn start(command: &str) -> Option<Tmux> {
        if !super::peers::require("tmux") {
            return None;
        }
        let socket = format!("smtpx-test-{}-{}", std::process::id(), rand_suffix());
        // CI=true in the test's environment would make smtpx treat the pane as a log.
        let shell = format!("unset CI; {command}; echo EXIT=$?; sleep 600");
        let ok = std::process::Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", "100", "-y", "20", &shell])
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmux { socket })
    }

    pub fn screen(&self) -> String {
        let out = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen once it shows `text`; panics after the hang guard.
    pub fn wait_for(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + crate::support::run::HANG_GUARD;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{text:?} never showed\n{screen}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn ctrl_c(&self) {
        std::process::Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "C-c"])
            .status()
            .expect("tmux send-keys");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}
