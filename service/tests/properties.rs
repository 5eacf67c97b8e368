//! Property tests of the rules that need no server: the batch decision, the validation of events and reservations,
//! and the decoding of request bodies, which doubles as the bounded fuzzing of that decoding for CI.
//!
//! Every property runs a fixed number of cases from a fixed seed, so a run is reproducible and takes seconds; the
//! fuzzing property prints how many inputs it executed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use ticketing_service::domain::{
    EventDraft, EventInput, Reservation, ReservationInput, ReservationRequest, ReservationStatus, MAX_EVENT_NAME_CHARS,
    MAX_ORDER_QUANTITY, MAX_TOTAL_SEATS,
};
use ticketing_service::engine::decide::{decide, Decision, Inventory, Prior, Refusal};
use ticketing_service::error::ApiError;
use ticketing_service::http::json::decode;

/// The configuration of every property: `cases` inputs from a fixed seed, no failure files written.
fn config(cases: u32) -> Config {
    Config { cases, rng_seed: RngSeed::Fixed(0x7e57_2024), failure_persistence: None, ..Config::default() }
}

/// The instant every decision is taken at.
const NOW: i64 = 1_000;

/// An event's inventory: mostly on sale, sometimes before, after or closed, so every refusal occurs.
fn inventory() -> impl Strategy<Value = Inventory> {
    let open_at = prop_oneof![4 => Just(0_i64), 1 => Just(NOW + 1)];
    let close_at = prop_oneof![4 => Just(None), 1 => Just(Some(NOW)), 1 => Just(Some(NOW + 1))];
    let closed_at = prop_oneof![9 => Just(None), 1 => Just(Some(NOW - 1))];
    (0_i64..40, 1_i64..10, 1_i64..6, open_at, close_at, closed_at).prop_map(
        |(available, per_user_limit, max_per_order, sales_open_at, sales_close_at, closed_at)| {
            stock(available, per_user_limit, max_per_order, sales_open_at, sales_close_at, closed_at)
        },
    )
}

/// Builds an [`Inventory`] (the one place that names its fields).
fn stock(
    available: i64,
    per_user_limit: i64,
    max_per_order: i64,
    sales_open_at: i64,
    sales_close_at: Option<i64>,
    closed_at: Option<i64>,
) -> Inventory {
    Inventory { available, per_user_limit, max_per_order, sales_open_at, sales_close_at, closed_at, hold_seconds: 0 }
}

/// A stored reservation made with an idempotency key (the one place that names its fields).
fn stored(id: i64, event_id: i64, user_id: &str, quantity: i64, key: &str) -> Reservation {
    Reservation {
        id,
        event_id,
        user_id: user_id.into(),
        quantity,
        status: ReservationStatus::Confirmed,
        idempotency_key: Some(key.into()),
        created_at: 0,
        expires_at: None,
    }
}

const USERS: [&str; 4] = ["ann", "bob", "cyd", "dan"];
const KEYS: [&str; 3] = ["k1", "k2", "k3"];

/// A request of event 1 from one of a few buyers, with one of a few keys or none, so keys repeat.
fn request() -> impl Strategy<Value = ReservationRequest> {
    let key = prop_oneof![Just(None), proptest::sample::select(&KEYS[..]).prop_map(Some)];
    (proptest::sample::select(&USERS[..]), 1_i64..8, key).prop_map(|(user, quantity, key)| ReservationRequest {
        event_id: 1,
        user_id: user.into(),
        quantity,
        idempotency_key: key.map(Into::into),
    })
}

/// What the database holds before the batch: seats per buyer and a few keyed reservations (some of another event).
fn prior() -> impl Strategy<Value = Prior> {
    let held = proptest::collection::vec(0_i64..10, USERS.len());
    let keyed = proptest::collection::vec(
        (proptest::sample::select(&USERS[..]), proptest::sample::select(&KEYS[..]), 1_i64..3, 1_i64..8),
        0..3,
    );
    (held, keyed).prop_map(|(held, keyed)| {
        let mut prior = Prior::default();
        for (user, seats) in USERS.iter().zip(held) {
            prior.held_by_user.insert((*user).into(), seats);
        }
        for (index, (user, key, event_id, quantity)) in keyed.into_iter().enumerate() {
            prior
                .by_idempotency_key
                .insert((user.into(), key.into()), stored(1_000 + index as i64, event_id, user, quantity, key));
        }
        prior
    })
}

