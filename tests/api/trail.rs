//! The audit trail: a row per change with before/after, append-only, hash-chained.

use serde_json::{Value, json};

use crate::soa::control_id;
use crate::support::{Backend, TestApp, assert_error};

const CHANGES: &str = "query($o: ID!, $f: ChangeFilter) { organization(id: $o) { changes(first: 50, filter: $f) { totalCount nodes { seq actor action entityType entityId requestId changes { field before after } } } } }";
const INTEGRITY: &str =
    "query($o: ID!) { organization(id: $o) { auditTrailIntegrity { verified rows firstBrokenAt } } }";
const UPDATE: &str = "mutation($i: UpdateControlInput!) { updateControl(input: $i) { control { id version } } }";

fn field<'a>(change: &'a Value, name: &str) -> &'a Value {
    change["changes"].as_array().and_then(|l| l.iter().find(|c| c["field"] == name)).unwrap_or(&Value::Null)
}

async fn every_mutation_kind_is_recorded(app: &TestApp) {
    let org = app.org("acme", &[("o", "OWNER"), ("m", "MANAGER")]).await;
    let o = app.token("o");
    app.ok(
        &o,
        "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { membership { role } } }",
        json!({ "i": { "organizationId": org, "subject": "m", "role": "AUDITOR" } }),
    )
    .await;
    app.ok(
        &o,
        "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { deletedId } }",
        json!({ "i": { "organizationId": org, "subject": "m" } }),
    )
    .await;
    let control = control_id(app, &o, &org, "ISO27001", "A.5.1").await;
    // The request id of the mutation is kept with its change.
    let resp = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&o)
        .header("x-request-id", "trail-req-1")
        .json(
            &json!({ "query": UPDATE, "variables": { "i": { "id": control, "status": "PARTIAL", "owner": "ciso" } } }),
        )
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 200);
    let request_id = resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()).expect("id").to_string();

    let data = app.ok(&o, CHANGES, json!({ "o": org })).await;
    let nodes = data["organization"]["changes"]["nodes"].as_array().expect("nodes").clone();
    let summary: Vec<(String, String, String)> = nodes
        .iter()
        .map(|n| {
            (
                n["action"].as_str().unwrap_or("").into(),
                n["entityType"].as_str().unwrap_or("").into(),
                n["actor"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    let s = |a: &str, t: &str, who: &str| (a.to_string(), t.to_string(), who.to_string());
    assert_eq!(
        summary,
        vec![
            s("UPDATE", "Control", "o"),
            s("DELETE", "Membership", "o"),
            s("UPDATE", "Membership", "o"),
            s("CREATE", "Membership", "platform-admin"),
            s("CREATE", "Membership", "platform-admin"),
            s("CREATE", "Organization", "platform-admin"),
        ]
    );
    let seqs: Vec<i64> = nodes.iter().map(|n| n["seq"].as_i64().expect("seq")).collect();
    assert_eq!(seqs, vec![6, 5, 4, 3, 2, 1]);
    let update = &nodes[0];
    assert_eq!(update["entityId"], json!(control));
    // The service's id of the request, not the one the client sent.
    assert_eq!(update["requestId"], json!(request_id));
    assert_eq!(field(update, "status"), &json!({ "field": "status", "before": "NOT_STARTED", "after": "PARTIAL" }));
    assert_eq!(field(update, "owner"), &json!({ "field": "owner", "before": null, "after": "ciso" }));
    assert_eq!(update["changes"].as_array().map(Vec::len), Some(2), "only what changed: {update}");
    assert_eq!(field(&nodes[2], "role"), &json!({ "field": "role", "before": "MANAGER", "after": "AUDITOR" }));
    assert_eq!(field(&nodes[1], "subject")["before"], "m");
    assert_eq!(field(&nodes[1], "subject")["after"], Value::Null);
    assert_eq!(field(&nodes[5], "slug")["after"], "acme");

    // Filters and per-entity history.
    let data = app.ok(&o, CHANGES, json!({ "o": org, "f": { "entityType": "Membership", "action": "CREATE" } })).await;
    assert_eq!(data["organization"]["changes"]["totalCount"], 2);
    let data = app.ok(&o, CHANGES, json!({ "o": org, "f": { "actor": "o" } })).await;
    assert_eq!(data["organization"]["changes"]["totalCount"], 3);
    let data = app.ok(&o, "query($id: ID!) { node(id: $id) { ... on Control { history { totalCount nodes { action requestId } } } } }", json!({ "id": control })).await;
    assert_eq!(
        data["node"]["history"],
        json!({ "totalCount": 1, "nodes": [{ "action": "UPDATE", "requestId": request_id }] })
    );
    // A refused mutation leaves no row.
    let body = app.gql(&o, UPDATE, json!({ "i": { "id": control, "applicable": false } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("justification"));
    assert_eq!(app.count("changes").await, 6);
    let data = app.ok(&o, INTEGRITY, json!({ "o": org })).await;
    assert_eq!(
        data["organization"]["auditTrailIntegrity"],
        json!({ "verified": true, "rows": 6, "firstBrokenAt": null })
    );
}

async fn tampering_is_detected(app: &TestApp) {
    let org = app.org("acme", &[("o", "OWNER"), ("a", "AUDITOR")]).await;
    let o = app.token("o");
    for s in ["x1", "x2", "x3"] {
        app.ok(
            &o,
            "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }",
            json!({ "i": { "organizationId": org, "subject": s, "role": "VIEWER" } }),
        )
        .await;
    }
    // The database itself refuses edits to the trail.
    let refused = try_sql(app, "UPDATE changes SET actor = 'mallory' WHERE seq = 3").await;
    assert!(refused.is_err(), "UPDATE on changes must be refused by the database");
    assert!(try_sql(app, "DELETE FROM changes WHERE seq = 3").await.is_err(), "DELETE refused");
    // Someone with DDL rights drops the guard and edits a row: the chain reports it.
    match app.backend {
        Backend::Sqlite => {
            app.sql("DROP TRIGGER changes_no_update").await;
            app.sql("DROP TRIGGER changes_no_delete").await;
        }
        Backend::Postgres => {
            app.sql("ALTER TABLE changes DISABLE TRIGGER changes_append_only").await;
        }
    }
    app.sql("UPDATE changes SET actor = 'mallory' WHERE seq = 3").await;
    let data = app.ok(&app.token("a"), INTEGRITY, json!({ "o": org })).await;
    assert_eq!(
        data["organization"]["auditTrailIntegrity"],
        json!({ "verified": false, "rows": 6, "firstBrokenAt": 3 })
    );
    // Putting the original value back restores the chain; deleting a row breaks it at the gap.
    app.sql("UPDATE changes SET actor = 'platform-admin' WHERE seq = 3").await;
    let data = app.ok(&app.token("a"), INTEGRITY, json!({ "o": org })).await;
    assert_eq!(data["organization"]["auditTrailIntegrity"]["verified"], true, "restored: {data}");
    app.sql("DELETE FROM changes WHERE seq = 4").await;
    let data = app.ok(&app.token("a"), INTEGRITY, json!({ "o": org })).await;
    assert_eq!(
        data["organization"]["auditTrailIntegrity"],
        json!({ "verified": false, "rows": 5, "firstBrokenAt": 5 })
    );
}

async fn try_sql(app: &TestApp, sql: &str) -> Result<(), String> {
    use sqlx::Connection;
    let q = || sqlx::AssertSqlSafe(sql.to_string());
    if app.database_url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&app.database_url).await.map_err(|e| e.to_string())?;
        sqlx::query(q()).execute(&mut c).await.map(|_| ()).map_err(|e| e.to_string())
    } else {
        let mut c = sqlx::PgConnection::connect(&app.database_url).await.map_err(|e| e.to_string())?;
        sqlx::query(q()).execute(&mut c).await.map(|_| ()).map_err(|e| e.to_string())
    }
}

async fn no_api_writes_the_trail(app: &TestApp) {
    let data = app.ok(&app.token("anyone"), "{ __schema { mutationType { fields { name } } } }", json!({})).await;
    let names: Vec<String> = data["__schema"]["mutationType"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["name"].as_str().expect("name").to_string())
        .collect();
    assert!(names.contains(&"updateControl".to_string()));
    assert!(names.iter().all(|n| !n.to_lowercase().contains("change") || n == "changeMemberRole"), "{names:?}");
}

async fn concurrent_writers_cannot_fork_the_chain(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER")]).await;
    let token = app.token("m");
    let data = app
        .ok(
            &token,
            "query($o: ID!) { organization(id: $o) { controls(first: 20) { nodes { id } } } }",
            json!({ "o": org }),
        )
        .await;
    let ids: Vec<String> = data["organization"]["controls"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_string())
        .collect();
    let calls = ids.iter().map(|id| app.gql(&token, UPDATE, json!({ "i": { "id": id, "status": "PLANNED" } })));
    for body in futures_util::future::join_all(calls).await {
        assert!(body.get("errors").is_none(), "{body}");
    }
    let data = app.ok(&token, INTEGRITY, json!({ "o": org })).await;
    assert_eq!(
        data["organization"]["auditTrailIntegrity"],
        json!({ "verified": true, "rows": 22, "firstBrokenAt": null })
    );
}

async fn trail_roles(app: &TestApp) {
    let t = app.tenant("acme").await;
    let cases = [
        (&t.owner, true),
        (&t.manager, true),
        (&t.auditor, true),
        (&t.contributor, false),
        (&t.viewer, false),
        (&t.integration, false),
    ];
    for (who, allowed) in cases {
        for q in [CHANGES, INTEGRITY] {
            let body = who.gql(q, json!({ "o": t.id })).await;
            if allowed {
                assert!(body.get("errors").is_none(), "{}: {body}", who.sub);
            } else {
                assert_error(&body, "FORBIDDEN", None);
            }
        }
    }
    let other = app.org("beta", &[("b", "OWNER")]).await;
    let body =
        t.owner.ok("query($o: ID!) { organization(id: $o) { changes { totalCount } } }", json!({ "o": other })).await;
    assert_eq!(body["organization"], Value::Null, "another tenant's trail is invisible");
}

crate::api_tests!(
    every_mutation_kind_is_recorded,
    tampering_is_detected,
    no_api_writes_the_trail,
    concurrent_writers_cannot_fork_the_chain,
    trail_roles,
);
