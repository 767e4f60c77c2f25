//! Persistence: sea-orm queries, always through the tenancy gate ([`tenancy`]).

pub mod ai_system;
pub mod audit;
pub mod catalog;
pub mod certification;
pub mod dashboard;
pub mod impact;
pub mod measure;
pub mod ncr;
pub mod org;
pub mod page;
pub mod programme;
pub mod risk;
pub mod scope;
pub mod soa;
pub mod task;
pub mod tenancy;
pub mod trail;

pub use tenancy::{Actor, Gate, Reader, Writer};
