//! The edge (issue 10): no socket outlives its caller's rights or token, no operation
//! costs more than it is priced, the same limits hold on every transport, and the HTTP
//! surface behaves for browsers (GraphQL over HTTP status codes, CORS) and deployments
//! (production by default, no printed token). Each test failed on the service before
//! issue 10 for the reason its name gives; where a part of one already passed then, a
//! comment says so (it stays as a guard).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{Backend, SECRET, TestApp, Ws, assert_error, jwt, now, ws_connect, ws_next};

const EVENTS: &str =
    "subscription($o: ID!) { organizationEvents(organizationId: $o) { action entityType entityId actor } }";
const CREATE_RISK: &str = "mutation($i: CreateRiskInput!) { createRisk(input: $i) { risk { id } } }";
const UPDATE_RISK: &str = "mutation($i: UpdateRiskInput!) { updateRisk(input: $i) { risk { id } } }";
const VIEWER_ROLE: &str = "query($o: ID!) { organization(id: $o) { viewerRole } }";
const ADD_MEMBER: &str = "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }";
const CHANGE_ROLE: &str =
    "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { membership { role } } }";
const REMOVE_MEMBER: &str = "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { deletedId } }";
const VIEWER: &str = "{ viewer { subject } }";
const DASHBOARD: &str = "query($o: ID!) { organization(id: $o) { dashboard { soaCoverage { standard percentImplemented groups { groupRef implemented } } openNonconformities nonconformitiesByStatus { status count } overdueCorrectiveActions readiness { standard percent } riskHeatMap { likelihood impact count } } } }";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

fn risk_input(org: &str, title: &str) -> Value {
    json!({ "organizationId": org, "title": title, "category": "CONFIDENTIALITY", "likelihood": 3, "impact": 3 })
}

/// A token of `sub` whose `exp` is `offset` seconds from now (negative: already past).
fn token_expiring(sub: &str, offset: i64) -> String {
    jwt(json!({ "sub": sub, "aud": "annex", "exp": now() as i64 + offset }))
}

// ---------------------------------------------------------------------------------------
// WebSocket plumbing: raw frames (close codes, pongs), one operation at a time.

/// What the server did next on a socket.
#[derive(Debug)]
enum Frame {
    Message(Value),
    Close(u16, String),
    /// The connection ended without a close frame (or with a transport error).
    Gone,
}

/// The next frame (server pings skipped); `None` when nothing came within `wait`.
async fn frame(ws: &mut Ws, wait: Duration) -> Option<Frame> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next()).await.ok()?;
        return Some(match next {
            None | Some(Err(_)) => Frame::Gone,
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).expect("JSON message");
                if v["type"] == "ping" {
                    continue;
                }
                Frame::Message(v)
            }
            Some(Ok(Message::Close(Some(c)))) => Frame::Close(c.code.into(), c.reason.to_string()),
            Some(Ok(Message::Close(None))) => Frame::Close(1005, String::new()),
            Some(Ok(_)) => continue,
        });
    }
}

/// Reads until the server closes the socket: its close frame (`None`: gone without one)
/// and the messages before it. Panics when the socket is still open after `wait`.
async fn until_closed(ws: &mut Ws, wait: Duration) -> (Option<(u16, String)>, Vec<Value>) {
    let deadline = Instant::now() + wait;
    let mut before = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match frame(ws, left).await {
            None => panic!("the socket is still open after {wait:?}; messages: {before:?}"),
            Some(Frame::Message(m)) => before.push(m),
            Some(Frame::Close(code, reason)) => return (Some((code, reason)), before),
            Some(Frame::Gone) => return (None, before),
        }
    }
}

async fn send(ws: &mut Ws, msg: Value) {
    ws.send(Message::text(msg.to_string())).await.expect("send");
}

/// A graphql-transport-ws connection authenticated with `token` (acknowledged).
async fn open(app: &TestApp, token: &str) -> Ws {
    let mut ws = ws_connect(app, json!({ "Authorization": format!("Bearer {token}") })).await;
    let ack = ws_next(&mut ws, Duration::from_secs(5)).await.expect("ack");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws
}

async fn start(ws: &mut Ws, id: &str, query: &str, variables: Value) {
    send(ws, json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } })).await;
}

/// The payload of a `next` (or an `error`, as `{ data: null, errors }`) for operation `id`.
fn payload_of(msg: &Value, id: &str) -> Value {
    assert_eq!(msg["id"], id, "{msg}");
    match msg["type"].as_str() {
        Some("error") => json!({ "data": null, "errors": msg["payload"] }),
        Some("next") => msg["payload"].clone(),
        _ => panic!("not an answer: {msg}"),
    }
}

/// Runs one query or mutation on the socket; its payload (data and errors).
async fn run(ws: &mut Ws, id: &str, query: &str, variables: Value) -> Value {
    start(ws, id, query, variables).await;
    let answer = ws_next(ws, Duration::from_secs(10)).await.unwrap_or_else(|| panic!("no answer to {id}"));
    let payload = payload_of(&answer, id);
    if answer["type"] == "next" {
        let done = ws_next(ws, Duration::from_secs(5)).await.expect("complete");
        assert_eq!((done["type"].as_str(), done["id"].as_str()), (Some("complete"), Some(id)), "{done}");
    }
    payload
}

