//! Request-level policy for every GraphQL operation, whatever the transport (HTTP or
//! WebSocket): a fresh context (service-generated request id, new `Actor`, so rights are
//! read again) per operation; the token's expiry on long-lived connections; the
//! per-subject rate limit; the per-socket cap on concurrent operations; depth (introspection
//! apart, with its own bound), complexity and alias limits counted after fragments are
//! expanded (`QUERY_TOO_COMPLEX`); generic input bounds (`BAD_USER_INPUT`); a timeout per
//! query or mutation; the `extensions.cost { requested actual }` report (actual: SQL
//! statements run); request metrics; and the last step of the error policy: every error
//! carries `extensions.code` and `extensions.requestId`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest, NextRequest,
    NextSubscribe, NextValidation,
};
use async_graphql::futures_util::stream::BoxStream;
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{
    Name, Pos, Request, Response, ServerError, ServerResult, ValidationResult, Value as ConstValue, Variables,
};
use futures_util::StreamExt;
use tracing::Instrument;

use crate::config::Limits;
use crate::domain::MAX_TEXT;
use crate::error::{AppError, finish_graphql_error};
use crate::graphql::context::{OperationPermit, RequestCtx, Services, Session, WsConnection, new_request_id};
use crate::metrics::Metrics;
use crate::store::Actor;

/// The most items any list argument may carry (nested lists included).
pub const MAX_LIST_ITEMS: usize = 500;
/// How deep an introspection subtree (`__schema`, `__type`) may nest: enough for the
/// standard introspection queries of GraphiQL, graphql-js, graphql-core and codegen tools,
/// which nest `ofType` to a fixed depth. Introspection does not count toward the depth limit.
pub const MAX_INTROSPECTION_DEPTH: usize = 20;

pub struct Policy {
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
}

impl ExtensionFactory for Policy {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PolicyExtension { limits: self.limits.clone(), metrics: self.metrics.clone(), state: Arc::default() })
    }
}

#[derive(Default)]
struct State {
    request_id: Option<String>,
    client_request_id: Option<String>,
    complexity: Option<usize>,
    operation: Option<&'static str>,
    /// The operation's caller, whose budget counts the statements run (`cost.actual`).
    actor: Option<Arc<Actor>>,
    /// Found while parsing (depth), reported after validation.
    too_complex: Option<ServerError>,
    /// Found while parsing, reported after validation (a malformed request is told so first).
    out_of_bounds: Option<ServerError>,
}

impl State {
    /// Code and ids on every error of a response leaving the service.
    fn finish(&self, resp: &mut Response) {
        let request_id = self.request_id.as_deref().unwrap_or("-");
        for e in &mut resp.errors {
            finish_graphql_error(e, request_id, self.client_request_id.as_deref());
        }
    }
}

/// One instance per operation (async-graphql creates the extensions for each execution).
struct PolicyExtension {
    limits: Limits,
    metrics: Arc<Metrics>,
    state: Arc<Mutex<State>>,
}

fn too_complex(message: String) -> ServerError {
    AppError::QueryTooComplex(message).to_server_error(None)
}

/// What the limits measure of a document, with every fragment spread expanded where it
/// is spread (an alias inside a fragment spread five times counts five times).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub aliases: usize,
    /// Field selections, each counted where it is spread.
    pub fields: usize,
    /// Field nesting, introspection subtrees left out.
    pub depth: usize,
    /// The deepest introspection subtree (`__schema { … }`, `__type { … }`).
    pub introspection_depth: usize,
}

/// [`Shape`] of every operation of `doc` (the largest of each figure).
pub fn shape(doc: &ExecutableDocument) -> Shape {
    let mut w = ShapeWalker { doc, memo: HashMap::new(), visiting: HashSet::new() };
    let mut out = Shape::default();
    for (_, op) in doc.operations.iter() {
        let s = w.set(&op.node.selection_set.node, 0);
        out.aliases = out.aliases.max(s.aliases);
        out.fields = out.fields.max(s.fields);
        out.depth = out.depth.max(s.depth);
        out.introspection_depth = out.introspection_depth.max(s.introspection_depth);
    }
    out
}

struct ShapeWalker<'a> {
    doc: &'a ExecutableDocument,
    memo: HashMap<&'a str, Shape>,
    visiting: HashSet<&'a str>,
}

