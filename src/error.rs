//! One error type for the whole service, and the one place it meets the wire.
//!
//! Policy: client mistakes carry a clear message (and the offending input field); an
//! object of another tenant is `NotFound`, never `Forbidden`; database and internal
//! failures are logged with the request id and reach the client as `INTERNAL` with no SQL,
//! driver text or stack. Codes are the ones in API.md.

use async_graphql::ErrorExtensions;
use sea_orm::DbErr;

/// Deliberately not `Display`: async-graphql converts any `Display` type into an error
/// without a code, so `?` must go through the `From` impl in `graphql::context` instead.
#[derive(Debug)]
pub enum AppError {
    Unauthenticated(String),
    Forbidden(String),
    NotFound(String),
    BadUserInput {
        field: Option<String>,
        message: String,
    },
    Conflict(String),
    QueryTooComplex(String),
    RateLimited(String),
    ServiceUnavailable(String),
    /// Never shown to clients; logged.
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::BadUserInput { .. } => "BAD_USER_INPUT",
            AppError::Conflict(_) => "CONFLICT",
            AppError::QueryTooComplex(_) => "QUERY_TOO_COMPLEX",
            AppError::RateLimited(_) => "RATE_LIMITED",
            AppError::ServiceUnavailable(_) => "SERVICE_UNAVAILABLE",
            AppError::Internal(_) => "INTERNAL",
        }
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadUserInput { field: Some(field.into()), message: message.into() }
    }

    pub fn not_found(what: &str) -> Self {
        AppError::NotFound(format!("{what} not found"))
    }

    pub fn forbidden() -> Self {
        AppError::Forbidden("your role in this organization does not allow this".into())
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }

    /// The full message (for logs; internal details included).
    pub fn message(&self) -> &str {
        match self {
            AppError::Unauthenticated(m)
            | AppError::Forbidden(m)
            | AppError::NotFound(m)
            | AppError::Conflict(m)
            | AppError::QueryTooComplex(m)
            | AppError::RateLimited(m)
            | AppError::ServiceUnavailable(m)
            | AppError::Internal(m) => m,
            AppError::BadUserInput { message, .. } => message,
        }
    }

    /// The message a client may see.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "internal error".to_string(),
            other => other.message().to_string(),
        }
    }

    /// Maps a unique-constraint violation to `CONFLICT` with a client-facing message;
    /// anything else goes through the general mapping. Use it on statements where the only
    /// unique key a client can collide with is the one the message names.
    pub fn on_unique(e: DbErr, message: &str) -> Self {
        if is_unique_violation(&e) { AppError::Conflict(message.to_string()) } else { e.into() }
    }

    /// The GraphQL error for this value (the only mapping to `extensions.code`).
    pub fn to_graphql(&self, request_id: Option<&str>) -> async_graphql::Error {
        if let AppError::Internal(detail) = self {
            tracing::error!(request_id = request_id.unwrap_or("-"), error = %detail, "internal error");
        }
        if let AppError::ServiceUnavailable(detail) = self {
            tracing::warn!(request_id = request_id.unwrap_or("-"), error = %detail, "service unavailable");
        }
        let message = match self {
            AppError::ServiceUnavailable(_) => "the database is unavailable; try again".to_string(),
            other => other.public_message(),
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", self.code());
            if let AppError::BadUserInput { field: Some(field), .. } = self {
                ext.set("field", field.as_str());
            }
            if let Some(id) = request_id {
                ext.set("requestId", id);
            }
        })
    }
}

/// True when `e` is a unique-key violation (SQLite or PostgreSQL).
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

impl From<DbErr> for AppError {
    fn from(e: DbErr) -> Self {
        match &e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => AppError::ServiceUnavailable(e.to_string()),
            _ => {
                let text = e.to_string();
                // PostgreSQL statement_timeout or SQLite busy: the database is overloaded.
                if text.contains("statement timeout") || text.contains("canceling statement") {
                    AppError::ServiceUnavailable(text)
                } else {
                    AppError::Internal(text)
                }
            }
        }
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(e: sea_orm::TransactionError<AppError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(format!("json: {e}"))
    }
}
