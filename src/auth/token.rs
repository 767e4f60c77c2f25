//! Bearer JWT verification with jsonwebtoken.
//!
//! The accepted algorithms are fixed by the configured key: a shared secret accepts only
//! HS256; a PEM public key accepts only its own algorithm (RS256, ES256 or EdDSA); a JWKS
//! key accepts the algorithm its JWK declares or implies. `none` and HS-with-a-public-key
//! can never verify. `exp` and `sub` are required, `nbf` is honoured, `iss`/`aud` are
//! required and checked when configured, with 30 s leeway. Every failure is
//! `UNAUTHENTICATED` with a message that never echoes the token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use crate::config::{ConfigError, KeySource, Secret};
use crate::error::AppError;

/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;
/// The platform role that may do everything everywhere.
pub const PLATFORM_ADMIN: &str = "platform_admin";
/// The longest `sub` accepted (memberships are keyed by it).
pub const MAX_SUBJECT: usize = 200;
/// The longest token accepted: bigger ones are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// How often an unknown `kid` may make the service fetch the key set again (also after a
/// failed fetch).
pub const JWKS_REFRESH_COOLDOWN: Duration = Duration::from_secs(60);

/// A subject the service can store and compare: not blank, at most [`MAX_SUBJECT`]
/// characters, no control characters (PostgreSQL text cannot even hold NUL).
pub fn valid_subject(sub: &str) -> bool {
    !sub.trim().is_empty() && sub.chars().count() <= MAX_SUBJECT && !sub.chars().any(char::is_control)
}

/// The verified caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub subject: String,
    pub platform_admin: bool,
    /// `exp` (Unix seconds): when the token stops being valid (leeway aside). Long-lived
    /// connections close at this time.
    pub expires_at: Option<u64>,
}

impl Caller {
    /// True once the token's `exp` plus the leeway has passed.
    pub fn expired(&self) -> bool {
        self.expires_at.is_some_and(|exp| jsonwebtoken::get_current_timestamp() > exp.saturating_add(LEEWAY_SECS))
    }

    /// Time left until [`Caller::expired`] turns true: zero only once it is (timestamps
    /// are whole seconds, so that is one second after `exp` + leeway).
    pub fn remaining(&self) -> Option<Duration> {
        let exp = self.expires_at?;
        let at = exp.saturating_add(LEEWAY_SECS + 1);
        Some(Duration::from_secs(at.saturating_sub(jsonwebtoken::get_current_timestamp())))
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    #[serde(default)]
    roles: Vec<String>,
}

/// The header checks jsonwebtoken leaves to the caller: `typ`, when present, names a JWT
/// (RFC 7519 5.1, RFC 9068 `at+jwt`); `crit` is refused (RFC 7515 4.1.11: we understand
/// no extensions, so a token that requires one must not verify).
fn check_header_extras(token: &str) -> Result<(), AppError> {
    use base64::Engine as _;
    let head = token.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(head.trim_end_matches('='))
        .map_err(|_| unauthenticated("malformed"))?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes).map_err(|_| unauthenticated("malformed"))?;
    if header.contains_key("crit") {
        return Err(unauthenticated("critical header extensions are not supported"));
    }
    match header.get("typ") {
        None => Ok(()),
        Some(serde_json::Value::String(t))
            if ["jwt", "at+jwt", "application/jwt", "application/at+jwt"]
                .contains(&t.to_ascii_lowercase().as_str()) =>
        {
            Ok(())
        }
        Some(_) => Err(unauthenticated("the header's typ is not a JWT")),
    }
}

/// Claims written by [`mint_hs256`].
#[derive(Debug, Serialize)]
struct MintClaims<'a> {
    sub: &'a str,
    exp: u64,
    iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    roles: Vec<&'a str>,
}

enum Keys {
    Static { key: DecodingKey, alg: Algorithm },
    Jwks(Arc<JwksCache>),
}

pub struct TokenVerifier {
    keys: Keys,
    issuer: Option<String>,
    audience: Option<String>,
}

fn unauthenticated(why: &str) -> AppError {
    AppError::Unauthenticated(format!("invalid token: {why}"))
}