/// The event about `entity` on subscription "events", skipping earlier ones (PostgreSQL
/// delivers the setup's own changes a little late). Once it came, every earlier change
/// has been delivered too.
async fn event_about(ws: &mut Ws, entity: &str) -> Value {
    loop {
        let msg = ws_next(ws, Duration::from_secs(5)).await.unwrap_or_else(|| panic!("no event about {entity}"));
        let e = payload_of(&msg, "events")["data"]["organizationEvents"].clone();
        assert!(e.is_object(), "{msg}");
        if e["entityId"] == entity {
            return e;
        }
    }
}

fn first_code(payload: &Value) -> &str {
    payload["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {payload:#}"))
}

// ---------------------------------------------------------------------------------------
// 1. Rights are read again for every operation, and for live subscriptions.

async fn removed_and_demoted_members_lose_their_rights_on_an_open_socket(app: &TestApp) {
    let t = app.tenant("acme").await;
    let org = t.id.as_str();

    // A VIEWER and a MANAGER listen to the organization's events.
    let mut viewer = open(app, &t.viewer.token).await;
    start(&mut viewer, "events", EVENTS, json!({ "o": org })).await;
    let mut manager = open(app, &t.manager.token).await;
    start(&mut manager, "events", EVENTS, json!({ "o": org })).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let risk = t.owner.risk().create().await;
    for ws in [&mut viewer, &mut manager] {
        assert_eq!(event_about(ws, &risk).await["action"], "CREATE");
    }

    // The VIEWER is removed: one NOT_FOUND error, then the end of its subscription.
    t.owner.ok(REMOVE_MEMBER, json!({ "i": { "organizationId": org, "subject": t.viewer.sub } })).await;
    let msg = ws_next(&mut viewer, Duration::from_secs(5)).await.expect("an answer to the removal");
    assert_eq!(first_code(&payload_of(&msg, "events")), "NOT_FOUND", "{msg}");
    assert_eq!(msg["payload"]["data"], Value::Null, "{msg}");
    let done = ws_next(&mut viewer, Duration::from_secs(5)).await.expect("complete");
    assert_eq!(done["type"], "complete", "{done}");

    // The MANAGER heard of the removal, and by whom.
    let e = ws_next(&mut manager, Duration::from_secs(5)).await.expect("the removal event");
    let e = &e["payload"]["data"]["organizationEvents"];
    assert_eq!(
        (&e["entityType"], &e["action"], &e["actor"]),
        (&json!("Membership"), &json!("DELETE"), &json!(t.owner.sub))
    );

    // The MANAGER is demoted to VIEWER: its subscription goes on, narrowed at once to what
    // a VIEWER may read (no `actor`: the audit trail is not a VIEWER's to read).
    t.owner
        .ok(CHANGE_ROLE, json!({ "i": { "organizationId": org, "subject": t.manager.sub, "role": "VIEWER" } }))
        .await;
    let later = t.owner.risk().create().await;
    assert!(ws_next(&mut viewer, Duration::from_millis(700)).await.is_none(), "no events after the removal");
    let mut seen = Vec::new();
    while let Some(m) = ws_next(&mut manager, Duration::from_millis(1000)).await {
        seen.push(m["payload"]["data"]["organizationEvents"].clone());
    }
    let kinds: Vec<(&str, &str)> =
        seen.iter().map(|e| (e["entityType"].as_str().unwrap_or("?"), e["action"].as_str().unwrap_or("?"))).collect();
    assert_eq!(kinds, [("Membership", "UPDATE"), ("Risk", "CREATE")], "{seen:#?}");
    assert_eq!(seen[1]["entityId"], json!(later));
    // (Before issue 10 the role read at subscribe time kept showing the actor.)
    assert!(seen.iter().all(|e| e["actor"].is_null()), "{seen:#?}");

    // A new subscription of the removed VIEWER on the same socket is refused too.
    let again = run(&mut viewer, "again", EVENTS, json!({ "o": org })).await;
    assert_eq!(first_code(&again), "NOT_FOUND", "{again:#}");

    // A CONTRIBUTOR removed between two mutations on the same socket. (Wave 1 already
    // built a new actor per operation; kept as a guard with the rest.)
    let mut contributor = open(app, &t.contributor.token).await;
    let created = run(&mut contributor, "1", CREATE_RISK, json!({ "i": risk_input(org, "before") })).await;
    assert!(created.get("errors").is_none(), "{created:#}");
    t.owner.ok(REMOVE_MEMBER, json!({ "i": { "organizationId": org, "subject": t.contributor.sub } })).await;
    let refused = run(&mut contributor, "2", CREATE_RISK, json!({ "i": risk_input(org, "after") })).await;
    assert_eq!(first_code(&refused), "NOT_FOUND", "{refused:#}");

    // An OWNER demoted to VIEWER mid-connection (another OWNER first: the last one stays).
    let mut owner = open(app, &t.owner.token).await;
    let before = run(&mut owner, "1", VIEWER_ROLE, json!({ "o": org })).await;
    assert_eq!(before["data"]["organization"]["viewerRole"], "OWNER", "{before:#}");
    t.admin.ok(ADD_MEMBER, json!({ "i": { "organizationId": org, "subject": "second-owner", "role": "OWNER" } })).await;
    t.admin.ok(CHANGE_ROLE, json!({ "i": { "organizationId": org, "subject": t.owner.sub, "role": "VIEWER" } })).await;
    let after = run(&mut owner, "2", VIEWER_ROLE, json!({ "o": org })).await;
    assert_eq!(after["data"]["organization"]["viewerRole"], "VIEWER", "{after:#}");
    let add = json!({ "i": { "organizationId": org, "subject": "mallory", "role": "OWNER" } });
    let refused = run(&mut owner, "3", ADD_MEMBER, add).await;
    assert_eq!(first_code(&refused), "FORBIDDEN", "{refused:#}");
    let members =
        t.admin.ok("query($o: ID!) { organization(id: $o) { members { subject } } }", json!({ "o": org })).await;
    assert!(!members.to_string().contains("mallory"), "{members}");
}

