//! Live events over graphql-transport-ws: delivery after commit, membership at subscribe
//! time, nothing for failed mutations, and delivery across replicas on PostgreSQL.

use std::time::Duration;

use serde_json::{Value, json};

use crate::soa::control_id;
use crate::support::{Backend, TestApp, Ws, ws_connect as connect, ws_next as next};

const SUBSCRIBE: &str = "subscription($o: ID!) { organizationEvents(organizationId: $o) { organizationId action entityType entityId actor at } }";
const UPDATE: &str = "mutation($i: UpdateControlInput!) { updateControl(input: $i) { control { id } } }";

async fn subscribe(app: &TestApp, sub: &str, org: &str) -> Ws {
    app.user(sub).subscribe(SUBSCRIBE, json!({ "o": org })).await
}

async fn delivers_committed_changes_only(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER"), ("v", "VIEWER")]).await;
    let other = app.org("beta", &[("m", "MANAGER")]).await;
    let m = app.token("m");
    let a = control_id(app, &m, &org, "ISO27001", "A.5.1").await;
    let b = control_id(app, &m, &org, "ISO27001", "A.5.2").await;
    let elsewhere = control_id(app, &m, &other, "ISO27001", "A.5.1").await;
    let mut ws = subscribe(app, "v", &org).await;

    // Refused (rolled back) and other-tenant changes produce nothing; the next real one arrives.
    let body = app.gql(&m, UPDATE, json!({ "i": { "id": a, "applicable": false } })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    app.ok(&m, UPDATE, json!({ "i": { "id": elsewhere, "status": "PLANNED" } })).await;
    app.ok(&m, UPDATE, json!({ "i": { "id": b, "status": "PLANNED" } })).await;
    let msg = next(&mut ws, Duration::from_secs(5)).await.expect("an event");
    assert_eq!(msg["type"], "next", "{msg}");
    let e = &msg["payload"]["data"]["organizationEvents"];
    assert_eq!(e["organizationId"], json!(org));
    assert_eq!(e["entityId"], json!(b));
    // A VIEWER may not read the audit trail, so the event does not say who did it.
    assert_eq!(
        (e["action"].clone(), e["entityType"].clone(), e["actor"].clone()),
        (json!("UPDATE"), json!("Control"), Value::Null)
    );
    assert!(next(&mut ws, Duration::from_millis(500)).await.is_none(), "nothing else");
}

async fn non_members_get_an_error_and_nothing_else(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER")]).await;
    let mut ws = subscribe(app, "stranger", &org).await;
    let msg = next(&mut ws, Duration::from_secs(5)).await.expect("an answer");
    // graphql-transport-ws: an `error` message, or a `next` carrying only errors.
    let errors = if msg["type"] == "error" { msg["payload"].clone() } else { msg["payload"]["errors"].clone() };
    assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND", "{msg}");
    assert_eq!(msg["payload"]["data"], Value::Null, "{msg}");
    if let Some(done) = next(&mut ws, Duration::from_millis(500)).await {
        assert_eq!(done["type"], "complete", "{done}");
    }
    let a = control_id(app, &app.token("m"), &org, "ISO27001", "A.5.1").await;
    app.ok(&app.token("m"), UPDATE, json!({ "i": { "id": a, "status": "PLANNED" } })).await;
    assert!(next(&mut ws, Duration::from_millis(500)).await.is_none(), "no events for a non-member");

    // A bad token in connection_init closes the connection.
    let mut ws = connect(app, json!({ "token": "garbage" })).await;
    let msg = next(&mut ws, Duration::from_secs(5)).await;
    assert!(msg.is_none() || msg.as_ref().is_some_and(|m| m["type"] != "connection_ack"), "{msg:?}");
    // So does a missing one.
    let mut ws = connect(app, json!({})).await;
    let msg = next(&mut ws, Duration::from_secs(5)).await;
    assert!(msg.is_none() || msg.as_ref().is_some_and(|m| m["type"] != "connection_ack"), "{msg:?}");
}

async fn postgres_only_reaches_subscribers_on_another_replica(app: &TestApp) {
    if app.backend != Backend::Postgres {
        // One SQLite file has one process: in-process delivery is covered above.
        return;
    }
    let replica = TestApp::start_on(Backend::Postgres, &app.database_url, &[]).await;
    let org = app.org("acme", &[("m", "MANAGER")]).await;
    let mut ws = subscribe(&replica, "m", &org).await;
    let a = control_id(app, &app.token("m"), &org, "ISO27001", "A.8.1").await;
    let started = std::time::Instant::now();
    app.ok(&app.token("m"), UPDATE, json!({ "i": { "id": a, "status": "PARTIAL" } })).await;
    let msg = next(&mut ws, Duration::from_secs(5)).await.expect("event from the other replica");
    assert_eq!(msg["payload"]["data"]["organizationEvents"]["entityId"], json!(a));
    // A live dashboard on the other replica hears of the change within a second.
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    replica.stop().await;
}

crate::api_tests!(
    delivers_committed_changes_only,
    non_members_get_an_error_and_nothing_else,
    postgres_only_reaches_subscribers_on_another_replica
);
