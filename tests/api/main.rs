//! The one integration-test binary: the real HTTP API on a fresh database per test, on
//! SQLite and (with `ANNEX_TEST_POSTGRES_URL`) PostgreSQL.

mod builders;
mod support;

mod cli;
mod context;
mod dashboard;
mod documents;
mod ecosystem;
mod edge;
mod events;
mod fidelity;
mod fidelity_audit;
mod fidelity_improvement;
mod gate;
mod hardening;
mod imports;
mod improvement;
mod incidents;
mod objectives;
mod permissions;
// issue 15: the management review
mod reviews;
mod risk;
mod schema_docs;
mod soa;
mod speed;
mod spine;
mod suppliers;
mod telemetry;
mod templates;
mod trail;
// issue 16
mod measures;
mod programme;
mod tasks;
