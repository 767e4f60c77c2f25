//! The spine: authentication, organizations, memberships, tenancy, transport.

use serde_json::{Value, json};

use crate::support::{TestApp, assert_error, code, jwt, now};

const VIEWER: &str = "{ viewer { subject isPlatformAdmin memberships { role organization { id name } } } }";

async fn status_and_body(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn each_jwt_failure_is_unauthenticated(app: &TestApp) {
    let good = app.token("alice");
    assert_eq!(app.ok(&good, VIEWER, json!({})).await["viewer"]["subject"], "alice");

    let wrong_secret = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({ "sub": "alice", "aud": "annex", "exp": now() + 600 }),
        &jsonwebtoken::EncodingKey::from_secret(b"another-secret-another-secret-another"),
    )
    .expect("encode");
    // alg "none": header {"alg":"none","typ":"JWT"}, claims, empty signature.
    let b64 = |v: &Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let none = format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "typ": "JWT" })),
        b64(&json!({ "sub": "alice", "aud": "annex", "exp": now() + 600, "roles": ["platform_admin"] }))
    );
    let cases = [
        ("alg none", none),
        ("wrong secret", wrong_secret),
        ("expired", jwt(json!({ "sub": "alice", "aud": "annex", "exp": now() - 120 }))),
        ("nbf in the future", jwt(json!({ "sub": "alice", "aud": "annex", "exp": now() + 600, "nbf": now() + 300 }))),
        ("wrong audience", jwt(json!({ "sub": "alice", "aud": "someone-else", "exp": now() + 600 }))),
        ("no audience", jwt(json!({ "sub": "alice", "exp": now() + 600 }))),
        ("missing sub", jwt(json!({ "aud": "annex", "exp": now() + 600 }))),
        ("empty sub", jwt(json!({ "sub": "", "aud": "annex", "exp": now() + 600 }))),
        ("missing exp", jwt(json!({ "sub": "alice", "aud": "annex" }))),
        ("garbage", "not.a.token".to_string()),
    ];
    for (what, token) in cases {
        let resp = app
            .client
            .post(format!("{}/graphql", app.base))
            .header("content-type", "application/json")
            .bearer_auth(&token)
            .json(&json!({ "query": VIEWER }))
            .send()
            .await
            .expect("send");
        let (status, body) = status_and_body(resp).await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(code(&body), "UNAUTHENTICATED", "{what}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(!message.contains(&token[..token.len().min(24)]), "{what}: the message echoes the token");
        assert!(body["errors"][0]["extensions"]["requestId"].is_string(), "{what}");
    }

    // Within the 30 s leeway an expired token still works; beyond it, not.
    let skew = jwt(json!({ "sub": "alice", "aud": "annex", "exp": now() - 10 }));
    assert_eq!(app.ok(&skew, VIEWER, json!({})).await["viewer"]["subject"], "alice");

    // No token: fields need one.
    let body = app.gql("", VIEWER, json!({})).await;
    assert_error(&body, "UNAUTHENTICATED", None);
}

async fn issuer_is_checked_when_configured(app: &TestApp) {
    let other = TestApp::start_on(app.backend, &app.database_url, &[("ANNEX_JWT_ISSUER", "https://idp.example")]).await;
    let right = jwt(json!({ "sub": "alice", "aud": "annex", "iss": "https://idp.example", "exp": now() + 600 }));
    let wrong = jwt(json!({ "sub": "alice", "aud": "annex", "iss": "https://evil.example", "exp": now() + 600 }));
    let missing = jwt(json!({ "sub": "alice", "aud": "annex", "exp": now() + 600 }));
    assert_eq!(other.ok(&right, VIEWER, json!({})).await["viewer"]["subject"], "alice");
    assert_error(&other.gql(&wrong, VIEWER, json!({})).await, "UNAUTHENTICATED", None);
    assert_error(&other.gql(&missing, VIEWER, json!({})).await, "UNAUTHENTICATED", None);
    other.stop().await;
}

