//! The audit trail's tamper evidence: a SHA-256 hash chain per tenant, and its head
//! signed by the service.
//!
//! Each row's hash covers its own content and the previous row's hash, so editing,
//! deleting or reordering any row breaks every hash after it — for anyone who cannot
//! recompute the chain. The database owner can: rewrite a row, recompute every later hash
//! and the chain verifies again. What the owner cannot recompute is a head signed with the
//! service's key ([`HeadKey`]) that an auditor kept: [`check_kept_head`] finds that the
//! chain no longer passes through it. (ISO 27001 A.8.15 logging, A.5.33 protection of
//! records.)

use hmac::{Hmac, Mac};
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

/// The newest row of a chain: its position and stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

/// Result of recomputing a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub verified: bool,
    pub rows: u64,
    /// `seq` of the first row whose hash, link or position does not check out.
    pub first_broken_at: Option<i64>,
    /// The last row checked; `None` for an empty chain.
    pub head: Option<ChainHead>,
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
        stored_hash.clone_into(&mut self.prev_hash);
    }

    pub fn finish(self) -> Verification {
        let head = (self.rows > 0).then(|| ChainHead { seq: self.expected_seq - 1, hash: self.prev_hash });
        Verification {
            verified: self.first_broken_at.is_none(),
            rows: self.rows,
            first_broken_at: self.first_broken_at,
            head,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The signed head

/// The algorithm of head signatures, as reported to auditors.
pub const HEAD_ALGORITHM: &str = "HMAC-SHA256";

/// First part of every signed message: a new encoding gets a new tag, so a signature
/// never verifies under an encoding it was not made for.
const HEAD_MESSAGE_TAG: &str = "annex-trail-head-v1";

/// Shortest key accepted (the HMAC-SHA256 block of entropy).
pub const MIN_KEY_BYTES: usize = 32;

/// What a head signature covers. The organization is part of it, so a head signed for
/// one tenant never verifies for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedHead<'a> {
    pub organization_id: &'a str,
    pub seq: i64,
    /// The row's stored hash (hex).
    pub hash: &'a str,
    /// The row's time, RFC 3339, microseconds, `Z` (as hashed).
    pub at: &'a str,
}

impl SignedHead<'_> {
    /// The canonical bytes signed: the version tag, then each field, every part prefixed
    /// by its length (u64, big-endian), `seq` in decimal.
    pub fn message(&self) -> Vec<u8> {
        let seq = self.seq.to_string();
        let parts = [HEAD_MESSAGE_TAG, self.organization_id, seq.as_str(), self.hash, self.at];
        let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 8).sum());
        for part in parts {
            out.extend_from_slice(&(part.len() as u64).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// The service's head-signing key (`ANNEX_TRAIL_KEY`).
#[derive(Clone)]
pub struct HeadKey {
    key: Vec<u8>,
    id: String,
}

impl std::fmt::Debug for HeadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HeadKey({})", self.id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be at least {MIN_KEY_BYTES} bytes long")]
pub struct KeyTooShort;

impl HeadKey {
    pub fn new(key: &[u8]) -> Result<Self, KeyTooShort> {
        if key.len() < MIN_KEY_BYTES {
            return Err(KeyTooShort);
        }
        let id = hex::encode(Sha256::digest(key))[..8].to_string();
        Ok(Self { key: key.to_vec(), id })
    }

    /// A development key derived from another secret of the installation, so it lasts
    /// as long as that secret and differs between installations.
    pub fn derived_from(secret: &[u8]) -> Self {
        let derived = mac(secret, b"annex development trail key v1");
        Self::new(&derived).unwrap_or_else(|_| unreachable!("HMAC-SHA256 output is 32 bytes"))
    }

    /// First 8 hex digits of SHA-256 of the key: names the key without revealing it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The signature (hex) of `head`.
    pub fn sign(&self, head: &SignedHead<'_>) -> String {
        hex::encode(mac(&self.key, &head.message()))
    }

    /// Whether `signature` (hex) is this key's signature of `head` (constant time).
    pub fn verifies(&self, head: &SignedHead<'_>, signature: &str) -> bool {
        let Ok(sig) = hex::decode(signature) else { return false };
        let Ok(mut m) = Hmac::<Sha256>::new_from_slice(&self.key) else { return false };
        m.update(&head.message());
        m.verify_slice(&sig).is_ok()
    }
}

fn mac(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key"));
    m.update(message);
    m.finalize().into_bytes().to_vec()
}

