//! A corpus of malformed requests against every endpoint: each gets its documented 4xx status with the JSON error
//! envelope and its exact `code`, and the whole corpus changes nothing in the database.
//!
//! The corpus is generated from tables (credentials, ids, content types, bodies, field mutations, idempotency keys)
//! crossed with the endpoints they apply to, so a new endpoint or rule is one row, not a dozen literals.

mod common;

use common::{token, TestApp, ADMIN_TOKEN};
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Row as _;
use ticketing_service::auth::{mint, Claims, Secret};

/// One malformed request and the answer it must get.
struct Case {
    label: String,
    method: Method,
    path: String,
    headers: Vec<(&'static str, HeaderValue)>,
    body: Option<Vec<u8>>,
    status: StatusCode,
    code: &'static str,
}

/// The fixtures the corpus refers to: an event, a reservation of `alice` on it made with a key, and the tokens.
struct Fixture {
    event: i64,
    reservation: i64,
    alice: String,
    admin: String,
}

const KEY: &str = "fixture-key";
const UNKNOWN_ID: i64 = 987_654;
const BAD_IDS: [(&str, &str); 14] = [
    ("letters", "abc"),
    ("negative", "-1"),
    ("zero", "0"),
    ("past i64", "99999999999999999999"),
    ("NUL", "%00"),
    ("NUL after digits", "1%00"),
    ("decimal", "1.0"),
    ("exponent", "1e3"),
    ("hex", "0x1"),
    ("leading space", "%201"),
    ("SQL", "1;%20DROP%20TABLE%20events"),
    ("SQL quote", "'%20OR%201=1%20--"),
    ("traversal", "..%2F..%2Fetc%2Fpasswd"),
    ("template", "%7B%7B7*7%7D%7D"),
];

impl Case {
    fn new(
        label: impl Into<String>,
        method: Method,
        path: impl Into<String>,
        status: StatusCode,
        code: &'static str,
    ) -> Self {
        Self { label: label.into(), method, path: path.into(), headers: Vec::new(), body: None, status, code }
    }

    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, HeaderValue::from_str(value).expect("a header value the client can send")));
        self
    }

    fn raw_header(mut self, name: &'static str, value: &[u8]) -> Self {
        self.headers.push((name, HeaderValue::from_bytes(value).expect("a header value the client can send")));
        self
    }

    fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// A JSON body with its content type.
    fn json(self, body: impl Into<Vec<u8>>) -> Self {
        self.header("content-type", "application/json").raw_body(body)
    }

    fn raw_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }
}

/// An event body the create and update endpoints accept.
const EVENT_BODY: &str = r#"{"eventName":"Fuzz","totalSeats":10,"eventDate":"2030-12-31T19:00:00"}"#;