async fn public_keys_fix_the_algorithm(app: &TestApp) {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    for (public, private, alg) in [
        ("rsa.pub", "rsa.key", Algorithm::RS256),
        ("p256.pub", "p256.key", Algorithm::ES256),
        ("ed25519.pub", "ed25519.key", Algorithm::EdDSA),
    ] {
        let pub_path = format!("{dir}/{public}");
        let other = TestApp::start_on(
            app.backend,
            &app.database_url,
            &[("ANNEX_JWT_SECRET", ""), ("ANNEX_JWT_PUBLIC_KEY_FILE", &pub_path)],
        )
        .await;
        let pem = std::fs::read(format!("{dir}/{private}")).expect("key");
        let key = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
            _ => EncodingKey::from_ed_pem(&pem),
        }
        .expect("private key");
        let claims = json!({ "sub": "carol", "aud": "annex", "exp": now() + 600, "roles": ["platform_admin"] });
        let token = jsonwebtoken::encode(&Header::new(alg), &claims, &key).expect("sign");
        let data = other.ok(&token, VIEWER, json!({})).await;
        assert_eq!(data["viewer"]["isPlatformAdmin"], true, "{alg:?}");

        // Algorithm confusion: an HS256 token keyed with the public key's bytes is refused.
        let public_bytes = std::fs::read(&pub_path).expect("pub");
        let forged =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&public_bytes))
                .expect("forge");
        assert_error(&other.gql(&forged, VIEWER, json!({})).await, "UNAUTHENTICATED", None);
        // And the shared test secret is not accepted either.
        assert_error(&other.gql(&app.token("carol"), VIEWER, json!({})).await, "UNAUTHENTICATED", None);
        other.stop().await;
    }
}

async fn jwks_file_keys_verify(app: &TestApp) {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let pem = std::fs::read(format!("{dir}/p256.key")).expect("key");
    let key = EncodingKey::from_ec_pem(&pem).expect("ec");
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).expect("jwk");
    jwk.common.key_id = Some("k1".into());
    let set = json!({ "keys": [jwk] });
    let path = std::env::temp_dir().join(format!("annex-jwks-{}.json", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, set.to_string()).expect("write jwks");
    let other = TestApp::start_on(
        app.backend,
        &app.database_url,
        &[("ANNEX_JWT_SECRET", ""), ("ANNEX_JWT_JWKS", path.to_str().expect("path"))],
    )
    .await;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("k1".into());
    let token = jsonwebtoken::encode(&header, &json!({ "sub": "dave", "aud": "annex", "exp": now() + 600 }), &key)
        .expect("sign");
    assert_eq!(other.ok(&token, VIEWER, json!({})).await["viewer"]["subject"], "dave");
    header.kid = Some("unknown".into());
    let token = jsonwebtoken::encode(&header, &json!({ "sub": "dave", "aud": "annex", "exp": now() + 600 }), &key)
        .expect("sign");
    assert_error(&other.gql(&token, VIEWER, json!({})).await, "UNAUTHENTICATED", None);
    other.stop().await;
}

async fn jwks_url_keys_verify(app: &TestApp) {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let pem = std::fs::read(format!("{dir}/ed25519.key")).expect("key");
    let key = EncodingKey::from_ed_pem(&pem).expect("ed");
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::EdDSA).expect("jwk");
    jwk.common.key_id = Some("ed-1".into());
    let set = json!({ "keys": [jwk] }).to_string();
    // A tiny identity provider serving its JWK set over HTTP.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let idp = format!("http://{}/.well-known/jwks.json", listener.local_addr().expect("addr"));
    let router = axum::Router::new().route("/.well-known/jwks.json", axum::routing::get(move || async move { set }));
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let other = TestApp::start_on(
        app.backend,
        &app.database_url,
        &[
            ("ANNEX_JWT_SECRET", ""),
            ("ANNEX_JWT_JWKS", &idp),
            ("ANNEX_MODE", "development"),
            ("ANNEX_JWT_JWKS_ALLOW_HTTP", "true"),
        ],
    )
    .await;
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("ed-1".into());
    let token = jsonwebtoken::encode(&header, &json!({ "sub": "erin", "aud": "annex", "exp": now() + 600 }), &key)
        .expect("sign");
    assert_eq!(other.ok(&token, VIEWER, json!({})).await["viewer"]["subject"], "erin");
    assert_error(&other.gql(&app.token("erin"), VIEWER, json!({})).await, "UNAUTHENTICATED", None);
    other.stop().await;
    server.abort();
}

