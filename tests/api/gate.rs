//! The tenancy gate's walls: the raw connection stays inside the gate module, and on
//! PostgreSQL row-level security refuses what the gate would, for the role the service
//! runs as (which owns nothing and bypasses nothing).

use serde_json::json;

use crate::support::{Backend, RUNTIME_ROLE, TestApp, as_runtime, raw_sql};

crate::api_tests!(
    postgres_only_unscoped_queries_see_only_the_transactions_tenants,
    postgres_only_the_runtime_role_cannot_rewrite_the_trail_or_the_catalogs,
    postgres_only_every_tenant_table_forces_row_level_security,
    ticket_sync_touches_only_what_tickets_made,
);

/// Runs statements as the runtime role in one transaction; returns the last one's rows, or
/// the database's error text.
async fn as_runtime_role(app: &TestApp, statements: &[&str]) -> Result<Vec<Vec<serde_json::Value>>, String> {
    use sqlx::{Connection, Executor};
    let mut c = sqlx::PgConnection::connect(&as_runtime(&app.database_url)).await.map_err(|e| e.to_string())?;
    let mut tx = c.begin().await.map_err(|e| e.to_string())?;
    let (last, init) = statements.split_last().expect("a statement");
    for s in init {
        tx.execute(sqlx::AssertSqlSafe(s.to_string())).await.map_err(|e| e.to_string())?;
    }
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(last.to_string())).fetch_all(&mut *tx).await.map_err(|e| e.to_string())?;
    use sqlx::Row;
    Ok(rows
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    r.try_get::<i64, _>(i)
                        .map(|v| json!(v))
                        .or_else(|_| r.try_get::<String, _>(i).map(|v| json!(v)))
                        .unwrap_or(serde_json::Value::Null)
                })
                .collect()
        })
        .collect())
}

fn uuid_of(id: &str) -> String {
    let hex = id.split_once('_').expect("global id").1;
    uuid::Uuid::try_parse(hex).expect("uuid").to_string()
}

async fn postgres_only_unscoped_queries_see_only_the_transactions_tenants(app: &TestApp) {
    if app.backend != Backend::Postgres {
        return; // SQLite has no row-level security; the gate alone guards it.
    }
    let a = app.tenant("acme").await;
    let b = app.tenant("beta").await;
    a.owner.risk().title("Acme risk").create().await;
    b.owner.risk().title("Beta risk").create().await;
    b.owner.risk().title("Beta risk 2").create().await;
    let (ua, ub) = (uuid_of(&a.id), uuid_of(&b.id));
    let in_a = format!("SELECT set_config('annex.org_ids', '{{{ua}}}', true)");

    // A query that forgets the tenant filter still sees one tenant.
    for table in ["risks", "controls", "memberships", "changes", "organizations"] {
        let all = as_runtime_role(app, &[&in_a, &format!("SELECT COUNT(*) FROM {table}")]).await.expect("count");
        let column = if table == "organizations" { "id" } else { "organization_id" };
        let mine = as_runtime_role(app, &[&in_a, &format!("SELECT COUNT(*) FROM {table} WHERE {column} = '{ua}'")])
            .await
            .expect("count");
        assert_eq!(all, mine, "{table}: an unscoped query sees only acme's rows");
        let theirs = as_runtime_role(app, &[&in_a, &format!("SELECT COUNT(*) FROM {table} WHERE {column} = '{ub}'")])
            .await
            .expect("count");
        assert_eq!(theirs, vec![vec![json!(0)]], "{table}: nothing of beta");
    }
    // No tenant context at all: nothing.
    let none = as_runtime_role(app, &["SELECT COUNT(*) FROM risks"]).await.expect("count");
    assert_eq!(none, vec![vec![json!(0)]]);
    // Writing into another tenant is refused by the policy's check.
    let e = as_runtime_role(
        app,
        &[&in_a, &format!("UPDATE risks SET title = 'x' WHERE organization_id = '{ub}' RETURNING 1")],
    )
    .await
    .expect("an update that matches nothing");
    assert!(e.is_empty(), "beta's rows are invisible to the update");
    let e = as_runtime_role(app, &[&in_a, &format!("UPDATE risks SET organization_id = '{ub}' RETURNING 1")])
        .await
        .expect_err("moving a row to another tenant");
    assert!(e.contains("row-level security"), "{e}");
    // The owner (a superuser here) still sees both: the counts above were not vacuous.
    let owner = raw_sql(&app.database_url, "SELECT COUNT(*) FROM risks").await;
    assert_eq!(owner, vec![vec![json!(3)]]);
}

