//! How much one session may ask of a host before the host closes it, learnt from the
//! session it closed. RFC 5321 lets a client RSET and ask again for as long as it
//! likes, but deployed servers cap a session: Exim counts every RSET after a session's
//! first as a non-mail command and past `smtp_accept_max_nonmail` (10) answers `554 Too
//! many nonmail commands` and closes; Postfix counts every refused recipient as an
//! error and past `smtpd_hard_error_limit` (20) answers `421 4.7.0 Error: too many
//! errors` and closes. Running into the cap costs the addresses in flight an attempt
//! and reads as abuse in the server's log, so once a host has closed a session, later
//! sessions send no more RSETs than that one had sent and have fewer recipients refused
//! than it had (as far as the close points at either count; see
//! [`SessionLimit::learn`]), end with QUIT there, and a new session goes on.

/// What one session has used so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionUse {
    /// RSETs the server accepted.
    pub resets: usize,
    /// RCPTs refused (4xx or 5xx, a closing 421 not counted).
    pub refusals: usize,
    /// Transactions begun.
    pub transactions: usize,
}

/// A host's limits; unknown (unlimited) until it closes a session mid-work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimit {
    /// RSETs a session had sent when the host closed it.
    resets: usize,
    /// RCPTs a session had had refused when the host closed it.
    refusals: usize,
}

impl Default for SessionLimit {
    fn default() -> Self {
        SessionLimit {
            resets: usize::MAX,
            refusals: usize::MAX,
        }
    }
}

impl SessionLimit {
    pub fn is_known(&self) -> bool {
        *self != SessionLimit::default()
    }

    /// How many RCPTs the session's next transaction may hold, each possibly refused,
    /// without reaching a limit; 0 when the session should end first. `reset` says
    /// whether the transaction starts with an RSET. A session that has not begun a
    /// transaction may always ask one address, so the work goes on whatever was learnt.
    pub fn allowance(&self, used: &SessionUse, reset: bool) -> usize {
        let first = used.transactions == 0;
        if reset && used.resets >= self.resets && !first {
            return 0;
        }
        let left = self
            .refusals
            .saturating_sub(1)
            .saturating_sub(used.refusals);
        if left == 0 && first { 1 } else { left }
    }

    /// The host closed a session that had used `used`; `at_reset` says whether the
    /// closing reply answered an RSET. Only what points at a limit is learnt: an RSET
    /// count when the host closed at an RSET after the session's first transaction, a
    /// refusal count when it closed after at least [`MIN_REFUSALS`] refusals. A 421 for
    /// any other reason (load, a cap on recipients) teaches nothing, and the addresses
    /// cut off are simply asked again. Returns whether the limits changed.
    pub fn learn(&mut self, used: &SessionUse, at_reset: bool) -> bool {
        let before = *self;
        if at_reset && used.transactions > 1 {
            self.resets = self.resets.min(used.resets);
        }
        if used.refusals >= MIN_REFUSALS {
            self.refusals = self.refusals.min(used.refusals);
        }
        *self != before
    }
}

/// Fewer refusals than this before a close say nothing about an error limit (Postfix's
/// smtpd_hard_error_limit is 20 by default; hardening guides go down to 5 or so).
pub const MIN_REFUSALS: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;

    fn used(resets: usize, refusals: usize, transactions: usize) -> SessionUse {
        SessionUse {
            resets,
            refusals,
            transactions,
        }
    }

    #[test]
    fn unknown_limits_allow_anything() {
        let limit = SessionLimit::default();
        assert!(!limit.is_known());
        assert_eq!(
            limit.allowance(&used(500, 10_000, 600), true),
            usize::MAX - 10_001
        );
    }

    /// Exim: the 12th RSET was refused after 11 accepted, with a thousand refusals.
    #[test]
    fn an_rset_limit_ends_sessions_one_rset_short() {
        let mut limit = SessionLimit::default();
        assert!(limit.learn(&used(11, 1100, 12), true));
        assert!(limit.allowance(&used(10, 1000, 11), true) > 0);
        assert_eq!(limit.allowance(&used(11, 1000, 12), true), 0);
        // The first transaction of a session needs no RSET.
        assert_eq!(limit.allowance(&used(0, 0, 0), false), 1099);
    }

    /// Postfix: closed after 20 refused recipients, at the RSET of the second
    /// transaction. Which count it went by is not known, so both bind: no session
    /// sends an RSET (none survived one), and none gets 20 refusals.
    #[test]
    fn a_refusal_limit_caps_the_batch_and_then_ends_the_session() {
        let mut limit = SessionLimit::default();
        assert!(limit.learn(&used(0, 20, 2), true));
        assert_eq!(limit.allowance(&used(0, 0, 0), false), 19);
        assert_eq!(limit.allowance(&used(0, 19, 1), true), 0);
        assert_eq!(limit.allowance(&used(0, 5, 1), true), 0);

        // A host that took three RSETs before closing at the fourth: both bind.
        let mut limit = SessionLimit::default();
        assert!(limit.learn(&used(3, 20, 4), true));
        assert_eq!(limit.allowance(&used(1, 15, 2), true), 4);
        assert_eq!(limit.allowance(&used(1, 19, 2), true), 0);
        assert_eq!(limit.allowance(&used(3, 5, 4), true), 0);
        // Learning again only lowers.
        assert!(!limit.learn(&used(3, 25, 4), false));
        assert!(limit.learn(&used(3, 10, 4), false));
        assert_eq!(limit.allowance(&used(0, 0, 0), false), 9);
    }

    #[test]
    fn a_fresh_session_always_asks_at_least_one_address() {
        let mut limit = SessionLimit::default();
        assert!(limit.learn(&used(0, 3, 2), true));
        assert_eq!(limit.allowance(&used(0, 0, 0), false), 2);
        assert_eq!(limit.allowance(&used(0, 2, 1), false), 0);
        let mut limit = SessionLimit::default();
        assert!(limit.learn(&used(0, 1, 2), true));
        assert_eq!(limit.allowance(&used(0, 0, 0), false), usize::MAX - 1);
        assert_eq!(limit.allowance(&used(0, 1, 1), true), 0);
    }

    /// A 421 after one refusal and two acceptances (a cap on recipients, or load):
    /// nothing is learnt, and so is a close at the first transaction's RSET.
    #[test]
    fn a_close_that_points_at_no_count_teaches_nothing() {
        let mut limit = SessionLimit::default();
        assert!(!limit.learn(&used(0, 1, 1), false));
        assert!(!limit.learn(&used(0, 0, 1), true));
        assert!(!limit.learn(&used(0, 2, 3), false));
        assert!(!limit.is_known());
    }
}
