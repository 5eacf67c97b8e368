//! The body of `POST` and `PUT /api/events`, decoded as the handlers decode it: `http::json::decode` into an
//! `EventInput`, then `EventDraft::parse`.
//!
//! Contract: no input panics; the answer is 400 `malformed_json` exactly when serde_json cannot read the bytes as a
//! JSON value, otherwise 422 `invalid_input` or success; an accepted event meets the documented bounds, decodes to
//! the same draft once written out again, and its timestamps as the service writes them read back to the second.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use ticketing_fuzz::decode_body;
use ticketing_service::domain::{
    format_timestamp, parse_timestamp, EventDraft, EventInput, Millis, MAX_EVENT_NAME_CHARS, MAX_ORDER_QUANTITY,
    MAX_TOTAL_SEATS,
};
use ticketing_service::http::json::decode;

/// A timestamp in the naive form the decoder accepts, to the millisecond.
fn write_millis(millis: Millis) -> String {
    let time = chrono::DateTime::from_timestamp_millis(millis).expect("a parsed timestamp is in range");
    time.naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// The service's own written form reads back, to the second.
fn assert_written_form_reads_back(millis: Millis) {
    let written = format_timestamp(millis);
    let read =
        parse_timestamp("t", &written).unwrap_or_else(|e| panic!("the service cannot read its own {written:?}: {e}"));
    assert_eq!(read, millis - millis.rem_euclid(1000), "{written:?}");
}

fuzz_target!(|body: &[u8]| {
    let Some((input, _)) = decode_body::<EventInput>(body) else { return };

    let draft = match EventDraft::parse(input) {
        Ok(draft) => draft,
        Err(error) => {
            assert_eq!(error.code(), "invalid_input", "{error}");
            return;
        }
    };
    let name_chars = draft.name.chars().count();
    assert!((1..=MAX_EVENT_NAME_CHARS).contains(&name_chars), "{name_chars} characters");
    assert_eq!(draft.name.trim(), draft.name);
    assert!(!draft.name.chars().any(char::is_control));
    assert!((1..=MAX_TOTAL_SEATS).contains(&draft.total_seats));
    assert!((1..=MAX_TOTAL_SEATS).contains(&draft.per_user_limit));
    assert!((1..=MAX_ORDER_QUANTITY).contains(&draft.max_per_order));
    assert!((0..=86_400).contains(&draft.hold_seconds));
    if let (Some(open), Some(close)) = (draft.sales_open_at, draft.sales_close_at) {
        assert!(close > open);
    }
    for millis in [Some(draft.event_date), draft.sales_open_at, draft.sales_close_at].into_iter().flatten() {
        assert_written_form_reads_back(millis);
    }

    let written = json!({
        "eventName": draft.name,
        "totalSeats": draft.total_seats,
        "eventDate": write_millis(draft.event_date),
        "salesOpenAt": draft.sales_open_at.map(write_millis),
        "salesCloseAt": draft.sales_close_at.map(write_millis),
        "perUserLimit": draft.per_user_limit,
        "maxPerOrder": draft.max_per_order,
        "holdSeconds": draft.hold_seconds,
    });
    let again = decode::<EventInput>(written.to_string().as_bytes()).expect("a written event decodes");
    assert_eq!(EventDraft::parse(again).expect("a written event is valid"), draft);
});
