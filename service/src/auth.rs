//! Who is calling: bearer JWTs for buyers and admins, and a static admin token for the operator.
//!
//! A JWT is verified with the one configured algorithm (HS256 with a shared secret, or RS256 with a public key; a
//! token that names any other algorithm, `none` included, is refused), and must carry `exp` and `sub`. Its times are
//! checked with [`LEEWAY_SECS`] of allowance for clock skew: `exp` must not have passed, and `nbf` and `iat`, when
//! present, must be numbers not in the future. When configured, the issuer must match, and the audience must be the
//! `aud` claim or one of its values (the claim may be a string or an array, as RFC 7519 allows). Its `sub` is the
//! buyer's `userId`; the claim `"admin": true` makes it an admin. The credential comes in one `Authorization`
//! header whose scheme is `Bearer` in any case (RFC 7235). The static admin token is compared in constant time.
//! Tokens and keys are never logged: [`Secret`] hides them from `Debug`.

use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::error::ApiError;
use crate::http::AppState;

/// A secret value that never prints.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Seconds of clock skew allowed between the token's issuer and this service, for `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: u64 = 60;

/// The claims the service writes when it mints a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// What the service reads from a token whose signature, expiry, issuer and audience `jsonwebtoken` has verified.
/// Other claims are ignored, whatever their shape (an `aud` array among them).
#[derive(Deserialize)]
struct Verified {
    sub: String,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    nbf: Option<NumericDate>,
    #[serde(default)]
    iat: Option<NumericDate>,
}

/// A JWT NumericDate: seconds since the epoch, an integer or not (RFC 7519, section 2). Anything else in a time
/// claim makes the token invalid.
#[derive(Deserialize, Clone, Copy)]
struct NumericDate(f64);

/// The verification key.
#[derive(Clone)]
pub enum KeyMaterial {
    /// HS256 with a shared secret (which can also mint tokens).
    Hs256(Secret),
    /// RS256 with a PEM public key (verification only).
    Rs256 { public_pem: String },
}

/// How requests are authenticated.
#[derive(Clone)]
pub struct Authenticator {
    decoding: Option<(DecodingKey, Validation)>,
    admin_token: Option<Secret>,
    /// Development only: every caller is an admin and may act as any buyer.
    insecure_no_auth: bool,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator").field("insecure_no_auth", &self.insecure_no_auth).finish_non_exhaustive()
    }
}

/// Issuer and audience checks.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

impl Authenticator {
    /// Verifies JWTs with `key` and, if given, accepts `admin_token` as an admin credential.
    pub fn new(key: KeyMaterial, expect: &Expectations, admin_token: Option<Secret>) -> anyhow::Result<Self> {
        let (decoding, algorithm) = match &key {
            KeyMaterial::Hs256(secret) => (DecodingKey::from_secret(secret.expose().as_bytes()), Algorithm::HS256),
            KeyMaterial::Rs256 { public_pem } => (DecodingKey::from_rsa_pem(public_pem.as_bytes())?, Algorithm::RS256),
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECS;
        let mut required = vec!["exp", "sub"];
        required.extend(expect.issuer.as_ref().map(|_| "iss"));
        required.extend(expect.audience.as_ref().map(|_| "aud"));
        validation.set_required_spec_claims(&required);
        if let Some(issuer) = &expect.issuer {
            validation.set_issuer(&[issuer]);
        }
        match &expect.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        Ok(Self { decoding: Some((decoding, validation)), admin_token, insecure_no_auth: false })
    }

    /// Development mode: no credential is checked.
    pub fn insecure() -> Self {
        Self { decoding: None, admin_token: None, insecure_no_auth: true }
    }

    /// Who the bearer of `token` is.
    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        if let Some(admin) = &self.admin_token {
            if bool::from(admin.expose().as_bytes().ct_eq(token.as_bytes())) {
                return Ok(Principal::Admin { name: "admin-token".into() });
            }
        }
        let (key, validation) = self.decoding.as_ref().ok_or(ApiError::Unauthenticated("no key configured"))?;
        let invalid = || ApiError::Unauthenticated("the bearer token is invalid or expired");
        let claims = jsonwebtoken::decode::<Verified>(token, key, validation).map_err(|_| invalid())?.claims;
        // `jsonwebtoken` checks `exp`; `nbf` and `iat` are checked here, both ways they can be wrong: a time claim
        // that is not a number failed to decode above, and one in the future is refused now.
        let latest = (chrono::Utc::now().timestamp() as f64) + LEEWAY_SECS as f64;
        if [claims.nbf, claims.iat].into_iter().flatten().any(|NumericDate(at)| at > latest) {
            return Err(invalid());
        }
        if claims.admin {
            Ok(Principal::Admin { name: claims.sub })
        } else {
            crate::domain::validate_user_id(&claims.sub)
                .map_err(|_| ApiError::Unauthenticated("the token's sub is not a valid user id"))?;
            Ok(Principal::Buyer { user_id: claims.sub })
        }
    }
}

