//! Every environment variable the service reads, its default, and its validation.
//!
//! A bad value stops start-up with one line naming the variable ([`ConfigError`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A value that must never be printed (JWT secrets).
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Development,
    Production,
}

/// Where verification keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `ANNEX_JWT_SECRET`: HS256.
    Secret(Secret),
    /// `ANNEX_JWT_PUBLIC_KEY_FILE`: a PEM public key (RSA → RS256, EC P-256 → ES256, Ed25519 → EdDSA).
    PublicKeyPem { path: PathBuf, pem: Vec<u8> },
    /// `ANNEX_JWT_JWKS`: a JWK set from an http(s) URL or a file.
    Jwks(String),
    /// Development only: a random secret generated and kept beside the database.
    GeneratedDevSecret,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: what the service connects as (the runtime role on PostgreSQL).
    pub database_url: String,
    /// `ANNEX_MIGRATION_DATABASE_URL`: the owner role that runs migrations; `None` means
    /// `DATABASE_URL`.
    pub migration_database_url: Option<String>,
    pub listen: SocketAddr,
    pub mode: Mode,
    pub key_source: KeySource,
    pub jwt_issuer: Option<String>,
    /// `None` when `ANNEX_JWT_AUDIENCE` is set to the empty string.
    pub jwt_audience: Option<String>,
    pub limits: Limits,
    pub rate_limit_per_minute: u32,
    /// Where development artefacts (SQLite file, generated secret) live.
    pub data_dir: PathBuf,
    pub db_max_connections: u32,
    /// `ANNEX_TRAIL_KEY`: signs the audit-trail head. Unset: development derives one from
    /// the development secret; production serves the head unsigned (and warns).
    pub trail_key: Option<Secret>,
    /// `ANNEX_CORS_ORIGINS`: the browser origins allowed to call the API (none by default).
    pub cors_origins: Vec<String>,
    /// `ANNEX_TASK_DUE_INTERVAL_SECS`: how often this replica sweeps for tasks whose due
    /// day has come (`TASK_DUE`); default 60 s, zero turns the sweep off here.
    pub task_due_interval: Duration,
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    pub max_batch: usize,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub statement_timeout: Duration,
    /// SQL statements one operation may run (`ANNEX_MAX_STATEMENTS`).
    pub max_statements: u64,
    /// Operations running at once on one WebSocket (`ANNEX_WS_MAX_OPERATIONS`).
    pub ws_max_operations: usize,
    /// How long a WebSocket may stay silent before `connection_init` (`ANNEX_WS_INIT_TIMEOUT_SECS`).
    pub ws_init_timeout: Duration,
    /// Largest spreadsheet an import takes (`ANNEX_MAX_IMPORT_BYTES`).
    pub max_import_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 10,
            max_complexity: 20_000,
            max_aliases: 30,
            max_batch: 5,
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            statement_timeout: Duration::from_secs(10),
            max_statements: 500,
            max_import_bytes: 5 * 1024 * 1024,
            ws_max_operations: 20,
            ws_init_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { var, message: message.into() }
}

pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/annex.db?mode=rwc";
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 1200;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the process environment for `annex migrate`, which needs no token key even
    /// in production.
    pub fn from_env_for_migrations() -> Result<Self, ConfigError> {
        Self::read(|k| std::env::var(k).ok(), false)
    }

    /// Reads configuration through `get`, so tests can pass their own environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(get, true)
    }

    fn read(get: impl Fn(&str) -> Option<String>, needs_key: bool) -> Result<Self, ConfigError> {
        let non_empty = |k: &str| get(k).filter(|v| !v.trim().is_empty());

        let database_url = non_empty("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        // Safe default: without ANNEX_MODE, a service that has a real key or a real
        // database is production; only the zero-configuration laptop run is development.
        let deployed =
            ["ANNEX_JWT_SECRET", "ANNEX_JWT_PUBLIC_KEY_FILE", "ANNEX_JWT_JWKS"].iter().any(|k| non_empty(k).is_some())
                || !database_url.starts_with("sqlite:");
        let mode = match non_empty("ANNEX_MODE").as_deref() {
            None if deployed => Mode::Production,
            None | Some("development") => Mode::Development,
            Some("production") => Mode::Production,
            Some(other) => {
                return Err(err("ANNEX_MODE", format!("unknown mode {other:?} (expected development or production)")));
            }
        };

        let data_dir = validate_database_url(&database_url)?;
        let migration_database_url = non_empty("ANNEX_MIGRATION_DATABASE_URL");
        if let Some(m) = &migration_database_url {
            validate_database_url(m).map_err(|e| err("ANNEX_MIGRATION_DATABASE_URL", e.message))?;
            if m.starts_with("sqlite:") != database_url.starts_with("sqlite:") {
                return Err(err("ANNEX_MIGRATION_DATABASE_URL", "must name the same kind of database as DATABASE_URL"));
            }
        }

        let listen = match non_empty("ANNEX_LISTEN") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(v) => v
                .parse()
                .map_err(|_| err("ANNEX_LISTEN", format!("{v:?} is not an address:port such as 127.0.0.1:8080")))?,
        };

        let secret = non_empty("ANNEX_JWT_SECRET");
        let key_file = non_empty("ANNEX_JWT_PUBLIC_KEY_FILE");
        let jwks = non_empty("ANNEX_JWT_JWKS");
        let configured = [secret.is_some(), key_file.is_some(), jwks.is_some()].iter().filter(|b| **b).count();
        if configured > 1 {
            return Err(err(
                "ANNEX_JWT_SECRET",
                "set only one of ANNEX_JWT_SECRET, ANNEX_JWT_PUBLIC_KEY_FILE and ANNEX_JWT_JWKS",
            ));
        }
        let key_source = if let Some(s) = secret {
            if s.len() < 32 {
                return Err(err("ANNEX_JWT_SECRET", "must be at least 32 bytes long"));
            }
            KeySource::Secret(Secret::new(s.into_bytes()))
        } else if let Some(path) = key_file {
            let path = PathBuf::from(path);
            let pem = std::fs::read(&path)
                .map_err(|e| err("ANNEX_JWT_PUBLIC_KEY_FILE", format!("cannot read {}: {e}", path.display())))?;
            crate::auth::token::check_public_key_pem(&pem).map_err(|m| err("ANNEX_JWT_PUBLIC_KEY_FILE", m))?;
            KeySource::PublicKeyPem { path, pem }
        } else if let Some(source) = jwks {
            let allow_http = parse_bool(&non_empty, "ANNEX_JWT_JWKS_ALLOW_HTTP")?;
            if allow_http && mode == Mode::Production {
                return Err(err("ANNEX_JWT_JWKS_ALLOW_HTTP", "plain-http key sets are for development only"));
            }
            if source.starts_with("http://") && !allow_http {
                return Err(err(
                    "ANNEX_JWT_JWKS",
                    "keys must come over https (or from a file); http only with ANNEX_JWT_JWKS_ALLOW_HTTP=true in development",
                ));
            }
            if !(source.starts_with("http://") || source.starts_with("https://")) {
                std::fs::metadata(&source).map_err(|e| err("ANNEX_JWT_JWKS", format!("cannot read {source}: {e}")))?;
            }
            KeySource::Jwks(source)
        } else if mode == Mode::Production && needs_key {
            return Err(err(
                "ANNEX_JWT_SECRET",
                "production mode needs a key: set ANNEX_JWT_SECRET, ANNEX_JWT_PUBLIC_KEY_FILE or ANNEX_JWT_JWKS",
            ));
        } else {
            KeySource::GeneratedDevSecret
        };

        let jwt_issuer = non_empty("ANNEX_JWT_ISSUER");
        let jwt_audience = match get("ANNEX_JWT_AUDIENCE") {
            None => Some("annex".to_string()),
            Some(v) if v.trim().is_empty() => None,
            Some(v) => Some(v),
        };

        let defaults = Limits::default();
        let limits = Limits {
            max_depth: parse_num(&non_empty, "ANNEX_MAX_DEPTH", defaults.max_depth)?,
            max_complexity: parse_num(&non_empty, "ANNEX_MAX_COMPLEXITY", defaults.max_complexity)?,
            max_aliases: parse_num(&non_empty, "ANNEX_MAX_ALIASES", defaults.max_aliases)?,
            max_batch: parse_num(&non_empty, "ANNEX_MAX_BATCH", defaults.max_batch)?,
            max_body_bytes: parse_num(&non_empty, "ANNEX_MAX_BODY_BYTES", defaults.max_body_bytes)?,
            request_timeout: Duration::from_secs(parse_num(&non_empty, "ANNEX_REQUEST_TIMEOUT_SECS", 30)?),
            statement_timeout: Duration::from_secs(parse_num(&non_empty, "ANNEX_STATEMENT_TIMEOUT_SECS", 10)?),
            max_statements: parse_num(&non_empty, "ANNEX_MAX_STATEMENTS", defaults.max_statements)?,
            ws_max_operations: parse_num(&non_empty, "ANNEX_WS_MAX_OPERATIONS", defaults.ws_max_operations)?,
            ws_init_timeout: Duration::from_secs(parse_num(&non_empty, "ANNEX_WS_INIT_TIMEOUT_SECS", 10)?),
            max_import_bytes: parse_num(&non_empty, "ANNEX_MAX_IMPORT_BYTES", defaults.max_import_bytes)?,
        };
        if limits.max_statements == 0 {
            return Err(err("ANNEX_MAX_STATEMENTS", "must be at least 1"));
        }
        if limits.ws_max_operations == 0 {
            return Err(err("ANNEX_WS_MAX_OPERATIONS", "must be at least 1"));
        }
        let cors_origins = match non_empty("ANNEX_CORS_ORIGINS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(|o| o.trim_end_matches('/'))
                .map(|o| {
                    let ok = (o.starts_with("https://") || o.starts_with("http://"))
                        && !o.trim_end_matches('/').contains(['*', ' '])
                        && o.split("://").nth(1).is_some_and(|h| !h.is_empty() && !h.contains('/'));
                    if ok {
                        Ok(o.trim_end_matches('/').to_string())
                    } else {
                        Err(err(
                            "ANNEX_CORS_ORIGINS",
                            format!("{o:?} is not an origin such as https://app.example.com"),
                        ))
                    }
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let rate_limit_per_minute =
            parse_num(&non_empty, "ANNEX_RATE_LIMIT_PER_MINUTE", DEFAULT_RATE_LIMIT_PER_MINUTE)?;
        let db_max_connections = parse_num(&non_empty, "ANNEX_DB_MAX_CONNECTIONS", 10)?;
        let trail_key = match non_empty("ANNEX_TRAIL_KEY") {
            Some(k) if k.len() < crate::domain::trail::MIN_KEY_BYTES => {
                return Err(err("ANNEX_TRAIL_KEY", "must be at least 32 bytes long"));
            }
            k => k.map(|k| Secret::new(k.into_bytes())),
        };

        let task_due_interval = Duration::from_secs(parse_num(&non_empty, "ANNEX_TASK_DUE_INTERVAL_SECS", 60)?);

        Ok(Config {
            database_url,
            migration_database_url,
            listen,
            mode,
            key_source,
            jwt_issuer,
            jwt_audience,
            limits,
            rate_limit_per_minute,
            data_dir,
            db_max_connections,
            trail_key,
            cors_origins,
            task_due_interval,
        })
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }

    /// The URL migrations run with (the owner role).
    pub fn migration_database_url(&self) -> &str {
        self.migration_database_url.as_deref().unwrap_or(&self.database_url)
    }

    /// The PostgreSQL role the service runs as, when it differs from the owner that runs
    /// migrations: `annex migrate` grants it the service's rights.
    pub fn runtime_role(&self) -> Option<String> {
        let runtime = postgres_user(&self.database_url)?;
        let owner = postgres_user(self.migration_database_url.as_deref()?)?;
        (runtime != owner).then_some(runtime)
    }

    /// The database name of a PostgreSQL `DATABASE_URL`.
    pub fn postgres_database(&self) -> Option<String> {
        let rest = self.database_url.split_once("://")?.1;
        let path = rest.split_once('/')?.1;
        let name = path.split('?').next()?;
        (!name.is_empty()).then(|| name.to_string())
    }
}

/// The user named in a `postgres://user[:password]@host/…` URL.
pub fn postgres_user(url: &str) -> Option<String> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return None;
    }
    let rest = url.split_once("://")?.1;
    let (userinfo, _) = rest.split_once('@')?;
    let user = userinfo.split(':').next()?;
    (!user.is_empty()).then(|| user.to_string())
}