impl TokenVerifier {
    /// Builds the verifier from the configured key source. `dev_secret` is the generated
    /// development secret, used when the source is [`KeySource::GeneratedDevSecret`].
    pub async fn new(
        source: &KeySource,
        dev_secret: Option<&Secret>,
        issuer: Option<String>,
        audience: Option<String>,
    ) -> Result<Self, ConfigError> {
        let keys = match source {
            KeySource::Secret(s) => Keys::Static { key: DecodingKey::from_secret(s.expose()), alg: Algorithm::HS256 },
            KeySource::GeneratedDevSecret => {
                let s = dev_secret.ok_or_else(|| ConfigError {
                    var: "ANNEX_JWT_SECRET",
                    message: "no development secret available".into(),
                })?;
                Keys::Static { key: DecodingKey::from_secret(s.expose()), alg: Algorithm::HS256 }
            }
            KeySource::PublicKeyPem { pem, .. } => {
                let (key, alg) = public_key_from_pem(pem)
                    .map_err(|m| ConfigError { var: "ANNEX_JWT_PUBLIC_KEY_FILE", message: m })?;
                Keys::Static { key, alg }
            }
            KeySource::Jwks(src) => {
                let cache = JwksCache::load(src.clone())
                    .await
                    .map_err(|m| ConfigError { var: "ANNEX_JWT_JWKS", message: m })?;
                Keys::Jwks(Arc::new(cache))
            }
        };
        Ok(Self { keys, issuer, audience })
    }

    /// How many times the key set was fetched (start-up included); `None` without a JWKS.
    pub fn jwks_fetches(&self) -> Option<u64> {
        match &self.keys {
            Keys::Jwks(cache) => Some(cache.fetches.load(std::sync::atomic::Ordering::Relaxed)),
            Keys::Static { .. } => None,
        }
    }

    /// Starts refreshing a remote JWKS in the background (keys rotate at the IdP).
    pub fn spawn_refresh(&self) {
        if let Keys::Jwks(cache) = &self.keys
            && cache.is_remote()
        {
            let cache = cache.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(600)).await;
                    if let Err(e) = cache.refresh().await {
                        tracing::warn!(error = %e, "JWKS refresh failed; keeping the previous keys");
                    }
                }
            });
        }
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = LEEWAY_SECS;
        v.validate_exp = true;
        v.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        if let Some(iss) = &self.issuer {
            v.set_issuer(&[iss]);
            required.push("iss");
        }
        match &self.audience {
            Some(aud) => {
                v.set_audience(&[aud]);
                required.push("aud");
            }
            None => v.validate_aud = false,
        }
        v.set_required_spec_claims(&required);
        v
    }

    pub async fn verify(&self, token: &str) -> Result<Caller, AppError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(unauthenticated("longer than 8 KiB"));
        }
        let header = decode_header(token).map_err(|_| unauthenticated("malformed"))?;
        check_header_extras(token)?;
        let (key, alg) = match &self.keys {
            Keys::Static { key, alg } => (key.clone(), *alg),
            Keys::Jwks(cache) => cache.key_for(header.kid.as_deref()).await?,
        };
        if header.alg != alg {
            return Err(unauthenticated("algorithm not accepted"));
        }
        let data = decode::<Claims>(token, &key, &self.validation(alg)).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind::*;
            unauthenticated(match e.kind() {
                ExpiredSignature => "expired",
                ImmatureSignature => "not yet valid (nbf)",
                InvalidIssuer => "wrong issuer",
                InvalidAudience => "wrong audience",
                MissingRequiredClaim(_) => "a required claim is missing",
                InvalidSignature => "bad signature",
                InvalidAlgorithm => "algorithm not accepted",
                _ => "malformed",
            })
        })?;
        if !valid_subject(&data.claims.sub) {
            return Err(unauthenticated("the subject (sub) is empty, too long or has control characters"));
        }
        Ok(Caller {
            platform_admin: data.claims.roles.iter().any(|r| r == PLATFORM_ADMIN),
            subject: data.claims.sub,
            expires_at: Some(data.claims.exp),
        })
    }
}

/// Reads a PEM public key and the one algorithm it may verify.
fn public_key_from_pem(pem: &[u8]) -> Result<(DecodingKey, Algorithm), String> {
    if let Ok(k) = DecodingKey::from_rsa_pem(pem) {
        return Ok((k, Algorithm::RS256));
    }
    if let Ok(k) = DecodingKey::from_ec_pem(pem) {
        return Ok((k, Algorithm::ES256));
    }
    if let Ok(k) = DecodingKey::from_ed_pem(pem) {
        return Ok((k, Algorithm::EdDSA));
    }
    Err("not a PEM RSA, EC (P-256) or Ed25519 public key".to_string())
}

