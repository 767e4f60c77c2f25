//! Edges of the service (issue 9, findings 5-8): request ids the service makes per
//! operation, bounded input that never ends in INTERNAL, retryable database failures as
//! SERVICE_UNAVAILABLE, spreadsheet-safe CSV, and unique keys recognised by name.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::soa::control_id;
use crate::support::{Backend, TestApp, assert_error, jwt, now};

const CREATE_RISK: &str = "mutation($i: CreateRiskInput!) { createRisk(input: $i) { risk { id } } }";
const REQUEST_IDS: &str = "query($o: ID!) { organization(id: $o) { changes(first: 50, filter: {entityType: \"Risk\"}) { nodes { requestId } } } }";

fn risk(org: &str, title: &str) -> Value {
    json!({ "organizationId": org, "title": title, "category": "CONFIDENTIALITY", "likelihood": 2, "impact": 3 })
}

/// The trail's request ids of the organization's risk changes.
async fn risk_request_ids(app: &TestApp, token: &str, org: &str) -> Vec<String> {
    let data = app.ok(token, REQUEST_IDS, json!({ "o": org })).await;
    data["organization"]["changes"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["requestId"].as_str().expect("requestId").to_string())
        .collect()
}

fn assert_all_distinct(ids: &[String], client_chosen: &str) {
    for (i, id) in ids.iter().enumerate() {
        assert_ne!(id, client_chosen, "the client chose {id}");
        assert!(uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 7), "not a UUIDv7: {id}");
        assert!(ids[i + 1..].iter().all(|o| o != id), "shared id {id} in {ids:?}");
    }
}

async fn request_ids_are_made_by_the_service(app: &TestApp) {
    let org = app.org("acme", &[("o", "OWNER")]).await;
    let token = app.token("o");
    let post = |body: Value| {
        app.client
            .post(format!("{}/graphql", app.base))
            .bearer_auth(&token)
            .header("x-request-id", "same-id-1")
            .json(&body)
            .send()
    };
    let mut headers = Vec::new();
    for title in ["first", "second"] {
        let resp = post(json!({ "query": CREATE_RISK, "variables": { "i": risk(&org, title) } })).await.expect("post");
        assert_eq!(resp.status().as_u16(), 200);
        headers.push(resp.headers()["x-request-id"].to_str().expect("id").to_string());
        let body: Value = resp.json().await.expect("json");
        assert!(body.get("errors").is_none(), "{body:#}");
    }
    // A batch: each operation its own id.
    let resp = post(json!([
        { "query": CREATE_RISK, "variables": { "i": risk(&org, "third") } },
        { "query": CREATE_RISK, "variables": { "i": risk(&org, "fourth") } },
    ]))
    .await
    .expect("batch");
    let batch_header = resp.headers()["x-request-id"].to_str().expect("id").to_string();
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body.as_array().map(Vec::len), Some(2), "{body:#}");

    let ids = risk_request_ids(app, &token, &org).await;
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert_all_distinct(&ids, "same-id-1");
    // One operation per request: the trail id is the request's, as the response header says.
    assert_eq!(ids[3], headers[0]);
    assert_eq!(ids[2], headers[1]);
    assert!(!ids.contains(&batch_header), "batched operations get ids of their own");

    // The client's id is kept beside the service's, never instead of it.
    let resp = post(json!({ "query": CREATE_RISK, "variables": { "i": risk(&org, "") } })).await.expect("post");
    let header = resp.headers()["x-request-id"].to_str().expect("id").to_string();
    let body: Value = resp.json().await.expect("json");
    assert_error(&body, "BAD_USER_INPUT", Some("title"));
    assert_eq!(body["errors"][0]["extensions"]["requestId"], json!(header));
    assert_eq!(body["errors"][0]["extensions"]["clientRequestId"], "same-id-1");
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_connect(app: &TestApp, token: &str, client_id: &str) -> Ws {
    let url = app.base.replace("http://", "ws://") + "/graphql/ws";
    let mut req = url.into_client_request().expect("request");
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
    req.headers_mut().insert("x-request-id", client_id.parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("connect");
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    ws.send(Message::text(init.to_string())).await.expect("init");
    let ack = ws_next(&mut ws).await.expect("ack");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws
}

async fn ws_next(ws: &mut Ws) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.ok()??.ok()?;
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).ok()?;
            if v["type"] != "ping" && v["type"] != "pong" {
                return Some(v);
            }
        }
    }
}