async fn production_mode_hides_introspection(app: &TestApp) {
    let prod = TestApp::start_on(app.backend, &app.database_url, &[("ANNEX_MODE", "production")]).await;
    let token = prod.token("alice");
    let resp = prod.client.get(format!("{}/graphql", prod.base)).send().await.expect("get");
    assert_eq!(resp.status().as_u16(), 400, "no GraphiQL in production");
    let body = prod.gql(&token, "{ __schema { types { name } } }", json!({})).await;
    assert!(body["data"]["__schema"].is_null(), "introspection is off: {body}");
    // No "did you mean" suggestions either.
    let body = prod.gql(&token, "{ viewr { subject } }", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(!message.contains("viewer"), "{message}");
    assert_eq!(prod.ok(&token, VIEWER, json!({})).await["viewer"]["subject"], "alice");
    prod.stop().await;
}

async fn postgres_only_database_outage_is_service_unavailable(app: &TestApp) {
    if app.backend != crate::support::Backend::Postgres {
        return;
    }
    let token = app.token("alice");
    app.ok(&token, VIEWER, json!({})).await;
    let readyz = app.client.get(format!("{}/readyz", app.base)).send().await.expect("readyz");
    assert_eq!(readyz.status().as_u16(), 200);
    // Take the database away under the running service.
    let name = app.database_url.rsplit('/').next().expect("db name").split('?').next().expect("name").to_string();
    let base = crate::support::postgres_base_url().expect("postgres");
    crate::support::raw_sql(&base, &format!("DROP DATABASE \"{name}\" WITH (FORCE)")).await;
    let readyz = app.client.get(format!("{}/readyz", app.base)).send().await.expect("readyz");
    assert_eq!(readyz.status().as_u16(), 503);
    let body = app.gql(&token, "{ organizations { totalCount } }", json!({})).await;
    assert_error(&body, "SERVICE_UNAVAILABLE", None);
    let text = body.to_string();
    assert!(!text.contains("SELECT") && !text.contains("database \\\""), "no SQL or driver text: {text}");
    assert!(body["errors"][0]["extensions"]["requestId"].is_string());
}

const CREATE_ORG: &str =
    "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id slug } } }";

async fn only_platform_admins_create_organizations(app: &TestApp) {
    let org = app.org("acme", &[("olivia", "OWNER")]).await;
    let body = app.gql(&app.token("olivia"), CREATE_ORG, json!({ "i": { "name": "X", "slug": "x-corp" } })).await;
    assert_error(&body, "FORBIDDEN", None);
    assert_eq!(app.count("organizations").await, 1);
    // The organization starts with both standards' SoA rows (93 + 38) and 41 + 43 clause rows.
    let rows = app.sql("SELECT COUNT(*) FROM controls").await;
    assert_eq!(rows[0][0], json!(131));
    assert_eq!(app.count("clause_assessments").await, 84);
    let _ = org;
}

async fn slug_rules(app: &TestApp) {
    let admin = app.admin_token();
    app.org("acme", &[]).await;
    let dup = app.gql(&admin, CREATE_ORG, json!({ "i": { "name": "Other", "slug": "acme" } })).await;
    assert_error(&dup, "CONFLICT", None);
    for bad in ["ab", "Acme", "acme_corp", "-acme", &"a".repeat(64)] {
        let body = app.gql(&admin, CREATE_ORG, json!({ "i": { "name": "Other", "slug": bad } })).await;
        assert_error(&body, "BAD_USER_INPUT", Some("slug"));
    }
    let blank = app.gql(&admin, CREATE_ORG, json!({ "i": { "name": "  ", "slug": "fine-slug" } })).await;
    assert_error(&blank, "BAD_USER_INPUT", Some("name"));
    assert_eq!(app.count("organizations").await, 1, "nothing half-written");
    assert_eq!(app.count("controls").await, 131, "no SoA rows for refused organizations");
}

const UPDATE_ORG: &str =
    "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { name slug version } } }";

async fn update_organization_roles_and_versions(app: &TestApp) {
    let t = app.tenant("acme").await;
    let org = t.id.clone();
    app.org("taken", &[]).await;
    let cases = [
        (&t.owner, true),
        (&t.manager, true),
        (&t.contributor, false),
        (&t.auditor, false),
        (&t.viewer, false),
        (&t.integration, false),
    ];
    for (who, allowed) in cases {
        let body = who.gql(UPDATE_ORG, json!({ "i": { "id": org, "name": format!("Acme by {}", who.sub) } })).await;
        if allowed {
            assert!(body.get("errors").is_none(), "{}: {body}", who.sub);
        } else {
            assert_error(&body, "FORBIDDEN", None);
        }
    }
    let stale = t.owner.gql(UPDATE_ORG, json!({ "i": { "id": org, "name": "X", "expectedVersion": 1 } })).await;
    assert_error(&stale, "CONFLICT", None);
    let taken = t.owner.gql(UPDATE_ORG, json!({ "i": { "id": org, "slug": "taken" } })).await;
    assert_error(&taken, "CONFLICT", None);
    let stranger = t.stranger.gql(UPDATE_ORG, json!({ "i": { "id": org, "name": "X" } })).await;
    assert_error(&stranger, "NOT_FOUND", None);
    let data = t
        .viewer
        .ok(
            "query($id: ID!) { organization(id: $id) { name version viewerCanUpdate viewerRole } }",
            json!({ "id": org }),
        )
        .await;
    assert_eq!(data["organization"]["name"], json!(format!("Acme by {}", t.manager.sub)));
    assert_eq!(data["organization"]["version"], 3);
    assert_eq!(data["organization"]["viewerCanUpdate"], false);
    assert_eq!(data["organization"]["viewerRole"], "VIEWER");
}

const ADD: &str = "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id subject role } } }";
const CHANGE: &str =
    "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { membership { role version } } }";
const REMOVE: &str = "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { deletedId } }";

async fn memberships_per_role(app: &TestApp) {
    let t = app.tenant("acme").await;
    let org = t.id.clone();
    let cases = [
        (&t.owner, true),
        (&t.manager, false),
        (&t.contributor, false),
        (&t.auditor, false),
        (&t.viewer, false),
        (&t.integration, false),
    ];
    for (who, allowed) in cases {
        let body = who
            .gql(
                ADD,
                json!({ "i": { "organizationId": org, "subject": format!("new-{}", who.sub), "role": "VIEWER" } }),
            )
            .await;
        if allowed {
            assert_eq!(body["data"]["addMember"]["membership"]["role"], "VIEWER", "{body}");
        } else {
            assert_error(&body, "FORBIDDEN", None);
        }
    }
    let stranger =
        t.stranger.gql(ADD, json!({ "i": { "organizationId": org, "subject": "x", "role": "OWNER" } })).await;
    assert_error(&stranger, "NOT_FOUND", None);
    let dup =
        t.owner.gql(ADD, json!({ "i": { "organizationId": org, "subject": t.manager.sub, "role": "VIEWER" } })).await;
    assert_error(&dup, "CONFLICT", None);
    let blank = t.owner.gql(ADD, json!({ "i": { "organizationId": org, "subject": " ", "role": "VIEWER" } })).await;
    assert_error(&blank, "BAD_USER_INPUT", Some("subject"));

    // The new role takes effect at once (memberships live in the service).
    let data =
        t.owner.ok(CHANGE, json!({ "i": { "organizationId": org, "subject": t.viewer.sub, "role": "MANAGER" } })).await;
    assert_eq!(data["changeMemberRole"]["membership"]["role"], "MANAGER");
    let body = t.viewer.gql(UPDATE_ORG, json!({ "i": { "id": org, "name": "By v" } })).await;
    assert!(body.get("errors").is_none(), "{body}");
    // Revocation is immediate too.
    t.owner.ok(REMOVE, json!({ "i": { "organizationId": org, "subject": t.viewer.sub } })).await;
    let gone = t.viewer.ok("query($id: ID!) { organization(id: $id) { id } }", json!({ "id": org })).await;
    assert_eq!(gone["organization"], Value::Null);
    let missing = t.owner.gql(REMOVE, json!({ "i": { "organizationId": org, "subject": "nobody" } })).await;
    assert_error(&missing, "NOT_FOUND", None);

    // The viewer sees its memberships.
    let data = t.auditor.ok(VIEWER, json!({})).await;
    assert_eq!(data["viewer"]["memberships"][0]["role"], "AUDITOR");
    assert_eq!(data["viewer"]["memberships"][0]["organization"]["id"], json!(org));
}

async fn last_owner_stays(app: &TestApp) {
    let org = app.org("acme", &[("o", "OWNER"), ("m", "MANAGER")]).await;
    let demote = app
        .gql(&app.token("o"), CHANGE, json!({ "i": { "organizationId": org, "subject": "o", "role": "MANAGER" } }))
        .await;
    assert_error(&demote, "BAD_USER_INPUT", Some("role"));
    let remove = app.gql(&app.token("o"), REMOVE, json!({ "i": { "organizationId": org, "subject": "o" } })).await;
    assert_error(&remove, "BAD_USER_INPUT", Some("role"));
    // With a second owner, the first may step down.
    app.ok(&app.token("o"), CHANGE, json!({ "i": { "organizationId": org, "subject": "m", "role": "OWNER" } })).await;
    app.ok(&app.token("o"), CHANGE, json!({ "i": { "organizationId": org, "subject": "o", "role": "VIEWER" } })).await;
    let rows = app.sql("SELECT role FROM memberships ORDER BY subject").await;
    assert_eq!(rows, vec![vec![json!("OWNER")], vec![json!("VIEWER")]]);
}

async fn other_tenants_are_invisible(app: &TestApp) {
    let a = app.org("alpha", &[("alice", "OWNER")]).await;
    let b = app.org("beta", &[("bob", "OWNER")]).await;
    let members = app
        .ok(&app.token("bob"), "query($id: ID!) { organization(id: $id) { members { id } } }", json!({ "id": b }))
        .await;
    let bob_membership = members["organization"]["members"][0]["id"].as_str().expect("id").to_string();

    let alice = app.token("alice");
    let data = app.ok(&alice, "query($a: ID!, $b: ID!, $m: ID!) { a: organization(id: $a) { name } b: organization(id: $b) { name } nb: node(id: $b) { id } nm: node(id: $m) { id } }", json!({ "a": a, "b": b, "m": bob_membership })).await;
    assert_eq!(data["a"]["name"], "Org alpha");
    assert_eq!(data["b"], Value::Null);
    assert_eq!(data["nb"], Value::Null);
    assert_eq!(data["nm"], Value::Null);
    // A missing object looks exactly the same.
    let ghost = "org_0190000000007000800000000000dead";
    let data = app
        .ok(&alice, "query($g: ID!) { organization(id: $g) { name } node(id: $g) { id } }", json!({ "g": ghost }))
        .await;
    assert_eq!(data, json!({ "organization": null, "node": null }));
    let list = app.ok(&alice, "{ organizations { totalCount nodes { id } } }", json!({})).await;
    assert_eq!(list["organizations"]["totalCount"], 1);
    // Mutations on another tenant: NOT_FOUND, never FORBIDDEN.
    for (q, v) in [
        (UPDATE_ORG, json!({ "i": { "id": b, "name": "pwned" } })),
        (ADD, json!({ "i": { "organizationId": b, "subject": "alice", "role": "OWNER" } })),
        (REMOVE, json!({ "i": { "organizationId": b, "subject": "bob" } })),
        (CHANGE, json!({ "i": { "organizationId": b, "subject": "bob", "role": "VIEWER" } })),
    ] {
        assert_error(&app.gql(&alice, q, v).await, "NOT_FOUND", None);
    }
    // A platform admin sees both.
    let all = app.ok(&app.admin_token(), "{ organizations { totalCount nodes { slug } } }", json!({})).await;
    assert_eq!(all["organizations"]["totalCount"], 2);
}

async fn organizations_paginate(app: &TestApp) {
    for i in 0..7 {
        app.org(&format!("org-{i:02}"), &[("consultant", "VIEWER")]).await;
    }
    app.org("not-mine", &[]).await;
    let token = app.token("consultant");
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app
            .ok(&token, "query($after: String) { organizations(first: 3, after: $after) { totalCount nodes { slug } pageInfo { hasNextPage endCursor } } }", json!({ "after": after }))
            .await;
        let c = &data["organizations"];
        assert_eq!(c["totalCount"], 7);
        seen.extend(
            c["nodes"].as_array().expect("nodes").iter().map(|n| n["slug"].as_str().expect("slug").to_string()),
        );
        if c["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = c["pageInfo"]["endCursor"].clone();
    }
    let expected: Vec<String> = (0..7).map(|i| format!("org-{i:02}")).collect();
    assert_eq!(seen, expected);
    let bad = app.gql(&token, "{ organizations(first: 500) { totalCount } }", json!({})).await;
    assert_error(&bad, "BAD_USER_INPUT", Some("first"));
    let bad = app.gql(&token, "{ organizations(after: \"nope\") { totalCount } }", json!({})).await;
    assert_error(&bad, "BAD_USER_INPUT", Some("after"));
}

async fn transport_rules(app: &TestApp) {
    let token = app.token("alice");
    let url = format!("{}/graphql", app.base);
    // GET runs queries, with the header a cross-site request cannot send without a CORS
    // preflight; a mutation over GET is refused.
    let get = |csrf: bool| {
        let req = app.client.get(&url).bearer_auth(&token).query(&[("query", "{ viewer { subject } }")]);
        if csrf { req.header("x-annex-csrf", "1") } else { req }
    };
    let (status, body) = status_and_body(get(false).send().await.expect("get")).await;
    assert_eq!(status, 400, "a GET query without x-annex-csrf: {body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let (status, body) = status_and_body(get(true).send().await.expect("get")).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["viewer"]["subject"], "alice");
    let resp = app
        .client
        .get(&url)
        .bearer_auth(&token)
        .query(&[("query", "mutation { removeMember(input: {organizationId: \"x\", subject: \"y\"}) { deletedId } }")])
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status().as_u16(), 405);
    // GraphiQL in development.
    let resp = app.client.get(&url).send().await.expect("graphiql");
    assert!(resp.text().await.expect("html").contains("graphiql"));
    // CSRF: simple content types need x-annex-csrf.
    for ct in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
        let resp = app
            .client
            .post(&url)
            .header("content-type", ct)
            .bearer_auth(&token)
            .body(json!({ "query": "{ viewer { subject } }" }).to_string())
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status().as_u16(), 400, "{ct}");
    }
    let resp = app
        .client
        .post(&url)
        .bearer_auth(&token)
        .body(json!({ "query": "{ viewer { subject } }" }).to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 415, "no content type");
    let resp = app
        .client
        .post(&url)
        .header("content-type", "text/plain")
        .header("x-annex-csrf", "1")
        .bearer_auth(&token)
        .body(json!({ "query": "{ viewer { subject } }" }).to_string())
        .send()
        .await
        .expect("post");
    let (status, body) = status_and_body(resp).await;
    assert_eq!((status, body["data"]["viewer"]["subject"].clone()), (200, json!("alice")));
    // Batches of at most 5.
    let op = json!({ "query": "{ viewer { subject } }" });
    let resp = app.client.post(&url).bearer_auth(&token).json(&vec![op.clone(); 5]).send().await.expect("batch");
    let (_, body) = status_and_body(resp).await;
    assert_eq!(body.as_array().map(Vec::len), Some(5));
    let resp = app.client.post(&url).bearer_auth(&token).json(&vec![op.clone(); 6]).send().await.expect("batch");
    let (status, body) = status_and_body(resp).await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX");
    // Bodies over 1 MiB: 413.
    let big = json!({ "query": format!("{{ viewer {{ subject }} }} #{}", "x".repeat(1_100_000)) });
    let resp = app.client.post(&url).bearer_auth(&token).json(&big).send().await.expect("big");
    assert_eq!(resp.status().as_u16(), 413);
    // Depth, aliases and cost limits.
    let deep = "{ viewer { memberships { organization { members { organization { members { organization { members { organization { members { organization { name } } } } } } } } } } } }";
    assert_error(&app.gql(&token, deep, json!({})).await, "QUERY_TOO_COMPLEX", None);
    let aliases: String = (0..31).map(|i| format!("a{i}: viewer {{ subject }} ")).collect();
    assert_error(&app.gql(&token, &format!("{{ {aliases} }}"), json!({})).await, "QUERY_TOO_COMPLEX", None);
    let heavy = "organizations(first: 100) { nodes { members { subject role id version createdAt updatedAt organization { name slug id version } } } }";
    let costly = format!("{{ {} }}", (0..20).map(|i| format!("o{i}: {heavy}")).collect::<Vec<_>>().join(" "));
    let costly = costly.as_str();
    assert_error(&app.gql(&token, costly, json!({})).await, "QUERY_TOO_COMPLEX", None);
    // Every response reports its cost.
    let body = app.gql(&token, "{ viewer { subject } }", json!({})).await;
    assert!(body["extensions"]["cost"]["requested"].as_u64().is_some(), "{body}");
    // The request id of an error is the service's, the one the log and the response header
    // carry; the client's own id comes back only as clientRequestId.
    let resp = app
        .client
        .post(&url)
        .header("x-request-id", "req-12345")
        .json(&json!({ "query": VIEWER }))
        .send()
        .await
        .expect("post");
    let id = resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()).expect("x-request-id").to_string();
    assert_ne!(id, "req-12345");
    let (_, body) = status_and_body(resp).await;
    assert_eq!(body["errors"][0]["extensions"]["requestId"], json!(id));
    assert_eq!(body["errors"][0]["extensions"]["clientRequestId"], "req-12345");
    // Unknown fields are the client's fault.
    assert_error(&app.gql(&token, "{ nope }", json!({})).await, "BAD_USER_INPUT", None);
}

