//! Issue 16: tasks (create, update, complete, recurrence once under concurrent
//! completion), the consultant's to-do list across organizations, the dashboard's overdue
//! and due-soon figures, and `TASK_DUE` published once with two replicas running.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::api_tests;
use crate::support::{Backend, TestApp, Ws, assert_error, ws_next};

const UPDATE: &str =
    "mutation($i: UpdateTaskInput!) { updateTask(input: $i) { task { id status dueOn recurrence version } } }";
const COMPLETE: &str = "mutation($i: CompleteTaskInput!) { completeTask(input: $i) { task { id status completedBy } next { id dueOn status recurrence previousTaskId title } } }";

fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset)).to_string()
}

async fn a_task_lives_and_recurs(app: &TestApp) {
    let t = app.tenant("acme").await;
    let c = &t.contributor;
    let measure = c.measure().set("title", "Access reviews").create().await;
    let task = c
        .task()
        .set("title", "Review access rights")
        .set("assignee", "it-admin")
        .set("dueOn", "2027-01-31")
        .set("recurrence", "MONTHLY")
        .set("subjectId", measure.as_str())
        .create_returning("subject { id ... on Measure { title } } subjectType status recurrence")
        .await;
    assert_eq!(task["subject"]["title"], "Access reviews");
    // Documents, objectives, suppliers and incidents are subjects too.
    let doc = c
        .ok(
            "mutation($i: CreateDocumentInput!) { createDocument(input: $i) { document { id } } }",
            json!({ "i": { "organizationId": t.id, "title": "Access policy", "kind": "POLICY", "standards": ["ISO27001"] } }),
        )
        .await["createDocument"]["document"]["id"]
        .as_str()
        .expect("document")
        .to_string();
    let about_doc = c
        .task()
        .set("title", "Review the access policy")
        .set("subjectId", doc.as_str())
        .create_returning("subject { id ... on Document { title } } subjectType")
        .await;
    assert_eq!(
        (about_doc["subject"]["title"].as_str(), about_doc["subjectType"].as_str()),
        (Some("Access policy"), Some("Document"))
    );
    assert_eq!(task["subjectType"], "Measure");
    assert_eq!(task["status"], "OPEN");
    let id = task["id"].as_str().expect("id").to_string();
    // The measure lists its task.
    let m = c.node(&measure, "Measure", "tasks { id }").await;
    assert_eq!(m["tasks"][0]["id"], json!(id));

    let d = c.ok(COMPLETE, json!({ "i": { "id": id } })).await;
    assert_eq!(d["completeTask"]["task"]["status"], "DONE");
    assert_eq!(d["completeTask"]["task"]["completedBy"], json!(c.sub));
    let next = &d["completeTask"]["next"];
    // 31 January + 1 month falls back to the end of February.
    assert_eq!(next["dueOn"], "2027-02-28");
    assert_eq!(next["status"], "OPEN");
    assert_eq!(next["previousTaskId"], json!(id));
    assert_eq!(next["title"], "Review access rights");
    // Completing again (a retry) changes nothing and answers the same next task.
    let again = c.ok(COMPLETE, json!({ "i": { "id": id } })).await;
    assert_eq!(again["completeTask"]["next"]["id"], next["id"]);
    // DONE is final; cancelling an OPEN one is an update.
    let e = c.gql(UPDATE, json!({ "i": { "id": id, "status": "OPEN" } })).await;
    assert_error(&e, "BAD_USER_INPUT", Some("status"));
    let next_id = next["id"].as_str().expect("next").to_string();
    let e = c.gql(UPDATE, json!({ "i": { "id": next_id, "status": "DONE" } })).await;
    assert_error(&e, "BAD_USER_INPUT", Some("status"));
    let d = c.ok(UPDATE, json!({ "i": { "id": next_id, "status": "CANCELLED" } })).await;
    assert_eq!(d["updateTask"]["task"]["status"], "CANCELLED");
    let e = c.gql(COMPLETE, json!({ "i": { "id": next_id } })).await;
    assert_error(&e, "BAD_USER_INPUT", Some("id"));
    // A one-off task has no next.
    let once = c.task().set("dueOn", day(1)).create().await;
    let d = c.ok(COMPLETE, json!({ "i": { "id": once } })).await;
    assert_eq!(d["completeTask"]["next"], Value::Null);
    // The trail has the completion.
    let q = "query($o: ID!) { organization(id: $o) { changes(filter: {entityType: \"Task\", action: TRANSITION}) { totalCount } } }";
    assert_eq!(t.owner.ok(q, json!({ "o": t.id })).await["organization"]["changes"]["totalCount"], 2);

    // Roles: auditors and viewers read, they do not write.
    assert_eq!(t.viewer.node(&once, "Task", "status").await["status"], "DONE");
    assert_error(&t.auditor.task().send().await, "FORBIDDEN", None);
    assert_error(&t.integration.gql(UPDATE, json!({ "i": { "id": once, "title": "x" } })).await, "FORBIDDEN", None);
}

