//! Who is calling: bearer JWTs for buyers and admins, and a static admin token for the operator.
//!
//! A JWT is verified with the one configured algorithm (HS256 with a shared secret, or RS256 with a public key),
//! with its expiry and, when configured, its issuer and audience. Its `sub` is the buyer's `userId`; the claim
//! `"admin": true` makes it an admin. The static admin token is compared in constant time. Tokens and keys are
//! never logged: [`Secret`] hides them from `Debug`.

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

/// The claims the service reads and writes.
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
        validation.leeway = 5;
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
        let data = jsonwebtoken::decode::<Claims>(token, key, validation)
            .map_err(|_| ApiError::Unauthenticated("the bearer token is invalid or expired"))?;
        let claims = data.claims;
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

/// The token of the one `Authorization: Bearer <token>` header, trimmed and not empty.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let mut values = headers.get_all(axum::http::header::AUTHORIZATION).iter();
    let header = values.next().ok_or(ApiError::Unauthenticated("an Authorization: Bearer token is required"))?;
    if values.next().is_some() {
        return Err(ApiError::Unauthenticated("send exactly one Authorization header"));
    }
    header
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
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

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }
}