/// Decides the requests one at a time, each in a batch of its own, carrying what each booking leaves behind: its
/// seats, and its key (a reservation whose id is the request's index).
fn decide_alone(inventory: &Inventory, prior: &Prior, requests: &[ReservationRequest]) -> Vec<Decision> {
    let mut inventory = inventory.clone();
    let mut prior =
        Prior { held_by_user: prior.held_by_user.clone(), by_idempotency_key: prior.by_idempotency_key.clone() };
    let mut decisions = Vec::new();
    for (index, request) in requests.iter().enumerate() {
        let (mut single, taken) = decide(&inventory, &prior, &[request], NOW);
        let decision = single.remove(0);
        if decision == Decision::Book {
            inventory.available -= taken;
            *prior.held_by_user.entry(request.user_id.clone()).or_default() += request.quantity;
            if let Some(key) = &request.idempotency_key {
                let booked = stored(index as i64, request.event_id, &request.user_id, request.quantity, key);
                prior.by_idempotency_key.insert((request.user_id.clone(), key.clone()), booked);
            }
        }
        decisions.push(decision);
    }
    decisions
}

proptest! {
    #![proptest_config(config(1000))]

    /// Seats, the per-user limit, sold-out answers and keys all hold whatever the batch.
    #[test]
    fn a_batch_never_oversells_and_keeps_every_rule(
        inventory in inventory(),
        prior in prior(),
        requests in proptest::collection::vec(request(), 0..30),
    ) {
        let refs: Vec<&ReservationRequest> = requests.iter().collect();
        let (decisions, taken) = decide(&inventory, &prior, &refs, NOW);
        prop_assert_eq!(decisions.len(), requests.len());
        let booked: i64 = requests.iter().zip(&decisions).filter(|(_, d)| **d == Decision::Book).map(|(r, _)| r.quantity).sum();
        prop_assert_eq!(taken, booked, "the seats taken are the seats of the bookings");
        prop_assert!((0..=inventory.available).contains(&taken), "took {} of {}", taken, inventory.available);

        let mut left = inventory.available;
        let mut new_by_user: HashMap<&str, i64> = HashMap::new();
        let mut books_by_key: HashMap<(&str, &str), usize> = HashMap::new();
        for (index, (request, decision)) in requests.iter().zip(&decisions).enumerate() {
            match decision {
                Decision::Book => {
                    prop_assert!(request.quantity <= left, "request {} booked {} with {} left", index, request.quantity, left);
                    left -= request.quantity;
                    *new_by_user.entry(&request.user_id).or_default() += request.quantity;
                    if let Some(key) = request.idempotency_key.as_deref() {
                        *books_by_key.entry((&request.user_id, key)).or_default() += 1;
                        prop_assert!(
                            !prior.by_idempotency_key.contains_key(&(request.user_id.clone(), key.to_owned())),
                            "request {} booked again with a key already stored", index
                        );
                    }
                }
                Decision::Refuse(Refusal::SoldOut { available, requested }) => {
                    prop_assert_eq!((*available, *requested), (left, request.quantity));
                    prop_assert!(request.quantity > left, "request {} refused as sold out with {} left for {}", index, left, request.quantity);
                }
                Decision::SameAs(first) => {
                    prop_assert!(*first < index);
                    prop_assert_eq!(&requests[*first].user_id, &request.user_id);
                    prop_assert!(request.idempotency_key.is_some());
                    prop_assert_eq!(&requests[*first].idempotency_key, &request.idempotency_key);
                }
                Decision::Replay(existing) => {
                    let key = request.idempotency_key.clone().expect("only a keyed request replays");
                    prop_assert_eq!(Some(existing), prior.by_idempotency_key.get(&(request.user_id.clone(), key)));
                }
                Decision::Refuse(_) => {}
            }
        }
        for (user, new) in &new_by_user {
            let held = prior.held_by_user.get(*user).copied().unwrap_or(0);
            prop_assert!(held + new <= inventory.per_user_limit, "{} holds {} + {} over the limit {}", user, held, new, inventory.per_user_limit);
        }
        prop_assert!(books_by_key.values().all(|n| *n == 1), "a (user, key) booked twice: {:?}", books_by_key);
    }

    /// Batching changes throughput, never an answer: the batch decides as the requests would be decided one by one.
    #[test]
    fn a_batch_decides_as_the_requests_would_one_at_a_time(
        inventory in inventory(),
        prior in prior(),
        requests in proptest::collection::vec(request(), 0..30),
    ) {
        let refs: Vec<&ReservationRequest> = requests.iter().collect();
        let (batched, _) = decide(&inventory, &prior, &refs, NOW);
        let alone = decide_alone(&inventory, &prior, &requests);
        for (index, (in_batch, by_itself)) in batched.iter().zip(&alone).enumerate() {
            match (in_batch, by_itself) {
                // A repeat of a booking of this batch is answered with that booking, as a replay is.
                (Decision::SameAs(first), Decision::Replay(replayed)) => {
                    prop_assert_eq!(&batched[*first], &Decision::Book);
                    prop_assert_eq!(replayed.id, *first as i64, "request {} replays request {}", index, first);
                }
                // A repeat of a refused request is refused too (with the refusal of its first copy).
                (Decision::SameAs(first), Decision::Refuse(_)) => {
                    prop_assert!(matches!(batched[*first], Decision::Refuse(_)));
                }
                (in_batch, by_itself) => prop_assert_eq!(in_batch, by_itself, "request {} of {:?}", index, requests),
            }
        }
    }
}

