//! Per-request DataLoaders, so nested lists cost one statement per level, not one per
//! parent. A loader type is created on first use in a request with the request's gate
//! and caller:
//!
//! ```ignore
//! let loader = ctx.loader(|gate, actor| ById::<risk::Entity> { gate, actor, _e: PhantomData })?;
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
use crate::store::tenancy::{ChildOf, Link, TenantOwned};
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

/// Batch-loads rows of any tenant entity by `(organization, id)`, with the read right the
/// entity itself names (`TenantOwned::READ`).
pub struct ById<E> {
    gate: Gate,
    actor: Arc<Actor>,
    _e: std::marker::PhantomData<fn() -> E>,
}

impl<E> async_graphql::dataloader::Loader<(uuid::Uuid, uuid::Uuid)> for ById<E>
where
    E: TenantOwned + 'static,
    E::Model: Sync + Send + Clone + 'static,
{
    type Value = E::Model;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[(uuid::Uuid, uuid::Uuid)],
    ) -> Result<HashMap<(uuid::Uuid, uuid::Uuid), E::Model>, Self::Error> {
        let rows = self.gate.rows_by_ids::<E>(&self.actor, keys).await?;
        Ok(rows.into_iter().map(|m| ((E::org_of(&m), E::id_of(&m)), m)).collect())
    }
}

/// One row of `E`, loaded in the request's batch; `None` when missing or not visible.
pub async fn load_by_id<E>(
    ctx: &Context<'_>,
    org: uuid::Uuid,
    id: uuid::Uuid,
) -> async_graphql::Result<Option<E::Model>>
where
    E: TenantOwned + 'static,
    E::Model: Sync + Send + Clone + 'static,
{
    let loader = ctx.loader(|gate, actor| ById::<E> { gate, actor, _e: std::marker::PhantomData })?;
    loader.load_one((org, id)).await
}

/// The distinct organizations of `(organization, id)` loader keys.
pub fn orgs_of(keys: &[(uuid::Uuid, uuid::Uuid)]) -> Vec<uuid::Uuid> {
    let mut orgs: Vec<uuid::Uuid> = keys.iter().map(|k| k.0).collect();
    orgs.sort();
    orgs.dedup();
    orgs
}

/// Batch-loads the children of many parents (see `store::tenancy::ChildOf`).
pub struct ChildrenOf<E> {
    gate: Gate,
    actor: Arc<Actor>,
    _e: std::marker::PhantomData<fn() -> E>,
}

impl<E> async_graphql::dataloader::Loader<(uuid::Uuid, uuid::Uuid)> for ChildrenOf<E>
where
    E: ChildOf + 'static,
    E::Model: Sync + Send + Clone + 'static,
{
    type Value = Vec<E::Model>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[(uuid::Uuid, uuid::Uuid)],
    ) -> Result<HashMap<(uuid::Uuid, uuid::Uuid), Self::Value>, Self::Error> {
        let mut out: HashMap<(uuid::Uuid, uuid::Uuid), Self::Value> = HashMap::new();
        for m in self.gate.children::<E>(&self.actor, keys).await? {
            if let Some(parent) = E::parent_of(&m) {
                out.entry((E::org_of(&m), parent)).or_default().push(m);
            }
        }
        Ok(out)
    }
}

/// The children of one parent, loaded in the request's batch.
pub async fn load_children<E>(
    ctx: &Context<'_>,
    org: uuid::Uuid,
    parent: uuid::Uuid,
) -> async_graphql::Result<Vec<E::Model>>
where
    E: ChildOf + 'static,
    E::Model: Sync + Send + Clone + 'static,
{
    let loader = ctx.loader(|gate, actor| ChildrenOf::<E> { gate, actor, _e: std::marker::PhantomData })?;
    Ok(loader.load_one((org, parent)).await?.unwrap_or_default())
}

/// Batch-loads, for many left-hand rows, the right-hand rows a link table ties to each
/// (`Risk.controls` through `risk_controls`, …), through the gate's link registry.
pub struct RightOf<L> {
    gate: Gate,
    actor: Arc<Actor>,
    _l: std::marker::PhantomData<fn() -> L>,
}

impl<L> async_graphql::dataloader::Loader<(uuid::Uuid, uuid::Uuid)> for RightOf<L>
where
    L: Link + 'static,
    L::Model: Sync,
    <L::Right as sea_orm::EntityTrait>::Model: Sync + Send + Clone + 'static,
{
    type Value = Vec<<L::Right as sea_orm::EntityTrait>::Model>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[(uuid::Uuid, uuid::Uuid)],
    ) -> Result<HashMap<(uuid::Uuid, uuid::Uuid), Self::Value>, Self::Error> {
        let mut out: HashMap<(uuid::Uuid, uuid::Uuid), Self::Value> = HashMap::new();
        for (left, m) in self.gate.linked_right::<L>(&self.actor, keys).await? {
            out.entry((<L::Right as TenantOwned>::org_of(&m), left)).or_default().push(m);
        }
        Ok(out)
    }
}

/// The right-hand rows linked to one left-hand row, loaded in the request's batch.
pub async fn load_right_of<L>(
    ctx: &Context<'_>,
    org: uuid::Uuid,
    left: uuid::Uuid,
) -> async_graphql::Result<Vec<<L::Right as sea_orm::EntityTrait>::Model>>
where
    L: Link + 'static,
    L::Model: Sync,
    <L::Right as sea_orm::EntityTrait>::Model: Sync + Send + Clone + 'static,
{
    let loader = ctx.loader(|gate, actor| RightOf::<L> { gate, actor, _l: std::marker::PhantomData })?;
    Ok(loader.load_one((org, left)).await?.unwrap_or_default())
}

/// The reverse of [`RightOf`]: for many right-hand rows, the left-hand rows linked to each.
pub struct LeftOf<L> {
    gate: Gate,
    actor: Arc<Actor>,
    _l: std::marker::PhantomData<fn() -> L>,
}

impl<L> async_graphql::dataloader::Loader<(uuid::Uuid, uuid::Uuid)> for LeftOf<L>
where
    L: Link + 'static,
    L::Model: Sync,
    <L::Left as sea_orm::EntityTrait>::Model: Sync + Send + Clone + 'static,
{
    type Value = Vec<<L::Left as sea_orm::EntityTrait>::Model>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[(uuid::Uuid, uuid::Uuid)],
    ) -> Result<HashMap<(uuid::Uuid, uuid::Uuid), Self::Value>, Self::Error> {
        let mut out: HashMap<(uuid::Uuid, uuid::Uuid), Self::Value> = HashMap::new();
        for (right, m) in self.gate.linked_left::<L>(&self.actor, keys).await? {
            out.entry((<L::Left as TenantOwned>::org_of(&m), right)).or_default().push(m);
        }
        Ok(out)
    }
}

/// The left-hand rows linked to one right-hand row, loaded in the request's batch.
pub async fn load_left_of<L>(
    ctx: &Context<'_>,
    org: uuid::Uuid,
    right: uuid::Uuid,
) -> async_graphql::Result<Vec<<L::Left as sea_orm::EntityTrait>::Model>>
where
    L: Link + 'static,
    L::Model: Sync,
    <L::Left as sea_orm::EntityTrait>::Model: Sync + Send + Clone + 'static,
{
    let loader = ctx.loader(|gate, actor| LeftOf::<L> { gate, actor, _l: std::marker::PhantomData })?;
    Ok(loader.load_one((org, right)).await?.unwrap_or_default())
}