async fn postgres_only_the_runtime_role_cannot_rewrite_the_trail_or_the_catalogs(app: &TestApp) {
    if app.backend != Backend::Postgres {
        return; // SQLite has no roles.
    }
    let a = app.tenant("acme").await;
    let ua = uuid_of(&a.id);
    let in_a = format!("SELECT set_config('annex.org_ids', '{{{ua}}}', true)");
    for (what, sql) in [
        ("update the trail", "UPDATE changes SET actor = 'mallory'"),
        ("delete the trail", "DELETE FROM changes"),
        ("disable the trail's trigger", "ALTER TABLE changes DISABLE TRIGGER changes_append_only"),
        ("rewrite transitions", "DELETE FROM workflow_transitions"),
        ("edit a catalog", "UPDATE catalog_controls SET title = 'x'"),
        ("add a clause", "INSERT INTO clauses (standard, ref, title, position) VALUES ('ISO27001', '99', 'x', 99)"),
        ("drop row-level security", "ALTER TABLE risks NO FORCE ROW LEVEL SECURITY"),
    ] {
        let e = as_runtime_role(app, &[&in_a, sql]).await.expect_err(what);
        assert!(e.contains("permission denied") || e.contains("must be owner"), "{what}: {e}");
    }
    let roles = raw_sql(
        &app.database_url,
        &format!(
            "SELECT rolsuper::int, rolbypassrls::int, (SELECT COUNT(*) FROM pg_class c WHERE c.relowner = r.oid)
               FROM pg_roles r WHERE rolname = '{RUNTIME_ROLE}'"
        ),
    )
    .await;
    assert_eq!(roles, vec![vec![json!(0), json!(0), json!(0)]], "no superuser, no BYPASSRLS, owns nothing");
}

