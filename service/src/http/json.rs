//! JSON in and out: the request body extractor with the service's own errors, and the response envelope.
//!
//! Axum's own `Json` rejections are plain text; [`JsonBody`] answers every bad body with the JSON error envelope:
//! 415 without `Content-Type: application/json`, 413 over the body limit, 400 for malformed JSON and 422 for
//! well-formed JSON of the wrong shape (not an object, wrong types, unknown or missing fields).

use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ApiError;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A JSON request body of type `T`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES).await.map_err(|error| {
            if error.into_inner().is::<http_body_util::LengthLimitError>() {
                ApiError::PayloadTooLarge(MAX_BODY_BYTES)
            } else {
                ApiError::MalformedJson("the body could not be read".into())
            }
        })?;
        decode(&bytes).map(Self)
    }
}

/// Decodes a JSON body: malformed JSON is 400 `malformed_json`; well-formed JSON that is not an object, or an
/// object of the wrong shape (wrong types, unknown, missing or repeated fields), is 422 `invalid_input`.
///
/// A good body is parsed once; only a failure is parsed again to tell the two kinds of error apart. Values the
/// grammar allows but serde_json cannot hold (1e400, a lone surrogate) count as malformed wherever they are, also
/// when another fault (an unknown field before them) would stop the typed parse first: the answer does not depend
/// on the order of the fields.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let is_object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if is_object {
        if let Ok(value) = serde_json::from_slice(bytes) {
            return Ok(value);
        }
    }
    std::str::from_utf8(bytes).map_err(|_| ApiError::MalformedJson("the body is not UTF-8".into()))?;
    serde_json::from_slice::<serde_json::Value>(bytes).map_err(|error| ApiError::MalformedJson(error.to_string()))?;
    if !is_object {
        return Err(ApiError::Invalid("the body must be a JSON object".into()));
    }
    match serde_json::from_slice::<T>(bytes) {
        Ok(value) => Ok(value),
        Err(error) if error.classify() == serde_json::error::Category::Data => {
            Err(ApiError::Invalid(error.to_string()))
        }
        Err(error) => Err(ApiError::MalformedJson(error.to_string())),
    }
}

/// The envelope of every successful answer: `{"success": true, "message": ..., "data": ...}`.
#[derive(Serialize)]
pub struct Envelope<T> {
    pub success: bool,
    pub message: Option<String>,
    pub data: T,
}

/// A successful answer with a status.
pub struct Reply<T>(pub StatusCode, pub Envelope<T>);

impl<T> Reply<T> {
    pub fn ok(data: T) -> Self {
        Self(StatusCode::OK, Envelope { success: true, message: None, data })
    }

    pub fn created(data: T, message: &str) -> Self {
        Self(StatusCode::CREATED, Envelope { success: true, message: Some(message.to_owned()), data })
    }

    pub fn with_message(mut self, message: &str) -> Self {
        self.1.message = Some(message.to_owned());
        self
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}
