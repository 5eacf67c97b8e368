//! The request headers the service reads: `Idempotency-Key` through `http::idempotency_key`, and `Authorization`
//! through `auth::bearer_token` and `Authenticator::verify`. The input, split at newlines, is the list of values
//! sent under each of the two names (an empty input sends neither).
//!
//! Contract: no input panics; a key is accepted only when sent once, 1 to 128 visible ASCII characters, and comes
//! out unchanged; a bearer token is accepted only from one `Bearer <token>` header (the scheme in any case, RFC 7235)
//! and comes out trimmed; only the
//! admin token verifies as an admin (the fuzzer is never given a signed admin JWT), a buyer only with a valid user
//! id; and a JWT minted for a subject verifies as exactly that buyer when the subject is a valid user id.
#![no_main]

use std::sync::OnceLock;

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use ticketing_service::auth::{
    bearer_token, mint, Authenticator, Claims, Expectations, KeyMaterial, Principal, Secret,
};
use ticketing_service::domain::{validate_user_id, MAX_IDEMPOTENCY_KEY_CHARS};
use ticketing_service::http::idempotency_key;

const SECRET: &str = "fuzz-secret-0123456789abcdef0123456789";
const ADMIN_TOKEN: &str = "fuzz-admin-token-0123456789";

fn authenticator() -> &'static Authenticator {
    static AUTH: OnceLock<Authenticator> = OnceLock::new();
    AUTH.get_or_init(|| {
        let key = KeyMaterial::Hs256(Secret::new(SECRET));
        Authenticator::new(key, &Expectations::default(), Some(Secret::new(ADMIN_TOKEN))).expect("authenticator")
    })
}

fuzz_target!(|data: &[u8]| {
    let values: Vec<HeaderValue> = if data.is_empty() {
        Vec::new()
    } else {
        data.split(|b| *b == b'\n').filter_map(|v| HeaderValue::from_bytes(v).ok()).collect()
    };
    let mut headers = HeaderMap::new();
    for value in &values {
        headers.append("idempotency-key", value.clone());
        headers.append(AUTHORIZATION, value.clone());
    }

    match idempotency_key(&headers) {
        Ok(None) => assert!(values.is_empty()),
        Ok(Some(key)) => {
            assert_eq!(values.len(), 1);
            assert_eq!(key.as_bytes(), values[0].as_bytes());
            assert!((1..=MAX_IDEMPOTENCY_KEY_CHARS).contains(&key.len()));
            assert!(key.bytes().all(|b| b.is_ascii_graphic()));
        }
        Err(error) => {
            assert!(!values.is_empty());
            assert_eq!(error.code(), "invalid_input");
        }
    }

    let token = match bearer_token(&headers) {
        Ok(token) => token,
        Err(error) => {
            assert_eq!(error.code(), "unauthenticated");
            return;
        }
    };
    assert_eq!(values.len(), 1);
    let raw = values[0].to_str().expect("an accepted header is visible ASCII");
    let (scheme, rest) = raw.split_once(' ').expect("a scheme, a space and a token");
    assert!(scheme.eq_ignore_ascii_case("bearer"), "scheme {scheme:?}");
    assert_eq!(token, rest.trim());
    assert!(!token.is_empty());

    let auth = authenticator();
    match auth.verify(token) {
        Ok(Principal::Admin { .. }) => {
            assert_eq!(token, ADMIN_TOKEN, "no signed admin JWT is ever given to the fuzzer")
        }
        Ok(Principal::Buyer { user_id }) => assert!(validate_user_id(&user_id).is_ok()),
        Ok(Principal::Anyone) => panic!("a configured authenticator let anyone in"),
        Err(error) => assert_eq!(error.code(), "unauthenticated"),
    }
    let now = chrono::Utc::now().timestamp();
    let claims = Claims { sub: token.to_owned(), exp: now + 600, iat: now, admin: false, iss: None, aud: None };
    let minted = mint(&Secret::new(SECRET), &claims).expect("minting never fails for a string subject");
    match (validate_user_id(token), auth.verify(&minted)) {
        (Ok(()), Ok(Principal::Buyer { user_id })) => assert_eq!(user_id, token),
        (Err(_), Err(error)) => assert_eq!(error.code(), "unauthenticated"),
        (valid, verdict) => panic!("subject {token:?} (valid: {}) verified as {verdict:?}", valid.is_ok()),
    }
});
