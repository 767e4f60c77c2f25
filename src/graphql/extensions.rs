//! Request-level policy for every GraphQL operation: depth, complexity and alias limits
//! (`QUERY_TOO_COMPLEX`), the `extensions.cost` report, request metrics, and the last step
//! of the error policy: every error carries `extensions.code` and `extensions.requestId`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest, NextRequest, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Name, Request, Response, ServerError, ServerResult, ValidationResult, Value, Variables};

use crate::config::Limits;
use crate::graphql::context::RequestCtx;
use crate::metrics::Metrics;

pub struct Policy {
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
}

impl ExtensionFactory for Policy {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PolicyExtension {
            limits: self.limits.clone(),
            metrics: self.metrics.clone(),
            state: Mutex::new(State::default()),
        })
    }
}

#[derive(Default)]
struct State {
    request_id: Option<String>,
    complexity: Option<usize>,
    operation: Option<&'static str>,
}

struct PolicyExtension {
    limits: Limits,
    metrics: Arc<Metrics>,
    state: Mutex<State>,
}

fn too_complex(message: String) -> ServerError {
    let mut e = ServerError::new(message, None);
    e.extensions.get_or_insert_with(Default::default).set("code", "QUERY_TOO_COMPLEX");
    e
}

fn count_aliases(set: &SelectionSet, depth: usize) -> usize {
    if depth > 64 {
        return 0;
    }
    set.items
        .iter()
        .map(|s| match &s.node {
            Selection::Field(f) => {
                usize::from(f.node.alias.is_some()) + count_aliases(&f.node.selection_set.node, depth + 1)
            }
            Selection::InlineFragment(i) => count_aliases(&i.node.selection_set.node, depth + 1),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

fn operation_type(doc: &ExecutableDocument) -> &'static str {
    let ty = doc.operations.iter().next().map(|(_, op)| op.node.ty);
    match ty {
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        _ => "query",
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for PolicyExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let mut resp = next.run(ctx).await;
        let (request_id, complexity, operation) = match self.state.lock() {
            Ok(s) => (s.request_id.clone().unwrap_or_default(), s.complexity, s.operation),
            Err(_) => (String::new(), None, None),
        };
        if let Some(c) = complexity {
            let mut cost = async_graphql::indexmap::IndexMap::new();
            cost.insert(Name::new("requested"), Value::from(c as u64));
            resp.extensions.insert("cost".to_string(), Value::Object(cost));
        }
        for e in &mut resp.errors {
            let ext = e.extensions.get_or_insert_with(Default::default);
            if ext.get("code").is_none() {
                // Parse, validation and input-coercion errors: the request is at fault.
                ext.set("code", "BAD_USER_INPUT");
            }
            ext.set("requestId", request_id.as_str());
        }
        self.metrics.observe_graphql(operation.unwrap_or("invalid"), started.elapsed());
        resp
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Some(r) =
            request.data.get(&std::any::TypeId::of::<RequestCtx>()).and_then(|d| d.downcast_ref::<RequestCtx>())
            && let Ok(mut s) = self.state.lock()
        {
            s.request_id = Some(r.request_id.clone());
        }
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let aliases: usize =
            doc.operations.iter().map(|(_, op)| count_aliases(&op.node.selection_set.node, 0)).sum::<usize>()
                + doc.fragments.values().map(|f| count_aliases(&f.node.selection_set.node, 0)).sum::<usize>();
        if let Ok(mut s) = self.state.lock() {
            s.operation = Some(operation_type(&doc));
        }
        if aliases > self.limits.max_aliases {
            return Err(too_complex(format!(
                "the operation uses {aliases} aliases; at most {} are allowed",
                self.limits.max_aliases
            )));
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if let Ok(mut s) = self.state.lock() {
            s.complexity = Some(result.complexity);
        }
        if result.depth > self.limits.max_depth {
            return Err(vec![too_complex(format!(
                "the operation is nested {} levels deep; at most {} are allowed",
                result.depth, self.limits.max_depth
            ))]);
        }
        if result.complexity > self.limits.max_complexity {
            return Err(vec![too_complex(format!(
                "the operation costs {}; at most {} is allowed (connections cost `first` × their selection)",
                result.complexity, self.limits.max_complexity
            ))]);
        }
        Ok(result)
    }
}