/// Validates a PEM public key at configuration time.
pub fn check_public_key_pem(pem: &[u8]) -> Result<(), String> {
    public_key_from_pem(pem).map(|_| ())
}

/// Mints an HS256 token (development: `annex token`, the start-up token, tests).
pub fn mint_hs256(
    secret: &[u8],
    subject: &str,
    platform_admin: bool,
    ttl: Duration,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> Result<String, AppError> {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = MintClaims {
        sub: subject,
        iat: now,
        exp: now + ttl.as_secs(),
        iss: issuer,
        aud: audience,
        roles: if platform_admin { vec![PLATFORM_ADMIN] } else { vec![] },
    };
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret))
        .map_err(AppError::internal)
}

/// Parses `--ttl` values such as `30m`, `1h`, `7d`, `90s` or plain seconds.
pub fn parse_ttl(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// A JWK set from a URL or a file, refreshed when an unknown `kid` shows up and every ten
/// minutes for URLs. Refreshes are single-flight (concurrent requests wait for the one
/// fetch) and at most one per [`JWKS_REFRESH_COOLDOWN`], failed ones included; while a
/// refresh fails the previous keys keep serving.
struct JwksCache {
    source: String,
    keys: RwLock<JwkSet>,
    /// When the last fetch was attempted (held across the fetch: single flight).
    last_attempt: tokio::sync::Mutex<Instant>,
    fetches: std::sync::atomic::AtomicU64,
}

impl JwksCache {
    async fn load(source: String) -> Result<Self, String> {
        let set = fetch_jwks(&source).await?;
        if set.keys.is_empty() {
            return Err(format!("{source} holds no keys"));
        }
        Ok(Self {
            source,
            keys: RwLock::new(set),
            last_attempt: tokio::sync::Mutex::new(Instant::now()),
            fetches: std::sync::atomic::AtomicU64::new(1),
        })
    }

    fn is_remote(&self) -> bool {
        self.source.starts_with("http://") || self.source.starts_with("https://")
    }

    /// Fetches the set again unless one was attempted within the cooldown; whoever waits
    /// on the lock meanwhile sees the result of that one fetch.
    async fn refresh_if_due(&self, force: bool) -> Result<(), String> {
        let mut last = self.last_attempt.lock().await;
        if !force && last.elapsed() < JWKS_REFRESH_COOLDOWN {
            return Ok(());
        }
        *last = Instant::now();
        self.fetches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let set = fetch_jwks(&self.source).await?;
        if set.keys.is_empty() {
            return Err(format!("{} holds no keys; keeping the previous ones", self.source));
        }
        *self.keys.write().await = set;
        Ok(())
    }

    async fn refresh(&self) -> Result<(), String> {
        self.refresh_if_due(true).await
    }

    async fn key_for(&self, kid: Option<&str>) -> Result<(DecodingKey, Algorithm), AppError> {
        if let Some(found) = self.lookup(kid).await {
            return found;
        }
        if let Err(e) = self.refresh_if_due(false).await {
            tracing::warn!(error = %e, "JWKS refresh failed; keeping the previous keys");
        }
        if let Some(found) = self.lookup(kid).await {
            return found;
        }
        Err(unauthenticated("unknown signing key"))
    }

    async fn lookup(&self, kid: Option<&str>) -> Option<Result<(DecodingKey, Algorithm), AppError>> {
        let set = self.keys.read().await;
        let jwk = match kid {
            Some(kid) => set.find(kid)?,
            None if set.keys.len() == 1 => &set.keys[0],
            None => return Some(Err(unauthenticated("token has no kid"))),
        };
        Some(jwk_key(jwk))
    }
}

/// The key and the one algorithm a JWK may verify: its declared `alg`, or the one its
/// key type implies. Symmetric JWKs are refused: a JWKS publishes public keys.
fn jwk_key(jwk: &Jwk) -> Result<(DecodingKey, Algorithm), AppError> {
    let implied = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return Err(unauthenticated("unsupported key")),
        },
        AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
        _ => return Err(unauthenticated("unsupported key")),
    };
    let alg = match jwk.common.key_algorithm {
        None => implied,
        Some(KeyAlgorithm::HS256 | KeyAlgorithm::HS384 | KeyAlgorithm::HS512) => {
            return Err(unauthenticated("unsupported key"));
        }
        Some(a) => match a {
            KeyAlgorithm::RS256 => Algorithm::RS256,
            KeyAlgorithm::RS384 => Algorithm::RS384,
            KeyAlgorithm::RS512 => Algorithm::RS512,
            KeyAlgorithm::PS256 => Algorithm::PS256,
            KeyAlgorithm::PS384 => Algorithm::PS384,
            KeyAlgorithm::PS512 => Algorithm::PS512,
            KeyAlgorithm::ES256 => Algorithm::ES256,
            KeyAlgorithm::ES384 => Algorithm::ES384,
            KeyAlgorithm::EdDSA => Algorithm::EdDSA,
            _ => return Err(unauthenticated("unsupported key")),
        },
    };
    if alg.family() != implied.family() {
        return Err(unauthenticated("unsupported key"));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| unauthenticated("unsupported key"))?;
    Ok((key, alg))
}

