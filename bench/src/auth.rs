//! Credentials the generator presents: buyer JWTs minted with the service's HS256 secret, and the static admin
//! token for event management. Neither secret is ever printed (`Debug` redacts them).

use std::time::{SystemTime, UNIX_EPOCH};

use hyper::header::HeaderValue;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde::Serialize;

/// How long a minted buyer token stays valid, in seconds (longer than any run).
const TOKEN_TTL_SECS: u64 = 6 * 3600;

/// The secrets shared with the service under test.
#[derive(Clone)]
pub struct Credentials {
    admin_token: String,
    key: EncodingKey,
    jwt_secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials { admin_token: <redacted>, jwt_secret: <redacted> }")
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    iat: u64,
    exp: u64,
}

impl Credentials {
    pub fn new(admin_token: String, jwt_secret: String) -> Self {
        let key = EncodingKey::from_secret(jwt_secret.as_bytes());
        Self { admin_token, key, jwt_secret }
    }

    /// Fresh random secrets for a service the generator starts itself.
    pub fn random() -> Self {
        let admin = format!("bench-admin-{}", uuid::Uuid::new_v4().simple());
        let secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        Self::new(admin, secret)
    }

    /// The static admin token, for handing to a service the generator starts.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The HS256 secret, for handing to a service the generator starts.
    pub fn jwt_secret(&self) -> &str {
        &self.jwt_secret
    }

    /// `Bearer <admin token>`.
    pub fn admin_bearer(&self) -> HeaderValue {
        bearer(&self.admin_token)
    }

    /// `Bearer <jwt>` for buyer `user` (the token's `sub`).
    pub fn buyer_bearer(&self, user: &str) -> HeaderValue {
        let iat = SystemTime::now().duration_since(UNIX_EPOCH).map(|since| since.as_secs()).unwrap_or(0);
        let claims = Claims { sub: user, iat, exp: iat + TOKEN_TTL_SECS };
        let token = encode(&Header::default(), &claims, &self.key).expect("HS256 signing cannot fail");
        bearer(&token)
    }
}

fn bearer(token: &str) -> HeaderValue {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).expect("tokens are visible ASCII");
    value.set_sensitive(true);
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, DecodingKey, Validation};

    #[derive(serde::Deserialize)]
    struct Decoded {
        sub: String,
        exp: u64,
    }

    #[test]
    fn buyer_tokens_verify_with_the_shared_secret_and_carry_the_user() {
        let credentials = Credentials::new("admin".into(), "s3cret".into());
        let header = credentials.buyer_bearer("buyer-7");
        let token = header.to_str().unwrap().strip_prefix("Bearer ").unwrap();
        let decoded =
            decode::<Decoded>(token, &DecodingKey::from_secret(b"s3cret"), &Validation::default()).unwrap().claims;
        assert_eq!(decoded.sub, "buyer-7");
        assert!(decoded.exp > 0);
        assert!(decode::<Decoded>(token, &DecodingKey::from_secret(b"other"), &Validation::default()).is_err());
    }

    #[test]
    fn debug_output_hides_the_secrets() {
        let credentials = Credentials::new("admin-token-value".into(), "secret-value".into());
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("admin-token-value") && !shown.contains("secret-value"), "{shown}");
    }
}