/// Text of every kind: arbitrary, printable near the limits, padded with spaces, or carrying a control character.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9]{0,12}",
        " {0,3}[a-zA-Z]{1,8} {0,3}",
        "\\PC{125,131}",
        "\\PC{195,205}",
        "[a-z]{0,3}[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}][a-z]{0,3}",
        "[a-z]{0,3}[\\u{200b}\\u{feff}\\u{1f600}\\u{10ffff}][a-z]{0,3}",
    ]
}

/// Whole numbers, mostly at the edges of the ranges the rules accept.
fn number() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        -2_i64..=2,
        prop_oneof![Just(i64::MIN), Just(i64::MAX), 98_i64..=102, 126_i64..=130, 86_399_i64..=86_401],
        (MAX_TOTAL_SEATS - 1)..=(MAX_TOTAL_SEATS + 1),
    ]
}

/// A date-time string and the instant it stands for, or `None` when it is not a date-time the service accepts.
fn timestamp() -> impl Strategy<Value = (String, Option<i64>)> {
    let offset = prop_oneof![Just(None), (-14 * 60..=14 * 60_i32).prop_map(Some)];
    let valid = (1970_i32..2100, 1_u32..=12, 1_u32..=28, 0_u32..24, 0_u32..60, 0_u32..60, offset).prop_map(
        |(year, month, day, hour, minute, second, offset)| {
            let naive =
                chrono::NaiveDate::from_ymd_opt(year, month, day).unwrap().and_hms_opt(hour, minute, second).unwrap();
            let text = naive.format("%Y-%m-%dT%H:%M:%S").to_string();
            let utc = naive.and_utc().timestamp_millis();
            match offset {
                None => (text, Some(utc)),
                Some(0) => (format!("{text}Z"), Some(utc)),
                Some(minutes) => {
                    let sign = if minutes < 0 { '-' } else { '+' };
                    let zone = format!("{sign}{:02}:{:02}", minutes.abs() / 60, minutes.abs() % 60);
                    (format!("{text}{zone}"), Some(utc - i64::from(minutes) * 60_000))
                }
            }
        },
    );
    let invalid = prop_oneof![
        proptest::sample::select(vec![
            "",
            "tomorrow",
            "2024-13-01T00:00:00",
            "2024-02-30T10:00:00",
            "2024-12-31",
            "31/12/2024 19:00",
            "2024-12-31T25:00:00",
            "2024-12-31T19:00:00+25:00",
            "2024-12-31 19:00:00Z",
            "1; DROP TABLE events",
            "${jndi:ldap://x}",
            "2024-12-31T19:00:00\u{0}",
        ])
        .prop_map(str::to_owned),
        "[^0-9+\\-\\s]\\PC{0,40}",
    ]
    .prop_map(|text| (text, None));
    prop_oneof![3 => valid, 1 => invalid]
}

/// An optional timestamp field: absent, or present and valid or not.
fn optional_timestamp() -> impl Strategy<Value = Option<(String, Option<i64>)>> {
    prop_oneof![1 => Just(None), 2 => timestamp().prop_map(Some)]
}

