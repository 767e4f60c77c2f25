//! Per-request DataLoaders, so nested lists cost one statement per level, not one per
//! parent. A loader type is created on first use in a request with the request's gate
//! and caller:
//!
//! ```ignore
//! let risk = load_by_id::<risk::Entity>(ctx, org_id, risk_id).await?;
//! let actions = load_children::<corrective_action::Entity>(ctx, org_id, ncr_id).await?;
//! let controls = load_linked::<risk_control::Entity, Right>(ctx, org_id, risk_id).await?;
//! ```
//!
//! Keys carry the organization id, so a loader reads through `Gate::read_many`, which
//! keeps the tenancy filter on every batch.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::EntityTrait;
use uuid::Uuid;

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

/// A DataLoader that reads through the gate as the request's caller; `Q` says what it
/// loads ([`ById`], [`ChildrenOf`], [`Linked`]).
pub struct GateLoader<Q> {
    gate: Gate,
    actor: Arc<Actor>,
    _q: PhantomData<fn() -> Q>,
}

fn gate_loader<Q: 'static>(ctx: &Context<'_>) -> AppResult<Arc<DataLoader<GateLoader<Q>>>> {
    ctx.loader(|gate, actor| GateLoader { gate, actor, _q: PhantomData })
}

type Key = (Uuid, Uuid);

/// Rows of any tenant entity by `(organization, id)`, with the read right the entity
/// itself names (`TenantScoped::READ`).
pub struct ById<E>(PhantomData<E>);

impl<E> Loader<Key> for GateLoader<ById<E>>
where
    E: TenantOwned + 'static,
    E::Model: Sync + Send + Clone + 'static,
{
    type Value = E::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Key]) -> Result<HashMap<Key, E::Model>, Self::Error> {
        let rows = self.gate.rows_by_ids::<E>(&self.actor, keys).await?;
        Ok(rows.into_iter().map(|m| ((E::org_of(&m), E::id_of(&m)), m)).collect())
    }
}

/// One row of `E`, loaded in the request's batch; `None` when missing or not visible.
pub async fn load_by_id<E>(ctx: &Context<'_>, org: Uuid, id: Uuid) -> async_graphql::Result<Option<E::Model>>
where
    E: TenantOwned + 'static,
    E::Model: Sync + Send + Clone + 'static,
{
    gate_loader::<ById<E>>(ctx)?.load_one((org, id)).await
}

/// The children of many parents (see `store::tenancy::ChildOf`).
pub struct ChildrenOf<E>(PhantomData<E>);

impl<E> Loader<Key> for GateLoader<ChildrenOf<E>>
where
    E: ChildOf + 'static,
    E::Model: Sync + Send + Clone + 'static,
{
    type Value = Vec<E::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Key]) -> Result<HashMap<Key, Self::Value>, Self::Error> {
        let mut out: HashMap<Key, Self::Value> = HashMap::new();
        for m in self.gate.children::<E>(&self.actor, keys).await? {
            if let Some(parent) = E::parent_of(&m) {
                out.entry((E::org_of(&m), parent)).or_default().push(m);
            }
        }
        Ok(out)
    }
}

/// The children of one parent, loaded in the request's batch.
pub async fn load_children<E>(ctx: &Context<'_>, org: Uuid, parent: Uuid) -> async_graphql::Result<Vec<E::Model>>
where
    E: ChildOf + 'static,
    E::Model: Sync + Send + Clone + 'static,
{
    Ok(gate_loader::<ChildrenOf<E>>(ctx)?.load_one((org, parent)).await?.unwrap_or_default())
}

/// One end of a link table, seen from the other: [`Right`] loads the right-hand rows of
/// left-hand keys (`Risk.controls` through `risk_controls`), [`Left`] the reverse.
pub trait Side<L: Link>: 'static {
    type Far: TenantOwned;
    fn linked(
        gate: &Gate,
        actor: &Actor,
        keys: &[Key],
    ) -> impl Future<Output = AppResult<Vec<(Uuid, <Self::Far as EntityTrait>::Model)>>> + Send;
}

macro_rules! side {
    ($side:ident, $far:ident, $gate_fn:ident) => {
        pub struct $side;

        impl<L: Link + 'static> Side<L> for $side
        where
            L::Model: Sync,
            <L::$far as EntityTrait>::Model: Sync + Clone,
        {
            type Far = L::$far;
            async fn linked(
                gate: &Gate,
                actor: &Actor,
                keys: &[Key],
            ) -> AppResult<Vec<(Uuid, <L::$far as EntityTrait>::Model)>> {
                gate.$gate_fn::<L>(actor, keys).await
            }
        }
    };
}

side!(Right, Right, linked_right);
side!(Left, Left, linked_left);

/// For many rows, the rows a link table ties to each, through the gate's link registry.
pub struct Linked<L, S>(PhantomData<(L, S)>);

impl<L, S> Loader<Key> for GateLoader<Linked<L, S>>
where
    L: Link + 'static,
    S: Side<L>,
    <S::Far as EntityTrait>::Model: Sync + Send + Clone + 'static,
{
    type Value = Vec<<S::Far as EntityTrait>::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Key]) -> Result<HashMap<Key, Self::Value>, Self::Error> {
        let mut out: HashMap<Key, Self::Value> = HashMap::new();
        for (near, m) in S::linked(&self.gate, &self.actor, keys).await? {
            out.entry((<S::Far as TenantOwned>::org_of(&m), near)).or_default().push(m);
        }
        Ok(out)
    }
}

/// The rows linked to one row (`S` says which end it is), loaded in the request's batch.
pub async fn load_linked<L, S>(
    ctx: &Context<'_>,
    org: Uuid,
    id: Uuid,
) -> async_graphql::Result<Vec<<S::Far as EntityTrait>::Model>>
where
    L: Link + 'static,
    S: Side<L>,
    <S::Far as EntityTrait>::Model: Sync + Send + Clone + 'static,
{
    Ok(gate_loader::<Linked<L, S>>(ctx)?.load_one((org, id)).await?.unwrap_or_default())
}
