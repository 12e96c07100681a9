//! STARTTLS and AUTH: the steps that change what the session is allowed to do.

use std::sync::Arc;

use super::{Action, Fault, Greeted, Machine, reply};
use crate::serve::fault::Stage;
use crate::serve::sasl::{self, Step};

impl Machine {
    pub(super) fn starttls(&mut self) -> Vec<Action> {
        if !self.settings.tls {
            return self.refuse(502, "5.5.1 STARTTLS is not offered");
        }
        if self.tls {
            return self.refuse(503, "5.5.1 TLS is already active");
        }
        match self.answer(Stage::Starttls, reply(220, "2.0.0 Ready to start TLS")) {
            Ok((mut actions, r)) => {
                actions.push(Action::Reply(r));
                actions.push(Action::StartTls);
                actions
            }
            Err(actions) => actions,
        }
    }

    /// TLS is up: RFC 3207 §4.2, everything learned before it is forgotten.
    pub fn tls_established(&mut self) {
        self.tls = true;
        self.greeted = Greeted::No;
        self.auth_user = None;
        self.reset();
    }

    pub(super) fn auth(&mut self, mechanism: &str, initial: Option<&str>) -> Vec<Action> {
        let settings = Arc::clone(&self.settings);
        let Some(users) = &settings.users else {
            return self.refuse(502, "5.5.1 AUTH is not offered");
        };
        if !self.esmtp() {
            return self.refuse(503, "5.5.1 Say EHLO first");
        }
        if !self.auth_allowed() {
            return self.refuse(
                538,
                "5.7.11 Encryption required for requested authentication mechanism",
            );
        }
        if self.auth_user.is_some() {
            return self.refuse(503, "5.5.1 Already authenticated");
        }
        if self.envelope.is_some() {
            return self.refuse(503, "5.5.1 AUTH not allowed during a transaction");
        }
        let mut actions = Vec::new();
        match self.fault(Stage::Auth, &mut actions) {
            Fault::Drop => {
                actions.push(Action::Drop);
                return actions;
            }
            Fault::Reply(r) if r.code.value() / 100 != 2 => {
                let closes = r.code.value() == 421;
                actions.push(Action::Reply(r));
                if closes {
                    actions.push(Action::Close);
                }
                return actions;
            }
            _ => {}
        }
        let random = self.next_random();
        let Some((exchange, step)) =
            sasl::start(mechanism, initial, users, &settings.hostname, random)
        else {
            return self.refuse(504, "5.5.4 Unrecognized authentication type");
        };
        self.auth = Some(exchange);
        actions.extend(self.auth_step(step));
        actions
    }

    pub(super) fn auth_response(&mut self, line: &[u8]) -> Vec<Action> {
        let (Some(mut exchange), Some(users)) = (self.auth.take(), &self.settings.users) else {
            return Vec::new();
        };
        let line = String::from_utf8_lossy(line);
        let step = exchange.respond(line.trim_end(), users);
        self.auth = Some(exchange);
        self.auth_step(step)
    }

    fn auth_step(&mut self, step: Step) -> Vec<Action> {
        match step {
            Step::Challenge(c) => vec![Action::Reply(reply(334, &c))],
            Step::Success(user) => {
                self.auth = None;
                self.auth_user = Some(user);
                let r = self
                    .session_faults
                    .then(|| self.settings.faults.at(Stage::Auth).reply.clone())
                    .flatten()
                    .unwrap_or_else(|| reply(235, "2.7.0 Authentication successful"));
                vec![Action::Reply(r)]
            }
            Step::Failure(_) => {
                self.auth = None;
                self.refuse(535, "5.7.8 Authentication credentials invalid")
            }
            Step::Malformed(why) => {
                self.auth = None;
                self.refuse(501, &format!("5.5.2 {why}"))
            }
        }
    }

    fn next_random(&mut self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        self.nonce_counter += 1;
        let mut h = Sha256::new();
        h.update(self.random);
        h.update(self.nonce_counter.to_le_bytes());
        h.finalize().into()
    }
}
