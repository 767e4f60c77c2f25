//! Spreadsheet imports (`POST /organizations/{id}/imports/{kind}`): the SoA export round
//! trip, dry run equal to the real run, all or nothing with every bad cell reported by
//! line and column, risks matched by external key, the trail, and bad requests.

use serde_json::{Value, json};

use crate::support::{Actor, TestApp};

crate::api_tests!(
    soa_export_imports_unchanged_and_edits_round_trip,
    risk_import_dry_run_equals_real_run,
    a_bad_cell_anywhere_writes_nothing,
    decisions_import_and_the_rules_of_update_control,
    bad_requests_are_refused_clearly,
);

const CHANGES: &str = "query($o: ID!) { organization(id: $o) { changes(first: 1) { totalCount } } }";
const RISKS: &str = "query($o: ID!) { organization(id: $o) { risks(first: 50) { totalCount nodes { externalKey title owner likelihood impact treatment status } } } }";

async fn trail_len(by: &Actor<'_>) -> u64 {
    by.ok(CHANGES, json!({ "o": by.org() })).await["organization"]["changes"]["totalCount"].as_u64().expect("count")
}

async fn import(by: &Actor<'_>, kind: &str, dry: bool, csv: &str) -> (u16, Value) {
    let path = format!("/organizations/{}/imports/{kind}{}", by.org(), if dry { "?dryRun=true" } else { "" });
    let resp = by.post_csv(&path, csv.to_string()).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

/// The report without what differs between a dry and a real run.
fn comparable(mut report: Value) -> Value {
    report.as_object_mut().expect("report").remove("dryRun");
    report.as_object_mut().expect("report").remove("applied");
    report
}

async fn soa_export_imports_unchanged_and_edits_round_trip(app: &TestApp) {
    let t = app.tenant("imp-soa").await;
    let o = &t.owner;
    let a51 = o.control_id("ISO27001", "A.5.1").await;
    let a22 = o.control_id("ISO42001", "A.2.2").await;
    // Values the export guards or quotes.
    o.control(&a51)
        .with(json!({ "decision": "INCLUDED", "justification": "=HYPERLINK(\"x\"); -1, @a", "status": "IMPLEMENTED", "owner": "+CISO" }))
        .update()
        .await;
    o.control(&a22)
        .with(json!({ "decision": "EXCLUDED", "justification": "no AI policy needed\nsecond line" }))
        .update()
        .await;
    let export = o.get(&format!("/organizations/{}/soa.csv", t.id)).await.text().await.expect("csv");
    let rows = export.lines().filter(|l| l.starts_with("ISO")).count() as u64;
    let trail = trail_len(o).await;

    let (status, dry) = import(o, "soa", true, &export).await;
    assert_eq!(status, 200, "{dry:#}");
    assert_eq!(
        (dry["unchanged"].as_u64(), dry["updated"].as_u64(), dry["created"].as_u64()),
        (Some(rows), Some(0), Some(0))
    );
    assert_eq!(dry["applied"], false);
    let (status, real) = import(o, "soa", false, &export).await;
    assert_eq!(status, 200, "{real:#}");
    assert_eq!(comparable(real.clone()), comparable(dry));
    assert_eq!(trail_len(o).await, trail, "an unchanged import writes nothing");
    assert_eq!(o.get(&format!("/organizations/{}/soa.csv", t.id)).await.text().await.expect("csv"), export);

    // One edit in the spreadsheet: one row updated, in the trail, exported back.
    let edited =
        export.replace(",IMPLEMENTED,+CISO,", ",PARTIAL,+CISO,").replace(",IMPLEMENTED,'+CISO,", ",PARTIAL,'+CISO,");
    assert_ne!(edited, export);
    let (status, r) = import(o, "soa", false, &edited).await;
    assert_eq!(status, 200, "{r:#}");
    assert_eq!(r["updated"], 1);
    let changed: Vec<&Value> =
        r["outcomes"].as_array().expect("outcomes").iter().filter(|x| x["action"] == "UPDATE").collect();
    assert_eq!(changed[0]["key"], "ISO27001:A.5.1");
    assert_eq!(changed[0]["changed"], json!(["status"]));
    assert_eq!(trail_len(o).await, trail + 1);
    let row = o.node(&a51, "Control", "status owner justification").await;
    assert_eq!(row["status"], "PARTIAL");
    assert_eq!(row["owner"], "+CISO");
    assert_eq!(row["justification"], "=HYPERLINK(\"x\"); -1, @a");
}

async fn risk_import_dry_run_equals_real_run(app: &TestApp) {
    let t = app.tenant("imp-risk").await;
    let c = &t.contributor;
    let csv = "\u{feff}External Key;Title;Category;Likelihood;Impact;Owner;Treatment\r\n\
               R-1;Phishing;CONFIDENTIALITY;3;4;Alice;MITIGATE\r\n\
               R-2;\"Model drift; silent\";data_quality;2;2;;\r\n";
    let (status, dry) = import(c, "risks", true, csv).await;
    assert_eq!(status, 200, "{dry:#}");
    assert_eq!(dry["created"], 2);
    let count = |d: Value| d["organization"]["risks"]["totalCount"].as_u64();
    assert_eq!(count(c.ok(RISKS, json!({ "o": t.id })).await), Some(0), "a dry run writes nothing");
    let trail = trail_len(&t.owner).await;
    let (status, real) = import(c, "risks", false, csv).await;
    assert_eq!(status, 200, "{real:#}");
    assert_eq!(real["applied"], true);
    assert_eq!(comparable(real), comparable(dry));
    assert_eq!(trail_len(&t.owner).await, trail + 2, "each row is in the trail");
    let data = c.ok(RISKS, json!({ "o": t.id })).await;
    let nodes = data["organization"]["risks"]["nodes"].as_array().expect("risks");
    let r2 = nodes.iter().find(|n| n["externalKey"] == "R-2").expect("R-2");
    assert_eq!((r2["title"].as_str(), r2["owner"].as_str()), (Some("Model drift; silent"), None));

    // The same file again: nothing to do. One changed cell: one update of that column.
    let (_, again) = import(c, "risks", false, csv).await;
    assert_eq!((again["unchanged"].as_u64(), again["updated"].as_u64()), (Some(2), Some(0)));
    let csv2 = "external_key,impact\nR-1,5\n";
    let (status, upd) = import(c, "risks", false, csv2).await;
    assert_eq!(status, 200, "{upd:#}");
    assert_eq!(upd["outcomes"][0]["changed"], json!(["impact"]));
    let data = c.ok(RISKS, json!({ "o": t.id })).await;
    let r1 = data["organization"]["risks"]["nodes"]
        .as_array()
        .expect("risks")
        .iter()
        .find(|n| n["externalKey"] == "R-1")
        .cloned();
    assert_eq!(r1.expect("R-1")["impact"], 5);
    assert_eq!(trail_len(&t.owner).await, trail + 3);

    // The key is the risk's own: unique per organization through the API as well.
    let q = "mutation($i: CreateRiskInput!) { createRisk(input: $i) { risk { externalKey } } }";
    let input = json!({ "organizationId": t.id, "externalKey": "R-1", "title": "Dup", "category": "INTEGRITY", "likelihood": 1, "impact": 1 });
    let body = c.gql(q, json!({ "i": input })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT", "{body:#}");
    let input = json!({ "organizationId": t.id, "externalKey": "R-3", "title": "New", "category": "INTEGRITY", "likelihood": 1, "impact": 1 });
    assert_eq!(c.ok(q, json!({ "i": input })).await["createRisk"]["risk"]["externalKey"], "R-3");
}

async fn a_bad_cell_anywhere_writes_nothing(app: &TestApp) {
    let t = app.tenant("imp-bad").await;
    let m = &t.manager;
    let trail = trail_len(&t.owner).await;
    // Line 2 is fine, line 3 breaks the matrix and the date, line 4 lacks what a new risk
    // needs, line 5 repeats a key, line 6 names an unknown status.
    let csv = "external_key,title,category,likelihood,impact,review_date,status\n\
               OK-1,Fine,INTEGRITY,1,1,,\n\
               BAD-1,Off the matrix,INTEGRITY,9,1,31/12/2027,\n\
               BAD-2,,,,,,\n\
               OK-1,Twice,INTEGRITY,1,1,,\n\
               BAD-3,Status,INTEGRITY,1,1,,DONE\n";
    for dry in [true, false] {
        let (status, r) = import(m, "risks", dry, csv).await;
        assert_eq!(status, 422, "{r:#}");
        assert_eq!(r["applied"], false);
        let errors: Vec<(u64, String)> = r["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| (e["line"].as_u64().expect("line"), e["column"].as_str().unwrap_or("").to_string()))
            .collect();
        assert_eq!(
            errors,
            [(3, "review_date".to_string()), (5, "external_key".into()), (6, "status".into())],
            "cell errors first, all of them: {r:#}"
        );
    }
    // Cells fixed, the rules of createRisk still apply, by line and column.
    let csv = "external_key,title,category,likelihood,impact\n\
               OK-1,Fine,INTEGRITY,1,1\n\
               BAD-1,Off the matrix,INTEGRITY,9,1\n\
               BAD-2,,,,\n";
    let (status, r) = import(m, "risks", false, csv).await;
    assert_eq!(status, 422, "{r:#}");
    let errors: Vec<(u64, String)> = r["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["line"].as_u64().expect("line"), e["column"].as_str().unwrap_or("").to_string()))
        .collect();
    assert_eq!(
        errors,
        [
            (3, "likelihood".to_string()),
            (4, "title".into()),
            (4, "category".into()),
            (4, "likelihood".into()),
            (4, "impact".into())
        ]
    );
    let count = m.ok(RISKS, json!({ "o": t.id })).await["organization"]["risks"]["totalCount"].as_u64();
    assert_eq!(count, Some(0), "the good row was not written either");
    assert_eq!(trail_len(&t.owner).await, trail);
}

async fn decisions_import_and_the_rules_of_update_control(app: &TestApp) {
    let t = app.tenant("imp-dec").await;
    let o = &t.owner;
    // An exclusion needs a justification (ISO 27001 6.1.3 d), as in updateControl.
    let csv = "standard,ref,decision,justification,inclusion_reasons\n\
               ISO27001,A.5.1,INCLUDED,,RISK_TREATMENT\n\
               ISO42001,A.2.2,EXCLUDED,,\n\
               ISO27001,A.99.9,INCLUDED,x,\n";
    let (status, r) = import(o, "controls-decisions", false, csv).await;
    assert_eq!(status, 422, "{r:#}");
    let errors: Vec<(u64, String)> = r["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["line"].as_u64().expect("line"), e["column"].as_str().unwrap_or("").to_string()))
        .collect();
    assert_eq!(errors, [(3, "justification".to_string()), (4, "ref".into())], "{r:#}");
    let a51 = o.control_id("ISO27001", "A.5.1").await;
    assert_eq!(o.node(&a51, "Control", "decision").await["decision"], "UNDECIDED", "nothing written");

    let csv = "standard,ref,decision,justification,inclusion_reasons\n\
               ISO27001,A.5.1,INCLUDED,,RISK_TREATMENT\n\
               iso42001,A.2.2,excluded,Covered by the group AI policy,\n";
    let (status, r) = import(o, "controls-decisions", false, csv).await;
    assert_eq!(status, 200, "{r:#}");
    assert_eq!(r["updated"], 2);
    let row = o.node(&a51, "Control", "decision inclusionReasons").await;
    assert_eq!(
        (row["decision"].as_str(), row["inclusionReasons"].clone()),
        (Some("INCLUDED"), json!(["RISK_TREATMENT"]))
    );
    // Only decision columns in this kind.
    let (status, r) =
        import(o, "controls-decisions", false, "standard,ref,decision,status\nISO27001,A.5.1,INCLUDED,DONE\n").await;
    assert_eq!(status, 422);
    assert_eq!(r["errors"][0]["column"], "status");
}

async fn bad_requests_are_refused_clearly(app: &TestApp) {
    let t = app.tenant("imp-req").await;
    let other = app.tenant("imp-other").await;
    let o = &t.owner;
    let csv = "standard,ref,owner\nISO27001,A.5.1,me\n";
    let code = |v: &Value| v["errors"][0]["extensions"]["code"].as_str().map(str::to_string);

    // Another tenant's organization is as missing as one that does not exist.
    let foreign = other.owner.in_org(&t.id);
    let (status, body) = import(&foreign, "soa", false, csv).await;
    assert_eq!((status, code(&body).as_deref()), (404, Some("NOT_FOUND")));
    let (status, _) = import(&o.in_org("T3JnYW5pemF0aW9uOm5vbmU"), "soa", false, csv).await;
    assert_eq!(status, 404);
    // Roles: readers may not import.
    let (status, body) = import(&t.viewer, "soa", false, csv).await;
    assert_eq!((status, code(&body).as_deref()), (403, Some("FORBIDDEN")));
    // Unknown kind, bad flag, not CSV, empty, not UTF-8, too large.
    let (status, body) = import(o, "assets", false, csv).await;
    assert_eq!((status, body["errors"][0]["extensions"]["field"].as_str()), (404, Some("kind")));
    let resp = o
        .app
        .client
        .post(format!("{}/organizations/{}/imports/soa?dryRun=maybe", o.app.base, t.id))
        .bearer_auth(&o.token)
        .body(csv)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 400);
    let resp = o
        .app
        .client
        .post(format!("{}/organizations/{}/imports/soa", o.app.base, t.id))
        .bearer_auth(&o.token)
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nstandard,ref\r\n--x--\r\n")
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 415);
    let (status, body) = import(o, "soa", false, "").await;
    assert_eq!((status, body["errors"][0]["line"].as_u64()), (422, Some(1)));
    let resp = o
        .app
        .client
        .post(format!("{}/organizations/{}/imports/soa", o.app.base, t.id))
        .bearer_auth(&o.token)
        .header("content-type", "text/csv")
        .body(b"standard,ref,owner\nISO27001,A.5.1,\xff\xfe\n".to_vec())
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 422);
    let body: Value = resp.json().await.expect("json");
    assert!(body["errors"][0]["message"].as_str().unwrap_or("").contains("UTF-8"), "{body:#}");
    // Past ANNEX_MAX_IMPORT_BYTES (a second replica on the same database with a small one).
    let small = TestApp::start_on(app.backend, &app.database_url, &[("ANNEX_MAX_IMPORT_BYTES", "300")]).await;
    let big = format!("standard,ref,owner\n{}", "ISO27001,A.5.1,x\n".repeat(20));
    let resp = small
        .client
        .post(format!("{}/organizations/{}/imports/soa", small.base, t.id))
        .bearer_auth(&o.token)
        .header("content-type", "text/csv")
        .body(big)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 413);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(code(&body).as_deref(), Some("BAD_USER_INPUT"));
    small.stop().await;
    let resp = o
        .app
        .client
        .post(format!("{}/organizations/{}/imports/soa", o.app.base, t.id))
        .body(csv)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 401);
    let a51 = o.control_id("ISO27001", "A.5.1").await;
    assert_eq!(o.node(&a51, "Control", "owner").await["owner"], Value::Null, "nothing was written");
}