async fn fetch_jwks(source: &str) -> Result<JwkSet, String> {
    let body = if source.starts_with("http://") || source.starts_with("https://") {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("http client: {e}"))?;
        let resp = client.get(source).send().await.map_err(|e| format!("cannot fetch {source}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("cannot fetch {source}: HTTP {}", resp.status()));
        }
        resp.text().await.map_err(|e| format!("cannot read {source}: {e}"))?
    } else {
        tokio::fs::read_to_string(source).await.map_err(|e| format!("cannot read {source}: {e}"))?
    };
    serde_json::from_str(&body).map_err(|e| format!("{source} is not a JWK set: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    async fn verifier() -> TokenVerifier {
        TokenVerifier::new(
            &KeySource::Secret(Secret::new(SECRET.to_vec())),
            None,
            Some("https://idp.example".into()),
            Some("annex".into()),
        )
        .await
        .expect("verifier")
    }

    #[tokio::test]
    async fn minted_token_verifies() {
        let v = verifier().await;
        let t = mint_hs256(SECRET, "alice", true, Duration::from_secs(60), Some("https://idp.example"), Some("annex"))
            .expect("mint");
        let c = v.verify(&t).await.expect("valid");
        assert_eq!(c, Caller { subject: "alice".into(), platform_admin: true, expires_at: c.expires_at });
    }

    #[tokio::test]
    async fn failures_never_echo_the_token() {
        let v = verifier().await;
        let t = mint_hs256(b"another-secret-another-secret-xx", "alice", false, Duration::from_secs(60), None, None)
            .expect("mint");
        let e = v.verify(&t).await.unwrap_err();
        assert_eq!(e.code(), "UNAUTHENTICATED");
        assert!(!e.message().contains(&t[..20]));
    }

    #[tokio::test]
    async fn unusable_subjects_are_refused() {
        let v = verifier().await;
        for sub in ["", "  ", "a\u{0}b", "tab\there", "line\nbreak", &"x".repeat(MAX_SUBJECT + 1)] {
            let t = mint_hs256(SECRET, sub, false, Duration::from_secs(60), Some("https://idp.example"), Some("annex"))
                .expect("mint");
            assert_eq!(v.verify(&t).await.unwrap_err().code(), "UNAUTHENTICATED", "{sub:?}");
        }
        for sub in ["alice", "auth0|5f1c", "Zoë Müller", &"é".repeat(MAX_SUBJECT)] {
            let t = mint_hs256(SECRET, sub, false, Duration::from_secs(60), Some("https://idp.example"), Some("annex"))
                .expect("mint");
            assert_eq!(v.verify(&t).await.expect("valid").subject, sub);
        }
    }

    /// A token signed with the test secret, with `header` and extra claims.
    fn signed(header: &Header, extra: serde_json::Value) -> String {
        let mut claims = serde_json::json!({
            "sub": "alice", "iss": "https://idp.example", "aud": "annex",
            "exp": jsonwebtoken::get_current_timestamp() + 60,
        });
        if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        jsonwebtoken::encode(header, &claims, &EncodingKey::from_secret(SECRET)).expect("sign")
    }

    #[tokio::test]
    async fn tokens_over_8_kib_are_refused_unread() {
        let v = verifier().await;
        let fits = signed(&Header::new(Algorithm::HS256), serde_json::json!({ "pad": "x".repeat(5_500) }));
        assert!(fits.len() < MAX_TOKEN_BYTES && fits.len() > 7_000, "{}", fits.len());
        assert_eq!(v.verify(&fits).await.expect("valid").subject, "alice");
        let big = signed(&Header::new(Algorithm::HS256), serde_json::json!({ "pad": "x".repeat(6_500) }));
        assert!(big.len() > MAX_TOKEN_BYTES);
        let e = v.verify(&big).await.unwrap_err();
        assert_eq!(e.code(), "UNAUTHENTICATED");
        assert!(e.message().contains("8 KiB"), "{}", e.message());
    }

    #[tokio::test]
    async fn crit_headers_and_foreign_types_are_refused() {
        let v = verifier().await;
        for typ in [None, Some("JWT"), Some("jwt"), Some("at+jwt"), Some("application/at+jwt")] {
            let mut h = Header::new(Algorithm::HS256);
            h.typ = typ.map(str::to_string);
            assert_eq!(v.verify(&signed(&h, serde_json::json!({}))).await.expect("valid").subject, "alice", "{typ:?}");
        }
        for typ in ["JWE", "JOSE+JSON", "dpop+jwt", ""] {
            let mut h = Header::new(Algorithm::HS256);
            h.typ = Some(typ.into());
            let e = v.verify(&signed(&h, serde_json::json!({}))).await.unwrap_err();
            assert_eq!(e.code(), "UNAUTHENTICATED", "{typ}");
        }
        // RFC 7515 4.1.11: an extension the verifier does not understand must fail it.
        let mut h = Header::new(Algorithm::HS256);
        h.crit = Some(vec!["b64".into()]);
        let e = v.verify(&signed(&h, serde_json::json!({ "b64": false }))).await.unwrap_err();
        assert_eq!(e.code(), "UNAUTHENTICATED");
        assert!(e.message().contains("critical"), "{}", e.message());
    }

    #[test]
    fn expiry_and_time_left_agree() {
        let at = |exp: Option<u64>| Caller { subject: "a".into(), platform_admin: false, expires_at: exp };
        // Retried when a second boundary passes mid-check.
        for _ in 0..3 {
            let now = jsonwebtoken::get_current_timestamp();
            // The last second of the leeway: not expired, and time left, so a timer set to
            // it does not fire at once (and spin) before `expired` turns true.
            let last = at(Some(now - LEEWAY_SECS));
            let (last_expired, last_left) = (last.expired(), last.remaining());
            let gone = at(Some(now - LEEWAY_SECS - 1));
            let (gone_expired, gone_left) = (gone.expired(), gone.remaining());
            if jsonwebtoken::get_current_timestamp() != now {
                continue;
            }
            assert!(!last_expired);
            assert_eq!(last_left, Some(Duration::from_secs(1)));
            assert!(gone_expired);
            assert_eq!(gone_left, Some(Duration::ZERO));
            break;
        }
        // Far-off and absent expiries neither overflow nor expire.
        assert!(!at(Some(u64::MAX)).expired());
        assert!(at(Some(u64::MAX)).remaining().is_some_and(|d| d > Duration::from_secs(3600)));
        assert!(!at(None).expired());
        assert_eq!(at(None).remaining(), None);
    }

    /// A tiny identity provider serving a JWK set over HTTP, counting its fetches; it can
    /// be made to fail, and its set changed.
    struct Idp {
        url: String,
        hits: Arc<std::sync::atomic::AtomicU64>,
        failing: Arc<std::sync::atomic::AtomicBool>,
        set: Arc<std::sync::Mutex<String>>,
        server: tokio::task::JoinHandle<()>,
    }

    impl Idp {
        async fn start(set: serde_json::Value) -> Idp {
            use std::sync::atomic::Ordering::SeqCst;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));
            let hits = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let set = Arc::new(std::sync::Mutex::new(set.to_string()));
            let (h, f, s) = (hits.clone(), failing.clone(), set.clone());
            let route = axum::routing::get(move || {
                let (h, f, s) = (h.clone(), f.clone(), s.clone());
                async move {
                    h.fetch_add(1, SeqCst);
                    // Slow enough for concurrent verifications to pile up behind one fetch.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if f.load(SeqCst) {
                        (axum::http::StatusCode::INTERNAL_SERVER_ERROR, String::new())
                    } else {
                        (axum::http::StatusCode::OK, s.lock().expect("lock").clone())
                    }
                }
            });
            let router = axum::Router::new().route("/jwks.json", route);
            let server = tokio::spawn(async move {
                let _ = axum::serve(listener, router).await;
            });
            Idp { url, hits, failing, set, server }
        }

        fn hits(&self) -> u64 {
            self.hits.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    fn ed25519() -> EncodingKey {
        let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ed25519.key")).expect("key");
        EncodingKey::from_ed_pem(&pem).expect("ed25519")
    }

    fn jwk_set(key: &EncodingKey, kids: &[&str]) -> serde_json::Value {
        let keys: Vec<Jwk> = kids
            .iter()
            .map(|kid| {
                let mut jwk = Jwk::from_encoding_key(key, Algorithm::EdDSA).expect("jwk");
                jwk.common.key_id = Some(kid.to_string());
                jwk
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    fn signed_by(key: &EncodingKey, kid: &str) -> String {
        let mut h = Header::new(Algorithm::EdDSA);
        h.kid = Some(kid.into());
        let claims =
            serde_json::json!({ "sub": "erin", "aud": "annex", "exp": jsonwebtoken::get_current_timestamp() + 60 });
        jsonwebtoken::encode(&h, &claims, key).expect("sign")
    }

    /// Lets the next unknown `kid` fetch again, as if the cooldown had passed.
    async fn cool_down(v: &TokenVerifier) {
        let Keys::Jwks(cache) = &v.keys else { panic!("not a JWKS verifier") };
        let long_ago = Instant::now().checked_sub(JWKS_REFRESH_COOLDOWN + Duration::from_secs(1)).expect("instant");
        *cache.last_attempt.lock().await = long_ago;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jwks_refresh_is_single_flight_cooled_down_and_keeps_stale_keys() {
        crate::init_crypto();
        let key = ed25519();
        let idp = Idp::start(jwk_set(&key, &["ed-1"])).await;
        let source = KeySource::Jwks(idp.url.clone());
        let v = Arc::new(TokenVerifier::new(&source, None, None, Some("annex".into())).await.expect("verifier"));
        assert_eq!(idp.hits(), 1, "fetched once at start-up");
        let known = signed_by(&key, "ed-1");
        let unknown = signed_by(&key, "ed-2");
        assert_eq!(v.verify(&known).await.expect("valid").subject, "erin");

        // Within the cooldown (the start-up fetch's) an unknown kid fetches nothing.
        assert_eq!(v.verify(&unknown).await.unwrap_err().code(), "UNAUTHENTICATED");
        assert_eq!(idp.hits(), 1);

        // After it, 40 concurrent requests with an unknown kid make one fetch together.
        cool_down(&v).await;
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let (v, t) = (v.clone(), unknown.clone());
                tokio::spawn(async move { v.verify(&t).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.expect("task").unwrap_err().code(), "UNAUTHENTICATED");
        }
        assert_eq!(idp.hits(), 2, "one fetch for 40 unknown kids");

        // A failed fetch restarts the cooldown, and the keys held keep verifying.
        idp.failing.store(true, std::sync::atomic::Ordering::SeqCst);
        cool_down(&v).await;
        assert_eq!(v.verify(&unknown).await.unwrap_err().code(), "UNAUTHENTICATED");
        assert_eq!(idp.hits(), 3);
        assert_eq!(v.verify(&unknown).await.unwrap_err().code(), "UNAUTHENTICATED");
        assert_eq!(idp.hits(), 3, "no second fetch right after a failed one");
        assert_eq!(v.verify(&known).await.expect("stale keys serve").subject, "erin");
        assert_eq!(idp.hits(), 3);

        // Once the IdP answers again (after the cooldown), a rotated key is picked up.
        idp.failing.store(false, std::sync::atomic::Ordering::SeqCst);
        *idp.set.lock().expect("lock") = jwk_set(&key, &["ed-1", "ed-2"]).to_string();
        cool_down(&v).await;
        assert_eq!(v.verify(&unknown).await.expect("rotated key").subject, "erin");
        assert_eq!(idp.hits(), 4);
        assert_eq!(v.jwks_fetches(), Some(4));
        idp.server.abort();
    }

    #[test]
    fn ttl_parsing() {
        assert_eq!(parse_ttl("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_ttl("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_ttl("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(parse_ttl("1y"), None);
        assert_eq!(parse_ttl("0s"), None);
    }
}