// ---------------------------------------------------------------------------------------
// 2. A socket closes when its token expires, unless the client re-authenticates.

async fn sockets_close_when_the_token_expires_unless_renewed_by_the_same_subject(app: &TestApp) {
    let t = app.tenant("acme").await;
    let org = t.id.as_str();
    // Past `exp` but within the 30 s leeway: valid for about three more seconds.
    let mut expiring = open(app, &token_expiring(&t.manager.sub, -27)).await;
    start(&mut expiring, "events", EVENTS, json!({ "o": org })).await;
    let mut renewed = open(app, &token_expiring(&t.viewer.sub, -27)).await;
    let fresh_exp = now() + 600;
    let fresh = jwt(json!({ "sub": t.viewer.sub, "aud": "annex", "exp": fresh_exp }));
    send(&mut renewed, json!({ "type": "ping", "payload": { "authorization": format!("Bearer {fresh}") } })).await;
    let pong = match frame(&mut renewed, Duration::from_secs(5)).await {
        Some(Frame::Message(m)) => m,
        other => panic!("expected a pong, got {other:?}"),
    };
    assert_eq!(pong["type"], "pong", "{pong}");
    assert_eq!(pong["payload"], json!({ "authenticated": true, "expiresAt": fresh_exp }), "{pong}");

    // Re-authentication as someone else closes the socket.
    let mut hijacked = open(app, &t.contributor.token).await;
    send(&mut hijacked, json!({ "type": "ping", "payload": { "authorization": format!("Bearer {}", t.owner.token) } }))
        .await;
    let (close, before) = until_closed(&mut hijacked, Duration::from_secs(5)).await;
    assert!(close.as_ref().is_some_and(|(code, _)| *code >= 1002), "{close:?}");
    assert!(before.iter().all(|m| m["type"] != "pong"), "no pong for another subject: {before:?}");

    // While the token is valid the subscription delivers.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let first = t.owner.risk().create().await;
    assert_eq!(event_about(&mut expiring, &first).await["action"], "CREATE");

    // Then the socket closes with 4401, and its subscription with it.
    let started = Instant::now();
    let (close, before) = until_closed(&mut expiring, Duration::from_secs(8)).await;
    let (code, reason) = close.expect("a close frame");
    assert_eq!(code, 4401, "{reason}");
    assert!(before.iter().all(|m| m["type"] != "next"), "{before:?}");
    assert!(started.elapsed() < Duration::from_secs(6), "closed after {:?}", started.elapsed());
    t.owner.risk().create().await;
    assert!(ws_next(&mut expiring, Duration::from_millis(300)).await.is_none());

    // The renewed socket outlived its first token: still open, operations still run.
    let payload = run(&mut renewed, "1", VIEWER_ROLE, json!({ "o": org })).await;
    assert_eq!(payload["data"]["organization"]["viewerRole"], "VIEWER", "{payload:#}");
}

// ---------------------------------------------------------------------------------------
// 3. An operation's cost matches its work: SQL statements are counted and capped.

async fn statements_run(app: &TestApp) -> u64 {
    let text =
        app.client.get(format!("{}/metrics", app.base)).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix("annex_db_queries_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no annex_db_queries_total in {text}"))
}

/// `organization { members { organization { members { … } } } }`, 10 levels deep (the
/// depth limit): a few bytes that fan out by the member count at every second level.
const MEMBERS_CYCLE: &str = "query($o: ID!) { organization(id: $o) { members { organization { members { organization { members { organization { members { organization { id } } } } } } } } } }";

async fn one_deep_members_query_cannot_starve_other_tenants(app: &TestApp) {
    let a = app.tenant("acme").await;
    let b = app.tenant("beta").await;
    // Before issue 10 this ran tens of thousands of statements (`cost.requested: 10`).
    let before = statements_run(app).await;
    let body = a.viewer.gql(MEMBERS_CYCLE, json!({ "o": a.id })).await;
    assert_error(&body, "QUERY_TOO_COMPLEX", None);
    let spent = statements_run(app).await - before;
    // At most the statement budget of one operation (ANNEX_MAX_STATEMENTS, 500), and the
    // metrics request itself.
    assert!(spent <= 510, "the refused query ran {spent} statements");

    // Another tenant's dashboard answers meanwhile, promptly.
    let deep = a.viewer.gql(MEMBERS_CYCLE, json!({ "o": a.id }));
    let dashboard = async {
        let started = Instant::now();
        let data = b.viewer.ok(DASHBOARD, json!({ "o": b.id })).await;
        (data, started.elapsed())
    };
    let (deep, (data, took)) = tokio::join!(deep, dashboard);
    assert_error(&deep, "QUERY_TOO_COMPLEX", None);
    assert!(data["organization"]["dashboard"]["soaCoverage"].is_array(), "{data:#}");
    assert!(took < Duration::from_secs(5), "the other tenant's dashboard took {took:?}");
}

