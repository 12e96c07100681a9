use proptest::prelude::*;

use super::*;

fn b64(bytes: &[u8]) -> String {
    b64_encode(bytes)
}

fn client(mech: Mechanism, user: &str, secret: &str) -> SaslClient {
    SaslClient::new(
        mech,
        Credentials::new(user, secret),
        "rOprNGfwEbeRWgbNEkqO",
        None,
    )
    .unwrap()
}

#[test]
fn mechanism_names_parse_case_insensitively() {
    for m in Mechanism::ALL {
        assert_eq!(Mechanism::parse(m.name()), Some(m));
        assert_eq!(Mechanism::parse(&m.name().to_ascii_lowercase()), Some(m));
        assert_eq!(m.to_string(), m.name());
    }
    assert_eq!(Mechanism::parse("cram-md5"), Some(Mechanism::CramMd5));
    assert_eq!(Mechanism::parse("SCRAM-SHA-256-PLUS"), None);
    assert_eq!(Mechanism::parse("GSSAPI"), None);
    assert_eq!(Mechanism::parse(""), None);
}

#[test]
fn mechanism_properties() {
    let clear: Vec<_> = Mechanism::ALL
        .into_iter()
        .filter(|m| m.sends_secret_in_clear())
        .collect();
    assert_eq!(
        clear,
        [
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::XOAuth2,
            Mechanism::OAuthBearer
        ]
    );
    let oauth: Vec<_> = Mechanism::ALL
        .into_iter()
        .filter(|m| m.is_oauth())
        .collect();
    assert_eq!(oauth, [Mechanism::XOAuth2, Mechanism::OAuthBearer]);
    assert!(!Mechanism::Login.has_initial_response());
    assert!(!Mechanism::CramMd5.has_initial_response());
    assert!(Mechanism::ScramSha256.has_initial_response());
}

#[test]
fn choose_prefers_the_strongest_offered() {
    let offered = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let all = offered(&[
        "LOGIN",
        "PLAIN",
        "cram-md5",
        "SCRAM-SHA-256",
        "XOAUTH2",
        "OAUTHBEARER",
    ]);
    assert_eq!(choose(&all, false), Some(Mechanism::ScramSha256));
    assert_eq!(choose(&all, true), Some(Mechanism::OAuthBearer));
    assert_eq!(
        choose(&offered(&["LOGIN", "PLAIN"]), false),
        Some(Mechanism::Plain)
    );
    assert_eq!(
        choose(&offered(&["LOGIN", "CRAM-MD5", "PLAIN"]), false),
        Some(Mechanism::CramMd5)
    );
    assert_eq!(choose(&offered(&["LOGIN"]), false), Some(Mechanism::Login));
    assert_eq!(
        choose(&offered(&["PLAIN", "XOAUTH2"]), true),
        Some(Mechanism::XOAuth2)
    );
    // A token never goes through a password mechanism, nor a password through OAuth.
    assert_eq!(choose(&offered(&["PLAIN", "LOGIN"]), true), None);
    assert_eq!(choose(&offered(&["XOAUTH2", "OAUTHBEARER"]), false), None);
    assert_eq!(choose(&offered(&["GSSAPI", "NTLM"]), false), None);
    assert_eq!(choose(&[], false), None);
}

#[test]
fn plain_rfc4616_examples() {
    // RFC 4616 §4.
    assert_eq!(
        plain_message("", "tim", "tanstaaftanstaaf"),
        b"\0tim\0tanstaaftanstaaf"
    );
    assert_eq!(
        plain_message("Ursel", "Kurt", "xipj3plmq"),
        b"Ursel\0Kurt\0xipj3plmq"
    );

    let mut c = client(Mechanism::Plain, "tim", "tanstaaftanstaaf");
    assert_eq!(
        c.initial_response().as_deref(),
        Some("AHRpbQB0YW5zdGFhZnRhbnN0YWFm")
    );
    assert_eq!(c.initial_response(), None, "sent only once");
    assert!(matches!(c.respond(""), Err(SaslError::Unexpected(_))));
}

