//! What a query may ask for and what it costs, in one place.
//!
//! async-graphql prices a selection as the sum of its fields; a field returning a list
//! costs its multiplier × the cost of its selection, so nested lists multiply. A
//! connection's multiplier is the page it asks for ([`page`]).

use crate::store::page::{DEFAULT_PAGE, MAX_PAGE};

/// A connection's multiplier: the `first` it asks for (default and bound as the store
/// applies them).
pub fn page(first: Option<i32>) -> usize {
    first.map_or(DEFAULT_PAGE, |n| (n.max(1) as u64).min(MAX_PAGE)) as usize
}

/// `Organization.soa`: every SoA row (131 catalog controls plus organization-defined ones).
pub const SOA_ROWS: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_costs_what_it_can_return() {
        assert_eq!(page(None), 20);
        assert_eq!(page(Some(5)), 5);
        assert_eq!(page(Some(0)), 1);
        assert_eq!(page(Some(10_000)), 100);
    }
}