async fn bad_input_and_other_tenants(app: &TestApp) {
    let t = app.tenant("acme").await;
    let b = app.tenant("beta").await;
    let o = &t.owner;
    assert_error(&o.task().set("title", " ").send().await, "BAD_USER_INPUT", Some("title"));
    assert_error(&o.task().set("recurrence", "WEEKLY").send().await, "BAD_USER_INPUT", Some("dueOn"));
    assert_error(&o.task().set("assignee", "x".repeat(201)).send().await, "BAD_USER_INPUT", Some("assignee"));
    // A subject of another tenant is no object of this organization; a scope is no subject.
    let their_risk = b.owner.risk().create().await;
    assert_error(&o.task().set("subjectId", their_risk.as_str()).send().await, "BAD_USER_INPUT", Some("subjectId"));
    let scope = o.scope().create().await;
    assert_error(&o.task().set("subjectId", scope.as_str()).send().await, "BAD_USER_INPUT", Some("subjectId"));
    assert_error(&o.task().set("subjectId", "nonsense").send().await, "BAD_USER_INPUT", Some("subjectId"));
    // Another tenant's task is missing.
    let theirs = b.owner.task().create().await;
    assert_error(&o.gql(COMPLETE, json!({ "i": { "id": theirs } })).await, "NOT_FOUND", None);
    assert_error(&o.gql(UPDATE, json!({ "i": { "id": theirs, "title": "x" } })).await, "NOT_FOUND", None);
    // Creating in another tenant's organization: not found.
    assert_error(&o.task().org(&b.id).send().await, "NOT_FOUND", None);
    let mine = o.task().set("dueOn", day(3)).set("recurrence", "WEEKLY").create().await;
    let e = o.gql(UPDATE, json!({ "i": { "id": mine, "dueOn": null } })).await;
    assert_error(&e, "BAD_USER_INPUT", Some("dueOn"));
    let e = o.gql(UPDATE, json!({ "i": { "id": mine, "title": "x", "expectedVersion": 9 } })).await;
    assert_error(&e, "CONFLICT", None);
}

async fn recurrence_creates_the_next_task_once_under_concurrent_completion(app: &TestApp) {
    let t = app.tenant("acme").await;
    let c = &t.contributor;
    let id = c
        .task()
        .set("title", "Quarterly drill")
        .set("dueOn", "2027-03-31")
        .set("recurrence", "QUARTERLY")
        .create()
        .await;
    let tries = (0..6).map(|_| c.gql(COMPLETE, json!({ "i": { "id": id } })));
    let bodies = join_all(tries).await;
    let mut nexts = Vec::new();
    for b in &bodies {
        assert!(b.get("errors").is_none(), "{b:#}");
        nexts.push(b["data"]["completeTask"]["next"]["id"].clone());
    }
    assert!(nexts.iter().all(|n| *n == nexts[0] && !n.is_null()), "{nexts:?}");
    let q = "query($o: ID!) { organization(id: $o) { tasks(filter: {status: OPEN}) { totalCount nodes { dueOn } } all: tasks { totalCount } } }";
    let d = c.ok(q, json!({ "o": t.id })).await;
    assert_eq!(d["organization"]["all"]["totalCount"], 2, "{d}");
    assert_eq!(d["organization"]["tasks"]["nodes"][0]["dueOn"], "2027-06-30");
}