#[test]
fn plain_without_initial_response_answers_the_empty_challenge() {
    let mut c = client(Mechanism::Plain, "tim", "tanstaaftanstaaf");
    assert_eq!(c.respond("").unwrap(), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    c.finish(Some("2.7.0 Authentication successful")).unwrap();
    assert!(c.completed());
}

#[test]
fn login_flow() {
    let mut c = client(Mechanism::Login, "tim", "tanstaaftanstaaf");
    assert_eq!(c.initial_response(), None);
    // "Username:" and "Password:".
    assert_eq!(c.respond("VXNlcm5hbWU6").unwrap(), b64(b"tim"));
    assert_eq!(
        c.describe_challenge("UGFzc3dvcmQ6").as_deref(),
        Some("Password:")
    );
    assert_eq!(c.respond("UGFzc3dvcmQ6").unwrap(), b64(b"tanstaaftanstaaf"));
    assert!(!c.completed());
    c.finish(Some("2.7.0 Authentication successful")).unwrap();
    assert!(c.completed());

    let mut c = client(Mechanism::Login, "tim", "tanstaaftanstaaf");
    c.respond("VXNlcm5hbWU6").unwrap();
    c.respond("UGFzc3dvcmQ6").unwrap();
    assert!(matches!(
        c.respond("UGFzc3dvcmQ6"),
        Err(SaslError::Unexpected(_))
    ));
    // Once failed, the exchange stays failed.
    assert!(c.finish(None).is_err());
    assert!(!c.completed());
}

#[test]
fn cram_md5_rfc2195_vector() {
    // RFC 2195 §2 (the challenge's domain is mci.net).
    let challenge = "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+";
    let mut c = client(Mechanism::CramMd5, "tim", "tanstaaftanstaaf");
    assert_eq!(c.initial_response(), None);
    assert_eq!(
        c.describe_challenge(challenge).as_deref(),
        Some("<1896.697170952@postoffice.reston.mci.net>")
    );
    let answer = c.respond(challenge).unwrap();
    assert_eq!(answer, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
    assert_eq!(
        b64_decode(&answer).unwrap(),
        b"tim b913a602c7eda7a495b4e6e7334d3890"
    );
    assert!(matches!(
        c.respond(challenge),
        Err(SaslError::Unexpected(_))
    ));
}

#[test]
fn cram_md5_refuses_an_empty_challenge() {
    let mut c = client(Mechanism::CramMd5, "tim", "tanstaaftanstaaf");
    assert!(matches!(c.respond(""), Err(SaslError::BadChallenge(_))));
}

// RFC 7677 §3.
const SCRAM_SERVER_FIRST: &str =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const SCRAM_CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
const SCRAM_SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

fn scram_until_client_final() -> SaslClient {
    let mut c = client(Mechanism::ScramSha256, "user", "pencil");
    let first = c.initial_response().unwrap();
    assert_eq!(
        b64_decode(&first).unwrap(),
        b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    );
    let server_first = b64(SCRAM_SERVER_FIRST.as_bytes());
    assert_eq!(
        c.describe_challenge(&server_first).as_deref(),
        Some(SCRAM_SERVER_FIRST)
    );
    let fin = c.respond(&server_first).unwrap();
    assert_eq!(b64_decode(&fin).unwrap(), SCRAM_CLIENT_FINAL.as_bytes());
    c
}

#[test]
fn scram_sha256_rfc7677_vector_with_server_final_in_a_challenge() {
    let mut c = scram_until_client_final();
    assert_eq!(c.respond(&b64(SCRAM_SERVER_FINAL.as_bytes())).unwrap(), "");
    assert!(!c.completed(), "not before the 235");
    c.finish(Some("2.7.0 Authentication successful")).unwrap();
    assert!(c.completed());
}

#[test]
fn scram_sha256_server_final_with_the_235() {
    let mut c = scram_until_client_final();
    let text = format!("2.7.0 {}", b64(SCRAM_SERVER_FINAL.as_bytes()));
    c.finish(Some(&text)).unwrap();
    assert!(c.completed());
}

#[test]
fn scram_sha256_without_an_initial_response() {
    let mut c = client(Mechanism::ScramSha256, "user", "pencil");
    let first = c.respond("").unwrap();
    assert_eq!(
        b64_decode(&first).unwrap(),
        b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    );
    let fin = c.respond(&b64(SCRAM_SERVER_FIRST.as_bytes())).unwrap();
    assert_eq!(b64_decode(&fin).unwrap(), SCRAM_CLIENT_FINAL.as_bytes());
}

#[test]
fn scram_tampered_server_signature_is_refused() {
    let tampered = b64(b"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    let mut c = scram_until_client_final();
    assert_eq!(
        c.respond(&tampered),
        Err(SaslError::ServerSignatureMismatch)
    );
    assert!(c.finish(Some("2.7.0 OK")).is_err());
    assert!(!c.completed());

    let mut c = scram_until_client_final();
    assert_eq!(
        c.finish(Some(&format!("2.7.0 {tampered}"))),
        Err(SaslError::ServerSignatureMismatch)
    );
    assert!(!c.completed());
}

#[test]
fn scram_success_without_server_signature_is_refused() {
    let mut c = scram_until_client_final();
    assert!(matches!(
        c.finish(Some("2.7.0 Authentication successful")),
        Err(SaslError::Unexpected(_))
    ));
    assert!(!c.completed());

    let mut c = scram_until_client_final();
    assert!(c.finish(None).is_err());

    // A 235 straight after the client-first message proves nothing either.
    let mut c = client(Mechanism::ScramSha256, "user", "pencil");
    c.initial_response().unwrap();
    assert!(c.finish(Some(&b64(SCRAM_SERVER_FINAL.as_bytes()))).is_err());
}

#[test]
fn scram_server_error_is_a_rejection() {
    let mut c = scram_until_client_final();
    assert_eq!(
        c.respond(&b64(b"e=invalid-proof")),
        Err(SaslError::Rejected("invalid-proof".into()))
    );
}

#[test]
fn scram_challenge_after_verification_is_unexpected() {
    let mut c = scram_until_client_final();
    c.respond(&b64(SCRAM_SERVER_FINAL.as_bytes())).unwrap();
    assert!(matches!(c.respond(""), Err(SaslError::Unexpected(_))));
}

#[test]
fn scram_nonce_must_be_printable_without_comma() {
    for nonce in ["", "a,b", "caf\u{e9}", "a b", "a\u{1}"] {
        let r = SaslClient::new(
            Mechanism::ScramSha256,
            Credentials::new("user", "pencil"),
            nonce,
            None,
        );
        assert!(matches!(r, Err(SaslError::InvalidInput(_))), "{nonce:?}");
    }
    // Other mechanisms ignore it.
    SaslClient::new(Mechanism::Plain, Credentials::new("u", "p"), "", None).unwrap();
    // The helper's output is always acceptable.
    let nonce = client_nonce(&[0xfb; 18]);
    assert_eq!(nonce.len(), 24);
    SaslClient::new(
        Mechanism::ScramSha256,
        Credentials::new("u", "p"),
        &nonce,
        None,
    )
    .unwrap();
}

#[test]
fn bad_base64_challenge() {
    for mech in Mechanism::ALL {
        let mut c = client(mech, "tim", "tanstaaftanstaaf");
        c.initial_response();
        assert_eq!(
            c.respond("not base64!"),
            Err(SaslError::BadBase64),
            "{mech}"
        );
        assert!(matches!(c.respond(""), Err(SaslError::Unexpected(_))));
    }
}

#[test]
fn unpadded_challenges_are_accepted() {
    let mut c = client(Mechanism::Login, "tim", "x");
    assert_eq!(c.respond("VXNlcm5hbWU").unwrap(), b64(b"tim"));
}

#[test]
fn xoauth2_initial_response_is_byte_exact() {
    // The example of Google's XOAUTH2 protocol description.
    let mut c = client(
        Mechanism::XOAuth2,
        "someuser@example.com",
        "ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg",
    );
    let ir = c.initial_response().unwrap();
    assert_eq!(
        b64_decode(&ir).unwrap(),
        b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg\x01\x01"
    );
    assert_eq!(
        ir,
        "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2cBAQ=="
    );
}

#[test]
fn xoauth2_error_challenge_gets_an_empty_answer() {
    let mut c = client(Mechanism::XOAuth2, "someuser@example.com", "token");
    c.initial_response().unwrap();
    let error = br#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#;
    let challenge = b64(error);
    assert_eq!(
        c.describe_challenge(&challenge).unwrap().as_bytes(),
        error.as_slice()
    );
    assert_eq!(c.respond(&challenge).unwrap(), "");
    assert!(matches!(
        c.respond(&challenge),
        Err(SaslError::Unexpected(_))
    ));
}

#[test]
fn oauthbearer_initial_response_is_byte_exact() {
    // RFC 7628 §4.1.
    let mut c = SaslClient::new(
        Mechanism::OAuthBearer,
        Credentials::new(
            "user@example.com",
            "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
        ),
        "",
        Some(("server.example.com".into(), 143)),
    )
    .unwrap();
    let ir = c.initial_response().unwrap();
    assert_eq!(
        b64_decode(&ir).unwrap(),
        b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
    );
    assert_eq!(
        ir,
        "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB"
    );

    // Without a host, the optional host and port pairs are left out; ',' and '=' in the
    // user are escaped as in a gs2 saslname.
    let mut c = client(Mechanism::OAuthBearer, "a=b,c", "tok");
    assert_eq!(
        b64_decode(&c.initial_response().unwrap()).unwrap(),
        b"n,a=a=3Db=2Cc,\x01auth=Bearer tok\x01\x01"
    );
}

#[test]
fn oauthbearer_error_challenge_gets_0x01() {
    let mut c = client(Mechanism::OAuthBearer, "user@example.com", "token");
    c.initial_response().unwrap();
    // RFC 7628 §4.3.
    let error = br#"{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}"#;
    assert_eq!(c.respond(&b64(error)).unwrap(), "AQ==");
    assert!(c.respond(&b64(error)).is_err());
}

#[test]
fn secret_forms_cover_what_carries_the_secret() {
    let c = client(Mechanism::Plain, "tim", "tanstaaftanstaaf");
    let forms = c.secret_forms();
    assert!(forms.contains(&"tanstaaftanstaaf".to_string()));
    assert!(forms.contains(&b64(b"tanstaaftanstaaf")));
    assert!(forms.contains(&"AHRpbQB0YW5zdGFhZnRhbnN0YWFm".to_string()));

    let c = client(Mechanism::Login, "tim", "tanstaaftanstaaf");
    assert!(c.secret_forms().contains(&b64(b"tanstaaftanstaaf")));

    let mut c = client(Mechanism::XOAuth2, "u@example.com", "tok");
    let ir = c.initial_response().unwrap();
    assert!(c.secret_forms().contains(&ir));

    let mut c = SaslClient::new(
        Mechanism::OAuthBearer,
        Credentials::new("u@example.com", "tok"),
        "",
        Some(("mx.example.com".into(), 587)),
    )
    .unwrap();
    let ir = c.initial_response().unwrap();
    assert!(c.secret_forms().contains(&ir));

    for mech in Mechanism::ALL {
        let forms = client(mech, "tim", "tanstaaftanstaaf").secret_forms();
        assert!(forms.iter().all(|f| !f.is_empty()), "{mech}");
        assert!(forms.contains(&"tanstaaftanstaaf".to_string()), "{mech}");
        assert!(
            forms.windows(2).all(|w| w[0].len() >= w[1].len()),
            "longest first: {mech}"
        );
    }
}

#[test]
fn secret_never_shows_in_debug() {
    let creds = Credentials::new("tim", "tanstaaftanstaaf");
    let debug = format!("{creds:?}");
    assert!(debug.contains("Secret([redacted])"), "{debug}");
    assert!(!debug.contains("tanstaaf"), "{debug}");
    assert_eq!(format!("{:?}", creds.secret), "Secret([redacted])");
    assert_eq!(creds.secret.expose(), "tanstaaftanstaaf");

    for mech in Mechanism::ALL {
        let mut c = client(mech, "tim", "tanstaaftanstaaf");
        c.initial_response();
        assert!(!format!("{c:?}").contains("tanstaaf"), "{mech}");
    }
}

#[test]
fn describe_challenge_masks_an_echoed_secret() {
    let c = client(Mechanism::Plain, "tim", "tanstaaftanstaaf");
    assert_eq!(
        c.describe_challenge("AHRpbQB0YW5zdGFhZnRhbnN0YWFm")
            .as_deref(),
        Some("\0tim\0[redacted]")
    );
    assert_eq!(c.describe_challenge(""), None);
    assert_eq!(c.describe_challenge("***"), None);
    assert_eq!(
        c.describe_challenge(&b64(b"\xff\x01")).as_deref(),
        Some("\u{fffd}\u{1}")
    );
}

#[test]
fn credentials_are_validated() {
    let bad = [
        ("", "pw"),
        ("tim\r\nRSET", "pw"),
        ("tim\0", "pw"),
        ("tim", ""),
        ("tim", "pass\0word"),
    ];
    for (user, secret) in bad {
        let creds = Credentials::new(user, secret);
        assert!(creds.validate().is_err(), "{user:?}");
        for mech in Mechanism::ALL {
            assert!(matches!(
                SaslClient::new(mech, creds.clone(), "nonce", None),
                Err(SaslError::InvalidInput(_))
            ));
        }
    }
    for token in ["tok en", "tok\x01en", "tok\n", "t\u{f6}ken"] {
        for mech in [Mechanism::XOAuth2, Mechanism::OAuthBearer] {
            let r = SaslClient::new(mech, Credentials::new("u", token), "", None);
            assert!(matches!(r, Err(SaslError::InvalidInput(_))), "{token:?}");
        }
    }
    let r = SaslClient::new(
        Mechanism::OAuthBearer,
        Credentials::new("u", "tok"),
        "",
        Some(("mx\x01.example".into(), 25)),
    );
    assert!(matches!(r, Err(SaslError::InvalidInput(_))));
    // A password may hold spaces and non-ASCII for the password mechanisms.
    client(Mechanism::Plain, "tim", "p\u{e4}ss w\u{f6}rd");
}

#[test]
fn scram_prepares_names_and_passwords() {
    // RFC 4013 §3: U+00A0 (no-break space) maps to a space, U+00AD (soft hyphen) to
    // nothing, so these credentials give the RFC 7677 messages.
    let mut c = SaslClient::new(
        Mechanism::ScramSha256,
        Credentials::new("us\u{ad}er", "pen\u{ad}cil"),
        "rOprNGfwEbeRWgbNEkqO",
        None,
    )
    .unwrap();
    assert_eq!(
        b64_decode(&c.initial_response().unwrap()).unwrap(),
        b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    );
    let fin = c.respond(&b64(SCRAM_SERVER_FIRST.as_bytes())).unwrap();
    assert_eq!(b64_decode(&fin).unwrap(), SCRAM_CLIENT_FINAL.as_bytes());
    // A user name SASLprep prohibits (RFC 4013 §2.3) is refused before anything is sent.
    let r = SaslClient::new(
        Mechanism::ScramSha256,
        Credentials::new("us\u{e000}er", "pencil"),
        "n",
        None,
    );
    assert!(matches!(r, Err(SaslError::InvalidInput(_))));
}

#[test]
fn sasl_error_display_is_plain_words() {
    assert_eq!(
        SaslError::BadBase64.to_string(),
        "the server's challenge is not valid base64"
    );
    assert_eq!(
        SaslError::TooManySteps.to_string(),
        "the server sent more than 8 challenges"
    );
    assert!(
        SaslError::ServerSignatureMismatch
            .to_string()
            .contains("did not prove")
    );
}

/// Challenges a hostile or broken server might send: arbitrary text, base64 of arbitrary
/// bytes, and SCRAM server-first messages that extend the client nonce with arbitrary
/// salts and iteration counts (kept cheap: valid counts are rare).
fn challenge() -> impl Strategy<Value = String> {
    let iterations = prop_oneof![
        Just("4096".to_string()),
        Just("0".to_string()),
        Just("99999999999".to_string()),
        "[0-9a-z+-]{0,6}",
    ];
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9+/=]{0,40}",
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| b64_encode(&b)),
        (
            "[ -~]{0,12}",
            proptest::collection::vec(any::<u8>(), 0..8),
            iterations
        )
            .prop_map(|(suffix, salt, i)| {
                let salt = b64_encode(&salt);
                b64_encode(format!("r=rOprNGfwEbeRWgbNEkqO{suffix},s={salt},i={i}").as_bytes())
            }),
        "(v|e|m|r)=[ -~]{0,44}".prop_map(|s| b64_encode(s.as_bytes())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn respond_never_panics(
        mech in proptest::sample::select(Mechanism::ALL.to_vec()),
        use_ir in any::<bool>(),
        challenges in proptest::collection::vec(challenge(), 0..MAX_CHALLENGES + 2),
        success in proptest::option::of(challenge()),
    ) {
        let mut c = client(mech, "tim", "tanstaaftanstaaf");
        if use_ir {
            c.initial_response();
        }
        for ch in &challenges {
            if let Some(text) = c.describe_challenge(ch) {
                prop_assert!(!text.contains("tanstaaftanstaaf"));
            }
            if let Ok(answer) = c.respond(ch) {
                prop_assert!(answer.len() < 1024);
            }
        }
        let _ = c.finish(success.as_deref());
        if mech == Mechanism::ScramSha256 && c.completed() {
            // Only a correct server signature completes SCRAM, and these challenges
            // never carry one.
            prop_assert!(false, "SCRAM completed without the server signature");
        }
    }
}

#[test]
fn success_before_the_credentials_went_out_is_refused() {
    let mut login = client(Mechanism::Login, "tim", "secret");
    assert!(login.finish(None).is_err());
    let mut login = client(Mechanism::Login, "tim", "secret");
    login.respond(&b64(b"Username:")).unwrap();
    assert!(login.finish(None).is_err(), "235 after the user name only");
    assert!(!login.completed());
    let mut cram = client(Mechanism::CramMd5, "tim", "secret");
    assert!(cram.finish(None).is_err(), "235 to the bare AUTH CRAM-MD5");
    let mut plain = client(Mechanism::Plain, "tim", "secret");
    plain.initial_response().unwrap();
    assert!(plain.finish(None).is_ok());
}
