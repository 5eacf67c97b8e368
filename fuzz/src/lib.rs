//! What the fuzz targets share: the contract of the JSON body decoder (`http::json::decode`) that every body target
//! checks before its own.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use ticketing_service::error::ApiError;
use ticketing_service::http::json::decode;

/// Decodes `body` as the handlers do and checks the decoder's contract: 400 `malformed_json` exactly when serde_json
/// cannot read the bytes as a JSON value, otherwise 422 `invalid_input` or success, and success only for a JSON
/// object. Returns the decoded input with the object serde_json reads, or `None` for a body rightly refused.
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Option<(T, Map<String, Value>)> {
    let generic = serde_json::from_slice::<Value>(body);
    let input: T = match decode(body) {
        Ok(input) => input,
        Err(ApiError::MalformedJson(_)) => {
            assert!(generic.is_err(), "400 malformed_json for a body serde_json reads: {generic:?}");
            return None;
        }
        Err(ApiError::Invalid(_)) => {
            assert!(generic.is_ok(), "422 invalid_input for a body serde_json cannot read");
            return None;
        }
        Err(other) => panic!("the body decoder answered {}", other.code()),
    };
    let Ok(Value::Object(object)) = generic else { panic!("accepted a body that is not a JSON object: {generic:?}") };
    Some((input, object))
}