impl<'a> ShapeWalker<'a> {
    fn set(&mut self, set: &'a SelectionSet, guard: usize) -> Shape {
        let mut out = Shape::default();
        if guard > 256 {
            return out;
        }
        for item in &set.items {
            let s = match &item.node {
                Selection::Field(f) => {
                    let child = self.set(&f.node.selection_set.node, guard + 1);
                    let name = f.node.name.node.as_str();
                    let alias = usize::from(f.node.alias.is_some());
                    let fields = child.fields.saturating_add(1);
                    if name == "__schema" || name == "__type" {
                        Shape {
                            aliases: child.aliases.saturating_add(alias),
                            fields,
                            depth: 0,
                            introspection_depth: 1 + child.depth.max(child.introspection_depth),
                        }
                    } else {
                        Shape {
                            aliases: child.aliases.saturating_add(alias),
                            fields,
                            depth: 1 + child.depth,
                            introspection_depth: child.introspection_depth,
                        }
                    }
                }
                Selection::InlineFragment(i) => self.set(&i.node.selection_set.node, guard + 1),
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match self.memo.get(name) {
                        Some(s) => *s,
                        // A cycle is invalid (validation says so); it adds nothing here.
                        None if self.visiting.contains(name) => Shape::default(),
                        None => match self.doc.fragments.get(&spread.node.fragment_name.node) {
                            Some(fragment) => {
                                self.visiting.insert(name);
                                let s = self.set(&fragment.node.selection_set.node, guard + 1);
                                self.visiting.remove(name);
                                self.memo.insert(name, s);
                                s
                            }
                            None => Shape::default(),
                        },
                    }
                }
            };
            // Saturating: nested fragments double at every level.
            out.aliases = out.aliases.saturating_add(s.aliases);
            out.fields = out.fields.saturating_add(s.fields);
            out.depth = out.depth.max(s.depth);
            out.introspection_depth = out.introspection_depth.max(s.introspection_depth);
        }
        out
    }
}

fn operation_type(doc: &ExecutableDocument) -> &'static str {
    let ty = doc.operations.iter().next().map(|(_, op)| op.node.ty);
    match ty {
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        _ => "query",
    }
}

/// Walks every argument value of a document (literals, variables with their defaults,
/// nested objects and lists) against the generic bounds.
struct Bounds<'a> {
    variables: HashMap<&'a str, &'a ConstValue>,
}

/// Argument paths as clients know them: `filter.status`; a mutation's `input` argument is
/// left out (`subject`, `title`), as in every other input error.
fn path_of(path: &[&str]) -> String {
    let parts: Vec<&str> = match path.split_first() {
        Some((&"input", rest)) if !rest.is_empty() => rest.to_vec(),
        _ => path.to_vec(),
    };
    parts.join(".")
}

fn check_string(s: &str, path: &[&str]) -> Result<(), AppError> {
    if s.contains('\0') {
        return Err(AppError::bad_input(path_of(path), format!("{} must not contain NUL characters", path_of(path))));
    }
    if s.len() > MAX_TEXT && s.chars().count() > MAX_TEXT {
        return Err(AppError::bad_input(
            path_of(path),
            format!("{} takes at most {MAX_TEXT} characters", path_of(path)),
        ));
    }
    Ok(())
}

fn check_list(len: usize, path: &[&str]) -> Result<(), AppError> {
    if len > MAX_LIST_ITEMS {
        return Err(AppError::bad_input(
            path_of(path),
            format!("{} takes at most {MAX_LIST_ITEMS} items", path_of(path)),
        ));
    }
    Ok(())
}

impl<'a> Bounds<'a> {
    fn new(doc: &'a ExecutableDocument, variables: &'a Variables) -> Self {
        let mut map: HashMap<&'a str, &'a ConstValue> = HashMap::new();
        for (_, op) in doc.operations.iter() {
            for def in &op.node.variable_definitions {
                if let Some(default) = &def.node.default_value {
                    map.insert(def.node.name.node.as_str(), &default.node);
                }
            }
        }
        for (name, value) in variables.iter() {
            map.insert(name.as_str(), value);
        }
        Self { variables: map }
    }

    fn document(&self, doc: &'a ExecutableDocument) -> Result<(), (AppError, Pos)> {
        for (_, op) in doc.operations.iter() {
            self.selection_set(&op.node.selection_set.node)?;
        }
        for fragment in doc.fragments.values() {
            self.selection_set(&fragment.node.selection_set.node)?;
        }
        Ok(())
    }