impl Fixture {
    fn reservation_body(&self) -> String {
        format!(r#"{{"eventId":{},"userId":"alice","quantity":1}}"#, self.event)
    }

    /// Every endpoint as a request that would succeed (or be refused only by the state of the data), with the
    /// credential it needs: the base each mutation changes one thing of.
    fn endpoints(&self) -> Vec<(&'static str, Case)> {
        let (event, reservation) = (self.event, self.reservation);
        let ok = StatusCode::OK;
        vec![
            ("list", Case::new("", Method::GET, "/api/events", ok, "").bearer(&self.alice)),
            ("upcoming", Case::new("", Method::GET, "/api/events/upcoming", ok, "").bearer(&self.alice)),
            ("available", Case::new("", Method::GET, "/api/events/available", ok, "").bearer(&self.alice)),
            ("read event", Case::new("", Method::GET, format!("/api/events/{event}"), ok, "").bearer(&self.alice)),
            ("create event", Case::new("", Method::POST, "/api/events", ok, "").bearer(&self.admin).json(EVENT_BODY)),
            (
                "update event",
                Case::new("", Method::PUT, format!("/api/events/{event}"), ok, "").bearer(&self.admin).json(EVENT_BODY),
            ),
            (
                "close event",
                Case::new("", Method::POST, format!("/api/events/{event}/close"), ok, "").bearer(&self.admin),
            ),
            (
                "reserve",
                Case::new("", Method::POST, "/api/reservations", ok, "")
                    .bearer(&self.alice)
                    .json(self.reservation_body()),
            ),
            (
                "read reservation",
                Case::new("", Method::GET, format!("/api/reservations/{reservation}"), ok, "").bearer(&self.alice),
            ),
            (
                "cancel",
                Case::new("", Method::DELETE, format!("/api/reservations/{reservation}"), ok, "").bearer(&self.alice),
            ),
            (
                "confirm",
                Case::new("", Method::POST, format!("/api/reservations/{reservation}/confirm"), ok, "")
                    .bearer(&self.alice),
            ),
            ("list by user", Case::new("", Method::GET, "/api/reservations/user/alice", ok, "").bearer(&self.alice)),
        ]
    }
}

/// The endpoints with an id in their path: (label, method, path with `{}` for the id, the code of a well-formed
/// but unknown id, whether it takes a body).
fn id_endpoints() -> Vec<(&'static str, Method, &'static str, &'static str, bool)> {
    vec![
        ("read event", Method::GET, "/api/events/{}", "event_not_found", false),
        ("update event", Method::PUT, "/api/events/{}", "event_not_found", true),
        ("close event", Method::POST, "/api/events/{}/close", "event_not_found", false),
        ("read reservation", Method::GET, "/api/reservations/{}", "reservation_not_found", false),
        ("cancel", Method::DELETE, "/api/reservations/{}", "reservation_not_found", false),
        ("confirm", Method::POST, "/api/reservations/{}/confirm", "reservation_not_found", false),
    ]
}

/// Requests without a usable credential: every endpoint answers 401 before looking at anything else.
fn credentials(fixture: &Fixture) -> Vec<Case> {
    let now = chrono::Utc::now().timestamp();
    let expired = token("alice", false, -600);
    let forged = mint(
        &Secret::new("not-the-service-secret-0123456789abcdef"),
        &Claims { sub: "ops".into(), exp: now + 600, iat: now, admin: true, iss: None, aud: None },
    )
    .unwrap();
    let unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJvcHMiLCJleHAiOjQxMDI0NDQ4MDAsImFkbWluIjp0cnVlfQ.";
    let control_sub = token("ali\u{7}ce", false, 600);
    let variants: Vec<(&str, Vec<String>)> = vec![
        ("no Authorization", vec![]),
        ("Authorization twice", vec![format!("Bearer {}", fixture.admin), format!("Bearer {}", fixture.admin)]),
        ("Basic scheme", vec!["Basic YWxpY2U6c2VjcmV0".into()]),
        ("Bearer without a token", vec!["Bearer ".into()]),
        ("garbage token", vec!["Bearer not.a.jwt".into()]),
        ("expired token", vec![format!("Bearer {expired}")]),
        ("token of another secret", vec![format!("Bearer {forged}")]),
        ("unsigned alg=none token", vec![format!("Bearer {unsigned}")]),
        ("admin token with a suffix", vec![format!("Bearer {ADMIN_TOKEN}x")]),
        ("sub with a control character", vec![format!("Bearer {control_sub}")]),
        ("SQL as the token", vec!["Bearer ' OR 1=1 --".into()]),
    ];
    let mut cases = Vec::new();
    for (variant, values) in &variants {
        for (endpoint, mut case) in fixture.endpoints() {
            case.headers.retain(|(name, _)| *name != "authorization");
            for value in values {
                case = case.header("authorization", value);
            }
            case.label = format!("{endpoint}: {variant}");
            (case.status, case.code) = (StatusCode::UNAUTHORIZED, "unauthenticated");
            cases.push(case);
        }
    }
    cases
}

/// Ids in paths that are not positive integers (422), or that name nothing (404).
fn path_ids(fixture: &Fixture) -> Vec<Case> {
    let long = "9".repeat(5_000);
    let ids = BAD_IDS.iter().map(|(label, id)| (*label, *id)).chain([("very long", long.as_str())]);
    let mut cases = Vec::new();
    for (label, id) in ids {
        for (endpoint, method, path, _, body) in id_endpoints() {
            cases.push(id_case(
                fixture,
                endpoint,
                method,
                path,
                body,
                id,
                label,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
            ));
        }
    }
    for (endpoint, method, path, unknown_code, body) in id_endpoints() {
        let unknown = UNKNOWN_ID.to_string();
        cases.push(id_case(
            fixture,
            endpoint,
            method.clone(),
            path,
            body,
            &unknown,
            "unknown id",
            StatusCode::NOT_FOUND,
            unknown_code,
        ));
    }
    cases
}

#[allow(clippy::too_many_arguments)]
fn id_case(
    fixture: &Fixture,
    endpoint: &str,
    method: Method,
    path: &str,
    body: bool,
    id: &str,
    label: &str,
    status: StatusCode,
    code: &'static str,
) -> Case {
    let admin = method != Method::GET && path.starts_with("/api/events");
    let case = Case::new(format!("{endpoint}: {label} id"), method, path.replace("{}", id), status, code);
    let case = case.bearer(if admin { &fixture.admin } else { &fixture.alice });
    if body {
        case.json(EVENT_BODY)
    } else {
        case
    }
}

/// User ids in the path of a buyer's list: malformed (422) or somebody else's, however shaped (403).
fn path_users(fixture: &Fixture) -> Vec<Case> {
    let long = "u".repeat(129);
    let users: Vec<(&str, &str, StatusCode, &'static str)> = vec![
        ("NUL", "%00", StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
        ("NUL after the name", "alice%00", StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
        ("newline", "alice%0A", StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
        ("129 characters", &long, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
        ("another buyer", "bob", StatusCode::FORBIDDEN, "forbidden"),
        ("upper case", "ALICE", StatusCode::FORBIDDEN, "forbidden"),
        ("SQL quote", "'%20OR%201=1%20--", StatusCode::FORBIDDEN, "forbidden"),
        ("SQL", "alice;%20DROP%20TABLE%20reservations", StatusCode::FORBIDDEN, "forbidden"),
        ("traversal", "..%2F..%2Fetc%2Fpasswd", StatusCode::FORBIDDEN, "forbidden"),
        ("template", "%24%7Bjndi:ldap:%2F%2Fx%7D", StatusCode::FORBIDDEN, "forbidden"),
        ("right-to-left override", "%E2%80%AEalice", StatusCode::FORBIDDEN, "forbidden"),
        ("empty", "", StatusCode::NOT_FOUND, "not_found"),
    ];
    users
        .into_iter()
        .map(|(label, user, status, code)| {
            Case::new(
                format!("list by user: {label}"),
                Method::GET,
                format!("/api/reservations/user/{user}"),
                status,
                code,
            )
            .bearer(&fixture.alice)
        })
        .collect()
}

/// The endpoints that take a body, with the body they accept.
fn body_endpoints(fixture: &Fixture) -> Vec<(&'static str, Case)> {
    fixture.endpoints().into_iter().filter(|(_, case)| case.body.is_some()).collect()
}

/// Bodies that are not JSON by their content type (415) or too large (413), on every endpoint that takes one.
fn content_types_and_sizes(fixture: &Fixture) -> Vec<Case> {
    let types: Vec<(&str, Vec<&str>)> = vec![
        ("no Content-Type", vec![]),
        ("text/plain", vec!["text/plain"]),
        ("form", vec!["application/x-www-form-urlencoded"]),
        ("multipart", vec!["multipart/form-data; boundary=x"]),
        ("XML", vec!["application/xml"]),
        ("jsonp", vec!["application/jsonp"]),
        ("bare json", vec!["json"]),
        ("empty Content-Type", vec![""]),
        ("text/plain before application/json", vec!["text/plain", "application/json"]),
    ];
    let padded = |body: &str, size: usize| {
        let pad = "x".repeat(size.saturating_sub(body.len() + 9));
        format!("{},\"pad\":\"{pad}\"}}", body.trim_end_matches('}')).into_bytes()
    };
    let mut cases = Vec::new();
    for (endpoint, base) in body_endpoints(fixture) {
        let body = String::from_utf8(base.body.clone().unwrap()).unwrap();
        for (label, values) in &types {
            let mut case = Case::new(
                format!("{endpoint}: {label}"),
                base.method.clone(),
                &base.path,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            );
            case.headers = base.headers.iter().filter(|(name, _)| *name == "authorization").cloned().collect();
            for value in values {
                case = case.header("content-type", value);
            }
            cases.push(case.raw_body(body.clone()));
        }
        let sizes: [(&str, Vec<u8>); 3] = [
            ("16 KiB + 1 of JSON", padded(&body, 16 * 1024 + 1)),
            ("1 MiB of JSON", padded(&body, 1024 * 1024)),
            ("17 KiB of garbage", vec![b'{'; 17 * 1024]),
        ];
        for (label, oversized) in sizes {
            let mut case = Case::new(
                format!("{endpoint}: {label}"),
                base.method.clone(),
                &base.path,
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            );
            case.headers = base.headers.clone();
            cases.push(case.raw_body(oversized));
        }
    }
    cases
}

/// Bad `Idempotency-Key` headers on the two endpoints that read one.
fn idempotency_keys(fixture: &Fixture) -> Vec<Case> {
    let long = "k".repeat(129);
    let keys: Vec<(&str, Vec<&[u8]>)> = vec![
        ("empty", vec![b""]),
        ("129 characters", vec![long.as_bytes()]),
        ("a space", vec![b"a b"]),
        ("a tab", vec![b"a\tb"]),
        ("SQL", vec![b"' OR 1=1 --"]),
        ("UTF-8", vec!["cl\u{e9}".as_bytes()]),
        ("Latin-1 byte", vec![b"cl\xe9"]),
        ("twice", vec![b"key-a", b"key-b"]),
        ("twice, the same", vec![b"key-a", b"key-a"]),
    ];
    let mut cases = Vec::new();
    for (endpoint, base) in body_endpoints(fixture).into_iter().filter(|(endpoint, _)| *endpoint != "update event") {
        for (label, values) in &keys {
            let mut case = Case::new(
                format!("{endpoint}: Idempotency-Key {label}"),
                base.method.clone(),
                &base.path,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
            );
            case.headers = base.headers.clone();
            for value in values {
                case = case.raw_header("idempotency-key", value);
            }
            cases.push(case.raw_body(base.body.clone().unwrap()));
        }
    }
    let reused = Case::new(
        "reserve: a stored key with another quantity",
        Method::POST,
        "/api/reservations",
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    );
    let body = format!(r#"{{"eventId":{},"userId":"alice","quantity":2}}"#, fixture.event);
    cases.push(reused.bearer(&fixture.alice).header("idempotency-key", KEY).json(body));
    cases
}

/// A replacement for one field's JSON value (`None` removes the field) and the answer it must get.
type Mutation = (&'static str, Option<String>, StatusCode, &'static str);

fn invalid(value: impl Into<String>) -> Option<String> {
    Some(value.into())
}

const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;
const BAD: StatusCode = StatusCode::BAD_REQUEST;

/// Values no whole-number field accepts: the wrong type (422) or no JSON number at all (400).
fn not_a_whole_number() -> Vec<(String, StatusCode, &'static str)> {
    let unprocessable = [
        "\"1\"",
        "1.5",
        "1e3",
        "true",
        "null",
        "[1]",
        "{}",
        "\"1; DROP TABLE events\"",
        "9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999",
    ];
    let malformed = ["1e400", "-1e400", "NaN", "Infinity", "0x10", "+1", "010", "1.", "--1"];
    unprocessable
        .iter()
        .map(|v| (v.to_string(), UNPROCESSABLE, "invalid_input"))
        .chain(malformed.iter().map(|v| (v.to_string(), BAD, "malformed_json")))
        .collect()
}

/// Strings that are not a date-time.
const NOT_DATES: [&str; 8] = [
    "\"tomorrow\"",
    "\"\"",
    "\"2024-13-01T00:00:00\"",
    "\"2024-02-30T10:00:00\"",
    "\"1; DROP TABLE events\"",
    "\"${jndi:ldap://x/a}\"",
    "\"{{7*7}}\"",
    "1735671600000",
];

/// Mutations of one field of an event body.
fn event_mutations() -> Vec<(&'static str, Mutation)> {
    let mut rows: Vec<(&'static str, Mutation)> = vec![
        ("eventName", ("empty", invalid("\"\""), UNPROCESSABLE, "invalid_input")),
        ("eventName", ("blank", invalid("\"   \""), UNPROCESSABLE, "invalid_input")),
        ("eventName", ("201 characters", invalid(format!("\"{}\"", "n".repeat(201))), UNPROCESSABLE, "invalid_input")),
        (
            "eventName",
            ("201 emoji", invalid(format!("\"{}\"", "\u{1f3ab}".repeat(201))), UNPROCESSABLE, "invalid_input"),
        ),
        ("eventName", ("15 KiB", invalid(format!("\"{}\"", "n".repeat(15 * 1024))), UNPROCESSABLE, "invalid_input")),
        ("eventName", ("escaped NUL", invalid("\"\\u0000\""), UNPROCESSABLE, "invalid_input")),
        ("eventName", ("escaped NUL inside", invalid("\"a\\u0000b\""), UNPROCESSABLE, "invalid_input")),
        ("eventName", ("escaped newline", invalid("\"a\\nb\""), UNPROCESSABLE, "invalid_input")),
        ("eventName", ("escaped C1 control", invalid("\"a\\u0085b\""), UNPROCESSABLE, "invalid_input")),
        ("eventName", ("raw NUL", invalid("\"a\u{0}b\""), BAD, "malformed_json")),
        ("eventName", ("raw newline", invalid("\"a\nb\""), BAD, "malformed_json")),
        ("eventName", ("lone surrogate", invalid("\"\\ud800\""), BAD, "malformed_json")),
        ("eventName", ("bad escape", invalid("\"\\x41\""), BAD, "malformed_json")),
        ("eventName", ("number", invalid("123"), UNPROCESSABLE, "invalid_input")),
        ("eventName", ("null", invalid("null"), UNPROCESSABLE, "invalid_input")),
        ("eventName", ("array", invalid("[\"Fuzz\"]"), UNPROCESSABLE, "invalid_input")),
        ("eventName", ("missing", None, UNPROCESSABLE, "invalid_input")),
        ("totalSeats", ("zero", invalid("0"), UNPROCESSABLE, "invalid_input")),
        ("totalSeats", ("minus one", invalid("-1"), UNPROCESSABLE, "invalid_input")),
        ("totalSeats", ("minus zero", invalid("-0"), UNPROCESSABLE, "invalid_input")),
        ("totalSeats", ("above the maximum", invalid("10000001"), UNPROCESSABLE, "invalid_input")),
        ("totalSeats", ("i64::MAX", invalid("9223372036854775807"), UNPROCESSABLE, "invalid_input")),
        ("totalSeats", ("i64::MIN", invalid("-9223372036854775808"), UNPROCESSABLE, "invalid_input")),
        ("totalSeats", ("missing", None, UNPROCESSABLE, "invalid_input")),
        ("eventDate", ("missing", None, UNPROCESSABLE, "invalid_input")),
        ("salesOpenAt", ("not a date", invalid("\"soon\""), UNPROCESSABLE, "invalid_input")),
        ("perUserLimit", ("zero", invalid("0"), UNPROCESSABLE, "invalid_input")),
        ("perUserLimit", ("minus one", invalid("-1"), UNPROCESSABLE, "invalid_input")),
        ("perUserLimit", ("above the maximum", invalid("10000001"), UNPROCESSABLE, "invalid_input")),
        ("maxPerOrder", ("zero", invalid("0"), UNPROCESSABLE, "invalid_input")),
        ("maxPerOrder", ("101", invalid("101"), UNPROCESSABLE, "invalid_input")),
        ("holdSeconds", ("minus one", invalid("-1"), UNPROCESSABLE, "invalid_input")),
        ("holdSeconds", ("a day and a second", invalid("86401"), UNPROCESSABLE, "invalid_input")),
        ("extra", ("an unknown field", invalid("1"), UNPROCESSABLE, "invalid_input")),
        ("__proto__", ("a prototype key", invalid("{}"), UNPROCESSABLE, "invalid_input")),
        ("eventname", ("a field in the wrong case", invalid("\"Fuzz\""), UNPROCESSABLE, "invalid_input")),
    ];
    for value in NOT_DATES {
        rows.push(("eventDate", ("not a date", invalid(value), UNPROCESSABLE, "invalid_input")));
    }
    for (value, status, code) in not_a_whole_number() {
        rows.push(("totalSeats", ("not a whole number", Some(value.clone()), status, code)));
    }
    rows.push(("holdSeconds", ("1e400", invalid("1e400"), BAD, "malformed_json")));
    rows
}

/// Mutations of one field of a reservation body (the buyer is `alice`, the event allows 2 seats per order).
fn reservation_mutations() -> Vec<(&'static str, Mutation)> {
    let mut rows: Vec<(&'static str, Mutation)> = vec![
        ("eventId", ("zero", invalid("0"), UNPROCESSABLE, "invalid_input")),
        ("eventId", ("minus one", invalid("-1"), UNPROCESSABLE, "invalid_input")),
        ("eventId", ("unknown", invalid(UNKNOWN_ID.to_string()), StatusCode::NOT_FOUND, "event_not_found")),
        ("eventId", ("i64::MAX", invalid("9223372036854775807"), StatusCode::NOT_FOUND, "event_not_found")),
        ("eventId", ("missing", None, UNPROCESSABLE, "invalid_input")),
        ("userId", ("empty", invalid("\"\""), UNPROCESSABLE, "invalid_input")),
        ("userId", ("129 characters", invalid(format!("\"{}\"", "u".repeat(129))), UNPROCESSABLE, "invalid_input")),
        ("userId", ("escaped NUL", invalid("\"\\u0000\""), UNPROCESSABLE, "invalid_input")),
        ("userId", ("escaped NUL after the name", invalid("\"alice\\u0000\""), UNPROCESSABLE, "invalid_input")),
        ("userId", ("raw NUL", invalid("\"alice\u{0}\""), BAD, "malformed_json")),
        ("userId", ("number", invalid("42"), UNPROCESSABLE, "invalid_input")),
        ("userId", ("null", invalid("null"), UNPROCESSABLE, "invalid_input")),
        ("userId", ("missing", None, UNPROCESSABLE, "invalid_input")),
        ("userId", ("another buyer", invalid("\"bob\""), StatusCode::FORBIDDEN, "forbidden")),
        ("userId", ("trailing space", invalid("\"alice \""), StatusCode::FORBIDDEN, "forbidden")),
        ("userId", ("SQL quote", invalid("\"' OR 1=1 --\""), StatusCode::FORBIDDEN, "forbidden")),
        ("userId", ("SQL", invalid("\"alice'; DROP TABLE reservations; --\""), StatusCode::FORBIDDEN, "forbidden")),
        ("userId", ("traversal", invalid("\"../../etc/passwd\""), StatusCode::FORBIDDEN, "forbidden")),
        ("userId", ("template", invalid("\"{{7*7}}${7*7}\""), StatusCode::FORBIDDEN, "forbidden")),
        ("quantity", ("zero", invalid("0"), UNPROCESSABLE, "invalid_input")),
        ("quantity", ("minus one", invalid("-1"), UNPROCESSABLE, "invalid_input")),
        ("quantity", ("101", invalid("101"), UNPROCESSABLE, "invalid_input")),
        ("quantity", ("above the event's maximum per order", invalid("3"), UNPROCESSABLE, "invalid_input")),
        ("quantity", ("i64::MAX", invalid("9223372036854775807"), UNPROCESSABLE, "invalid_input")),
        ("quantity", ("i64::MIN", invalid("-9223372036854775808"), UNPROCESSABLE, "invalid_input")),
        ("quantity", ("missing", None, UNPROCESSABLE, "invalid_input")),
        ("seat", ("an unknown field", invalid("\"A1\""), UNPROCESSABLE, "invalid_input")),
    ];
    for (value, status, code) in not_a_whole_number() {
        rows.push(("eventId", ("not a whole number", Some(value.clone()), status, code)));
        rows.push(("quantity", ("not a whole number", Some(value), status, code)));
    }
    rows
}

/// `base` (a flat JSON object) with `field` replaced by `value`, removed, or added at the end.
fn mutate(base: &str, field: &str, value: Option<&str>) -> String {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(base).unwrap();
    let mut parts: Vec<String> = Vec::new();
    let mut seen = false;
    for (name, original) in &object {
        if name == field {
            seen = true;
            parts.extend(value.map(|v| format!("\"{name}\":{v}")));
        } else {
            parts.push(format!("\"{name}\":{original}"));
        }
    }
    if !seen {
        parts.extend(value.map(|v| format!("\"{field}\":{v}")));
    }
    format!("{{{}}}", parts.join(","))
}

/// Whole bodies that are not one JSON object of the right shape; `valid` is the body the endpoint accepts.
fn whole_bodies(valid: &str) -> Vec<(&'static str, Vec<u8>, StatusCode, &'static str)> {
    let open = valid.trim_end_matches('}');
    let (first_value_at, _) = valid.match_indices(':').next().unwrap();
    let rest = &valid[valid.find(',').unwrap()..];
    let mut invalid_utf8 = valid.as_bytes()[..=first_value_at].to_vec();
    invalid_utf8.extend_from_slice(b"\"\xff\xfe\"");
    invalid_utf8.extend_from_slice(rest.as_bytes());
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    vec![
        ("empty body", b"".to_vec(), BAD, "malformed_json"),
        ("whitespace", b"  \n ".to_vec(), BAD, "malformed_json"),
        ("an open brace", b"{".to_vec(), BAD, "malformed_json"),
        ("a trailing comma", format!("{open},}}").into_bytes(), BAD, "malformed_json"),
        ("cut off", valid.as_bytes()[..valid.len() - 1].to_vec(), BAD, "malformed_json"),
        ("a missing colon", valid.replacen(':', " ", 1).into_bytes(), BAD, "malformed_json"),
        ("single quotes", b"{'eventId':1}".to_vec(), BAD, "malformed_json"),
        ("a byte-order mark", b"\xef\xbb\xbf{}".to_vec(), BAD, "malformed_json"),
        ("invalid UTF-8 in a string", invalid_utf8, BAD, "malformed_json"),
        ("a raw NUL", b"\0".to_vec(), BAD, "malformed_json"),
        ("two objects", format!("{valid}{valid}").into_bytes(), BAD, "malformed_json"),
        ("an object and garbage", format!("{valid} x").into_bytes(), BAD, "malformed_json"),
        ("a form body", b"eventId=1&quantity=1".to_vec(), BAD, "malformed_json"),
        ("SQL", b"'; DROP TABLE events; --".to_vec(), BAD, "malformed_json"),
        ("null", b"null".to_vec(), UNPROCESSABLE, "invalid_input"),
        ("a string", b"\"' OR 1=1 --\"".to_vec(), UNPROCESSABLE, "invalid_input"),
        ("a number", b"42".to_vec(), UNPROCESSABLE, "invalid_input"),
        ("an empty object", b"{}".to_vec(), UNPROCESSABLE, "invalid_input"),
        ("an empty array", b"[]".to_vec(), UNPROCESSABLE, "invalid_input"),
        ("100 nested arrays", deep.into_bytes(), UNPROCESSABLE, "invalid_input"),
    ]
}

/// Field mutations of both bodies and whole bad bodies, on every endpoint that takes a body.
fn bodies(fixture: &Fixture) -> Vec<Case> {
    let mut cases = Vec::new();
    for (endpoint, base) in body_endpoints(fixture) {
        let body = String::from_utf8(base.body.clone().unwrap()).unwrap();
        let rows = if endpoint == "reserve" { reservation_mutations() } else { event_mutations() };
        let mut push = |label: String, bytes: Vec<u8>, status: StatusCode, code: &'static str| {
            let mut case = Case::new(format!("{endpoint}: {label}"), base.method.clone(), &base.path, status, code);
            case.headers = base.headers.clone();
            cases.push(case.raw_body(bytes));
        };
        for (field, (label, value, status, code)) in rows {
            let label = format!(
                "{field} {label} ({})",
                value.as_deref().unwrap_or("absent").chars().take(40).collect::<String>()
            );
            push(label, mutate(&body, field, value.as_deref()).into_bytes(), status, code);
        }
        for (label, bytes, status, code) in whole_bodies(&body) {
            push(label.to_owned(), bytes, status, code);
        }
        if endpoint != "reserve" {
            let window = mutate(&body, "salesOpenAt", Some("\"2030-01-02T00:00:00Z\""));
            let reversed = mutate(&window, "salesCloseAt", Some("\"2030-01-01T23:59:59Z\""));
            push("salesCloseAt before salesOpenAt".into(), reversed.into_bytes(), UNPROCESSABLE, "invalid_input");
        }
        let first_field = body.split(',').next().unwrap().trim_start_matches('{').to_owned();
        push(
            "a field twice".into(),
            body.replacen('{', &format!("{{{first_field},"), 1).into_bytes(),
            UNPROCESSABLE,
            "invalid_input",
        );
    }
    cases
}

/// Methods a route does not have (405), paths no route has (404), and admin routes called by a buyer (403).
fn routes(fixture: &Fixture) -> Vec<Case> {
    let (event, reservation) = (fixture.event, fixture.reservation);
    let mut cases: Vec<Case> = [
        (Method::PATCH, "/api/events".to_owned()),
        (Method::DELETE, "/api/events".to_owned()),
        (Method::POST, "/api/events/upcoming".to_owned()),
        (Method::DELETE, format!("/api/events/{event}")),
        (Method::GET, format!("/api/events/{event}/close")),
        (Method::PUT, "/api/reservations".to_owned()),
        (Method::PATCH, format!("/api/reservations/{reservation}")),
        (Method::POST, "/api/reservations/user/alice".to_owned()),
        (Method::GET, format!("/api/reservations/{reservation}/confirm")),
    ]
    .into_iter()
    .map(|(method, path)| {
        Case::new(format!("{method} {path}"), method, path, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            .bearer(&fixture.admin)
    })
    .collect();
    for path in [
        "/api/event",
        "/API/EVENTS",
        format!("/api/events/{event}/open").as_str(),
        "/api/reservations/user/alice/extra",
        "/api/../api/events%2F1",
    ] {
        cases.push(
            Case::new(format!("GET {path}"), Method::GET, path, StatusCode::NOT_FOUND, "not_found")
                .bearer(&fixture.admin),
        );
    }
    for (endpoint, mut case) in fixture
        .endpoints()
        .into_iter()
        .filter(|(endpoint, _)| matches!(*endpoint, "create event" | "update event" | "close event"))
    {
        case.headers.retain(|(name, _)| *name != "authorization");
        case = case.bearer(&fixture.alice);
        case.label = format!("{endpoint}: a buyer's token");
        (case.status, case.code) = (StatusCode::FORBIDDEN, "forbidden");
        cases.push(case);
    }
    cases
}

/// Every row of the events and reservations tables, each column as text.
async fn snapshot(app: &TestApp) -> Vec<String> {
    let mut rows = Vec::new();
    for table in ["events", "reservations"] {
        for row in sqlx::query(&format!("SELECT * FROM {table} ORDER BY id")).fetch_all(&app.db.reader).await.unwrap() {
            let cells: Vec<String> = (0..row.len())
                .map(|column| {
                    row.try_get::<Option<i64>, _>(column)
                        .map(|v| format!("{v:?}"))
                        .or_else(|_| row.try_get::<Option<String>, _>(column).map(|v| format!("{v:?}")))
                        .unwrap_or_else(|error| panic!("{table} column {column}: {error}"))
                })
                .collect();
            rows.push(format!("{table}: {}", cells.join(" | ")));
        }
    }
    rows
}

#[tokio::test]
async fn every_malformed_request_gets_its_documented_error_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let event = app.create_event(10, json!({"maxPerOrder": 2})).await;
    let booked = app.reserve(event, "alice", 1, Some(KEY)).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{:?}", booked.body);
    let cancelled = app.reserve(event, "bob", 1, None).await.body["data"]["id"].as_i64().unwrap();
    let bob = TestApp::buyer("bob");
    let cancel = app.call(Method::DELETE, &format!("/api/reservations/{cancelled}"), Some(&bob), None).await;
    assert_eq!(cancel.status, StatusCode::OK, "{:?}", cancel.body);
    let fixture = Fixture {
        event,
        reservation: booked.body["data"]["id"].as_i64().unwrap(),
        alice: TestApp::buyer("alice"),
        admin: TestApp::admin(),
    };
    let mut corpus = Vec::new();
    for (method, path) in [
        (Method::DELETE, format!("/api/reservations/{cancelled}")),
        (Method::POST, format!("/api/reservations/{cancelled}/confirm")),
    ] {
        let case = Case::new(
            format!("{method} {path}: already cancelled"),
            method,
            path,
            StatusCode::CONFLICT,
            "already_cancelled",
        );
        corpus.push(case.bearer(&bob));
    }
    let others = Case::new(
        "read reservation: another buyer's",
        Method::GET,
        format!("/api/reservations/{}", fixture.reservation),
        StatusCode::NOT_FOUND,
        "reservation_not_found",
    );
    let cancel_others = Case::new(
        "cancel: another buyer's",
        Method::DELETE,
        format!("/api/reservations/{}", fixture.reservation),
        StatusCode::NOT_FOUND,
        "reservation_not_found",
    );
    corpus.extend([others.bearer(&bob), cancel_others.bearer(&bob)]);
    corpus.extend(credentials(&fixture));
    corpus.extend(path_ids(&fixture));
    corpus.extend(path_users(&fixture));
    corpus.extend(content_types_and_sizes(&fixture));
    corpus.extend(idempotency_keys(&fixture));
    corpus.extend(bodies(&fixture));
    corpus.extend(routes(&fixture));

    let before = snapshot(&app).await;
    assert_eq!(before.len(), 3, "the fixture is one event and two reservations: {before:#?}");
    let mut failures = Vec::new();
    for case in &corpus {
        let mut request = app.http.request(case.method.clone(), format!("{}{}", app.base, case.path));
        for (name, value) in &case.headers {
            request = request.header(*name, value.clone());
        }
        if let Some(body) = &case.body {
            request = request.body(body.clone());
        }
        let response = request.send().await.unwrap_or_else(|error| panic!("{}: not sent: {error}", case.label));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        let code = body.as_ref().and_then(|b| b["code"].as_str()).unwrap_or("");
        let success = body.as_ref().map(|b| b["success"].clone());
        if (status, code, success.clone()) != (case.status, case.code, Some(json!(false))) {
            let shown: String = text.chars().take(200).collect();
            failures.push(format!(
                "{} ({} {}): expected {} {}, got {status} {shown:?}",
                case.label,
                case.method,
                case.path.chars().take(80).collect::<String>(),
                case.status,
                case.code
            ));
        }
    }
    println!("bad input: {} malformed requests sent", corpus.len());
    assert!(corpus.len() >= 200, "the corpus has {} cases", corpus.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases got another answer:\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n")
    );
    assert_eq!(snapshot(&app).await, before, "a malformed request changed the database");
}
