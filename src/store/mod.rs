//! Persistence: sea-orm queries, always through the tenancy gate ([`tenancy`]).

pub mod ai_system;
pub mod audit;
pub mod catalog;
pub mod certification;
pub mod context;
pub mod dashboard;
pub mod document;
pub mod impact;
pub mod import;
pub mod incident;
pub mod measure;
pub mod ncr;
pub mod objective;
pub mod org;
pub mod page;
pub mod programme;
// issue 15: the management review
pub mod review;
pub mod risk;
pub mod scope;
pub mod soa;
pub mod supplier;
pub mod task;
pub mod tenancy;
pub mod trail;

pub use tenancy::{Actor, Gate, Reader, Writer};
