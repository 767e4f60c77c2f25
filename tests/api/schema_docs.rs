//! The schema documents itself (issue 17): every type, field, argument, input field and
//! enum value of `schema.graphql` has a description, and every deprecation a reason. The
//! operation collection in `examples/` runs against the real API, so it cannot rot.

use async_graphql::parser::types::{FieldDefinition, TypeKind, TypeSystemDefinition};
use serde_json::{Value, json};

use crate::support::TestApp;

fn sdl() -> String {
    annex::graphql::sdl()
}

fn blank(d: &Option<async_graphql::Positioned<String>>) -> bool {
    d.as_ref().is_none_or(|d| d.node.trim().is_empty())
}

/// Output fields (of an object or an interface) and their arguments without a description.
fn fields(ty: &str, list: Vec<async_graphql::Positioned<FieldDefinition>>, missing: &mut Vec<String>) {
    for f in list {
        let f = f.node;
        if blank(&f.description) {
            missing.push(format!("{ty}.{}", f.name.node));
        }
        for a in f.arguments {
            if blank(&a.node.description) {
                missing.push(format!("{ty}.{}({})", f.name.node, a.node.name.node));
            }
        }
    }
}

/// Everything in the SDL without a description, as `Type`, `Type.field`,
/// `Type.field(arg)` or `Enum.VALUE`.
pub fn undocumented(sdl: &str) -> Vec<String> {
    let doc = async_graphql::parser::parse_schema(sdl).expect("the SDL parses");
    let mut missing = Vec::new();
    for def in doc.definitions {
        let TypeSystemDefinition::Type(t) = def else { continue };
        let t = t.node;
        let name = t.name.node.to_string();
        if blank(&t.description) {
            missing.push(name.clone());
        }
        match t.kind {
            TypeKind::Object(o) => fields(&name, o.fields, &mut missing),
            TypeKind::Interface(i) => fields(&name, i.fields, &mut missing),
            TypeKind::InputObject(i) => {
                for f in i.fields {
                    if blank(&f.node.description) {
                        missing.push(format!("{name}.{}", f.node.name.node));
                    }
                }
            }
            TypeKind::Enum(e) => {
                for v in e.values {
                    if blank(&v.node.description) {
                        missing.push(format!("{name}.{}", v.node.value.node));
                    }
                }
            }
            TypeKind::Scalar | TypeKind::Union(_) => {}
        }
    }
    missing
}

#[test]
fn every_schema_element_has_a_description() {
    let missing = undocumented(&sdl());
    assert!(
        missing.is_empty(),
        "{} schema elements have no description (write a doc comment: what it is, its unit or format, \
         the clause it serves):\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[test]
fn the_coverage_check_sees_a_missing_description() {
    let sdl = "\"\"\"Documented.\"\"\"\ntype A {\n  \"\"\"Yes.\"\"\"\n  a: Int!\n  b(x: Int): Int\n}\nenum E {\n  \"\"\"Yes.\"\"\"\n  X\n  Y\n}\n";
    assert_eq!(undocumented(sdl), vec!["A.b", "A.b(x)", "E", "E.Y"]);
}

#[test]
fn every_deprecation_has_a_reason() {
    let sdl = sdl();
    let bare: Vec<&str> = sdl
        .lines()
        .filter(|l| l.contains("@deprecated") && !l.contains("@deprecated(reason:"))
        .map(str::trim)
        .collect();
    assert!(bare.is_empty(), "deprecations without a reason:\n{}", bare.join("\n"));
    assert!(sdl.contains("@deprecated(reason:"), "the schema deprecates fields, with reasons");
}

// ---------------------------------------------------------------------------------------
// examples/*.graphql: the dashboard operation collection, run for real.

fn examples() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("examples/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "graphql"))
        .map(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            (name, std::fs::read_to_string(&p).expect("read example"))
        })
        .collect();
    out.sort();
    out
}

/// Every example parses, is one named operation, and answers without errors for an
/// organization with data in every register.
async fn examples_run_against_the_api(app: &TestApp) {
    let list = examples();
    assert!(list.len() >= 5, "the collection holds the common dashboard queries");
    let t = app.tenant("examples").await;
    let ai = t.contributor.ai_system().create().await;
    t.contributor.risk().create().await;
    t.contributor.impact_assessment(&ai).create().await;
    t.manager.audit().create().await;
    t.contributor.nonconformity().create().await;
    for (name, text) in list {
        let doc = async_graphql::parser::parse_query(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ops: Vec<_> = doc.operations.iter().collect();
        assert_eq!(ops.len(), 1, "{name}: one operation per file");
        assert!(ops[0].0.is_some(), "{name}: the operation is named");
        let vars: Value = json!({ "org": t.id, "first": 10 });
        let body = t.owner.gql(&text, vars).await;
        assert!(body.get("errors").is_none(), "{name}: {body}");
        assert!(body["data"].is_object(), "{name}: {body}");
    }
}

crate::api_tests!(examples_run_against_the_api);