/// Mints an HS256 token (the `token` subcommand and tests).
pub fn mint(secret: &Secret, claims: &Claims) -> anyhow::Result<String> {
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.expose().as_bytes()),
    )?)
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Buyer {
        user_id: String,
    },
    Admin {
        name: String,
    },
    /// Development mode without auth: allowed everything.
    Anyone,
}

impl Principal {
    /// Whether this caller may act for `user_id`.
    pub fn may_act_as(&self, user_id: &str) -> bool {
        match self {
            Self::Buyer { user_id: own } => own == user_id,
            Self::Admin { .. } | Self::Anyone => true,
        }
    }

    /// Whether this caller may manage events.
    pub fn is_admin(&self) -> bool {
        matches!(self, Self::Admin { .. } | Self::Anyone)
    }

    /// Fails unless this caller is an admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden("managing events needs an admin credential"))
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if state.auth.insecure_no_auth {
            return Ok(Self::Anyone);
        }
        state.auth.verify(bearer_token(&parts.headers)?)
    }
}

/// The token of the one `Authorization: Bearer <token>` header: the scheme in any case (RFC 7235), then one or more
/// spaces, then a token that is not empty.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let mut values = headers.get_all(axum::http::header::AUTHORIZATION).iter();
    let header = values.next().ok_or(ApiError::Unauthenticated("an Authorization: Bearer token is required"))?;
    if values.next().is_some() {
        return Err(ApiError::Unauthenticated("send exactly one Authorization header"));
    }
    header
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthenticated("the Authorization header must be `Bearer <token>`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(sub: &str, admin: bool, exp_offset: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims { sub: sub.into(), exp: now + exp_offset, iat: now, admin, iss: None, aud: None }
    }

    #[test]
    fn buyers_admins_and_bad_tokens_are_told_apart() {
        let secret = Secret::new("s3cret-for-tests-only-0123456789");
        let auth = Authenticator::new(
            KeyMaterial::Hs256(secret.clone()),
            &Expectations::default(),
            Some(Secret::new("ops-token")),
        )
        .unwrap();
        let buyer = mint(&secret, &claims("alice", false, 60)).unwrap();
        let admin = mint(&secret, &claims("ops", true, 60)).unwrap();
        let expired = mint(&secret, &claims("alice", false, -120)).unwrap();
        let forged = mint(&Secret::new("another-secret-0123456789abcdef"), &claims("alice", false, 60)).unwrap();
        assert_eq!(auth.verify(&buyer).unwrap(), Principal::Buyer { user_id: "alice".into() });
        assert_eq!(auth.verify(&admin).unwrap(), Principal::Admin { name: "ops".into() });
        assert_eq!(auth.verify("ops-token").unwrap(), Principal::Admin { name: "admin-token".into() });
        assert!(auth.verify(&expired).is_err());
        assert!(auth.verify(&forged).is_err());
        assert!(auth.verify("ops-token-but-longer").is_err());
    }

    #[test]
    fn issuer_and_audience_are_enforced_when_configured() {
        let secret = Secret::new("s3cret-for-tests-only-0123456789");
        let expect = Expectations { issuer: Some("tickets".into()), audience: Some("api".into()) };
        let auth = Authenticator::new(KeyMaterial::Hs256(secret.clone()), &expect, None).unwrap();
        let mut good = claims("alice", false, 60);
        good.iss = Some("tickets".into());
        good.aud = Some("api".into());
        assert!(auth.verify(&mint(&secret, &good).unwrap()).is_ok());
        let mut wrong = good.clone();
        wrong.aud = Some("other".into());
        assert!(auth.verify(&mint(&secret, &wrong).unwrap()).is_err());
        assert!(auth.verify(&mint(&secret, &claims("alice", false, 60)).unwrap()).is_err());
    }

    const SECRET: &str = "s3cret-for-tests-only-0123456789";

    /// A token with any JSON claims, signed with `algorithm` and [`SECRET`].
    fn signed(algorithm: Algorithm, claims: serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(algorithm), &claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
    }

    fn verifier(audience: Option<&str>) -> Authenticator {
        let expect = Expectations { issuer: None, audience: audience.map(str::to_owned) };
        Authenticator::new(KeyMaterial::Hs256(Secret::new(SECRET)), &expect, None).unwrap()
    }

    #[test]
    fn an_audience_may_be_an_array() {
        let now = chrono::Utc::now().timestamp();
        let listed =
            signed(Algorithm::HS256, serde_json::json!({"sub": "alice", "exp": now + 60, "aud": ["x", "api"]}));
        let unlisted =
            signed(Algorithm::HS256, serde_json::json!({"sub": "alice", "exp": now + 60, "aud": ["x", "y"]}));
        assert_eq!(verifier(Some("api")).verify(&listed).unwrap(), Principal::Buyer { user_id: "alice".into() });
        assert!(verifier(Some("api")).verify(&unlisted).is_err(), "the configured audience must be among them");
        assert!(verifier(None).verify(&unlisted).is_ok(), "without a configured audience the claim is not checked");
    }

    #[test]
    fn times_are_checked_with_the_leeway_and_must_be_numbers() {
        let now = chrono::Utc::now().timestamp();
        let leeway = LEEWAY_SECS as i64;
        let auth = verifier(None);
        let with = |claims: serde_json::Value| {
            let mut all = serde_json::json!({"sub": "alice", "exp": now + 600});
            all.as_object_mut().unwrap().extend(claims.as_object().unwrap().clone());
            auth.verify(&signed(Algorithm::HS256, all))
        };
        assert!(with(serde_json::json!({"nbf": now - 10, "iat": now - 10})).is_ok());
        assert!(with(serde_json::json!({"nbf": now + leeway / 2, "iat": now + leeway / 2})).is_ok(), "clock skew");
        assert!(with(serde_json::json!({"iat": (now as f64) - 0.5})).is_ok(), "a NumericDate need not be whole");
        assert!(with(serde_json::json!({"nbf": now + leeway + 60})).is_err(), "not valid before nbf");
        assert!(with(serde_json::json!({"iat": now + leeway + 60})).is_err(), "issued in the future");
        assert!(with(serde_json::json!({"nbf": "now"})).is_err(), "a time that is not a number");
        assert!(with(serde_json::json!({"iat": null, "nbf": [1]})).is_err());
        assert!(with(serde_json::json!({"exp": now - leeway / 2})).is_ok(), "expired within the leeway");
        assert!(with(serde_json::json!({"exp": now - leeway - 60})).is_err());
        assert!(
            auth.verify(&signed(Algorithm::HS256, serde_json::json!({"sub": "alice"}))).is_err(),
            "exp is required"
        );
        assert!(auth.verify(&signed(Algorithm::HS256, serde_json::json!({"exp": now + 60}))).is_err(), "sub too");
    }

    #[test]
    fn only_the_configured_algorithm_is_accepted() {
        let now = chrono::Utc::now().timestamp();
        let claims = serde_json::json!({"sub": "alice", "exp": now + 60});
        let auth = verifier(None);
        assert!(auth.verify(&signed(Algorithm::HS256, claims.clone())).is_ok());
        assert!(auth.verify(&signed(Algorithm::HS512, claims.clone())).is_err(), "another HMAC algorithm");
        let payload = signed(Algorithm::HS256, claims).split('.').nth(1).unwrap().to_owned();
        // {"alg":"none","typ":"JWT"}, with and without a signature.
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
        assert!(auth.verify(&format!("{none}.{payload}.")).is_err(), "alg none");
        assert!(auth.verify(&format!("{none}.{payload}")).is_err());
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let header = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(axum::http::header::AUTHORIZATION, value.parse().unwrap());
            headers
        };
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR   abc "] {
            assert_eq!(bearer_token(&header(value)).unwrap(), "abc", "{value:?}");
        }
        for value in ["Basic abc", "Bearerabc", "Bearer ", "abc", "Bearer\tabc"] {
            assert!(bearer_token(&header(value)).is_err(), "{value:?}");
        }
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }
}
