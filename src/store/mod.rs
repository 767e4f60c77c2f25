//! Persistence: sea-orm queries, always through the tenancy gate ([`tenancy`]).

pub mod audit;
pub mod catalog;
pub mod dashboard;
pub mod ncr;
pub mod org;
pub mod page;
pub mod soa;
pub mod tenancy;
pub mod trail;

pub use tenancy::{Actor, Gate, Reader, Writer};
