//! What every resolver reaches through the GraphQL context.

use std::sync::Arc;

use async_graphql::Context;

use crate::error::{AppError, AppResult};
use crate::store::catalog::Catalog;
use crate::store::{Actor, Gate};

/// Schema-wide services.
#[derive(Clone)]
pub struct Services {
    pub gate: Gate,
    pub catalog: Arc<Catalog>,
}

/// Per-request data: who is calling (if anyone), the request id, the request's loaders.
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