    fn selection_set(&self, set: &'a SelectionSet) -> Result<(), (AppError, Pos)> {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    for (name, value) in &f.node.arguments {
                        // The document's value type is not nameable from here: turn each
                        // variable into a marker (`$name` cannot be a literal enum), then walk.
                        let literal = value
                            .node
                            .clone()
                            .into_const_with(|var| Ok::<_, ()>(ConstValue::Enum(Name::new(format!("${var}")))))
                            .unwrap_or(ConstValue::Null);
                        let mut path = vec![name.node.as_str()];
                        self.value(&literal, &mut path, 0).map_err(|e| (e, value.pos))?;
                    }
                    self.selection_set(&f.node.selection_set.node)?;
                }
                Selection::InlineFragment(i) => self.selection_set(&i.node.selection_set.node)?,
                Selection::FragmentSpread(_) => {}
            }
        }
        Ok(())
    }

    fn value<'v>(&self, v: &'v ConstValue, path: &mut Vec<&'v str>, depth: usize) -> Result<(), AppError>
    where
        'a: 'v,
    {
        if depth > 64 {
            return Err(AppError::bad_input(path_of(path), "input is nested too deeply"));
        }
        match v {
            ConstValue::Enum(marker) if marker.starts_with('$') => match self.variables.get(&marker[1..]) {
                Some(c) => self.value(c, path, depth + 1),
                None => Ok(()),
            },
            ConstValue::String(s) => check_string(s, path),
            ConstValue::List(items) => {
                check_list(items.len(), path)?;
                items.iter().try_for_each(|i| self.value(i, path, depth + 1))
            }
            ConstValue::Object(fields) => fields.iter().try_for_each(|(k, v)| {
                path.push(k.as_str());
                let r = self.value(v, path, depth + 1);
                path.pop();
                r
            }),
            _ => Ok(()),
        }
    }
}

/// The first argument value out of bounds, as the error to report.
pub fn out_of_bounds(doc: &ExecutableDocument, variables: &Variables) -> Option<ServerError> {
    Bounds::new(doc, variables).document(doc).err().map(|(e, pos)| e.to_server_error(Some(pos)))
}

fn data_of<T: Clone + Send + Sync + 'static>(data: &async_graphql::Data) -> Option<T> {
    data.get(&std::any::TypeId::of::<T>()).and_then(|d| d.downcast_ref::<T>()).cloned()
}

