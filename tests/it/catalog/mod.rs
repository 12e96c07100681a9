//! The reliability catalog: hostile servers and malformed inputs, one row each.
//!
//! smtpx talks to servers nobody controls, and scripts branch on its exit code. Every
//! row says what the server or the input does, how smtpx is invoked, the exit code it
//! must give, and what must or must not appear on the wire and in the output. The
//! runner ([`runner`]) checks five invariants on every row besides its own
//! expectations:
//!
//! - no crash: the exit code is a documented one (a panic is 101, a signal is none);
//! - no hang: the process ends within [`runner::HANG_BOUND`];
//! - no false success: exit 0 only where the server accepted;
//! - no credential leak: a fresh canary secret per run, searched for in every output
//!   (and, where credentials must not go out, on the wire) in raw, base64 and hex form;
//! - no memory-cap breach: the binary runs under an address-space limit
//!   ([`runner::ADDRESS_SPACE_CAP`]).
//!
//! Each row is its own `#[test]` (see [`cases`]); `summary` runs every row and prints
//! the figures quoted in README "Reliability".

mod check;
mod paused;
mod row;
mod rows;
mod runner;
mod summary;

/// One `#[test]` per row, named after it, plus the list of ids so the summary can
/// correct behaviour and waits for a fix in smtpx.
macro_rules! catalog {
    ($($(#[ignore = $why:literal])? $id:ident),* $(,)?) => {
        /// Every row id with its known-bug note, in declaration order.
        pub const IDS: &[(&str, Option<&str>)] = &[$((stringify!($id), catalog!(@why $($why)?))),*];
        $(
            #[test]
            $(#[ignore = $why])?
            fn $id() {
                super::runner::run_and_assert(stringify!($id));
            }
        )*
    };
    (@why $why:literal) => { Some($why) };
    (@why) => { None };
}

mod cases {
    catalog! {
        // TLS and STARTTLS
        tls_starttls_stripped,
        tls_starttls_refused_454,
        tls_starttls_answered_554,
        tls_starttls_answered_250,
        tls_starttls_answered_354_opportunistic,
        tls_injection_with_crlf,
        tls_injection_without_crlf,
        tls_injection_opportunistic,
        tls_injection_with_a_tls_hello,
        tls_capabilities_differ_size,
        tls_capabilities_differ_pipelining,
        tls_capabilities_differ_auth,
        tls_implicit_port_answers_plaintext,
        tls_starttls_handshake_stall,
        tls_implicit_handshake_stall,
        tls_reset_during_handshake,
        tls_truncated_after_final_dot,
        tls_truncated_mid_final_reply,
        tls_cert_expired,
        tls_cert_not_yet_valid,
        tls_cert_wrong_name,
        tls_cert_self_signed,
        tls_cert_unknown_ca,
        tls_cert_ip_only_checked_by_name,
        tls_cert_expired_implicit,
        tls_cert_self_signed_opportunistic,
        // Reply parsing
        reply_over_long_line,
        reply_endless_line,
        reply_endless_continuation_lines,
        reply_mismatched_codes,
        reply_code_000,
        reply_code_600,
        reply_code_2500,
        reply_code_25x,
        reply_code_without_text,
        reply_lf_only_line_ends,
        reply_escape_sequences,
        reply_invalid_utf8,
        reply_nul_in_text,
        reply_every_reply_in_1_byte_segments,
        reply_unsolicited_before_ehlo,
        reply_unsolicited_extra_reply_to_mail,
        reply_unsolicited_after_354,
        reply_354_to_rcpt,
        // Timing and faults
        fault_connect_blackholed,
        fault_connect_refused,
        fault_no_greeting,
        fault_greeting_cut_mid_reply,
        fault_drip_greeting_past_timeout,
        fault_drip_ehlo_past_timeout,
        fault_drip_final_reply_past_timeout,
        fault_slow_drip_within_timeouts,
        fault_silent_at_ehlo,
        fault_silent_at_starttls,
        fault_silent_at_auth,
        fault_silent_at_auth_then_no_quit,
        fault_silent_at_mail,
        fault_silent_at_rcpt,
        fault_silent_at_data,
        fault_silent_after_final_dot,
        fault_close_before_greeting,
        fault_close_at_ehlo,
        fault_close_at_mail,
        fault_close_at_rcpt,
        fault_close_at_data,
        fault_close_after_final_dot,
        fault_reset_before_greeting,
        fault_reset_at_ehlo,
        fault_reset_at_mail,
        fault_reset_at_rcpt,
        fault_reset_at_data,
        fault_reset_after_final_dot,
        fault_stops_reading_mid_body,
        fault_550_mid_body_then_reset,
        fault_550_mid_body_keeps_reading,
        // Timing on a paused clock, with the RFC 5321 §4.5.3.2 values
        paused_no_greeting_5m,
        paused_no_ehlo_reply_5m,
        paused_no_mail_reply_5m,
        paused_no_rcpt_reply_5m,
        paused_no_data_reply_2m,
        paused_body_not_read_3m,
        paused_no_final_reply_10m,
        paused_drip_greeting_just_inside_each_timeout,
        paused_drip_greeting_within_5m,
        // Data transparency
        data_dots_at_line_starts,
        data_dots_at_read_buffer_boundaries,
        data_bare_lf,
        data_bare_cr,
        data_smuggling_lf_dot_lf,
        data_smuggling_cr_dot_cr,
        data_smuggling_lf_dot_crlf,
        data_smuggling_crlf_dot_lf,
        data_smuggling_cr_dot_crlf,
        data_smuggling_crlf_dot_cr,
        data_smuggling_lf_dot_cr,
        data_smuggling_cr_dot_lf,
        data_smuggling_in_body_flag,
        data_missing_final_crlf,
        data_empty_message,
        data_only_a_dot,
        data_over_long_lines,
        data_nul_bytes,
        data_stdin_fails_at_once,
        data_stdin_fails_mid_body,
        data_large_message_streamed,
        // AUTH and secrets
        auth_plaintext_offered,
        auth_starttls_stripped,
        auth_unverified_tls_plain,
        auth_unverified_tls_login,
        auth_missing_with_credentials,
        auth_endless_334,
        auth_bad_base64,
        auth_early_235,
        auth_echo_raw,
        auth_echo_base64,
        auth_echo_base64_shifted,
        auth_echo_hex,
        auth_echo_hex_upper,
        auth_echo_in_challenge,
        auth_echo_in_235,
        auth_password_command_with_nul,
        // CLI input
        cli_to_with_crlf,
        cli_to_with_lf,
        cli_from_with_cr,
        cli_cc_with_lf,
        cli_bcc_with_cr,
        cli_to_with_angle_bracket_inside,
        cli_from_with_param_injection,
        cli_helo_with_crlf,
        cli_helo_with_angle_bracket,
        cli_subject_with_crlf,
        cli_header_value_with_lf,
        cli_header_name_with_cr,
        cli_user_with_crlf,
        cli_local_part_65_octets,
        cli_domain_over_255_octets,
        cli_helo_over_255_octets,
        cli_subject_2000_octets,
        cli_header_over_998_octets,
        cli_tls_server_name_with_crlf,
        cli_option_like_address,
        cli_option_value_missing,
        cli_server_port_out_of_range,
        cli_server_port_empty,
        cli_server_port_zero,
        cli_server_unclosed_bracket,
        cli_server_junk_after_bracket,
        cli_server_two_ports,
        cli_server_with_space,
        cli_server_with_crlf,
        cli_server_empty,
    }
}

/// Runs every row (bounded parallelism), prints the figures and writes them to
/// `target/catalog-summary.txt`. Rows with a known bug are run and reported too, but
/// only the others must pass.
#[test]
fn summary() {
    summary::summary();
}