async fn postgres_only_every_tenant_table_forces_row_level_security(app: &TestApp) {
    if app.backend != Backend::Postgres {
        return; // SQLite has no row-level security.
    }
    let rows = raw_sql(
        &app.database_url,
        "SELECT c.relname::text, c.relrowsecurity::int, c.relforcerowsecurity::int,
                (SELECT COUNT(*) FROM pg_policy p WHERE p.polrelid = c.oid)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema() AND c.relkind = 'r'
            AND (c.relname = 'organizations' OR EXISTS (
                  SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id'))
          ORDER BY 1",
    )
    .await;
    assert!(rows.len() >= 16, "{rows:?}");
    for row in rows {
        assert_eq!((&row[1], &row[2]), (&json!(1), &json!(1)), "{} forces row-level security", row[0]);
        assert!(row[3].as_i64().unwrap_or(0) >= 1, "{} has a policy", row[0]);
    }
}

/// Issue 9, 3: a ticket system syncs the nonconformities its tickets made, never one people
/// opened (not even by attaching a ticket to it), never writes the effectiveness review,
/// and a ticket reported done moves its own NCR at most to VERIFICATION.
async fn ticket_sync_touches_only_what_tickets_made(app: &TestApp) {
    const UPSERT: &str = "mutation($i: UpsertNonconformityByExternalRefInput!) { upsertNonconformityByExternalRef(input: $i) { nonconformity { id status ticketSynced } } }";
    const UPDATE: &str =
        "mutation($i: UpdateNonconformityInput!) { updateNonconformity(input: $i) { nonconformity { id } } }";
    const STEP: &str = "mutation($i: TransitionNonconformityInput!) { transitionNonconformity(input: $i) { nonconformity { status } } }";
    let t = app.tenant("acme").await;
    let (o, i) = (&t.owner, &t.integration);

    // People's NCR: the integration may not attach its ticket, edit, or sync it.
    let people = o.nonconformity().create().await;
    let body = i.gql(UPDATE, json!({ "i": { "id": people, "externalRef": { "system": "jira", "key": "X-1" } } })).await;
    crate::support::assert_error(&body, "FORBIDDEN", None);
    o.ok(UPDATE, json!({ "i": { "id": people, "externalRef": { "system": "jira", "key": "X-1" } } })).await;
    let ticket = |key: &str, done: bool| json!({ "i": { "organizationId": t.id, "externalRef": { "system": "jira", "key": key }, "title": "Backup failed", "severity": "MINOR", "externalDone": done } });
    let body = i.gql(UPSERT, ticket("X-1", true)).await;
    crate::support::assert_error(&body, "FORBIDDEN", None);

    // Its own NCR: synced, editable, but no effectiveness review; done moves it to VERIFICATION.
    let data = i.ok(UPSERT, ticket("X-2", false)).await;
    let own = data["upsertNonconformityByExternalRef"]["nonconformity"]["id"].as_str().expect("id").to_string();
    assert_eq!(data["upsertNonconformityByExternalRef"]["nonconformity"]["ticketSynced"], true);
    i.ok(UPDATE, json!({ "i": { "id": own, "rootCause": "retention job disabled" } })).await;
    let body = i.gql(UPDATE, json!({ "i": { "id": own, "effectivenessReview": "fine" } })).await;
    crate::support::assert_error(&body, "FORBIDDEN", None);
    i.corrective_action(&own).create().await;
    for to in ["ANALYSIS", "ACTION_PLANNED"] {
        o.ok(STEP, json!({ "i": { "id": own, "to": to } })).await;
    }
    let data = i.ok(UPSERT, ticket("X-2", true)).await;
    assert_eq!(data["upsertNonconformityByExternalRef"]["nonconformity"]["status"], "VERIFICATION");
    // Closing is the auditor's, on a review the auditor writes.
    let body = t.auditor.gql(STEP, json!({ "i": { "id": own, "to": "CLOSED" } })).await;
    crate::support::assert_error(&body, "BAD_USER_INPUT", Some("effectivenessReview"));
    let data = t
        .auditor
        .ok(STEP, json!({ "i": { "id": own, "to": "CLOSED", "effectivenessReview": "no recurrence in 30 days" } }))
        .await;
    assert_eq!(data["transitionNonconformity"]["nonconformity"]["status"], "CLOSED");
}

/// Issue 9, 2: no module outside the gate names a connection, a transaction or the pool.
#[test]
fn no_module_outside_the_gate_names_the_connection() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let gate = std::path::Path::new(root).join("store").join("tenancy");
    let forbidden = [
        "DatabaseConnection",
        "DatabaseTransaction",
        "DatabaseExecutor",
        "ConnectionTrait",
        "TransactionTrait",
        "PgPool",
        "SqlitePool",
        "PgConnection",
        "PgListener",
        "connection_pool",
        "sqlx::query",
        "execute_unprepared",
        "Statement::from",
    ];
    let mut offenders = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(root)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src") {
            let path = entry.expect("entry").path();
            if path.starts_with(&gate) {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read");
                for word in forbidden {
                    if text.contains(word) {
                        offenders.push(format!("{} names {word}", path.display()));
                    }
                }
            }
        }
    }
    assert!(offenders.is_empty(), "only src/store/tenancy/ may reach the database:\n{}", offenders.join("\n"));
}