async fn the_consultants_to_do_list_spans_organizations(app: &TestApp) {
    let a = app.tenant("acme").await;
    let b = app.tenant("beta").await;
    let consultant = app.user("consultant@firm");
    let add = "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }";
    a.owner.ok(add, json!({ "i": { "organizationId": a.id, "subject": consultant.sub, "role": "CONTRIBUTOR" } })).await;
    b.owner.ok(add, json!({ "i": { "organizationId": b.id, "subject": consultant.sub, "role": "AUDITOR" } })).await;
    let late = a.owner.task().set("title", "Late at Acme").set("dueOn", day(-2)).create().await;
    let soon = b.owner.task().set("title", "Soon at Beta").set("dueOn", day(3)).create().await;
    let later = b.owner.task().set("title", "Later at Beta").set("dueOn", day(30)).create().await;
    let undated = a.owner.task().set("title", "Whenever").create().await;
    let done = a.owner.task().set("dueOn", day(-5)).create().await;
    a.owner.ok(COMPLETE, json!({ "i": { "id": done } })).await;
    // Outside the consultant's organizations.
    let c = app.tenant("gamma").await;
    c.owner.task().set("dueOn", day(-1)).create().await;

    let q =
        "query($f: TaskFilter) { viewer { tasks(filter: $f, first: 50) { totalCount nodes { id viewerCanUpdate } } } }";
    let ids = |d: &Value| -> Vec<String> {
        d["viewer"]["tasks"]["nodes"]
            .as_array()
            .expect("tasks")
            .iter()
            .filter_map(|n| n["id"].as_str().map(String::from))
            .collect()
    };
    let d = consultant.ok(q, json!({ "f": null })).await;
    assert_eq!(
        ids(&d),
        vec![done.clone(), late.clone(), soon.clone(), later.clone(), undated.clone()],
        "by due day, undated last"
    );
    // Contributor at Acme may update there; auditor at Beta may not.
    let nodes = d["viewer"]["tasks"]["nodes"].as_array().expect("nodes").clone();
    assert_eq!(nodes[1]["viewerCanUpdate"], true);
    assert_eq!(nodes[2]["viewerCanUpdate"], false);
    let d = consultant.ok(q, json!({ "f": { "status": "OPEN", "dueBefore": day(7) } })).await;
    assert_eq!(ids(&d), vec![late.clone(), soon.clone()]);
    // A member of none sees nothing.
    let d = app.user("nobody@nowhere").ok(q, json!({ "f": null })).await;
    assert_eq!(d["viewer"]["tasks"]["totalCount"], 0);

    // The dashboards: overdue and due within 7 days, OPEN only.
    let dash = "query($o: ID!) { organization(id: $o) { dashboard { overdueTasks tasksDueSoon } } }";
    let d = a.owner.ok(dash, json!({ "o": a.id })).await;
    assert_eq!(d["organization"]["dashboard"], json!({ "overdueTasks": 1, "tasksDueSoon": 0 }));
    let d = b.owner.ok(dash, json!({ "o": b.id })).await;
    assert_eq!(d["organization"]["dashboard"], json!({ "overdueTasks": 0, "tasksDueSoon": 1 }));
    // Integration accounts read dashboards but not tasks.
    let d = a.integration.ok(dash, json!({ "o": a.id })).await;
    assert_eq!(d["organization"]["dashboard"], json!({ "overdueTasks": 0, "tasksDueSoon": 0 }));
}

