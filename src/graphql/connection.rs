//! Relay connections (`edges`, `nodes`, `pageInfo`, `totalCount`) for each node type.

use async_graphql::{Context, SimpleObject};

use crate::store::page::Page;

#[derive(SimpleObject, Clone, Debug, Default)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
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

        #[async_graphql::Object]
        impl $edge {
            async fn cursor(&self) -> &str {
                &self.cursor
            }
            async fn node(&self) -> &$node {
                &self.node
            }
        }

        pub struct $conn {
            edges: Vec<$edge>,
            page_info: $crate::graphql::connection::PageInfo,
            total: Option<u64>,
        }

        #[async_graphql::Object]
        impl $conn {
            async fn edges(&self) -> &[$edge] {
                &self.edges
            }
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|e| &e.node).collect()
            }
            async fn page_info(&self) -> &$crate::graphql::connection::PageInfo {
                &self.page_info
            }
            /// Rows matching the filter, over all pages.
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
