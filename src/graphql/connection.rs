//! Relay connections (`edges`, `nodes`, `pageInfo`, `totalCount`) for each node type.

use async_graphql::{Context, SimpleObject};

use crate::store::page::Page;

/// Where a page of a connection stands (Relay cursor connections).
#[derive(SimpleObject, Clone, Debug, Default)]
pub struct PageInfo {
    /// More items follow: ask again with `after: endCursor`.
    pub has_next_page: bool,
    /// The page was asked for with `after` (items come before it).
    pub has_previous_page: bool,
    /// The cursor of the page's first item; `null` for an empty page.
    pub start_cursor: Option<String>,
    /// The cursor of the page's last item (the next page's `after`); `null` for an empty page.
    pub end_cursor: Option<String>,
}

/// True when the selection asks for `totalCount` (the count query runs only then).
pub fn wants_total(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

/// Defines `<Name>Connection` and `<Name>Edge` for a node type.
#[macro_export]
macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty) => {
        #[derive(Clone)]
        pub struct $edge {
            cursor: String,
            node: $node,
        }

        #[doc = concat!("One item of a `", stringify!($conn), "` with its cursor.")]
        #[async_graphql::Object]
        impl $edge {
            /// Opaque cursor of this item: pass it as `after` to read on from here.
            async fn cursor(&self) -> &str {
                &self.cursor
            }
            /// The item.
            async fn node(&self) -> &$node {
                &self.node
            }
        }

        pub struct $conn {
            edges: Vec<$edge>,
            page_info: $crate::graphql::connection::PageInfo,
            total: Option<u64>,
        }

        #[doc = concat!(
                            "A page of `", stringify!($node), "` items (Relay cursor connection): `first` (1..100, ",
                            "default 20) after the cursor `after`."
                        )]
        #[async_graphql::Object]
        impl $conn {
            /// The page's items with their cursors, in the list's order.
            async fn edges(&self) -> &[$edge] {
                &self.edges
            }
            /// The page's items without cursors (shorthand for `edges { node }`).
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|e| &e.node).collect()
            }
            /// Cursors of the page's ends and whether more items follow.
            async fn page_info(&self) -> &$crate::graphql::connection::PageInfo {
                &self.page_info
            }
            /// Items matching the filter, over all pages (counted only when selected).
            async fn total_count(&self) -> i64 {
                self.total.map(|t| t as i64).unwrap_or(-1)
            }
        }

        impl $conn {
            pub fn from_page<T>(page: $crate::store::page::Page<T>, mut f: impl FnMut(T) -> $node) -> Self {
                let info = $crate::graphql::connection::page_info(&page);
                let total = page.total;
                let edges = page.items.into_iter().map(|(cursor, t)| $edge { cursor, node: f(t) }).collect();
                Self { edges, page_info: info, total }
            }
        }
    };
}

pub fn page_info<T>(page: &Page<T>) -> PageInfo {
    PageInfo {
        has_next_page: page.has_next,
        has_previous_page: page.has_previous,
        start_cursor: page.items.first().map(|(c, _)| c.clone()),
        end_cursor: page.items.last().map(|(c, _)| c.clone()),
    }
}
