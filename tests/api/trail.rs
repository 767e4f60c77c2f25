//! The audit trail: a row per change with before/after, append-only, hash-chained.

use serde_json::{Value, json};

use crate::soa::control_id;
use crate::support::{Backend, TestApp, assert_error};

const CHANGES: &str = "query($o: ID!, $f: ChangeFilter) { organization(id: $o) { changes(first: 50, filter: $f) { totalCount nodes { seq actor action entityType entityId requestId changes { field before after } } } } }";
const INTEGRITY: &str =
    "query($o: ID!) { organization(id: $o) { auditTrailIntegrity { verified rows firstBrokenAt } } }";
const UPDATE: &str = "mutation($i: UpdateControlInput!) { updateControl(input: $i) { control { id version } } }";
const HEAD: &str =
    "query($o: ID!) { organization(id: $o) { auditTrailHead { seq hash at signature algorithm keyId } } }";
const VERIFY: &str = "query($o: ID!, $seq: Int!, $hash: String!, $at: DateTime!, $signature: String!) { organization(id: $o) { auditTrailIntegrity { verified rows firstBrokenAt head { seq hash } verifyHead(seq: $seq, hash: $hash, at: $at, signature: $signature) { valid reason } } } }";
const ADD_MEMBER: &str = "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }";

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
        for q in [CHANGES, INTEGRITY, HEAD] {
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
    let body = t
        .owner
        .ok("query($o: ID!) { organization(id: $o) { auditTrailHead { seq signature } } }", json!({ "o": other }))
        .await;
    assert_eq!(body["organization"], Value::Null, "another tenant's head is invisible");
    // Verifying a kept head needs the same right as the integrity check around it.
    let head = t.owner.ok(HEAD, json!({ "o": t.id })).await["organization"]["auditTrailHead"].clone();
    let vars = json!({ "o": t.id, "seq": head["seq"], "hash": head["hash"], "at": head["at"], "signature": head["signature"] });
    for (who, allowed) in cases {
        let body = who.gql(VERIFY, vars.clone()).await;
        if allowed {
            assert_eq!(
                body["data"]["organization"]["auditTrailIntegrity"]["verifyHead"],
                valid(),
                "{}: {body}",
                who.sub
            );
        } else {
            assert_error(&body, "FORBIDDEN", None);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The signed head

/// `auditTrailHead`, as an auditor keeps it.
async fn signed_head(app: &TestApp, token: &str, org: &str) -> Value {
    let data = app.ok(token, HEAD, json!({ "o": org })).await;
    data["organization"]["auditTrailHead"].clone()
}

/// `auditTrailIntegrity` with `verifyHead` of a kept head.
async fn verify_kept(app: &TestApp, token: &str, org: &str, kept: &Value) -> Value {
    let vars =
        json!({ "o": org, "seq": kept["seq"], "hash": kept["hash"], "at": kept["at"], "signature": kept["signature"] });
    let data = app.ok(token, VERIFY, vars).await;
    data["organization"]["auditTrailIntegrity"].clone()
}

fn verdict(integrity: &Value) -> Value {
    integrity["verifyHead"].clone()
}

fn valid() -> Value {
    json!({ "valid": true, "reason": null })
}

fn invalid(reason: &str) -> Value {
    json!({ "valid": false, "reason": reason })
}

async fn add_member(app: &TestApp, token: &str, org: &str, subject: &str) {
    app.ok(token, ADD_MEMBER, json!({ "i": { "organizationId": org, "subject": subject, "role": "VIEWER" } })).await;
}

/// The owner's first move: the append-only guard goes.
async fn drop_guard(app: &TestApp) {
    match app.backend {
        Backend::Sqlite => {
            app.sql("DROP TRIGGER changes_no_update").await;
            app.sql("DROP TRIGGER changes_no_delete").await;
        }
        Backend::Postgres => {
            app.sql("ALTER TABLE changes DISABLE TRIGGER changes_append_only").await;
        }
    }
}

/// `WHERE` for one organization's trail rows (UUIDs are blobs on SQLite).
fn rows_of(app: &TestApp, org: &uuid::Uuid) -> String {
    match app.backend {
        Backend::Sqlite => format!("lower(hex(organization_id)) = '{}'", org.simple()),
        Backend::Postgres => format!("organization_id = '{org}'"),
    }
}

/// As the database owner: sets row `seq`'s actor to `actor`, recomputes every hash from
/// there on with the service's own function (`annex::domain::trail::hash`), so the chain
/// verifies again, and deletes the newest row.
async fn owner_rewrites_history(app: &TestApp, org_id: &str, seq: i64, actor: &str) {
    let (_, org) = annex::ids::decode(org_id).expect("organization id");
    let (entity, at) = match app.backend {
        Backend::Sqlite => ("lower(hex(entity_id))", "at"),
        Backend::Postgres => {
            ("replace(entity_id::text, '-', '')", "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
        }
    };
    let rows = app
        .sql(&format!(
            "SELECT seq, {at}, actor, action, entity_type, {entity}, fields, request_id, prev_hash FROM changes \
             WHERE {} ORDER BY seq",
            rows_of(app, &org)
        ))
        .await;
    let text = |v: &Value| v.as_str().expect("text column").to_string();
    let org_s = org.to_string();
    let mut prev: Option<String> = None;
    for row in &rows {
        let n = row[0].as_i64().expect("seq");
        if n < seq {
            continue;
        }
        let at = chrono::DateTime::parse_from_rfc3339(&text(&row[1]))
            .expect("stored time")
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let entity = uuid::Uuid::parse_str(&text(&row[5])).expect("entity id").to_string();
        let new_actor = if n == seq { actor.to_string() } else { text(&row[2]) };
        let prev_hash = prev.clone().unwrap_or_else(|| text(&row[8]));
        let (action, entity_type, fields, request_id) = (text(&row[3]), text(&row[4]), text(&row[6]), text(&row[7]));
        let hash = annex::domain::trail::hash(&annex::domain::trail::Entry {
            organization_id: &org_s,
            seq: n,
            at: &at,
            actor: &new_actor,
            action: &action,
            entity_type: &entity_type,
            entity_id: &entity,
            fields: &fields,
            request_id: &request_id,
            prev_hash: &prev_hash,
        });
        app.sql(&format!(
            "UPDATE changes SET actor = '{new_actor}', prev_hash = '{prev_hash}', hash = '{hash}' WHERE {} AND seq = {n}",
            rows_of(app, &org)
        ))
        .await;
        prev = Some(hash);
    }
    let newest = rows.last().and_then(|r| r[0].as_i64()).expect("rows");
    app.sql(&format!("DELETE FROM changes WHERE {} AND seq = {newest}", rows_of(app, &org))).await;
}

/// Issue 9: the owner disables the guard, rewrites a row, recomputes every later hash and
/// deletes the newest row. The chain alone verifies; a signed head kept before does not.
async fn a_kept_head_exposes_an_owner_rewrite(app: &TestApp) {
    let org = app.org("acme", &[("o", "OWNER"), ("a", "AUDITOR")]).await;
    let (o, a) = (app.token("o"), app.token("a"));
    add_member(app, &o, &org, "x1").await;
    // The auditor keeps a head at each audit.
    let head4 = signed_head(app, &a, &org).await;
    assert_eq!(head4["seq"], 4);
    add_member(app, &o, &org, "x2").await;
    add_member(app, &o, &org, "x3").await;
    let head6 = signed_head(app, &a, &org).await;
    assert_eq!(head6["seq"], 6);
    assert_eq!(head6["algorithm"], "HMAC-SHA256");
    assert_eq!(head6["signature"].as_str().map(str::len), Some(64), "{head6}");
    assert_eq!(head6["keyId"].as_str().map(str::len), Some(8), "{head6}");
    assert_eq!(head6["keyId"], head4["keyId"]);
    assert_ne!(head6["signature"], head4["signature"]);
    let now = verify_kept(app, &a, &org, &head6).await;
    assert_eq!(now["head"], json!({ "seq": 6, "hash": head6["hash"] }), "the head the check reached");
    assert_eq!(verdict(&now), valid());
    assert_eq!(verdict(&verify_kept(app, &a, &org, &head4).await), valid());

    // Altered or replayed heads are refused before the chain is even looked at.
    let mut forged = head6.clone();
    let sig = head6["signature"].as_str().expect("signature");
    forged["signature"] = json!(format!("{}{}", if sig.starts_with('0') { '1' } else { '0' }, &sig[1..]));
    assert_eq!(verdict(&verify_kept(app, &a, &org, &forged).await), invalid("signature does not match"));
    let mut moved = head6.clone();
    moved["seq"] = json!(5);
    assert_eq!(verdict(&verify_kept(app, &a, &org, &moved).await), invalid("signature does not match"));
    let mut retimed = head6.clone();
    retimed["at"] = json!("2020-01-01T00:00:00Z");
    assert_eq!(verdict(&verify_kept(app, &a, &org, &retimed).await), invalid("signature does not match"));
    let other = app.org("beta", &[("a", "AUDITOR")]).await;
    let other_head = signed_head(app, &a, &other).await;
    assert_eq!(other_head["seq"], 2);
    assert_eq!(
        verdict(&verify_kept(app, &a, &org, &other_head).await),
        invalid("signature does not match"),
        "another tenant's signed head"
    );

    // The owner rewrites seq 3, recomputes 3..6 and deletes seq 6.
    drop_guard(app).await;
    owner_rewrites_history(app, &org, 3, "mallory").await;
    let now = verify_kept(app, &a, &org, &head6).await;
    assert_eq!(
        (&now["verified"], &now["rows"], &now["firstBrokenAt"]),
        (&json!(true), &json!(5), &Value::Null),
        "the recomputed chain alone verifies: {now}"
    );
    assert_eq!(verdict(&now), invalid("row seq 6 is missing"));
    assert_eq!(verdict(&verify_kept(app, &a, &org, &head4).await), invalid("row seq 4 has a different hash now"));
    // New activity refills seq 6, with another hash.
    add_member(app, &o, &org, "x4").await;
    assert_eq!(verdict(&verify_kept(app, &a, &org, &head6).await), invalid("row seq 6 has a different hash now"));

    // A head signed now anchors the trail as it is now; an edit without recomputing
    // breaks the chain under it.
    let fresh = signed_head(app, &a, &org).await;
    assert_eq!(verdict(&verify_kept(app, &a, &org, &fresh).await), valid());
    let (_, org_uuid) = annex::ids::decode(&org).expect("id");
    app.sql(&format!("UPDATE changes SET actor = 'eve' WHERE {} AND seq = 2", rows_of(app, &org_uuid))).await;
    let now = verify_kept(app, &a, &org, &fresh).await;
    assert_eq!(now["firstBrokenAt"], 2);
    assert_eq!(verdict(&now), invalid("chain broken at seq 2"));
}

async fn kept_heads_are_checked_for_form(app: &TestApp) {
    let org = app.org("acme", &[("a", "AUDITOR")]).await;
    let a = app.token("a");
    let head = signed_head(app, &a, &org).await;
    for (field, value) in [
        ("seq", json!(0)),
        ("hash", json!("not a hash")),
        ("hash", json!("A".repeat(64))),
        ("signature", json!("zz")),
        ("signature", json!("0".repeat(100_000))),
    ] {
        let mut kept = head.clone();
        kept[field] = value;
        let vars = json!({ "o": org, "seq": kept["seq"], "hash": kept["hash"], "at": kept["at"], "signature": kept["signature"] });
        let body = app.gql(&a, VERIFY, vars).await;
        assert_error(&body, "BAD_USER_INPUT", Some(field));
    }
}

/// The signature is the key's: another key signs the same head differently, and heads
/// signed under a key the service no longer has do not verify.
async fn signatures_follow_the_key(app: &TestApp) {
    use sha2::Digest;
    let org = app.org("acme", &[("a", "AUDITOR")]).await;
    let a = app.token("a");
    let dev = signed_head(app, &a, &org).await;
    let (k1, k2) = ("first-trail-key-first-trail-key-0001", "second-trail-key-second-trail-key-02");
    let one = TestApp::start_on(app.backend, &app.database_url, &[("ANNEX_TRAIL_KEY", k1)]).await;
    let h1 = signed_head(&one, &a, &org).await;
    assert_eq!((&h1["seq"], &h1["hash"], &h1["at"]), (&dev["seq"], &dev["hash"], &dev["at"]), "same head");
    assert_ne!(h1["signature"], dev["signature"]);
    assert_eq!(h1["keyId"], json!(hex::encode(sha2::Sha256::digest(k1.as_bytes()))[..8]));
    assert_ne!(h1["keyId"], dev["keyId"]);
    assert_eq!(verdict(&verify_kept(&one, &a, &org, &h1).await), valid());
    assert_eq!(verdict(&verify_kept(&one, &a, &org, &dev).await), invalid("signature does not match"));
    one.stop().await;

    let two = TestApp::start_on(app.backend, &app.database_url, &[("ANNEX_TRAIL_KEY", k2)]).await;
    let h2 = signed_head(&two, &a, &org).await;
    assert_ne!(h2["signature"], h1["signature"]);
    assert_ne!(h2["keyId"], h1["keyId"]);
    assert_eq!(verdict(&verify_kept(&two, &a, &org, &h1).await), invalid("signature does not match"));
    two.stop().await;

    // The development key is derived from the installation's secret: a restart keeps it.
    let again = TestApp::start_on(app.backend, &app.database_url, &[]).await;
    assert_eq!(signed_head(&again, &a, &org).await, dev);
    again.stop().await;

    // Production without ANNEX_TRAIL_KEY starts, and serves the head unsigned.
    let prod = TestApp::start_on(app.backend, &app.database_url, &[("ANNEX_MODE", "production")]).await;
    let unsigned = signed_head(&prod, &a, &org).await;
    assert_eq!(
        unsigned,
        json!({ "seq": dev["seq"], "hash": dev["hash"], "at": dev["at"], "signature": null, "algorithm": null, "keyId": null })
    );
    let v = verdict(&verify_kept(&prod, &a, &org, &h1).await);
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().is_some_and(|r| r.contains("ANNEX_TRAIL_KEY")), "{v}");
    prod.stop().await;
}

crate::api_tests!(
    every_mutation_kind_is_recorded,
    tampering_is_detected,
    a_kept_head_exposes_an_owner_rewrite,
    kept_heads_are_checked_for_form,
    signatures_follow_the_key,
    no_api_writes_the_trail,
    concurrent_writers_cannot_fork_the_chain,
    trail_roles,
);
