//! The database handle, re-exported from the tenancy gate (which alone reaches its
//! connection): `Database::connect`, `Database::migrate`, readiness and pool metrics.

pub use crate::store::tenancy::Database;
