//! The parameters of the paths: an id (`/api/events/{id}`, `/api/reservations/{id}`) through `http::parse_id`, and
//! a buyer (`/api/reservations/user/{userId}`) through `domain::validate_user_id`, each as the handler receives it
//! (percent-decoded UTF-8; other bytes are refused before).
//!
//! Contract: no input panics; an accepted id is a positive integer that reads back from its decimal form; a refusal
//! is 422 `invalid_input` with a message that quotes at most a bounded part of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ticketing_service::domain::{validate_user_id, MAX_USER_ID_CHARS};
use ticketing_service::http::parse_id;

/// The longest refusal message: the rule and at most 40 characters of the input, escaped.
const MAX_MESSAGE_BYTES: usize = 512;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse_id(text) {
        Ok(id) => {
            assert!(id > 0);
            assert_eq!(text.parse::<i64>(), Ok(id));
            assert_eq!(parse_id(&id.to_string()).ok(), Some(id));
        }
        Err(error) => {
            assert_eq!(error.code(), "invalid_input");
            assert!(error.to_string().len() <= MAX_MESSAGE_BYTES, "{} bytes of message", error.to_string().len());
        }
    }
    match validate_user_id(text) {
        Ok(()) => {
            let chars = text.chars().count();
            assert!((1..=MAX_USER_ID_CHARS).contains(&chars));
            assert!(!text.chars().any(char::is_control));
        }
        Err(error) => {
            assert_eq!(error.code(), "invalid_input");
            assert!(error.to_string().len() <= MAX_MESSAGE_BYTES);
        }
    }
});