/// An optional number field, absent half the time.
fn optional_number() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![Just(None), number().prop_map(Some)]
}

/// Whether `text` is 1 to `max` characters without a control character.
fn printable(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.chars().count()) && !text.chars().any(char::is_control)
}

proptest! {
    #![proptest_config(config(1000))]

    /// An event is accepted exactly when every field is in its documented range, and then keeps what was sent.
    #[test]
    fn an_event_is_accepted_exactly_in_the_documented_ranges(
        name in text(),
        total_seats in number(),
        (event_date, date_at) in timestamp(),
        open in optional_timestamp(),
        close in optional_timestamp(),
        per_user_limit in optional_number(),
        max_per_order in optional_number(),
        hold_seconds in optional_number(),
    ) {
        let input = EventInput {
            event_name: name.clone(),
            total_seats,
            event_date,
            sales_open_at: open.as_ref().map(|(text, _)| text.clone()),
            sales_close_at: close.as_ref().map(|(text, _)| text.clone()),
            per_user_limit,
            max_per_order,
            hold_seconds,
        };
        let limit = per_user_limit.unwrap_or(8);
        let per_order = max_per_order.unwrap_or(limit.min(4));
        let open_at = open.as_ref().map(|(_, at)| *at);
        let close_at = close.as_ref().map(|(_, at)| *at);
        let window_ok = match (open_at, close_at) {
            (Some(Some(open)), Some(Some(close))) => close > open,
            _ => true,
        };
        let valid = printable(name.trim(), MAX_EVENT_NAME_CHARS)
            && (1..=MAX_TOTAL_SEATS).contains(&total_seats)
            && date_at.is_some()
            && open_at.is_none_or(|at| at.is_some())
            && close_at.is_none_or(|at| at.is_some())
            && window_ok
            && (1..=MAX_TOTAL_SEATS).contains(&limit)
            && (1..=MAX_ORDER_QUANTITY).contains(&per_order)
            && (0..=86_400).contains(&hold_seconds.unwrap_or(0));
        match EventDraft::parse(input) {
            Ok(draft) => {
                prop_assert!(valid, "accepted an invalid event: {:?}", draft);
                prop_assert_eq!(draft.name, name.trim());
                prop_assert_eq!((draft.total_seats, Some(draft.event_date)), (total_seats, date_at));
                prop_assert_eq!((draft.sales_open_at, draft.sales_close_at), (open_at.flatten(), close_at.flatten()));
                prop_assert_eq!((draft.per_user_limit, draft.max_per_order, draft.hold_seconds), (limit, per_order, hold_seconds.unwrap_or(0)));
            }
            Err(error) => {
                prop_assert!(!valid, "refused a valid event: {}", error);
                prop_assert!(matches!(error, ApiError::Invalid(_)), "refused as {:?}", error);
            }
        }
    }

    /// A reservation request is accepted exactly for a positive event id, a printable user id of 1 to 128
    /// characters, a quantity of 1 to 100 and an optional key of 1 to 128 visible ASCII characters.
    #[test]
    fn a_reservation_is_accepted_exactly_in_the_documented_ranges(
        event_id in number(),
        user_id in text(),
        quantity in number(),
        key in prop_oneof![Just(None), text().prop_map(Some), "[!-~]{126,130}".prop_map(Some)],
    ) {
        let valid = event_id >= 1
            && printable(&user_id, 128)
            && (1..=MAX_ORDER_QUANTITY).contains(&quantity)
            && key.as_deref().is_none_or(|k| (1..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()));
        let input = ReservationInput { event_id, user_id: user_id.clone(), quantity };
        match ReservationRequest::parse(input, key.clone()) {
            Ok(request) => {
                prop_assert!(valid, "accepted an invalid request: {:?}", request);
                prop_assert_eq!(request, ReservationRequest { event_id, user_id, quantity, idempotency_key: key });
            }
            Err(error) => {
                prop_assert!(!valid, "refused a valid request: {}", error);
                prop_assert!(matches!(error, ApiError::Invalid(_)), "refused as {:?}", error);
            }
        }
    }
}

