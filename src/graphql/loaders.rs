//! Per-request DataLoaders, so nested lists cost one statement per level, not one per
//! parent. A loader type is created on first use in a request with the request's gate
//! and caller:
//!
//! ```ignore
//! let loader = ctx.loader(|gate, actor| ActionsByNonconformity { gate, actor })?;
//! let actions = loader.load_one((org_id, ncr_id)).await?.unwrap_or_default();
//! ```
//!
//! Keys carry the organization id, so a loader reads through `Gate::read_many`, which
//! keeps the tenancy filter on every batch.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::Context;
use async_graphql::dataloader::DataLoader;

use crate::error::{AppError, AppResult};
use crate::graphql::context::{ContextExt, RequestCtx};
use crate::store::{Actor, Gate};

#[derive(Default)]
pub struct Loaders {
    map: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Loaders {
    fn get_or_make<L: Send + Sync + 'static>(&self, make: impl FnOnce() -> L) -> Arc<DataLoader<L>> {
        let mut map = match self.map.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(existing) = map.get(&TypeId::of::<L>()).and_then(|e| e.clone().downcast::<DataLoader<L>>().ok()) {
            return existing;
        }
        let loader = Arc::new(DataLoader::new(make(), tokio::spawn));
        map.insert(TypeId::of::<L>(), loader.clone());
        loader
    }
}

pub trait LoaderExt {
    /// The request's DataLoader of type `L`, created with `make(gate, actor)` on first use.
    fn loader<L: Send + Sync + 'static>(
        &self,
        make: impl FnOnce(Gate, Arc<Actor>) -> L,
    ) -> AppResult<Arc<DataLoader<L>>>;
}

impl LoaderExt for Context<'_> {
    fn loader<L: Send + Sync + 'static>(
        &self,
        make: impl FnOnce(Gate, Arc<Actor>) -> L,
    ) -> AppResult<Arc<DataLoader<L>>> {
        let gate = self.gate()?.clone();
        let req =
            self.data_opt::<RequestCtx>().ok_or_else(|| AppError::Unauthenticated("authentication required".into()))?;
        let actor = req.actor.clone().ok_or_else(|| AppError::Unauthenticated("authentication required".into()))?;
        Ok(req.loaders.get_or_make(move || make(gate, actor)))
    }
}
