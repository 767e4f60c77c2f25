//! Who is calling: token verification ([`token`]) and what each role may do ([`permissions`]).

pub mod permissions;
pub mod token;

pub use permissions::{Access, Operation, Role};
pub use token::{Caller, TokenVerifier};
