//! Per-phase deadlines. Defaults follow RFC 5321 §4.5.3.2.

use std::time::Duration;

use crate::outcome::Phase;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Not in the RFC: how long a TCP connect may take.
    pub connect: Duration,
    /// §4.5.3.2.1: initial 220 message, 5 minutes.
    pub greeting: Duration,
    /// §4.5.3.2.2/3: MAIL and RCPT, 5 minutes; also used for EHLO and other commands.
    pub command: Duration,
    /// §4.5.3.2.4: DATA initiation, 2 minutes.
    pub data_init: Duration,
    /// §4.5.3.2.5: each data block, 3 minutes.
    pub data_block: Duration,
    /// §4.5.3.2.6: reply to the final dot, 10 minutes.
    pub final_dot: Duration,
    /// Not in the RFC: the TLS handshake, 1 minute; `--command-timeout` lowers it.
    pub tls: Duration,
    /// QUIT's reply changes nothing, so it is not worth waiting long for: 10 seconds;
    /// `--command-timeout` lowers it.
    pub quit: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        const MIN: u64 = 60;
        Timeouts {
            connect: Duration::from_secs(30),
            greeting: Duration::from_secs(5 * MIN),
            command: Duration::from_secs(5 * MIN),
            data_init: Duration::from_secs(2 * MIN),
            data_block: Duration::from_secs(3 * MIN),
            final_dot: Duration::from_secs(10 * MIN),
            tls: Duration::from_secs(60),
            quit: Duration::from_secs(10),
        }
    }
}

impl Timeouts {
    /// Sets the command timeout, which also bounds the TLS handshake and QUIT's reply:
    /// a user who asks for quick answers gets them there too, while their own short
    /// caps stay in place when the command timeout is long.
    pub fn with_command_timeout(self, command: Duration) -> Timeouts {
        let default = Timeouts::default();
        Timeouts {
            command,
            tls: command.min(default.tls),
            quit: command.min(default.quit),
            ..self
        }
    }

    pub fn for_phase(&self, phase: Phase) -> Duration {
        match phase {
            Phase::Connect => self.connect,
            Phase::Greeting => self.greeting,
            Phase::Data => self.data_init,
            Phase::Body => self.data_block,
            Phase::FinalDot | Phase::BdatLast => self.final_dot,
            // RFC 3030 sets no timeout for a chunk's reply: a data block's is the closest.
            Phase::Bdat => self.data_block,
            Phase::TlsHandshake => self.tls,
            Phase::Quit => self.quit,
            _ => self.command,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_timeout_bounds_the_handshake_and_quit() {
        let short = Timeouts::default().with_command_timeout(Duration::from_secs(2));
        assert_eq!(short.tls, Duration::from_secs(2));
        assert_eq!(short.quit, Duration::from_secs(2));
        let long = Timeouts::default().with_command_timeout(Duration::from_secs(600));
        assert_eq!(long.command, Duration::from_secs(600));
        assert_eq!(long.tls, Duration::from_secs(60), "capped as before");
        assert_eq!(long.quit, Duration::from_secs(10), "capped as before");
    }
}
