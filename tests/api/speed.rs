//! Issue 11: statements per request stay constant across page size, portfolio size and
//! page depth (counted through `annex_db_queries_total`, and reported as
//! `extensions.cost.actual`), and keyset pages neither skip nor repeat rows when rows are
//! inserted between pages, in every order. Timings are the benchmark's business
//! (`cargo bench --bench load`), never a test's.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::support::{Actor, TestApp};

crate::api_tests!(
    risk_pages_cost_the_same_statements_at_any_size_and_depth,
    portfolios_cost_the_same_statements_for_2_and_50_organizations,
    keyset_pages_neither_skip_nor_repeat_when_rows_arrive,
);

/// Statements sent by the service so far (`annex_db_queries_total`).
async fn statements(app: &TestApp) -> u64 {
    let text =
        app.client.get(format!("{}/metrics", app.base)).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix("annex_db_queries_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("annex_db_queries_total")
}

/// Runs `query` as `who`; returns the statements it cost (metric and `cost.actual`, which
/// must agree) and its data.
async fn cost(app: &TestApp, who: &Actor<'_>, query: &str, vars: Value) -> (u64, Value) {
    let before = statements(app).await;
    let body = who.gql(query, vars).await;
    let used = statements(app).await - before;
    assert!(body.get("errors").is_none(), "{body:#}");
    let actual = body["extensions"]["cost"]["actual"].as_u64().expect("cost.actual");
    assert_eq!(actual, used, "cost.actual counts the statements the operation ran");
    (used, body["data"].clone())
}

const RISK_PAGE: &str = "query($o: ID!, $n: Int!, $after: String) { organization(id: $o) { risks(first: $n, after: $after) { totalCount pageInfo { endCursor } nodes { id title residualScore controls { ref title } } } } }";

async fn risk_pages_cost_the_same_statements_at_any_size_and_depth(app: &TestApp) {
    let t = app.tenant("acme").await;
    let o = &t.owner;
    let controls = [o.control_id("ISO27001", "A.5.1").await, o.control_id("ISO42001", "A.6.2.4").await];
    let link = "mutation($i: LinkRiskControlInput!) { linkRiskControl(input: $i) { risk { id } } }";
    for i in 0..110 {
        let id = o.risk().title(&format!("Risk {i:03}")).likelihood(1 + i % 5).create().await;
        // Every risk has a control, so every page reads links and controls (a page with
        // no link at all skips the second statement).
        let c = &controls[(i % 2) as usize];
        o.ok(link, json!({ "i": { "riskId": id, "controlId": c } })).await;
    }
    let page = |n: i64, after: Option<String>| json!({ "o": t.id, "n": n, "after": after });
    let (ten, _) = cost(app, &t.viewer, RISK_PAGE, page(10, None)).await;
    let (hundred, data) = cost(app, &t.viewer, RISK_PAGE, page(100, None)).await;
    assert_eq!(data["organization"]["risks"]["nodes"].as_array().map(Vec::len), Some(100));
    assert_eq!(ten, hundred, "a page of 100 costs what a page of 10 costs");

    // Page 1 and page 100 of one-risk pages.
    let (first, mut data) = cost(app, &t.viewer, RISK_PAGE, page(1, None)).await;
    for _ in 1..100 {
        let after = data["organization"]["risks"]["pageInfo"]["endCursor"].as_str().map(str::to_string);
        data = t.viewer.ok(RISK_PAGE, page(1, after)).await;
    }
    let after = data["organization"]["risks"]["pageInfo"]["endCursor"].as_str().map(str::to_string);
    let (deep, data) = cost(app, &t.viewer, RISK_PAGE, page(1, after)).await;
    assert_eq!(data["organization"]["risks"]["nodes"].as_array().map(Vec::len), Some(1));
    assert_eq!(first, deep, "page 101 costs what page 1 costs");
}

const PORTFOLIO: &str = "{ organizations(first: 100) { nodes { id name dashboard { riskHeatMap { count } appetiteBreaches soaCoverage { standard percentImplemented } openNonconformities overdueCorrectiveActions readiness { standard percent } } } } portfolio { organizations totalOpenNonconformities totalAppetiteBreaches lowestReadiness { standard percent } } }";

async fn portfolios_cost_the_same_statements_for_2_and_50_organizations(app: &TestApp) {
    let small = app.user("consultant-small");
    let large = app.user("consultant-large");
    let admin = app.admin();
    let add = "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }";
    for i in 0..50 {
        let org = app.org(&format!("client-{i:02}"), &[]).await;
        let owner = admin.in_org(&org);
        owner.risk().title("Backups untested").likelihood(4).create().await;
        owner.nonconformity().create().await;
        for (who, upto) in [("consultant-small", 2), ("consultant-large", 50)] {
            if i < upto {
                admin.ok(add, json!({ "i": { "organizationId": org, "subject": who, "role": "MANAGER" } })).await;
            }
        }
    }
    let (two, data) = cost(app, &small, PORTFOLIO, json!({})).await;
    assert_eq!(data["portfolio"]["organizations"], 2);
    let (fifty, data) = cost(app, &large, PORTFOLIO, json!({})).await;
    assert_eq!(data["portfolio"]["organizations"], 50);
    assert_eq!(data["portfolio"]["totalOpenNonconformities"], 50);
    assert_eq!(two, fifty, "a portfolio of 50 costs what a portfolio of 2 costs");
}

/// Walks every order of the register in pages of 3 while a risk arrives between any two
/// pages: every risk that was there from the start appears exactly once, nothing appears
/// twice.
async fn keyset_pages_neither_skip_nor_repeat_when_rows_arrive(app: &TestApp) {
    let t = app.tenant("acme").await;
    let o = &t.owner;
    let mut original = HashSet::new();
    for i in 0..10i64 {
        let mut b = o.risk().title(&format!("R{}", (i * 7) % 10)).likelihood(1 + i % 3).impact(2);
        if i % 2 == 0 {
            b = b.set("reviewDate", format!("2027-0{}-15", 1 + i % 4));
        }
        original.insert(b.create().await);
    }
    let q = "query($o: ID!, $after: String, $by: RiskOrder) { organization(id: $o) { risks(first: 3, after: $after, orderBy: $by) { pageInfo { hasNextPage endCursor } nodes { id } } } }";
    let mut arrivals = 0;
    for field in ["SCORE", "CREATED_AT", "TITLE", "REVIEW_DATE"] {
        for direction in ["ASC", "DESC"] {
            let by = json!({ "field": field, "direction": direction });
            let mut seen: Vec<String> = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let data = o.ok(q, json!({ "o": t.id, "after": after, "by": by })).await;
                let risks = &data["organization"]["risks"];
                for n in risks["nodes"].as_array().expect("nodes") {
                    seen.push(n["id"].as_str().expect("id").to_string());
                }
                if risks["pageInfo"]["hasNextPage"] != true {
                    break;
                }
                after = risks["pageInfo"]["endCursor"].as_str().map(str::to_string);
                // A newcomer between pages, anywhere in the order.
                arrivals += 1;
                let mut b = o.risk().title(&format!("N{}", arrivals % 10)).likelihood(1 + arrivals % 5).impact(3);
                if arrivals % 2 == 1 {
                    b = b.set("reviewDate", format!("2027-0{}-01", 1 + arrivals % 9));
                }
                b.create().await;
            }
            let unique: HashSet<&String> = seen.iter().collect();
            assert_eq!(unique.len(), seen.len(), "{field} {direction}: a risk appeared twice");
            for id in &original {
                assert!(unique.contains(id), "{field} {direction}: a risk present from the start was skipped");
            }
        }
    }
}
