//! What every resolver reaches through the GraphQL context.

use std::sync::Arc;

use async_graphql::Context;

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::store::catalog::Catalog;
use crate::store::{Actor, Gate};

/// Schema-wide services.
#[derive(Clone)]
pub struct Services {
    pub gate: Gate,
    pub catalog: Arc<Catalog>,
    /// Operations per subject and minute, every transport together; `None`: no limit.
    pub limiter: Option<Arc<crate::rate_limit::SubjectLimiter>>,
    /// Signs the audit-trail head; `None` in production without `ANNEX_TRAIL_KEY`.
    pub trail_key: Option<crate::domain::trail::HeadKey>,
}

/// What a transport knows before any operation runs: the verified caller (if any) and
/// the ids. An HTTP request puts it in each operation's data; a WebSocket puts it in the
/// connection data at `connection_init`. The Policy extension turns it into a fresh
/// [`RequestCtx`] (new [`Actor`], new id) for every operation, so nothing per-operation
/// (cached roles, loaders) is shared between operations.
#[derive(Clone, Debug)]
pub struct Session {
    pub caller: Option<Caller>,
    /// The transport's own id (UUIDv7), used as the operation's id when the transport
    /// carries exactly one operation (an HTTP request that is not a batch).
    pub request_id: Option<String>,
    /// The `x-request-id` the client sent, when sane: logged and echoed, never trusted.
    pub client_request_id: Option<String>,
}

impl Session {
    /// The context of one operation: the transport's id when it has one, else a new one.
    pub fn operation(&self) -> RequestCtx {
        let id = self.request_id.clone().unwrap_or_else(new_request_id);
        let actor = self.caller.clone().map(|c| Arc::new(Actor::new(c, id.clone())));
        RequestCtx::new(actor, id)
    }
}

/// What one WebSocket connection knows, in its connection data: the caller as last
/// authenticated (`connection_init`, or a re-authentication `ping`), and the permits for
/// the operations it may run at once.
#[derive(Clone)]
pub struct WsConnection {
    pub auth: Arc<std::sync::RwLock<Caller>>,
    pub operations: Arc<tokio::sync::Semaphore>,
    pub max_operations: usize,
    pub client_request_id: Option<String>,
}

impl WsConnection {
    pub fn caller(&self) -> Option<Caller> {
        self.auth.read().ok().map(|c| c.clone())
    }
}

/// Held in an operation's data while it runs (subscriptions: while they stream).
#[derive(Clone)]
pub struct OperationPermit(pub Arc<tokio::sync::OwnedSemaphorePermit>);

/// A service-generated request id (UUIDv7: unique, and sorts by time).
pub fn new_request_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Per-operation data: who is calling (if anyone), the operation's request id (the
/// audit trail's `requestId`), the operation's loaders.
#[derive(Clone)]
pub struct RequestCtx {
    pub actor: Option<Arc<Actor>>,
    pub request_id: String,
    pub loaders: Arc<crate::graphql::loaders::Loaders>,
}

impl RequestCtx {
    pub fn new(actor: Option<Arc<Actor>>, request_id: String) -> Self {
        Self { actor, request_id, loaders: Arc::default() }
    }
}

pub trait ContextExt {
    fn services(&self) -> AppResult<&Services>;
    fn gate(&self) -> AppResult<&Gate> {
        Ok(&self.services()?.gate)
    }
    fn catalog(&self) -> AppResult<&Catalog> {
        Ok(&self.services()?.catalog)
    }
    /// The verified caller; `UNAUTHENTICATED` when the request carried no token.
    fn actor(&self) -> AppResult<&Actor>;
    fn request_id(&self) -> &str;
}

impl ContextExt for Context<'_> {
    fn services(&self) -> AppResult<&Services> {
        self.data::<Services>().map_err(|_| AppError::internal("services missing from schema data"))
    }

    fn actor(&self) -> AppResult<&Actor> {
        self.data_opt::<RequestCtx>().and_then(|r| r.actor.as_deref()).ok_or_else(|| {
            AppError::Unauthenticated("authentication required: send Authorization: Bearer <JWT>".into())
        })
    }

    fn request_id(&self) -> &str {
        self.data_opt::<RequestCtx>().map(|r| r.request_id.as_str()).unwrap_or("-")
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(e: AppError) -> Self {
        e.to_graphql(None)
    }
}

/// `Ok(None)` for not-found errors (nullable single-object fields), other errors unchanged.
pub fn none_if_missing<T>(r: AppResult<T>) -> AppResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