async fn health_readiness_metrics(app: &TestApp) {
    let get = |p: &str| app.client.get(format!("{}{p}", app.base)).send();
    assert_eq!(get("/healthz").await.expect("healthz").status().as_u16(), 200);
    assert_eq!(get("/readyz").await.expect("readyz").status().as_u16(), 200);
    app.ok(&app.token("alice"), VIEWER, json!({})).await;
    let text = get("/metrics").await.expect("metrics").text().await.expect("text");
    for name in [
        "annex_graphql_requests_total{operation_type=\"query\"}",
        "annex_graphql_request_duration_seconds_bucket",
        "annex_db_queries_total",
        "annex_db_pool_connections",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
}

async fn rate_limit_per_subject(app: &TestApp) {
    let limited = TestApp::start_on(app.backend, &app.database_url, &[("ANNEX_RATE_LIMIT_PER_MINUTE", "3")]).await;
    let token = limited.token("hasty");
    for _ in 0..3 {
        limited.ok(&token, VIEWER, json!({})).await;
    }
    let body = limited.gql(&token, VIEWER, json!({})).await;
    assert_error(&body, "RATE_LIMITED", None);
    // Another subject has its own budget.
    limited.ok(&limited.token("calm"), VIEWER, json!({})).await;
    limited.stop().await;
}

crate::api_tests!(
    each_jwt_failure_is_unauthenticated,
    issuer_is_checked_when_configured,
    public_keys_fix_the_algorithm,
    jwks_file_keys_verify,
    jwks_url_keys_verify,
    production_mode_hides_introspection,
    postgres_only_database_outage_is_service_unavailable,
    only_platform_admins_create_organizations,
    slug_rules,
    update_organization_roles_and_versions,
    memberships_per_role,
    last_owner_stays,
    other_tenants_are_invisible,
    organizations_paginate,
    transport_rules,
    health_readiness_metrics,
    rate_limit_per_subject,
);
