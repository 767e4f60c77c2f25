//! Database migrations for Annex, run at start-up by `annex serve` and by `annex migrate`.
//!
//! One file per change, each with `up` and `down`. Tenant tables carry `organization_id`,
//! and every unique index and foreign key of tenant data leads with it. The read-only
//! catalogs (clauses, Annex A controls, cross-standard mappings) are seeded from
//! `data/iso-catalogs.json`, a copy of the reference file kept with its provenance.

pub use sea_orm_migration::prelude::*;

mod catalog_data;
mod m20261128_000001_core;
mod m20261128_000002_catalog;
mod m20261128_000003_soa;
mod m20261128_000004_risk;
mod m20261128_000005_improvement;
mod m20261128_000006_append_only_trail;
mod m20261201_000001_row_level_security;
mod m20261201_000002_ticket_synced;
mod m20261201_000003_rls_once_per_statement;
mod m20261202_000001_soa_decision;
mod m20261202_000002_risk_fidelity;
mod m20261202_000003_ncr_10_2;
mod m20261202_000004_impact_review_ai_roles;
mod m20261202_000005_audit_certification;
mod m20261203_000001_documents;
mod m20261203_000002_context;
mod m20261203_000003_operations;
mod m20261203_000004_measures;
mod m20261203_000005_risk_external_key;
mod m20261203_000006_templates;
mod roles;
mod util;

pub use catalog_data::{
    AI_RELEVANCE_27001, CatalogData, CatalogStandard, ai_relevance, ai_specific_42001_refs, catalog,
};
pub use roles::{APPEND_ONLY, create_role_sql, quote_ident, runtime_grants_sql};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_core::Migration),
            Box::new(m20261128_000002_catalog::Migration),
            Box::new(m20261128_000003_soa::Migration),
            Box::new(m20261128_000004_risk::Migration),
            Box::new(m20261128_000005_improvement::Migration),
            Box::new(m20261128_000006_append_only_trail::Migration),
            Box::new(m20261201_000001_row_level_security::Migration),
            Box::new(m20261201_000002_ticket_synced::Migration),
            Box::new(m20261201_000003_rls_once_per_statement::Migration),
            Box::new(m20261202_000001_soa_decision::Migration),
            Box::new(m20261202_000002_risk_fidelity::Migration),
            Box::new(m20261202_000003_ncr_10_2::Migration),
            Box::new(m20261202_000004_impact_review_ai_roles::Migration),
            Box::new(m20261202_000005_audit_certification::Migration),
            Box::new(m20261203_000001_documents::Migration),
            Box::new(m20261203_000005_risk_external_key::Migration),
            Box::new(m20261203_000006_templates::Migration),
            Box::new(m20261203_000002_context::Migration),
            Box::new(m20261203_000003_operations::Migration),
            Box::new(m20261203_000004_measures::Migration),
        ]
    }
}