/// Why a kept head no longer checks out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadFailure {
    /// Not the service's signature of these fields (forged, altered, another tenant's,
    /// or signed with a key the service no longer has).
    SignatureMismatch,
    /// The chain has no row at the kept `seq` any more.
    RowMissing(i64),
    /// The row at the kept `seq` carries another hash: it, or a row before it, was
    /// rewritten and the chain recomputed.
    HashChanged(i64),
    /// The chain itself does not verify from this `seq` on.
    ChainBroken(i64),
}

impl std::fmt::Display for HeadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeadFailure::SignatureMismatch => f.write_str("signature does not match"),
            HeadFailure::RowMissing(seq) => write!(f, "row seq {seq} is missing"),
            HeadFailure::HashChanged(seq) => write!(f, "row seq {seq} has a different hash now"),
            HeadFailure::ChainBroken(seq) => write!(f, "chain broken at seq {seq}"),
        }
    }
}

/// Checks a head an auditor kept against the chain as it is now: the signature must be
/// `key`'s for exactly these fields, the chain must still hold `kept.hash` at `kept.seq`
/// (`hash_now`: the stored hash of that row, `None` when there is none), and the chain
/// must verify (`chain_broken_at`: [`Verification::first_broken_at`]). The first failure
/// in that order is reported.
pub fn check_kept_head(
    key: &HeadKey,
    kept: &SignedHead<'_>,
    signature: &str,
    hash_now: Option<&str>,
    chain_broken_at: Option<i64>,
) -> Result<(), HeadFailure> {
    if !key.verifies(kept, signature) {
        return Err(HeadFailure::SignatureMismatch);
    }
    match hash_now {
        None => return Err(HeadFailure::RowMissing(kept.seq)),
        Some(h) if h != kept.hash => return Err(HeadFailure::HashChanged(kept.seq)),
        Some(_) => {}
    }
    match chain_broken_at {
        Some(seq) => Err(HeadFailure::ChainBroken(seq)),
        None => Ok(()),
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
        let rows = chain(5);
        let head = Some(ChainHead { seq: 5, hash: rows[4].2.clone() });
        assert_eq!(verify(&rows), Verification { verified: true, rows: 5, first_broken_at: None, head });
    }

    #[test]
    fn empty_chain_verifies() {
        let v = verify(&[]);
        assert!(v.verified);
        assert_eq!(v.head, None);
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

    // -----------------------------------------------------------------------------------
    // The signed head

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const ORG: &str = "0195f3a0-0000-7000-8000-000000000001";
    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    const AT: &str = "2026-11-28T10:00:00.123456Z";

    fn key() -> HeadKey {
        HeadKey::new(KEY).expect("32 bytes")
    }

    fn head(seq: i64) -> SignedHead<'static> {
        SignedHead { organization_id: ORG, seq, hash: HASH, at: AT }
    }

    #[test]
    fn keys_are_at_least_32_bytes_and_named_by_their_hash() {
        assert_eq!(HeadKey::new(&KEY[..31]).map(|_| ()), Err(KeyTooShort));
        let k = key();
        assert_eq!(k.id(), &hex::encode(Sha256::digest(KEY))[..8]);
        assert_eq!(k.id().len(), 8);
        assert!(!format!("{k:?}").contains("0123456789"), "the key never prints");
    }

    #[test]
    fn signatures_are_hmac_sha256_of_the_canonical_message() {
        let k = key();
        let s = k.sign(&head(7));
        assert_eq!(s.len(), 64);
        assert_eq!(s, k.sign(&head(7)), "deterministic");
        assert!(k.verifies(&head(7), &s));
        assert!(!k.verifies(&head(7), "not hex"));
        assert!(!k.verifies(&head(7), &s[..62]));
        // The message: tag, organization, seq, hash, at, each length-prefixed.
        let m = head(7).message();
        assert_eq!(&m[..8], &(HEAD_MESSAGE_TAG.len() as u64).to_be_bytes());
        assert!(m.ends_with(AT.as_bytes()));
        assert_eq!(m.len(), 5 * 8 + HEAD_MESSAGE_TAG.len() + ORG.len() + 1 + HASH.len() + AT.len());
    }

    #[test]
    fn signatures_do_not_cross_tenants_or_keys() {
        let k = key();
        let other_org = SignedHead { organization_id: "0195f3a0-0000-7000-8000-000000000002", ..head(7) };
        assert!(!k.verifies(&other_org, &k.sign(&head(7))));
        let other_key = HeadKey::new(b"another key, another key, another key").expect("key");
        assert_ne!(other_key.id(), k.id());
        assert_ne!(other_key.sign(&head(7)), k.sign(&head(7)));
        assert!(!other_key.verifies(&head(7), &k.sign(&head(7))));
    }

    #[test]
    fn length_prefixing_separates_signed_fields() {
        let a = SignedHead { hash: "ab", at: "c", ..head(1) };
        let b = SignedHead { hash: "a", at: "bc", ..head(1) };
        assert_ne!(a.message(), b.message());
        let c = SignedHead { seq: 12, hash: "3", ..head(1) };
        let d = SignedHead { seq: 1, hash: "23", ..head(1) };
        assert_ne!(c.message(), d.message());
    }

    #[test]
    fn derived_keys_follow_their_secret() {
        let a = HeadKey::derived_from(b"installation a");
        assert_eq!(a.id(), HeadKey::derived_from(b"installation a").id());
        assert_ne!(a.id(), HeadKey::derived_from(b"installation b").id());
    }

    #[test]
    fn a_kept_head_checks_out_only_against_the_chain_it_was_signed_on() {
        let k = key();
        let sig = k.sign(&head(4));
        assert_eq!(check_kept_head(&k, &head(4), &sig, Some(HASH), None), Ok(()));
        let forged = format!("{}{}", if sig.starts_with('0') { "1" } else { "0" }, &sig[1..]);
        assert_eq!(check_kept_head(&k, &head(4), &forged, Some(HASH), None), Err(HeadFailure::SignatureMismatch));
        // The signature is checked first: a forged head says so, whatever the chain holds.
        assert_eq!(check_kept_head(&k, &head(4), &forged, None, Some(1)), Err(HeadFailure::SignatureMismatch));
        assert_eq!(check_kept_head(&k, &head(4), &sig, None, None), Err(HeadFailure::RowMissing(4)));
        assert_eq!(check_kept_head(&k, &head(4), &sig, Some("recomputed"), None), Err(HeadFailure::HashChanged(4)));
        assert_eq!(check_kept_head(&k, &head(4), &sig, Some(HASH), Some(2)), Err(HeadFailure::ChainBroken(2)));
        // A break after the kept head still fails the check: the trail as a whole is bad.
        assert_eq!(check_kept_head(&k, &head(4), &sig, Some(HASH), Some(9)), Err(HeadFailure::ChainBroken(9)));
        assert_eq!(HeadFailure::ChainBroken(2).to_string(), "chain broken at seq 2");
        assert_eq!(HeadFailure::RowMissing(4).to_string(), "row seq 4 is missing");
        assert_eq!(HeadFailure::HashChanged(4).to_string(), "row seq 4 has a different hash now");
        assert_eq!(HeadFailure::SignatureMismatch.to_string(), "signature does not match");
    }

    /// A signed field, or the key, changed in one place.
    fn changed(s: &str, at: usize, c: char) -> String {
        let mut chars: Vec<char> = s.chars().collect();
        let i = at % chars.len().max(1);
        if chars.is_empty() {
            return c.to_string();
        }
        chars[i] = if chars[i] == c { if c == 'x' { 'y' } else { 'x' } } else { c };
        chars.into_iter().collect()
    }

    proptest! {
        #[test]
        fn any_change_to_a_signed_field_invalidates_the_signature(
            org in "[0-9a-f-]{1,36}",
            seq in 1i64..i64::MAX,
            hash in "[0-9a-f]{64}",
            at in "[0-9TZ:.-]{1,27}",
            field in 0usize..5,
            pos in 0usize..64,
            c in "[0-9a-z:.-]",
            delta in 1i64..1000,
        ) {
            let k = key();
            let signed = SignedHead { organization_id: &org, seq, hash: &hash, at: &at };
            let sig = k.sign(&signed);
            prop_assert!(k.verifies(&signed, &sig));
            let c = c.chars().next().unwrap_or('x');
            let (org2, hash2, at2) = (changed(&org, pos, c), changed(&hash, pos, c), changed(&at, pos, c));
            let altered = match field {
                0 => k.verifies(&SignedHead { organization_id: &org2, ..signed }, &sig),
                1 => k.verifies(&SignedHead { seq: seq.wrapping_sub(delta), ..signed }, &sig),
                2 => k.verifies(&SignedHead { hash: &hash2, ..signed }, &sig),
                3 => k.verifies(&SignedHead { at: &at2, ..signed }, &sig),
                _ => {
                    let mut other = KEY.to_vec();
                    other[pos % KEY.len()] ^= 1 + (delta % 255) as u8;
                    HeadKey::new(&other).expect("key").verifies(&signed, &sig)
                }
            };
            prop_assert!(!altered, "field {} changed, signature still verifies", field);
        }
    }
}
