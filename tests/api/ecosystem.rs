//! Issue 17: maintained building blocks (metrics in the Prometheus text format, parsed),
//! a GraphiQL that works offline, automatic persisted queries.

use std::collections::BTreeSet;
use std::time::Duration;

use prometheus_parse::{Scrape, Value as Sample};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api_tests;
use crate::support::{TestApp, ws_connect, ws_next};

api_tests!(
    metrics_parse_with_their_names_types_and_labels,
    graphiql_works_offline,
    persisted_queries_round_trip,
    persisted_queries_keep_the_query_limits,
    large_answers_are_compressed,
);

async fn scrape(app: &TestApp) -> Scrape {
    let text =
        app.client.get(format!("{}/metrics", app.base)).send().await.expect("metrics").text().await.expect("text");
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text format")
}

fn kind(v: &Sample) -> &'static str {
    match v {
        Sample::Counter(_) => "counter",
        Sample::Gauge(_) => "gauge",
        Sample::Histogram(_) => "histogram",
        Sample::Summary(_) => "summary",
        Sample::Untyped(_) => "untyped",
    }
}

fn scalar(v: &Sample) -> f64 {
    match v {
        Sample::Counter(n) | Sample::Gauge(n) | Sample::Untyped(n) => *n,
        _ => f64::NAN,
    }
}

/// (type, label names) of every sample named `name`, and the sum of its scalar values.
fn family(s: &Scrape, name: &str) -> (BTreeSet<&'static str>, BTreeSet<Vec<String>>, f64) {
    let samples: Vec<_> = s.samples.iter().filter(|x| x.metric == name).collect();
    assert!(!samples.is_empty(), "no {name} in the scrape");
    let kinds = samples.iter().map(|x| kind(&x.value)).collect();
    let labels = samples
        .iter()
        .map(|x| {
            let mut k: Vec<String> = x.labels.keys().cloned().collect();
            k.sort();
            k
        })
        .collect();
    let sum = samples.iter().map(|x| scalar(&x.value)).filter(|v| v.is_finite()).sum();
    (kinds, labels, sum)
}

async fn metrics_parse_with_their_names_types_and_labels(app: &TestApp) {
    let t = app.tenant("acme").await;
    t.owner.ok("query($o: ID!) { organization(id: $o) { name } }", json!({ "o": t.id })).await;
    t.owner
        .ok(
            "mutation($i: CreateScopeInput!) { createScope(input: $i) { scope { id } } }",
            json!({ "i": { "organizationId": t.id, "name": "HQ", "kind": "ISMS" } }),
        )
        .await;
    let mut ws = ws_connect(app, json!({ "Authorization": format!("Bearer {}", t.owner.token) })).await;
    let ack = ws_next(&mut ws, Duration::from_secs(5)).await.expect("ack");
    assert_eq!(ack["type"], "connection_ack", "{ack}");

    let s = scrape(app).await;
    let one = |k: &'static str| BTreeSet::from([k]);
    let no_labels = BTreeSet::from([Vec::<String>::new()]);
    let by_type = BTreeSet::from([vec!["operation_type".to_owned()]]);

    let (k, l, n) = family(&s, "annex_graphql_requests_total");
    assert_eq!((k, l), (one("counter"), by_type.clone()));
    assert!(n >= 2.0, "query and mutation counted: {n}");
    let types: BTreeSet<_> = s
        .samples
        .iter()
        .filter(|x| x.metric == "annex_graphql_requests_total" && scalar(&x.value) > 0.0)
        .filter_map(|x| x.labels.get("operation_type").map(str::to_owned))
        .collect();
    assert!(types.contains("query") && types.contains("mutation"), "{types:?}");

    let (k, l, _) = family(&s, "annex_graphql_request_duration_seconds");
    assert_eq!((k, l), (one("histogram"), by_type));
    let (k, l, _) = family(&s, "annex_db_query_duration_seconds");
    assert_eq!((k, l), (one("histogram"), no_labels.clone()));
    let (k, l, n) = family(&s, "annex_db_queries_total");
    assert_eq!((k, l), (one("counter"), no_labels.clone()));
    assert!(n > 0.0);
    let (k, l, n) = family(&s, "annex_db_pool_connections");
    assert_eq!((k, l), (one("gauge"), no_labels.clone()));
    assert!(n >= 1.0);
    let (k, l, n) = family(&s, "annex_ws_connections");
    assert_eq!((k, l), (one("gauge"), no_labels.clone()));
    assert_eq!(n, 1.0, "the open socket");
    let (k, l, n) = family(&s, "annex_events_published_total");
    assert_eq!((k, l), (one("counter"), no_labels.clone()));
    assert!(n >= 1.0, "the scope's creation was published: {n}");
    let (k, l, _) = family(&s, "annex_rate_limited_total");
    assert_eq!((k, l), (one("counter"), no_labels));
    for name in ["annex_graphql_requests_total", "annex_db_query_duration_seconds", "annex_ws_connections"] {
        assert!(s.docs.get(name).is_some_and(|d| !d.is_empty()), "{name} has HELP");
    }

    drop(ws);
    let mut open = f64::NAN;
    for _ in 0..50 {
        open = family(&scrape(app).await, "annex_ws_connections").2;
        if open == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(open, 0.0, "the closed socket is no longer counted");
}

/// Every `src="…"` and `href="…"` of an HTML page.
fn references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').expect("closed attribute");
            out.push(rest[..end].to_owned());
        }
    }
    out
}