/// A JSON value of any shape, with the fields of both inputs among its keys so some are nearly right.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    let field = prop_oneof![
        proptest::sample::select(vec![
            "eventName",
            "totalSeats",
            "eventDate",
            "salesOpenAt",
            "eventId",
            "userId",
            "quantity",
            "holdSeconds"
        ])
        .prop_map(str::to_owned),
        text(),
    ];
    leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((field.clone(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// A body as a client might send it: a valid body of either input, then damaged a few times.
fn damaged_body() -> impl Strategy<Value = Vec<u8>> {
    let valid = prop_oneof![
        Just(r#"{"eventName":"Concert","totalSeats":100,"eventDate":"2030-12-31T19:00:00","perUserLimit":4}"#),
        Just(r#"{"eventId":1,"userId":"alice","quantity":2}"#),
    ];
    let edit = (any::<proptest::sample::Index>(), any::<u8>(), 0_u8..4);
    (valid, proptest::collection::vec(edit, 0..4)).prop_map(|(valid, edits)| {
        let mut bytes = valid.as_bytes().to_vec();
        for (at, byte, kind) in edits {
            let position = at.index(bytes.len() + 1);
            match kind {
                0 => bytes.insert(position, byte),
                1 if position < bytes.len() => bytes[position] = byte,
                2 if position < bytes.len() => {
                    bytes.remove(position);
                }
                _ => bytes.truncate(position),
            }
        }
        bytes
    })
}

/// What [`decode`] answered, as the class of answer a client sees.
#[derive(Debug, PartialEq, Eq)]
enum Decoded {
    Accepted,
    Malformed,
    Invalid,
}

fn classify<T>(result: Result<T, ApiError>) -> Result<Decoded, TestCaseError> {
    match result {
        Ok(_) => Ok(Decoded::Accepted),
        Err(ApiError::MalformedJson(_)) => Ok(Decoded::Malformed),
        Err(ApiError::Invalid(_)) => Ok(Decoded::Invalid),
        Err(other) => Err(TestCaseError::fail(format!("decode answered {other:?}"))),
    }
}

/// Decodes `bytes` as both inputs and checks the answers against what `serde_json` makes of them as plain JSON:
/// a well-formed object is accepted or 422 `invalid_input`, malformed JSON is never accepted, and nothing else is
/// answered. (Issue 7: malformed JSON with a shape error before its syntax error is answered 422, not 400, and a
/// top-level array is read as the fields in order.)
fn check_decoding(bytes: &[u8]) -> Result<(), TestCaseError> {
    let parsed = serde_json::from_slice::<serde_json::Value>(bytes);
    for answer in [classify(decode::<EventInput>(bytes))?, classify(decode::<ReservationInput>(bytes))?] {
        match &parsed {
            Ok(value) if value.is_object() => {
                prop_assert_ne!(
                    answer,
                    Decoded::Malformed,
                    "a well-formed object called malformed: {:?}",
                    String::from_utf8_lossy(bytes)
                );
            }
            Ok(_) => prop_assert_eq!(
                answer,
                Decoded::Invalid,
                "well-formed JSON that is not an object: {:?}",
                String::from_utf8_lossy(bytes)
            ),
            Err(_) => {
                prop_assert_eq!(answer, Decoded::Malformed, "malformed JSON: {:?}", String::from_utf8_lossy(bytes))
            }
        }
    }
    Ok(())
}

/// The bounded fuzzing of request decoding: arbitrary bytes, damaged bodies and JSON of any shape, from a fixed
/// seed; `TICKETING_FUZZ_CASES` runs more inputs than CI's 20,000. Prints the number of executions.
#[test]
fn decoding_any_bytes_never_panics_and_tells_malformed_from_invalid() {
    let cases: u32 =
        std::env::var("TICKETING_FUZZ_CASES").map_or(20_000, |n| n.parse().expect("TICKETING_FUZZ_CASES is a count"));
    let executions = AtomicU64::new(0);
    let inputs = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        damaged_body(),
        json_value().prop_map(|value| serde_json::to_vec(&value).unwrap()),
    ];
    let mut runner = TestRunner::new(config(cases));
    let result = runner.run(&inputs, |bytes| {
        executions.fetch_add(2, Ordering::Relaxed);
        check_decoding(&bytes)
    });
    println!(
        "decoding fuzz: {} executions of decode over {cases} generated inputs",
        executions.load(Ordering::Relaxed)
    );
    result.unwrap();
}