async fn statements_are_reported_and_capped_per_operation(app: &TestApp) {
    let t = app.tenant("acme").await;
    t.owner.risk().create().await;
    let query = "query($o: ID!) { organization(id: $o) { name members { subject } risks(first: 5) { nodes { id } } dashboard { openNonconformities overdueCorrectiveActions readiness { standard percent } } } }";
    let body = t.viewer.gql(query, json!({ "o": t.id })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let cost = &body["extensions"]["cost"];
    assert!(cost["requested"].as_u64().is_some_and(|r| r > 0), "{cost}");
    let actual = cost["actual"].as_u64().unwrap_or_else(|| panic!("no cost.actual in {body:#}"));
    assert!(actual > 5, "the query ran {actual} statements");

    let tight = TestApp::start_on(app.backend, &app.database_url, &[("ANNEX_MAX_STATEMENTS", "5")]).await;
    let body = tight.gql(&t.viewer.token, query, json!({ "o": t.id })).await;
    assert_error(&body, "QUERY_TOO_COMPLEX", None);
    // A query within the budget still runs there, and says what it cost.
    let small =
        tight.gql(&t.viewer.token, "query($o: ID!) { organization(id: $o) { name } }", json!({ "o": t.id })).await;
    assert_eq!(small["data"]["organization"]["name"], "Org acme", "{small:#}");
    let actual = small["extensions"]["cost"]["actual"].as_u64().expect("cost.actual");
    assert!((1..=5).contains(&actual), "{small:#}");
    tight.stop().await;
}

// ---------------------------------------------------------------------------------------
// 4. Fragments are counted where they are spread; introspection has its own bound.

async fn aliases_in_fragments_count_every_time_they_are_spread(app: &TestApp) {
    let t = app.tenant("acme").await;
    let ten: String = (1..=10).map(|i| format!("a{i}: name ")).collect();
    let spread = |n: usize| {
        format!(
            "query($o: ID!) {{ organization(id: $o) {{ {} }} }} fragment Ten on Organization {{ {ten} }}",
            "...Ten ".repeat(n)
        )
    };
    // 3 × 10 = 30 aliases: the limit.
    let data = t.viewer.ok(&spread(3), json!({ "o": t.id })).await;
    assert_eq!(data["organization"]["a10"], "Org acme");
    // 4 × 10 = 40: refused (before issue 10 they counted as 10).
    assert_error(&t.viewer.gql(&spread(4), json!({ "o": t.id })).await, "QUERY_TOO_COMPLEX", None);
    // Through a fragment of fragments: 2 × 2 × 10 = 40.
    let nested = format!(
        "query($o: ID!) {{ organization(id: $o) {{ ...Twice ...Twice }} }} fragment Twice on Organization {{ ...Ten ...Ten }} fragment Ten on Organization {{ {ten} }}"
    );
    assert_error(&t.viewer.gql(&nested, json!({ "o": t.id })).await, "QUERY_TOO_COMPLEX", None);
}

/// `...F{levels}`, each `F{i}` spreading `F{i-1}` twice: 2^levels fields in a few KB.
fn fragment_bomb(levels: usize) -> String {
    let mut doc =
        format!("query($o: ID!) {{ organization(id: $o) {{ ...F{levels} }} }} fragment F0 on Organization {{ name }} ");
    for i in 1..=levels {
        doc.push_str(&format!("fragment F{i} on Organization {{ ...F{p} ...F{p} }} ", p = i - 1));
    }
    doc
}

async fn nested_fragments_are_refused_before_anything_expands_them(app: &TestApp) {
    let t = app.tenant("acme").await;
    // Found while writing these tests: async-graphql's recursion-depth check and its
    // complexity validation follow every spread, so 2^24 fields kept a CPU busy for many
    // seconds before any limit looked (2^40: hours). Now the document is measured first,
    // linearly.
    let started = Instant::now();
    let body = t.viewer.gql(&fragment_bomb(24), json!({ "o": t.id })).await;
    assert_error(&body, "QUERY_TOO_COMPLEX", None);
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    // 64 levels (2^64 fields: counts saturate instead of wrapping to nothing).
    assert_error(&t.viewer.gql(&fragment_bomb(64), json!({ "o": t.id })).await, "QUERY_TOO_COMPLEX", None);
    // A few levels stay a normal query.
    let data = t.viewer.ok(&fragment_bomb(3), json!({ "o": t.id })).await;
    assert_eq!(data["organization"]["name"], "Org acme");
}

/// graphql-js 16.11 `getIntrospectionQuery({ descriptions, specifiedByUrl,
/// directiveIsRepeatable, schemaDescription, inputValueDeprecation })`, verbatim.
const GRAPHQL_JS_INTROSPECTION: &str = r#"
    query IntrospectionQuery {
      __schema {
        description
        queryType { name kind }
        mutationType { name kind }
        subscriptionType { name kind }
        types {
          ...FullType
        }
        directives {
          name
          description
          isRepeatable
          locations
          args(includeDeprecated: true) {
            ...InputValue
          }
        }
      }
    }

    fragment FullType on __Type {
      kind
      name
      description
      specifiedByURL
      
      fields(includeDeprecated: true) {
        name
        description
        args(includeDeprecated: true) {
          ...InputValue
        }
        type {
          ...TypeRef
        }
        isDeprecated
        deprecationReason
      }
      inputFields(includeDeprecated: true) {
        ...InputValue
      }
      interfaces {
        ...TypeRef
      }
      enumValues(includeDeprecated: true) {
        name
        description
        isDeprecated
        deprecationReason
      }
      possibleTypes {
        ...TypeRef
      }
    }

    fragment InputValue on __InputValue {
      name
      description
      type { ...TypeRef }
      defaultValue
      isDeprecated
      deprecationReason
    }

    fragment TypeRef on __Type {
      kind
      name
      ofType {
        kind
        name
        ofType {
          kind
          name
          ofType {
            kind
            name
            ofType {
              kind
              name
              ofType {
                kind
                name
                ofType {
                  kind
                  name
                  ofType {
                    kind
                    name
                    ofType {
                      kind
                      name
                      ofType {
                        kind
                        name
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  "#;

/// graphql-core 3.2 `get_introspection_query(descriptions=True, specified_by_url=True,
/// directive_is_repeatable=True, schema_description=True, input_value_deprecation=True)`,
/// verbatim.
const GRAPHQL_CORE_INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    description
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types {
      ...FullType
    }
    directives {
      name
      description
      isRepeatable
      locations
      args(includeDeprecated: true) {
        ...InputValue
      }
    }
  }
}

fragment FullType on __Type {
  kind
  name
  description
  specifiedByURL

  fields(includeDeprecated: true) {
    name
    description
    args(includeDeprecated: true) {
      ...InputValue
    }
    type {
      ...TypeRef
    }
    isDeprecated
    deprecationReason
  }
  inputFields(includeDeprecated: true) {
    ...InputValue
  }
  interfaces {
    ...TypeRef
  }
  enumValues(includeDeprecated: true) {
    name
    description
    isDeprecated
    deprecationReason
  }
  possibleTypes {
    ...TypeRef
  }
}

fragment InputValue on __InputValue {
  name
  description
  type { ...TypeRef }
  defaultValue
  isDeprecated
  deprecationReason
}

fragment TypeRef on __Type {
  kind
  name
  ofType {
    kind
    name
    ofType {
      kind
      name
      ofType {
        kind
        name
        ofType {
          kind
          name
          ofType {
            kind
            name
            ofType {
              kind
              name
              ofType {
                kind
                name
                ofType {
                  kind
                  name
                  ofType {
                    kind
                    name
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}
"#;

async fn standard_introspection_queries_pass_the_default_limits(app: &TestApp) {
    let token = app.token("tooling");
    for (tool, query) in [("graphql-js", GRAPHQL_JS_INTROSPECTION), ("graphql-core", GRAPHQL_CORE_INTROSPECTION)] {
        let body = app.gql(&token, query, json!({})).await;
        assert!(body.get("errors").is_none(), "{tool}: {:#}", body["errors"]);
        let types = body["data"]["__schema"]["types"].as_array().map_or(0, Vec::len);
        assert!(types > 50, "{tool}: {types} types");
        assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query", "{tool}");
    }
    // Introspection has a bound of its own: 25 nested `ofType` are refused.
    let deep = format!("{{ __type(name: \"Query\") {{ {} name {} }} }}", "ofType { ".repeat(25), "}".repeat(25));
    assert_error(&app.gql(&token, &deep, json!({})).await, "QUERY_TOO_COMPLEX", None);
}

// ---------------------------------------------------------------------------------------
// 5. The WebSocket meets the limits of HTTP.

async fn websocket_operations_share_the_http_limits(app: &TestApp) {
    let t = app.tenant("acme").await;
    let limited = TestApp::start_on(
        app.backend,
        &app.database_url,
        &[
            ("ANNEX_RATE_LIMIT_PER_MINUTE", "6"),
            ("ANNEX_WS_MAX_OPERATIONS", "2"),
            ("ANNEX_MAX_BODY_BYTES", "16384"),
            ("ANNEX_WS_INIT_TIMEOUT_SECS", "1"),
        ],
    )
    .await;
    // A socket that never sends connection_init (checked at the end).
    let url = limited.base.replace("http://", "ws://") + "/graphql/ws";
    let mut req = url.into_client_request().expect("request");
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
    let (mut silent, _) = tokio_tungstenite::connect_async(req).await.expect("connect");
    let silent_since = Instant::now();

    // One allowance per subject for HTTP and WebSocket together: 3 + 3 of 6, then refused
    // on either transport (before issue 10 the socket had no limit at all).
    let token = limited.token("busy-bee");
    let post = || {
        limited
            .client
            .post(format!("{}/graphql", limited.base))
            .bearer_auth(&token)
            .json(&json!({ "query": VIEWER }))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(post().await.expect("post").status().as_u16(), 200);
    }
    let mut ws = open(&limited, &token).await;
    for id in ["1", "2", "3"] {
        let payload = run(&mut ws, id, VIEWER, json!({})).await;
        assert_eq!(payload["data"]["viewer"]["subject"], "busy-bee", "{payload:#}");
    }
    let refused = run(&mut ws, "4", VIEWER, json!({})).await;
    assert_eq!(first_code(&refused), "RATE_LIMITED", "{refused:#}");
    let resp = post().await.expect("post");
    assert_eq!(resp.status().as_u16(), 429);
    assert!(resp.headers().get("retry-after").is_some(), "{:?}", resp.headers());
    let body: Value = resp.json().await.expect("json");
    assert_error(&body, "RATE_LIMITED", None);

    // At most 2 operations at once on one socket: two live subscriptions hold both.
    let mut busy = open(&limited, &t.manager.token).await;
    start(&mut busy, "s1", EVENTS, json!({ "o": t.id })).await;
    start(&mut busy, "s2", EVENTS, json!({ "o": t.id })).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let third = run(&mut busy, "q1", VIEWER_ROLE, json!({ "o": t.id })).await;
    assert_eq!(first_code(&third), "RATE_LIMITED", "{third:#}");
    send(&mut busy, json!({ "id": "s1", "type": "complete" })).await;
    let done = ws_next(&mut busy, Duration::from_secs(5)).await.expect("complete");
    assert_eq!((done["type"].as_str(), done["id"].as_str()), (Some("complete"), Some("s1")), "{done}");
    let freed = run(&mut busy, "q2", VIEWER_ROLE, json!({ "o": t.id })).await;
    assert_eq!(freed["data"]["organization"]["viewerRole"], "MANAGER", "{freed:#}");

    // A message over the body limit closes the socket unprocessed (the query is valid:
    // before issue 10 it was answered).
    let mut big = open(&limited, &limited.token("big")).await;
    let padded = format!("{VIEWER}\n# {}", "x".repeat(20_000));
    start(&mut big, "big", &padded, json!({})).await;
    let (_, before) = until_closed(&mut big, Duration::from_secs(5)).await;
    assert!(before.is_empty(), "{before:?}");

    // The silent socket was closed with 4408 after the (1 s) init timeout.
    let (close, before) = until_closed(&mut silent, Duration::from_secs(5)).await;
    assert_eq!(close.as_ref().map(|c| c.0), Some(4408), "{close:?} {before:?}");
    assert!(silent_since.elapsed() >= Duration::from_millis(900));
    limited.stop().await;

    // The alias limit holds on the socket too (default 30). (Wave 1 already checked it
    // there; a guard.)
    let mut ws = open(app, &t.viewer.token).await;
    let aliases: String = (1..=31).map(|i| format!("a{i}: name ")).collect();
    let q = format!("query($o: ID!) {{ organization(id: $o) {{ {aliases} }} }}");
    let refused = run(&mut ws, "aliases", &q, json!({ "o": t.id })).await;
    assert_eq!(first_code(&refused), "QUERY_TOO_COMPLEX", "{refused:#}");
}

/// Starts `query` on the socket while a transaction of the test's own holds `risks` locked
/// (PostgreSQL); its answer, and how long it took.
async fn held_up(app: &TestApp, ws: &mut Ws, query: &str, variables: Value) -> (Value, Duration) {
    use sqlx::Connection;
    let mut lock = sqlx::PgConnection::connect(&app.database_url).await.expect("postgres");
    sqlx::query("BEGIN").execute(&mut lock).await.expect("begin");
    sqlx::query("LOCK TABLE risks IN ACCESS EXCLUSIVE MODE").execute(&mut lock).await.expect("lock");
    let started = Instant::now();
    start(ws, "held", query, variables).await;
    let answer = ws_next(ws, Duration::from_secs(6)).await;
    let took = started.elapsed();
    sqlx::query("ROLLBACK").execute(&mut lock).await.expect("unlock");
    let _ = lock.close().await;
    let answer = answer.expect("an answer while the lock is held (before issue 10: only once it was released)");
    if answer["type"] == "next" {
        let done = ws_next(ws, Duration::from_secs(5)).await.expect("complete");
        assert_eq!(done["type"], "complete", "{done}");
    }
    (payload_of(&answer, "held"), took)
}

async fn websocket_operations_time_out_like_http_requests(app: &TestApp) {
    let t = app.tenant("acme").await;
    if app.backend == Backend::Postgres {
        // A mutation and a query held up by a lock are cut at the timeout (1 s), not when
        // the lock goes (the database's own statement timeout is 10 s). (SQLite refuses a
        // write under a foreign lock at once, and never holds up a reader.)
        let hasty = TestApp::start_on(app.backend, &app.database_url, &[("ANNEX_REQUEST_TIMEOUT_SECS", "1")]).await;
        let mut ws = open(&hasty, &t.owner.token).await;
        let risks_before = app.count("risks").await;
        let (payload, took) = held_up(app, &mut ws, CREATE_RISK, json!({ "i": risk_input(&t.id, "held up") })).await;
        assert_eq!(first_code(&payload), "SERVICE_UNAVAILABLE", "{payload:#}");
        assert!(took < Duration::from_secs(4), "answered after {took:?}");
        let q = "query($o: ID!) { organization(id: $o) { risks { totalCount } } }";
        let (payload, took) = held_up(app, &mut ws, q, json!({ "o": t.id })).await;
        assert_eq!(first_code(&payload), "SERVICE_UNAVAILABLE", "{payload:#}");
        assert!(took < Duration::from_secs(4), "answered after {took:?}");
        // Nothing of the cut mutation stayed, and the socket goes on working.
        let created = run(&mut ws, "after", CREATE_RISK, json!({ "i": risk_input(&t.id, "after") })).await;
        assert!(created.get("errors").is_none(), "{created:#}");
        assert_eq!(app.count("risks").await, risks_before + 1);
        hasty.stop().await;
    }

    // With a timeout of 0 a query of many statements runs out of time. (The timer's
    // resolution is a millisecond, which an operation may now and then beat: one time-out
    // in five tries is asked for; before issue 10 a socket had no timeout at all.)
    let hasty = TestApp::start_on(app.backend, &app.database_url, &[("ANNEX_REQUEST_TIMEOUT_SECS", "0")]).await;
    let mut ws = open(&hasty, &t.owner.token).await;
    let heavy = "query($o: ID!) { organization(id: $o) { members { subject } soa { ref } controls(first: 100) { nodes { id ref } } dashboard { openNonconformities readiness { percent } soaCoverage { standard percentImplemented } } } }";
    let mut answers = Vec::new();
    for attempt in 0..5 {
        let payload = run(&mut ws, &attempt.to_string(), heavy, json!({ "o": t.id })).await;
        let timed_out = payload.get("errors").is_some();
        if timed_out {
            assert_eq!(first_code(&payload), "SERVICE_UNAVAILABLE", "{payload:#}");
        }
        answers.push(timed_out);
        if timed_out {
            break;
        }
    }
    assert!(answers.contains(&true), "never timed out: {answers:?}");
    hasty.stop().await;
}

// ---------------------------------------------------------------------------------------
// 8. GraphQL over HTTP: request errors are 400 for application/graphql-response+json.

async fn post_accepting(app: &TestApp, accept: &str, body: Value) -> (u16, Option<String>, Value) {
    let resp = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(app.token("alice"))
        .header("content-type", "application/json")
        .header("accept", accept)
        .json(&body)
        .send()
        .await
        .expect("post");
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
    (status, ct, resp.json().await.expect("json"))
}

async fn request_errors_are_400_without_data_for_graphql_response_json(app: &TestApp) {
    let requests = [
        ("parse", json!({ "query": "{ viewer { subject " })),
        ("validation", json!({ "query": "{ viewer { nothingHere } }" })),
        (
            "variable coercion",
            json!({ "query": "query($n: Int) { organizations(first: $n) { totalCount } }", "variables": { "n": "many" } }),
        ),
    ];
    for (what, body) in &requests {
        let (status, ct, answer) = post_accepting(app, GRAPHQL_RESPONSE, body.clone()).await;
        assert_eq!(status, 400, "{what}: {answer:#}");
        assert_eq!(ct.as_deref(), Some(GRAPHQL_RESPONSE), "{what}");
        assert!(answer.get("data").is_none(), "{what}: no data key: {answer:#}");
        assert!(answer["errors"].as_array().is_some_and(|e| !e.is_empty()), "{what}: {answer:#}");
        // application/json keeps the legacy 200.
        let (status, _, answer) = post_accepting(app, "application/json", body.clone()).await;
        assert_eq!(status, 200, "{what}: {answer:#}");
        assert!(answer["errors"].as_array().is_some_and(|e| !e.is_empty()), "{what}: {answer:#}");
    }

    // A field error is no request error: 200, with `data`.
    let a = app.tenant("acme").await;
    let b = app.tenant("beta").await;
    let theirs = b.owner.risk().create().await;
    let update = json!({ "query": UPDATE_RISK, "variables": { "i": { "id": theirs, "title": "mine now" } } });
    let resp = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&a.owner.token)
        .header("content-type", "application/json")
        .header("accept", GRAPHQL_RESPONSE)
        .json(&update)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 200);
    let answer: Value = resp.json().await.expect("json");
    assert!(answer.get("data").is_some(), "{answer:#}");
    assert_error(&answer, "NOT_FOUND", None);
    let partial = json!({ "query": "{ viewer { subject } organization(id: \"nonsense\") { id } }" });
    let (status, _, answer) = post_accepting(app, GRAPHQL_RESPONSE, partial).await;
    assert_eq!(status, 200, "{answer:#}");
    assert_eq!(answer["data"]["viewer"]["subject"], "alice", "{answer:#}");

    // A GET query needs a non-empty x-annex-csrf header (a custom header forces a CORS
    // preflight, so a cross-site GET cannot run it).
    for (csrf, expected) in [("", 400), ("  ", 400), ("1", 200)] {
        let resp = app
            .client
            .get(format!("{}/graphql", app.base))
            .bearer_auth(app.token("alice"))
            .header("x-annex-csrf", csrf)
            .query(&[("query", VIEWER)])
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status().as_u16(), expected, "x-annex-csrf: {csrf:?}");
    }
}

// ---------------------------------------------------------------------------------------
// 9. CORS from the allow-list only.

async fn cors_answers_allowed_origins_only(app: &TestApp) {
    let served =
        TestApp::start_on(app.backend, &app.database_url, &[("ANNEX_CORS_ORIGINS", "https://dash.example")]).await;
    let url = format!("{}/graphql", served.base);
    let preflight = |origin: &'static str| {
        served
            .client
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type,x-annex-csrf")
            .send()
    };
    let header = |r: &reqwest::Response, name: &str| -> Option<String> {
        let values: Vec<&str> = r.headers().get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        (!values.is_empty()).then(|| values.join(",").to_ascii_lowercase())
    };

    let resp = preflight("https://dash.example").await.expect("preflight");
    assert!(resp.status().is_success(), "{}", resp.status());
    assert_eq!(header(&resp, "access-control-allow-origin").as_deref(), Some("https://dash.example"));
    let methods = header(&resp, "access-control-allow-methods").unwrap_or_default();
    for m in ["get", "post", "options"] {
        assert!(methods.contains(m), "{methods}");
    }
    let headers = header(&resp, "access-control-allow-headers").unwrap_or_default();
    for h in ["authorization", "content-type", "accept", "x-annex-csrf", "x-request-id"] {
        assert!(headers.contains(h), "{h} in {headers}");
    }
    assert!(header(&resp, "vary").is_some_and(|v| v.contains("origin")), "{:?}", resp.headers());
    assert_eq!(header(&resp, "access-control-allow-credentials"), None);

    let resp = preflight("https://evil.example").await.expect("preflight");
    assert_eq!(header(&resp, "access-control-allow-origin"), None, "{:?}", resp.headers());

    let post = |origin: &'static str| {
        served
            .client
            .post(&url)
            .header("origin", origin)
            .bearer_auth(served.token("alice"))
            .json(&json!({ "query": VIEWER }))
            .send()
    };
    let resp = post("https://dash.example").await.expect("post");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(header(&resp, "access-control-allow-origin").as_deref(), Some("https://dash.example"));
    assert!(header(&resp, "vary").is_some_and(|v| v.contains("origin")), "{:?}", resp.headers());
    assert_eq!(header(&resp, "access-control-allow-credentials"), None);
    let resp = post("https://evil.example").await.expect("post");
    assert_eq!(header(&resp, "access-control-allow-origin"), None, "{:?}", resp.headers());
    served.stop().await;
}

crate::api_tests!(
    removed_and_demoted_members_lose_their_rights_on_an_open_socket,
    sockets_close_when_the_token_expires_unless_renewed_by_the_same_subject,
    one_deep_members_query_cannot_starve_other_tenants,
    statements_are_reported_and_capped_per_operation,
    aliases_in_fragments_count_every_time_they_are_spread,
    nested_fragments_are_refused_before_anything_expands_them,
    standard_introspection_queries_pass_the_default_limits,
    websocket_operations_share_the_http_limits,
    websocket_operations_time_out_like_http_requests,
    request_errors_are_400_without_data_for_graphql_response_json,
    cors_answers_allowed_origins_only,
);

// ---------------------------------------------------------------------------------------
// 7. Safe defaults of the binary (SQLite: the start-up path is the same for both).

/// `annex` (serve) in a fresh directory with `env`; its output lines as they come.
struct Served {
    child: std::process::Child,
    port: u16,
    output: Arc<Mutex<Vec<String>>>,
}

fn serve(env: &[(&str, &str)]) -> Served {
    let dir = std::env::temp_dir().join(format!("annex-edge-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_annex"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ANNEX_LISTEN", format!("127.0.0.1:{port}"))
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn annex");
    let output = Arc::new(Mutex::new(Vec::new()));
    let out: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().expect("stdout"));
    let err: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().expect("stderr"));
    for pipe in [out, err] {
        let output = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                output.lock().expect("lock").push(line);
            }
        });
    }
    Served { child, port, output }
}

impl Served {
    async fn ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{}/readyz", self.port)).await
                && r.status().is_success()
            {
                return;
            }
            assert!(Instant::now() < deadline, "annex never got ready: {:?}", self.output.lock().expect("lock"));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// GET /graphql without a query: GraphiQL in development, 400 in production.
    async fn graphiql_status(&self) -> u16 {
        let url = format!("http://127.0.0.1:{}/graphql", self.port);
        reqwest::get(url).await.expect("get").status().as_u16()
    }

    /// Stops it (SIGTERM) and returns everything it printed.
    fn stop(mut self) -> String {
        let status = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().expect("wait").is_none() {
            assert!(Instant::now() < deadline, "annex did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(100));
        self.output.lock().expect("lock").join("\n")
    }
}

#[tokio::test]
async fn serve_with_a_configured_secret_prints_no_token_and_defaults_to_production() {
    annex::init_crypto();
    // Development asked for, with a real secret: development, but no ready admin token
    // signed with that secret in the log (before issue 10 there was one).
    let development = serve(&[("ANNEX_JWT_SECRET", SECRET), ("ANNEX_MODE", "development")]);
    // The real secret and no mode: production (before issue 10: development).
    let unspecified = serve(&[("ANNEX_JWT_SECRET", SECRET)]);
    development.ready().await;
    unspecified.ready().await;
    assert_eq!(development.graphiql_status().await, 200, "GraphiQL in development");
    assert_eq!(unspecified.graphiql_status().await, 400, "no GraphiQL: production");
    for (name, served) in [("development", development), ("unspecified", unspecified)] {
        let printed = served.stop();
        assert!(!printed.contains("Bearer ") && !printed.contains("eyJ"), "{name} printed a token:\n{printed}");
    }
}
