//! The audit trail's tamper evidence: a SHA-256 hash chain per tenant.
//!
//! Each row's hash covers its own content and the previous row's hash, so editing,
//! deleting or reordering any row breaks every hash after it. (ISO 27001 A.8.15 logging,
//! A.5.33 protection of records.)

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `prev_hash` of the first row of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Fields never reported in a diff: bookkeeping, not content.
const NOISE: &[&str] = &["id", "version", "created_at", "updated_at"];

/// The hashed content of one trail row.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub organization_id: &'a str,
    pub seq: i64,
    /// RFC 3339, microseconds, `Z`.
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub fields: &'a str,
    pub request_id: &'a str,
    pub prev_hash: &'a str,
}

/// SHA-256 (hex) over the length-prefixed fields of `e`, so no two different rows
/// encode to the same bytes.
pub fn hash(e: &Entry<'_>) -> String {
    let mut h = Sha256::new();
    let seq = e.seq.to_string();
    for part in [
        e.organization_id,
        seq.as_str(),
        e.at,
        e.actor,
        e.action,
        e.entity_type,
        e.entity_id,
        e.fields,
        e.request_id,
        e.prev_hash,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Result of recomputing a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub verified: bool,
    pub rows: u64,
    /// `seq` of the first row whose hash, link or position does not check out.
    pub first_broken_at: Option<i64>,
}

/// Incremental verifier: feed rows in `seq` order.
#[derive(Debug)]
pub struct Verifier {
    expected_seq: i64,
    prev_hash: String,
    rows: u64,
    first_broken_at: Option<i64>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self { expected_seq: 1, prev_hash: GENESIS.to_string(), rows: 0, first_broken_at: None }
    }
}

impl Verifier {
    pub fn push(&mut self, e: &Entry<'_>, stored_hash: &str) {
        self.rows += 1;
        if self.first_broken_at.is_none()
            && (e.seq != self.expected_seq || e.prev_hash != self.prev_hash || hash(e) != stored_hash)
        {
            self.first_broken_at = Some(e.seq);
        }
        self.expected_seq = e.seq + 1;
        self.prev_hash = stored_hash.to_string();
    }

    pub fn finish(self) -> Verification {
        Verification {
            verified: self.first_broken_at.is_none(),
            rows: self.rows,
            first_broken_at: self.first_broken_at,
        }
    }
}

/// The changed fields between two JSON objects, as `{field: {before, after}}`. A missing
/// side (create, delete) counts as `null` for every field.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Value {
    let empty = Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut out = Map::new();
    let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    for k in keys {
        if NOISE.contains(&k.as_str()) {
            continue;
        }
        let bv = b.get(k).cloned().unwrap_or(Value::Null);
        let av = a.get(k).cloned().unwrap_or(Value::Null);
        if bv != av {
            let mut pair = Map::new();
            pair.insert("before".into(), bv);
            pair.insert("after".into(), av);
            out.insert(k.clone(), Value::Object(pair));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn entry<'a>(seq: i64, fields: &'a str, prev: &'a str) -> Entry<'a> {
        Entry {
            organization_id: "org",
            seq,
            at: "2026-11-28T00:00:00.000000Z",
            actor: "alice",
            action: "UPDATE",
            entity_type: "Risk",
            entity_id: "r1",
            fields,
            request_id: "req",
            prev_hash: prev,
        }
    }

    fn chain(n: i64) -> Vec<(String, String, String)> {
        // (fields, prev_hash, hash)
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let fields = format!("{{\"n\":{seq}}}");
                let h = hash(&entry(seq, &fields, &prev));
                let row = (fields, prev.clone(), h.clone());
                prev = h;
                row
            })
            .collect()
    }

    fn verify(rows: &[(String, String, String)]) -> Verification {
        let mut v = Verifier::default();
        for (i, (f, p, h)) in rows.iter().enumerate() {
            v.push(&entry(i as i64 + 1, f, p), h);
        }
        v.finish()
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Verification { verified: true, rows: 5, first_broken_at: None });
    }

    #[test]
    fn empty_chain_verifies() {
        assert!(verify(&[]).verified);
    }

    proptest! {
        #[test]
        fn any_edit_is_found_at_its_row(n in 1i64..20, at in 0usize..20, text in "[a-z]{1,8}") {
            let mut rows = chain(n);
            let at = at % rows.len();
            rows[at].0 = format!("{{\"edited\":\"{text}\"}}");
            prop_assert_eq!(verify(&rows).first_broken_at, Some(at as i64 + 1));
        }
    }

    #[test]
    fn length_prefixing_separates_fields() {
        let a = Entry { actor: "ab", action: "c", ..entry(1, "{}", GENESIS) };
        let b = Entry { actor: "a", action: "bc", ..entry(1, "{}", GENESIS) };
        assert_ne!(hash(&a), hash(&b));
    }

    #[test]
    fn diff_reports_only_changes() {
        let before = json!({"title": "a", "likelihood": 2, "version": 1});
        let after = json!({"title": "b", "likelihood": 2, "version": 2});
        assert_eq!(diff(Some(&before), Some(&after)), json!({"title": {"before": "a", "after": "b"}}));
        assert_eq!(diff(None, Some(&json!({"title": "x"}))), json!({"title": {"before": null, "after": "x"}}));
    }
}