/// Runs one operation on the socket; its `payload` (data and errors).
async fn ws_run(ws: &mut Ws, id: &str, query: &str, variables: Value) -> Value {
    let msg = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } });
    ws.send(Message::text(msg.to_string())).await.expect("send");
    let answer = ws_next(ws).await.expect("answer");
    assert_eq!(answer["id"], id, "{answer}");
    if answer["type"] == "error" {
        return json!({ "data": null, "errors": answer["payload"] });
    }
    assert_eq!(answer["type"], "next", "{answer}");
    let done = ws_next(ws).await.expect("complete");
    assert_eq!(done["type"], "complete", "{done}");
    answer["payload"].clone()
}

async fn websocket_operations_get_their_own_ids_and_actor(app: &TestApp) {
    let org = app.org("acme", &[("o", "OWNER"), ("m", "MANAGER")]).await;
    let mut ws = ws_connect(app, &app.token("m"), "ws-client-1").await;
    for (id, title) in [("1", "over the socket"), ("2", "over the socket again")] {
        let payload = ws_run(&mut ws, id, CREATE_RISK, json!({ "i": risk(&org, title) })).await;
        assert!(payload.get("errors").is_none(), "{payload:#}");
    }
    let ids = risk_request_ids(app, &app.token("o"), &org).await;
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_all_distinct(&ids, "ws-client-1");

    // Errors on the socket carry the operation's id and the client's.
    let payload = ws_run(&mut ws, "3", CREATE_RISK, json!({ "i": risk(&org, " ") })).await;
    assert_eq!(payload["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{payload:#}");
    let error_id = payload["errors"][0]["extensions"]["requestId"].as_str().expect("requestId").to_string();
    assert!(!ids.contains(&error_id));
    assert_eq!(payload["errors"][0]["extensions"]["clientRequestId"], "ws-client-1");

    // No roles cached across operations: a member removed between two operations on the
    // same socket is refused at once.
    app.ok(
        &app.token("o"),
        "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { deletedId } }",
        json!({ "i": { "organizationId": org, "subject": "m" } }),
    )
    .await;
    let payload = ws_run(&mut ws, "4", CREATE_RISK, json!({ "i": risk(&org, "after removal") })).await;
    assert_eq!(payload["errors"][0]["extensions"]["code"], "NOT_FOUND", "{payload:#}");
    assert_eq!(risk_request_ids(app, &app.token("o"), &org).await.len(), 2);
}

async fn out_of_bounds_input_is_bad_user_input(app: &TestApp) {
    let org = app.org("acme", &[("o", "OWNER")]).await;
    let token = app.token("o");
    let ncrs = "query($o: ID!, $f: NonconformityFilter) { organization(id: $o) { nonconformities(filter: $f) { totalCount } } }";
    let many = vec!["OPEN"; 100_000];
    let body = app.gql(&token, ncrs, json!({ "o": org, "f": { "status": many } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("filter.status"));
    // Inline, too.
    let inline = format!(
        "{{ organization(id: \"{org}\") {{ nonconformities(filter: {{status: [{}]}}) {{ totalCount }} }} }}",
        vec!["OPEN"; 501].join(",")
    );
    assert_error(&app.gql(&token, &inline, json!({})).await, "BAD_USER_INPUT", Some("filter.status"));
    // At the bound, fine.
    let data = app.ok(&token, ncrs, json!({ "o": org, "f": { "status": vec!["OPEN"; 500] } })).await;
    assert_eq!(data["organization"]["nonconformities"]["totalCount"], 0);

    // NUL cannot be stored (PostgreSQL text refuses it); nothing is written.
    let add = "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }";
    let body =
        app.gql(&token, add, json!({ "i": { "organizationId": org, "subject": "eve\u{0}", "role": "VIEWER" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("subject"));
    let body = app.gql(&token, CREATE_RISK, json!({ "i": risk(&org, "a\u{0}b") })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("title"));
    let long = "x".repeat(20_001);
    let body = app.gql(&token, CREATE_RISK, json!({ "i": { "organizationId": org, "title": "t", "description": long, "category": "CONFIDENTIALITY", "likelihood": 2, "impact": 3 } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("description"));
    assert!(risk_request_ids(app, &token, &org).await.is_empty());
}

async fn unusable_token_subjects_are_unauthenticated(app: &TestApp) {
    for sub in ["eve\u{0}", "tab\tsub", "", &"s".repeat(201)] {
        let token = jwt(json!({ "sub": sub, "aud": "annex", "exp": now() + 600 }));
        let resp = app
            .client
            .post(format!("{}/graphql", app.base))
            .bearer_auth(&token)
            .json(&json!({ "query": "{ viewer { subject } }" }))
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status().as_u16(), 401, "{sub:?}");
        let body: Value = resp.json().await.expect("json");
        assert_error(&body, "UNAUTHENTICATED", None);
    }
}

/// A cursor of `query`'s first page with its key replaced by `key`.
async fn forged_cursor(app: &TestApp, token: &str, query: &str, vars: Value, path: &[&str], key: Value) -> String {
    let data = app.ok(token, query, vars).await;
    let mut page = &data;
    for p in path {
        page = &page[*p];
    }
    let cursor = page["pageInfo"]["endCursor"].as_str().expect("a cursor");
    let mut decoded: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(cursor).expect("base64")).expect("json");
    decoded["k"] = key;
    URL_SAFE_NO_PAD.encode(decoded.to_string())
}

async fn hand_made_cursors_are_bad_user_input(app: &TestApp) {
    let org = app.org("acme", &[("o", "OWNER")]).await;
    let token = app.token("o");
    for title in ["a", "b", "c"] {
        app.ok(&token, CREATE_RISK, json!({ "i": risk(&org, title) })).await;
    }
    let q = "query($o: ID!, $order: RiskOrder, $after: String) { organization(id: $o) { risks(orderBy: $order, first: 1, after: $after) { nodes { id } pageInfo { endCursor } } } }";
    let path = ["organization", "risks"];
    for (order, key) in [
        (json!({ "field": "SCORE" }), json!({ "t": "Text", "v": "six" })),
        (json!({ "field": "SCORE" }), json!({ "t": "Null" })),
        (json!({ "field": "TITLE" }), json!({ "t": "Int", "v": 3 })),
        (json!({ "field": "TITLE" }), json!({ "t": "Text", "v": "a\u{0}" })),
        (json!({ "field": "CREATED_AT" }), json!({ "t": "Date", "v": "2026-01-01" })),
        (json!({ "field": "REVIEW_DATE" }), json!({ "t": "Date", "v": "+200000-01-01" })),
        (json!({ "field": "REVIEW_DATE" }), json!({ "t": "Bool", "v": true })),
    ] {
        let cursor = forged_cursor(app, &token, q, json!({ "o": org, "order": order }), &path, key).await;
        let body = app.gql(&token, q, json!({ "o": org, "order": order, "after": cursor })).await;
        assert_error(&body, "BAD_USER_INPUT", Some("after"));
    }
    // A genuine cursor still pages.
    let vars = json!({ "o": org, "order": { "field": "TITLE" } });
    let data = app.ok(&token, q, vars).await;
    let cursor = data["organization"]["risks"]["pageInfo"]["endCursor"].clone();
    let data = app.ok(&token, q, json!({ "o": org, "order": { "field": "TITLE" }, "after": cursor })).await;
    assert_eq!(data["organization"]["risks"]["nodes"].as_array().map(Vec::len), Some(1));
}

/// PostgreSQL: writers keep creating risks while every other backend of the test database
/// is terminated again and again. Every refusal is SERVICE_UNAVAILABLE (HTTP 503,
/// `Retry-After`), never INTERNAL, and the service recovers by itself.
async fn postgres_only_database_restart_is_service_unavailable(app: &TestApp) {
    if app.backend != Backend::Postgres {
        return;
    }
    let org = app.org("acme", &[("m", "MANAGER")]).await;
    let token = Arc::new(app.token("m"));
    let stop = Arc::new(AtomicBool::new(false));
    let killer = {
        let url = app.database_url.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            use sqlx::Connection;
            let mut terminated = 0_i64;
            while !stop.load(Ordering::Relaxed) {
                // A fresh admin connection each round (another test run may end ours too).
                if let Ok(mut admin) = sqlx::PgConnection::connect(&url).await {
                    let rows: Result<Vec<(Option<bool>,)>, _> = sqlx::query_as(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
                    )
                    .fetch_all(&mut admin)
                    .await;
                    terminated += rows.map_or(0, |r| r.len() as i64);
                    let _ = admin.close().await;
                }
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
            terminated
        })
    };
    let started = Instant::now();
    let refusals = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (client, base, org, token, stop, refusals) =
            (app.client.clone(), app.base.clone(), org.clone(), token.clone(), stop.clone(), refusals.clone());
        writers.push(tokio::spawn(async move {
            let (mut ok, mut refused) = (0, Vec::new());
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let resp = client
                    .post(format!("{base}/graphql"))
                    .bearer_auth(token.as_str())
                    .json(&json!({ "query": CREATE_RISK, "variables": { "i": risk(&org, &format!("w{w}-{n}")) } }))
                    .send()
                    .await
                    .expect("post");
                let status = resp.status().as_u16();
                let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
                let body: Value = resp.json().await.expect("json");
                match body.get("errors") {
                    None => ok += 1,
                    Some(errors) => {
                        refusals.fetch_add(1, Ordering::Relaxed);
                        refused.push((status, retry_after, errors.clone()));
                    }
                }
            }
            (ok, refused)
        }));
    }
    // Run until a few writes were refused (at least 3 s), 30 s at most.
    while started.elapsed() < Duration::from_secs(3)
        || (refusals.load(Ordering::Relaxed) < 3 && started.elapsed() < Duration::from_secs(30))
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (mut ok_total, mut refused_total, mut all_refused) = (0, 0, Vec::new());
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let (ok, refused) = w.await.expect("writer");
        ok_total += ok;
        refused_total += refused.len();
        all_refused.extend(refused);
    }
    let terminated = killer.await.expect("killer");
    assert!(terminated > 0, "nothing was terminated");
    for (status, retry_after, errors) in &all_refused {
        for e in errors.as_array().expect("errors") {
            assert_eq!(e["extensions"]["code"], "SERVICE_UNAVAILABLE", "{errors:#}");
        }
        assert_eq!(*status, 503, "{errors:#}");
        assert_eq!(retry_after.as_deref(), Some("1"));
    }
    eprintln!("{ok_total} writes acknowledged, {refused_total} refused, {terminated} backends terminated");
    assert!(refused_total > 0, "no write was refused: the test did not disturb anything");
    // Recovery: a later request succeeds without any restart of the service.
    let mut recovered = false;
    for _ in 0..20 {
        let body = app.gql(&token, CREATE_RISK, json!({ "i": risk(&org, "after the storm") })).await;
        if body.get("errors").is_none() {
            recovered = true;
            break;
        }
        assert_eq!(body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body:#}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(recovered, "the service did not recover");
}

/// SQLite has no server to restart: this variant checks only the recovery side, with the
/// database file locked by another process longer than the busy timeout (writes refused
/// as SERVICE_UNAVAILABLE, 503), then released (writes succeed again).
async fn sqlite_only_recovery_after_a_foreign_lock(_app: &TestApp) {
    if _app.backend != Backend::Sqlite {
        return;
    }
    let url = crate::support::sqlite_url();
    let app = TestApp::start_on(Backend::Sqlite, &url, &[("ANNEX_STATEMENT_TIMEOUT_SECS", "1")]).await;
    let org = app.org("acme", &[("m", "MANAGER")]).await;
    let token = app.token("m");
    app.ok(&token, CREATE_RISK, json!({ "i": risk(&org, "before") })).await;
    {
        use sqlx::Connection;
        let mut other = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
        sqlx::query("BEGIN EXCLUSIVE").execute(&mut other).await.expect("lock");
        let resp = app
            .client
            .post(format!("{}/graphql", app.base))
            .bearer_auth(&token)
            .json(&json!({ "query": CREATE_RISK, "variables": { "i": risk(&org, "while locked") } }))
            .send()
            .await
            .expect("post");
        let status = resp.status().as_u16();
        let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body: Value = resp.json().await.expect("json");
        assert_error(&body, "SERVICE_UNAVAILABLE", None);
        assert_eq!((status, retry_after.as_deref()), (503, Some("1")), "{body:#}");
        sqlx::query("ROLLBACK").execute(&mut other).await.expect("unlock");
        let _ = other.close().await;
    }
    app.ok(&token, CREATE_RISK, json!({ "i": risk(&org, "after") })).await;
    assert_eq!(risk_request_ids(&app, &token, &org).await.len(), 2);
    app.stop().await;
}

async fn csv_cells_with_separators_are_quoted_and_guarded(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER")]).await;
    let token = app.token("m");
    let update = "mutation($i: UpdateControlInput!) { updateControl(input: $i) { control { id } } }";
    let a71 = control_id(app, &token, &org, "ISO27001", "A.7.1").await;
    let a72 = control_id(app, &token, &org, "ISO27001", "A.7.2").await;
    let evil = "bob;=HYPERLINK(\"http://x\")";
    app.ok(&token, update, json!({ "i": { "id": a71, "owner": evil, "applicable": false, "justification": evil } }))
        .await;
    app.ok(&token, update, json!({ "i": { "id": a72, "owner": "ops;finance" } })).await;
    let resp = app
        .client
        .get(format!("{}/organizations/{org}/soa.csv", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("csv");
    assert_eq!(resp.status().as_u16(), 200);
    let body = resp.text().await.expect("text");
    let row = |r: &str| body.split("\r\n").find(|l| l.starts_with(&format!("ISO27001,{r},"))).expect("row").to_string();
    let guarded = "\"bob;'=HYPERLINK(\"\"http://x\"\")\"";
    assert!(row("A.7.1").contains(&format!(",no,{guarded},NOT_STARTED,{guarded},")), "{}", row("A.7.1"));
    assert!(row("A.7.2").contains(",\"ops;finance\","), "{}", row("A.7.2"));
    // Split the way a `;` or `,` locale would: no piece outside quotes holds a `;`, and no
    // piece of any cell starts a formula.
    for line in body.split("\r\n").filter(|l| !l.is_empty()) {
        for cell in csv_fields(line) {
            for piece in cell.split([',', ';', '\t', '\r', '\n']) {
                let piece = piece.trim_start_matches(' ');
                assert!(!piece.starts_with(['=', '+', '@']), "formula start {piece:?} in {line}");
            }
        }
    }
}

/// The cells of one CSV line (RFC 4180); panics on a `;` outside quotes.
fn csv_fields(line: &str) -> Vec<String> {
    let (mut cells, mut cell, mut quoted, mut chars) = (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cell)),
            (';', false) => panic!("unquoted ; in {line}"),
            (c, _) => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

/// The unique keys `AppError::on_constraint` knows are the schema's (names and columns),
/// and a violation is recognised by name on both databases.
async fn unique_keys_are_recognised_by_name(app: &TestApp) {
    use annex::error::{AppError, UNIQUE_KEYS, violated_unique_key};
    let sql = match app.backend {
        Backend::Sqlite => "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql LIKE 'CREATE UNIQUE%'",
        Backend::Postgres => {
            "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE 'CREATE UNIQUE%' AND indexname LIKE 'ux\\_%'"
        }
    };
    let mut found = std::collections::HashMap::new();
    for row in app.sql(sql).await {
        let name = row[0].as_str().expect("name").to_string();
        let def = row[1].as_str().expect("definition");
        let cols = def.rsplit_once('(').map(|(_, c)| c.trim_end_matches(')')).expect("columns");
        let cols: Vec<String> = cols.split(',').map(|c| c.trim().trim_matches('"').to_string()).collect();
        found.insert(name, cols);
    }
    for k in UNIQUE_KEYS {
        let cols = found.get(k.name).unwrap_or_else(|| panic!("{} is not in the schema", k.name));
        assert_eq!(cols, &k.columns.iter().map(|c| c.to_string()).collect::<Vec<_>>(), "{}", k.name);
    }
    for name in found.keys() {
        let internal = name.ends_with("_org_id") || name == "ux_changes_org_seq";
        assert!(internal || UNIQUE_KEYS.iter().any(|k| k.name == name), "{name} has no row in UNIQUE_KEYS");
    }

    app.org("acme", &[("a", "VIEWER"), ("b", "VIEWER")]).await;
    app.org("beta", &[]).await;
    let db = sea_orm::Database::connect(&app.database_url).await.expect("connect");
    use sea_orm::ConnectionTrait;
    for (statement, name) in [
        ("UPDATE organizations SET slug = 'acme' WHERE slug = 'beta'", "ux_organizations_slug"),
        ("UPDATE memberships SET subject = 'a' WHERE subject = 'b'", "ux_memberships_org_subject"),
    ] {
        let err = db.execute_unprepared(statement).await.expect_err("a unique violation");
        assert_eq!(violated_unique_key(&err), Some(name), "{err}");
        match AppError::on_constraint(err, &[(name, "taken")]) {
            AppError::Conflict(m) => assert_eq!(m, "taken"),
            other => panic!("{other:?}"),
        }
        let err = db.execute_unprepared(statement).await.expect_err("a unique violation");
        assert_eq!(AppError::on_constraint(err, &[("ux_other", "no")]).code(), "CONFLICT", "the table's message");
    }
    let _ = db.close().await;
}

crate::api_tests!(
    request_ids_are_made_by_the_service,
    websocket_operations_get_their_own_ids_and_actor,
    out_of_bounds_input_is_bad_user_input,
    unusable_token_subjects_are_unauthenticated,
    hand_made_cursors_are_bad_user_input,
    postgres_only_database_restart_is_service_unavailable,
    sqlite_only_recovery_after_a_foreign_lock,
    csv_cells_with_separators_are_quoted_and_guarded,
    unique_keys_are_recognised_by_name,
    long_searches_are_bad_input,
);

/// A search term is a few words: one longer than the limit is the client's mistake, on
/// every list that searches (SQLite would otherwise refuse the LIKE pattern: INTERNAL).
async fn long_searches_are_bad_input(app: &TestApp) {
    let t = app.tenant("acme").await;
    let long = "é".repeat(50_000 / 2 + 1);
    for list in ["risks", "controls", "aiSystems"] {
        let q = format!(
            "query($o: ID!, $s: String!) {{ organization(id: $o) {{ {list}(filter: {{search: $s}}) {{ totalCount }} }} }}"
        );
        let body = t.owner.gql(&q, serde_json::json!({ "o": t.id, "s": long })).await;
        crate::support::assert_error(&body, "BAD_USER_INPUT", Some("filter.search"));
        let body = t.owner.gql(&q, serde_json::json!({ "o": t.id, "s": "a".repeat(201) })).await;
        crate::support::assert_error(&body, "BAD_USER_INPUT", Some("filter.search"));
        t.owner.ok(&q, serde_json::json!({ "o": t.id, "s": "a".repeat(200) })).await;
    }
}