fn parse_bool(get: &impl Fn(&str) -> Option<String>, var: &'static str) -> Result<bool, ConfigError> {
    match get(var).as_deref().map(str::trim) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(other) => Err(err(var, format!("{other:?} is not true or false"))),
    }
}

fn parse_num<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| err(var, format!("{v:?} is not a non-negative whole number"))),
    }
}

/// Checks `DATABASE_URL` and returns the directory for development artefacts: the SQLite
/// file's directory, or `./data` for PostgreSQL.
fn validate_database_url(url: &str) -> Result<PathBuf, ConfigError> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.trim_start_matches("//");
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(err("DATABASE_URL", "sqlite URL has no file path (use sqlite://PATH?mode=rwc)"));
        }
        if path == ":memory:" {
            return Ok(PathBuf::from(DEFAULT_DATA_DIR));
        }
        let dir = std::path::Path::new(path).parent().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
        Ok(if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir })
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let rest = url.split_once("://").map(|(_, r)| r).unwrap_or_default();
        if rest.is_empty() || rest.starts_with('/') && rest.len() == 1 {
            return Err(err("DATABASE_URL", "postgres URL has no host"));
        }
        Ok(PathBuf::from(DEFAULT_DATA_DIR))
    } else {
        Err(err("DATABASE_URL", "unparseable URL: expected sqlite://PATH?mode=rwc or postgres://USER@HOST/DB"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_need_no_configuration() {
        let c = cfg(&[]).expect("defaults");
        assert_eq!(c.mode, Mode::Development);
        assert!(c.is_sqlite());
        assert!(matches!(c.key_source, KeySource::GeneratedDevSecret));
        assert_eq!(c.jwt_audience.as_deref(), Some("annex"));
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (vars, var) in [
            (vec![("ANNEX_MODE", "staging")], "ANNEX_MODE"),
            (vec![("DATABASE_URL", "mysql://x")], "DATABASE_URL"),
            (vec![("ANNEX_LISTEN", "nowhere")], "ANNEX_LISTEN"),
            (vec![("ANNEX_JWT_SECRET", "short")], "ANNEX_JWT_SECRET"),
            (vec![("ANNEX_JWT_PUBLIC_KEY_FILE", "/nonexistent/key.pem")], "ANNEX_JWT_PUBLIC_KEY_FILE"),
            (vec![("ANNEX_JWT_JWKS", "/nonexistent/jwks.json")], "ANNEX_JWT_JWKS"),
            (vec![("ANNEX_MAX_DEPTH", "-1")], "ANNEX_MAX_DEPTH"),
            (vec![("ANNEX_MODE", "production")], "ANNEX_JWT_SECRET"),
            (vec![("ANNEX_TRAIL_KEY", "short")], "ANNEX_TRAIL_KEY"),
            (vec![("ANNEX_MAX_STATEMENTS", "0")], "ANNEX_MAX_STATEMENTS"),
            (vec![("ANNEX_WS_MAX_OPERATIONS", "0")], "ANNEX_WS_MAX_OPERATIONS"),
            (vec![("ANNEX_CORS_ORIGINS", "*")], "ANNEX_CORS_ORIGINS"),
            (vec![("ANNEX_CORS_ORIGINS", "https://a.example/path")], "ANNEX_CORS_ORIGINS"),
            (vec![("ANNEX_JWT_JWKS", "http://idp.example/jwks.json")], "ANNEX_JWT_JWKS"),
            (
                vec![
                    ("ANNEX_MODE", "production"),
                    ("ANNEX_JWT_JWKS", "http://idp.example/jwks.json"),
                    ("ANNEX_JWT_JWKS_ALLOW_HTTP", "true"),
                ],
                "ANNEX_JWT_JWKS_ALLOW_HTTP",
            ),
            // A PostgreSQL deployment without ANNEX_MODE is production, which needs a key.
            (vec![("DATABASE_URL", "postgres://u@db/annex")], "ANNEX_JWT_SECRET"),
        ] {
            let e = cfg(&vars).expect_err("must fail");
            assert_eq!(e.var, var, "{vars:?}");
        }
    }

    #[test]
    fn runtime_role_is_the_runtime_user_when_owner_differs() {
        let c = cfg(&[
            ("DATABASE_URL", "postgres://annex_app:pw@db/annex"),
            ("ANNEX_MIGRATION_DATABASE_URL", "postgres://annex_owner@db/annex"),
            ("ANNEX_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ])
        .expect("config");
        assert_eq!(c.runtime_role().as_deref(), Some("annex_app"));
        assert_eq!(c.migration_database_url(), "postgres://annex_owner@db/annex");
        assert_eq!(c.postgres_database().as_deref(), Some("annex"));
        let same = cfg(&[
            ("DATABASE_URL", "postgres://annex_owner@db/annex"),
            ("ANNEX_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ])
        .expect("config");
        assert_eq!(same.runtime_role(), None);
        assert_eq!(same.migration_database_url(), "postgres://annex_owner@db/annex");
        let mixed = cfg(&[("DATABASE_URL", "postgres://u@db/a"), ("ANNEX_MIGRATION_DATABASE_URL", "sqlite://x.db")]);
        assert_eq!(mixed.expect_err("mixed").var, "ANNEX_MIGRATION_DATABASE_URL");
    }

    #[test]
    fn mode_defaults_to_production_once_deployed() {
        let key = ("ANNEX_JWT_SECRET", "0123456789abcdef0123456789abcdef");
        assert_eq!(cfg(&[key]).expect("config").mode, Mode::Production);
        assert_eq!(cfg(&[key, ("ANNEX_MODE", "development")]).expect("config").mode, Mode::Development);
        assert_eq!(cfg(&[]).expect("config").mode, Mode::Development);
        let dev_http = cfg(&[
            ("ANNEX_MODE", "development"),
            ("ANNEX_JWT_JWKS", "http://127.0.0.1:9/jwks.json"),
            ("ANNEX_JWT_JWKS_ALLOW_HTTP", "true"),
        ]);
        assert!(dev_http.is_ok());
        let cors = cfg(&[("ANNEX_CORS_ORIGINS", "https://app.example.com/, http://localhost:5173")]).expect("cors");
        assert_eq!(cors.cors_origins, ["https://app.example.com", "http://localhost:5173"]);
    }

    #[test]
    fn jwks_comes_over_https_or_from_a_file() {
        let https = cfg(&[("ANNEX_JWT_JWKS", "https://idp.example/jwks.json")]).expect("https");
        assert!(matches!(https.key_source, KeySource::Jwks(_)));
        assert_eq!(https.mode, Mode::Production);
        let file = cfg(&[("ANNEX_JWT_JWKS", concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))]).expect("file");
        assert!(matches!(file.key_source, KeySource::Jwks(_)));
        // Plain http even in development, unless asked for explicitly.
        let http = [("ANNEX_MODE", "development"), ("ANNEX_JWT_JWKS", "http://idp.example/jwks.json")];
        assert_eq!(cfg(&http).expect_err("plain http").var, "ANNEX_JWT_JWKS");
        let flag = ("ANNEX_JWT_JWKS_ALLOW_HTTP", "maybe");
        assert_eq!(cfg(&[http[0], http[1], flag]).expect_err("not a boolean").var, "ANNEX_JWT_JWKS_ALLOW_HTTP");
    }

    #[test]
    fn empty_audience_disables_the_check() {
        let c = cfg(&[("ANNEX_JWT_AUDIENCE", "")]).expect("config");
        assert_eq!(c.jwt_audience, None);
    }

    #[test]
    fn secret_never_prints() {
        let c = cfg(&[
            ("ANNEX_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("ANNEX_TRAIL_KEY", "fedcba9876543210fedcba9876543210"),
        ])
        .expect("config");
        assert!(c.trail_key.is_some());
        assert!(!format!("{c:?}").contains("0123456789"));
        assert!(!format!("{c:?}").contains("fedcba9876"));
    }

    #[test]
    fn production_starts_without_a_trail_key() {
        let c = cfg(&[("ANNEX_MODE", "production"), ("ANNEX_JWT_SECRET", "0123456789abcdef0123456789abcdef")])
            .expect("config");
        assert!(c.trail_key.is_none());
    }
}