#[async_graphql::async_trait::async_trait]
impl Extension for PolicyExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let mut resp = next.run(ctx).await;
        let operation = match self.state.lock() {
            Ok(s) => {
                if let Some(c) = s.complexity {
                    let mut cost = async_graphql::indexmap::IndexMap::new();
                    cost.insert(Name::new("requested"), ConstValue::from(c as u64));
                    let actual = s.actor.as_ref().map_or(0, |a| a.budget.used());
                    cost.insert(Name::new("actual"), ConstValue::from(actual));
                    resp.extensions.insert("cost".to_string(), ConstValue::Object(cost));
                }
                s.finish(&mut resp);
                s.operation
            }
            Err(_) => None,
        };
        self.metrics.observe_graphql(operation.unwrap_or("invalid"), started.elapsed());
        resp
    }

    /// WebSocket operations run as streams and skip `request`: their errors are finished here.
    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let state = self.state.clone();
        next.run(ctx, stream)
            .map(move |mut resp| {
                if let Ok(s) = state.lock() {
                    s.finish(&mut resp);
                }
                resp
            })
            .boxed()
    }

    /// Every operation gets its own context: a request id made here (or the HTTP
    /// request's, when the request carries this one operation only) and a new `Actor`
    /// built from the verified caller of the transport.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let ws = data_of::<WsConnection>(ctx.session_data);
        let session =
            data_of::<Session>(&request.data).or_else(|| data_of::<Session>(ctx.session_data)).or_else(|| {
                ws.as_ref().map(|w| Session {
                    caller: w.caller(),
                    request_id: None,
                    client_request_id: w.client_request_id.clone(),
                })
            });
        let (op, client) = match session {
            Some(s) => (s.operation(), s.client_request_id),
            // Built by hand (tests, tools): kept as given.
            None => match data_of::<RequestCtx>(&request.data) {
                Some(r) => (r, None),
                None => (RequestCtx::new(None, new_request_id()), None),
            },
        };
        if let Ok(mut s) = self.state.lock() {
            s.request_id = Some(op.request_id.clone());
            s.client_request_id = client;
            s.actor = op.actor.clone();
        }
        let refuse = |e: AppError| Err(e.to_server_error(None));
        if let Some(actor) = &op.actor {
            // A socket outlives its token: every operation on it checks the token again.
            if actor.caller.expired() {
                return refuse(AppError::Unauthenticated(
                    "the token has expired; re-authenticate (ping with a new token) or reconnect".into(),
                ));
            }
            if let Some(limiter) = ctx.data_opt::<Services>().and_then(|s| s.limiter.as_ref())
                && let Err(e) = limiter.check(&actor.caller.subject)
            {
                self.metrics.rate_limited.increment(1);
                return refuse(e);
            }
        }
        if let Some(ws) = &ws {
            match ws.operations.clone().try_acquire_owned() {
                Ok(permit) => {
                    request.data.insert(OperationPermit(Arc::new(permit)));
                }
                Err(_) => {
                    return refuse(AppError::RateLimited(format!(
                        "at most {} operations run at once on one WebSocket; wait for one to complete",
                        ws.max_operations
                    )));
                }
            }
        }
        // async-graphql's own checks (recursion depth, complexity) walk every fragment where
        // it is spread, exponential in nested fragments: measure the expanded document first
        // (linear) and refuse one that selects more fields than the complexity limit allows.
        if let Ok(doc) = request.parsed_query() {
            let fields = shape(doc).fields;
            if fields > self.limits.max_complexity {
                return refuse(AppError::QueryTooComplex(format!(
                    "the operation selects {fields} fields (fragments counted where they are spread); at most {} are allowed",
                    self.limits.max_complexity
                )));
            }
        }
        request.data.insert(op);
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
        let shape = shape(&doc);
        let out_of_bounds = out_of_bounds(&doc, variables);
        let too_deep = if shape.depth > self.limits.max_depth {
            Some(format!(
                "the operation is nested {} levels deep; at most {} are allowed",
                shape.depth, self.limits.max_depth
            ))
        } else if shape.introspection_depth > MAX_INTROSPECTION_DEPTH {
            Some(format!(
                "the introspection is nested {} levels deep; at most {MAX_INTROSPECTION_DEPTH} are allowed",
                shape.introspection_depth
            ))
        } else {
            None
        };
        if let Ok(mut s) = self.state.lock() {
            s.operation = Some(operation_type(&doc));
            s.out_of_bounds = out_of_bounds;
            s.too_complex = too_deep.map(too_complex);
        }
        if shape.aliases > self.limits.max_aliases {
            return Err(too_complex(format!(
                "the operation uses {} aliases (fragments counted where they are spread); at most {} are allowed",
                shape.aliases, self.limits.max_aliases
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
        let (out_of_bounds, too_deep) = match self.state.lock() {
            Ok(mut s) => {
                s.complexity = Some(result.complexity);
                (s.out_of_bounds.take(), s.too_complex.take())
            }
            Err(_) => (None, None),
        };
        if let Some(e) = too_deep {
            return Err(vec![e]);
        }
        if result.complexity > self.limits.max_complexity {
            return Err(vec![too_complex(format!(
                "the operation costs {}; at most {} is allowed (connections cost `first` × their selection)",
                result.complexity, self.limits.max_complexity
            ))]);
        }
        if let Some(e) = out_of_bounds {
            return Err(vec![e]);
        }
        Ok(result)
    }

    /// The operation's span carries its ids into every log line (internal errors included).
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let (id, client, ty, requested) = match self.state.lock() {
            Ok(s) => (
                s.request_id.clone().unwrap_or_default(),
                s.client_request_id.clone(),
                s.operation.unwrap_or("query"),
                s.complexity,
            ),
            Err(_) => (String::new(), None, "query", None),
        };
        let name = operation_name.unwrap_or("");
        // Named as OpenTelemetry's GraphQL conventions say (`query Dashboard`); the
        // organization is recorded by the gate as it opens one (`annex.organization_id`).
        let span = tracing::info_span!(
            "operation",
            otel.name = %if name.is_empty() { ty.to_owned() } else { format!("{ty} {name}") },
            graphql.operation.type = ty,
            graphql.operation.name = name,
            annex.organization_id = tracing::field::Empty,
            annex.cost.requested = requested.map(|c| c as u64),
            annex.cost.actual = tracing::field::Empty,
            request_id = %id,
            client_request_id = client.as_deref().unwrap_or("-"),
        );
        // Every query and mutation has a deadline, whatever carries it (HTTP has its own
        // too; a WebSocket has only this one).
        let resp = match tokio::time::timeout(
            self.limits.request_timeout,
            next.run(ctx, operation_name).instrument(span.clone()),
        )
        .await
        {
            Ok(resp) => resp,
            Err(_) => Response::from_errors(vec![
                AppError::ServiceUnavailable("the operation timed out".into()).to_server_error(None),
            ]),
        };
        if let Ok(s) = self.state.lock()
            && let Some(actor) = &s.actor
        {
            span.record("annex.cost.actual", actor.budget.used());
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(query: &str, variables: serde_json::Value) -> Option<(String, String)> {
        let doc = async_graphql::parser::parse_query(query).expect("parses");
        let vars = Variables::from_json(variables);
        out_of_bounds(&doc, &vars).map(|e| {
            let ext = e.extensions.expect("extensions");
            let field = match ext.get("field") {
                Some(ConstValue::String(f)) => f.clone(),
                other => panic!("field: {other:?}"),
            };
            let code = match ext.get("code") {
                Some(ConstValue::String(c)) => c.clone(),
                other => panic!("code: {other:?}"),
            };
            (code, field)
        })
    }

    fn shape_of(query: &str) -> Shape {
        shape(&async_graphql::parser::parse_query(query).expect("parses"))
    }

    #[test]
    fn fragments_count_where_they_are_spread() {
        let s = shape_of("{ o { ...F ...F ...F } } fragment F on O { a: x b: x }");
        assert_eq!((s.aliases, s.fields, s.depth), (6, 7, 2));
        let s = shape_of("{ o { ...G ...G } } fragment G on O { ...F ...F } fragment F on O { a: x }");
        assert_eq!((s.aliases, s.fields), (4, 5));
        // Inline fragments and nesting inside fragments add depth where they sit.
        let s = shape_of("{ a { b { ...F } } } fragment F on B { ... on B { c { d } } }");
        assert_eq!(s.depth, 4);
        // A cycle (invalid; validation says so) ends the walk instead of looping.
        let s = shape_of("{ o { ...F } } fragment F on O { a: x ...G } fragment G on O { b: x ...F }");
        assert_eq!(s.aliases, 2);
        // The largest operation of a document counts.
        let s = shape_of("query A { a: x } query B { a: x b: x c { d } }");
        assert_eq!((s.aliases, s.depth), (2, 2));
    }

    #[test]
    fn doubling_fragments_saturate_without_expanding() {
        let mut doc = String::from("{ o { ...F100 } } fragment F0 on O { a: x } ");
        for i in 1..=100 {
            doc.push_str(&format!("fragment F{i} on O {{ ...F{p} ...F{p} }} ", p = i - 1));
        }
        let s = shape_of(&doc);
        assert_eq!((s.aliases, s.fields, s.depth), (usize::MAX, usize::MAX, 2));
        let s = shape_of(&doc.replace("...F100", "...F10"));
        assert_eq!((s.aliases, s.fields), (1024, 1025));
    }

    #[test]
    fn introspection_is_measured_apart() {
        let s = shape_of("{ viewer { subject } __schema { types { fields { type { ofType { name } } } } } }");
        assert_eq!((s.depth, s.introspection_depth), (2, 6));
        let s = shape_of("{ __type(name: \"Q\") { ...T } } fragment T on __Type { ofType { ofType { name } } }");
        assert_eq!((s.depth, s.introspection_depth), (0, 4));
    }

    fn bad(field: &str) -> Option<(String, String)> {
        Some(("BAD_USER_INPUT".into(), field.into()))
    }

    #[test]
    fn lists_strings_and_nul_are_bounded_everywhere() {
        let many = vec!["OPEN"; MAX_LIST_ITEMS + 1];
        let q = "query($f: F) { o { n(filter: $f) { id } } }";
        assert_eq!(check(q, serde_json::json!({ "f": { "status": many } })), bad("filter.status"));
        assert_eq!(check(q, serde_json::json!({ "f": { "status": vec!["OPEN"; MAX_LIST_ITEMS] } })), None);
        let inline = format!("{{ o {{ n(filter: {{status: [{}]}}) {{ id }} }} }}", many.join(","));
        assert_eq!(check(&inline, serde_json::json!({})), bad("filter.status"));
        let m = "mutation($i: I!) { addMember(input: $i) { id } }";
        assert_eq!(check(m, serde_json::json!({ "i": { "subject": "a\u{0}b" } })), bad("subject"));
        assert_eq!(check(m, serde_json::json!({ "i": { "subject": "x".repeat(MAX_TEXT + 1) } })), bad("subject"));
        assert_eq!(check(m, serde_json::json!({ "i": { "subject": "é".repeat(MAX_TEXT) } })), None);
        assert_eq!(
            check(m, serde_json::json!({ "i": { "evidence": [{ "title": "t\u{0}" }] } })),
            bad("evidence.title")
        );
        assert_eq!(check("{ a(search: \"x\\u0000\") }", serde_json::json!({})), bad("search"));
        // Fragments and defaults are walked too.
        assert_eq!(
            check("query($s: String = \"a\\u0000\") { ...F } fragment F on Q { a(search: $s) }", serde_json::json!({})),
            bad("search")
        );
        assert_eq!(check("{ a(search: \"plain\") }", serde_json::json!({})), None);
    }
}