api_tests!(
    a_task_lives_and_recurs,
    bad_input_and_other_tenants,
    recurrence_creates_the_next_task_once_under_concurrent_completion,
    the_consultants_to_do_list_spans_organizations,
);

// ---------------------------------------------------------------------------------------
// TASK_DUE with two replicas on one database.

const EVENTS: &str = "subscription($o: ID!) { organizationEvents(organizationId: $o) { action entityType entityId } }";

/// TASK_DUE events for `task` seen on `ws` within `wait`.
async fn due_events(mut ws: Ws, task: String, wait: Duration) -> usize {
    let deadline = tokio::time::Instant::now() + wait;
    let mut n = 0;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return n;
        }
        match ws_next(&mut ws, left).await {
            Some(m) => {
                let e = &m["payload"]["data"]["organizationEvents"];
                if e["action"] == "TASK_DUE" && e["entityId"] == json!(task) {
                    n += 1;
                }
            }
            None => return n,
        }
    }
}

async fn task_due_is_published_once_with_two_replicas(backend: Backend) {
    let fast = [("ANNEX_TASK_DUE_INTERVAL_SECS", "1")];
    let Some(one) = TestApp::start_with(backend, &fast).await else { return };
    let two = TestApp::start_on(backend, &one.database_url, &fast).await;
    let t = one.tenant("acme").await;
    let on_two = two.user(&t.owner.sub);
    let ws_one = t.owner.subscribe(EVENTS, json!({ "o": t.id })).await;
    let ws_two = on_two.subscribe(EVENTS, json!({ "o": t.id })).await;

    let due = t.owner.task().set("title", "Due today").set("dueOn", day(0)).create().await;
    let overdue = t.owner.task().set("title", "Overdue").set("dueOn", day(-3)).create().await;
    let future = t.owner.task().set("title", "Next week").set("dueOn", day(7)).create().await;
    let cancelled = t.owner.task().set("dueOn", day(-1)).create().await;
    t.owner.ok(UPDATE, json!({ "i": { "id": cancelled, "status": "CANCELLED" } })).await;

    // Both replicas sweep every second for four seconds.
    let wait = Duration::from_secs(5);
    let (n_one, n_two) = tokio::join!(due_events(ws_one, due.clone(), wait), due_events(ws_two, due.clone(), wait));
    match backend {
        // LISTEN/NOTIFY: the one event reaches the subscribers of both replicas.
        Backend::Postgres => assert_eq!((n_one, n_two), (1, 1)),
        // In-process buses: the replica that claimed the task tells its own subscribers.
        Backend::Sqlite => assert_eq!(n_one + n_two, 1, "({n_one}, {n_two})"),
    }
    // Exactly one TASK_DUE per due task in the trail, whatever the replicas did.
    let q = "query($o: ID!, $id: ID) { organization(id: $o) { changes(filter: {action: TASK_DUE, entityId: $id}) { totalCount nodes { actor } } } }";
    for (task, n) in [(&due, 1), (&overdue, 1), (&future, 0), (&cancelled, 0)] {
        let d = t.owner.ok(q, json!({ "o": t.id, "id": task })).await;
        assert_eq!(d["organization"]["changes"]["totalCount"], n, "{task}: {d}");
    }
    let d = t.owner.ok(q, json!({ "o": t.id, "id": due })).await;
    assert_eq!(d["organization"]["changes"]["nodes"][0]["actor"], "annex:scheduler");
    assert!(!t.owner.node(&due, "Task", "dueNotifiedAt").await["dueNotifiedAt"].is_null());
    assert!(t.owner.node(&future, "Task", "dueNotifiedAt").await["dueNotifiedAt"].is_null());
    two.stop().await;
    one.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_due_is_published_once_with_two_replicas_sqlite() {
    task_due_is_published_once_with_two_replicas(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_due_is_published_once_with_two_replicas_postgres() {
    task_due_is_published_once_with_two_replicas(Backend::Postgres).await;
}