async fn graphiql_works_offline(app: &TestApp) {
    let res = app.client.get(format!("{}/graphql", app.base)).header("accept", "text/html").send().await.expect("page");
    assert_eq!(res.status().as_u16(), 200);
    let csp = res.headers().get("content-security-policy").expect("CSP").to_str().expect("ascii").to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    let html = res.text().await.expect("html");
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//unpkg"), "{html}");
    assert!(html.contains("data-subscription-endpoint=\"/graphql/ws\""), "{html}");
    assert!(html.contains("Authorization"), "the headers pane hint: {html}");
    let refs = references(&html);
    assert_eq!(refs.len(), 5, "{refs:?}");
    for r in refs {
        assert!(r.starts_with("/graphiql/assets/"), "same-origin asset: {r}");
        let res = app.client.get(format!("{}{r}", app.base)).send().await.expect("asset");
        assert_eq!(res.status().as_u16(), 200, "{r}");
        let ty = res.headers().get("content-type").expect("type").to_str().expect("ascii").to_owned();
        assert!(ty.starts_with(if r.ends_with(".css") { "text/css" } else { "text/javascript" }), "{r}: {ty}");
        assert!(res.bytes().await.expect("body").len() > 500, "{r}");
    }
    let missing = app.client.get(format!("{}/graphiql/assets/nope.js", app.base)).send().await.expect("404");
    assert_eq!(missing.status().as_u16(), 404);
}

fn sha256(q: &str) -> String {
    hex::encode(Sha256::digest(q.as_bytes()))
}

async fn post(app: &TestApp, token: &str, body: Value) -> Value {
    app.client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json")
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn persisted_queries_round_trip(app: &TestApp) {
    let t = app.tenant("acme").await;
    let query = format!("query Apq {{ organization(id: \"{}\") {{ name }} }}", t.id);
    let hash = sha256(&query);

    let unknown = post(app, &t.viewer.token, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound", "{unknown:#}");

    let first = post(app, &t.viewer.token, json!({ "query": query, "extensions": persisted(&hash) })).await;
    assert_eq!(first["data"]["organization"]["name"], "Org acme", "{first:#}");

    let by_hash = post(app, &t.viewer.token, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(by_hash["data"]["organization"]["name"], "Org acme", "{by_hash:#}");

    // Over GET too (cacheable by URL), with the CSRF header GETs need.
    let ext = persisted(&hash).to_string();
    let got: Value = app
        .client
        .get(format!("{}/graphql", app.base))
        .query(&[("extensions", ext.as_str())])
        .bearer_auth(&t.viewer.token)
        .header("x-annex-csrf", "1")
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(got["data"]["organization"]["name"], "Org acme", "{got:#}");

    // The hash is of the text: a wrong one is refused, and rights still apply per caller.
    let wrong = post(app, &t.viewer.token, json!({ "query": query, "extensions": persisted(&sha256("x")) })).await;
    assert!(wrong["errors"][0]["message"].as_str().is_some_and(|m| m.contains("sha")), "{wrong:#}");
    let stranger = post(app, &t.stranger.token, json!({ "extensions": persisted(&hash) })).await;
    // Another tenant's organization reads as a missing one: null, as for any unknown id.
    assert!(stranger["data"]["organization"].is_null(), "{stranger:#}");
}

async fn persisted_queries_keep_the_query_limits(app: &TestApp) {
    let t = app.tenant("acme").await;
    let aliases: String = (0..60).map(|i| format!("a{i}: __typename ")).collect();
    let query = format!("{{ {aliases} }}");
    let hash = sha256(&query);
    let body = post(app, &t.viewer.token, json!({ "query": query, "extensions": persisted(&hash) })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{body:#}");
    // The cached document is walked again: the hash alone does not get around the limit.
    let again = post(app, &t.viewer.token, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(again["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{again:#}");
    assert!(again.get("data").is_none_or(Value::is_null), "{again:#}");
}

async fn large_answers_are_compressed(app: &TestApp) {
    let t = app.tenant("acme").await;
    let send = |query: &'static str| {
        app.client
            .post(format!("{}/graphql", app.base))
            .bearer_auth(&t.viewer.token)
            .header("accept-encoding", "gzip")
            .json(&json!({ "query": query }))
            .send()
    };
    let big = send("{ __schema { types { name fields { name description } } } }").await.expect("post");
    assert_eq!(big.headers().get("content-encoding").and_then(|v| v.to_str().ok()), Some("gzip"));
    assert_eq!(
        big.headers().get("vary").and_then(|v| v.to_str().ok()).map(|v| v.contains("accept-encoding")),
        Some(true)
    );
    let small = send("{ __typename }").await.expect("post");
    assert!(small.headers().get("content-encoding").is_none(), "small answers are sent as they are");
    let body: Value = small.json().await.expect("json");
    assert_eq!(body["data"]["__typename"], "Query");
}
