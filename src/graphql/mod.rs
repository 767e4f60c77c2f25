//! The GraphQL API: thin types and resolvers over the domain rules and the store.

pub mod audit;
pub mod catalog;
pub mod certification;
pub mod connection;
pub mod context;
pub mod context_issue;
pub mod dashboard;
pub mod document;
pub mod events;
pub mod extensions;
pub mod impact;
pub mod incident;
pub mod input;
pub mod inventory;
pub mod limits;
pub mod loaders;
pub mod measure;
pub mod ncr;
pub mod node;
pub mod object;
pub mod objective;
pub mod org;
pub mod programme;
// issue 15: the management review
pub mod review;
pub mod risk;
pub mod scalars;
pub mod soa;
pub mod supplier;
pub mod task;
pub mod trail;

use std::sync::Arc;

use async_graphql::{MergedObject, Schema};

use crate::config::Limits;
use async_graphql::extensions::apollo_persisted_queries::{ApolloPersistedQueries, LruCacheStorage};

use crate::metrics::Metrics;
pub use context::{RequestCtx, Services};

/// Reading: the caller, organizations and everything in them, any object by ID, and the
/// catalogs of both standards.
#[derive(MergedObject, Default)]
pub struct Query(
    org::OrgQuery,
    node::NodeQuery,
    catalog::CatalogQuery,
    dashboard::DashboardQuery,
    measure::MeasureQuery,
);

/// Writing: each mutation is one transaction, checked against the caller's role, and
/// appends its changes to the audit trail.
#[derive(MergedObject, Default)]
pub struct Mutation(
    org::OrgMutation,
    soa::SoaMutation,
    inventory::InventoryMutation,
    risk::RiskMutation,
    impact::ImpactMutation,
    audit::AuditMutation,
    certification::CertificationMutation,
    ncr::NcrMutation,
    document::DocumentMutation,
    objective::ObjectiveMutation,
    context_issue::ContextIssueMutation,
    incident::IncidentMutation,
    supplier::SupplierMutation,
    measure::MeasureMutation,
    task::TaskMutation,
    programme::ProgrammeMutation,
    review::ReviewMutation,
);

pub type Subscription = events::EventSubscription;

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// How many persisted queries each replica keeps (least recently used go first).
pub const APQ_CACHE_QUERIES: usize = 1024;

/// The schema as served. Production turns off introspection and field suggestions.
pub fn build(services: Option<Services>, limits: Limits, metrics: Arc<Metrics>, production: bool) -> AppSchema {
    let mut b = Schema::build(Query::default(), Mutation::default(), events::EventSubscription)
        .extension(extensions::Policy { limits, metrics })
        // Automatic persisted queries: a client may send the query's SHA-256 alone once the
        // query has been sent with it (per replica, the last 1,024 queries).
        .extension(ApolloPersistedQueries::new(LruCacheStorage::new(APQ_CACHE_QUERIES)))
        .limit_recursive_depth(64);
    if let Some(s) = services {
        b = b.data(s);
    }
    if production {
        b = b.disable_introspection().disable_suggestions();
    }
    b.finish()
}

/// The SDL (`annex schema`, `schema.graphql`).
pub fn sdl() -> String {
    build(None, Limits::default(), Arc::new(Metrics::default()), false).sdl()
}
