//! References to clauses and controls of the two standards, written `STANDARD:ref`
//! (`ISO27001:A.5.15`, `ISO42001:6.1.4`). Refs collide across standards (27001 A.5.2 is
//! not 42001 A.5.2), so a reference always names its standard.

use super::{Invalid, clean_list};

labelled!(
    /// The two standards of the integrated management system.
    Standard { Iso27001 => "ISO27001", Iso42001 => "ISO42001" }
);

pub const MAX_REFERENCES: usize = 200;
const MAX_REFERENCE_LEN: usize = 64;

/// One parsed `STANDARD:ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub standard: Standard,
    pub reference: String,
}

impl Reference {
    /// `None` unless `s` is `STANDARD:ref` with a known standard and a non-empty ref.
    pub fn parse(s: &str) -> Option<Reference> {
        let (std, r) = s.trim().split_once(':')?;
        let standard = std.trim().parse::<Standard>().ok()?;
        let reference = r.trim();
        if reference.is_empty() || reference.chars().any(char::is_whitespace) {
            return None;
        }
        Some(Reference { standard, reference: reference.to_string() })
    }

    pub fn to_label(&self) -> String {
        format!("{}:{}", self.standard.as_str(), self.reference)
    }
}

/// Validates a list of references: each is `STANDARD:ref`, names a clause or control that
/// `exists`, and belongs to one of `allowed`. Returns them normalized, without duplicates.
/// The error names the offending reference.
pub fn check_references(
    field: &str,
    values: &[String],
    allowed: &[Standard],
    exists: impl Fn(Standard, &str) -> bool,
) -> Result<Vec<String>, Invalid> {
    let cleaned = clean_list(field, values, MAX_REFERENCES, MAX_REFERENCE_LEN)?;
    let mut out: Vec<String> = Vec::with_capacity(cleaned.len());
    for raw in &cleaned {
        let Some(r) = Reference::parse(raw) else {
            return Err(Invalid::new(
                field,
                format!("{raw:?} is not a reference: write STANDARD:ref, e.g. ISO27001:A.5.15 or ISO42001:6.1.4"),
            ));
        };
        if !exists(r.standard, &r.reference) {
            return Err(Invalid::new(
                field,
                format!("unknown reference {raw:?}: {} has no clause or control {}", r.standard.as_str(), r.reference),
            ));
        }
        if !allowed.contains(&r.standard) {
            let covered: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
            return Err(Invalid::new(
                field,
                format!("reference {raw:?} is outside the standards covered here ({})", covered.join(", ")),
            ));
        }
        let label = r.to_label();
        if !out.contains(&label) {
            out.push(label);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn catalog(s: Standard, r: &str) -> bool {
        matches!((s, r), (Standard::Iso27001, "A.5.15") | (Standard::Iso27001, "9.2") | (Standard::Iso42001, "6.1.4"))
    }

    #[test]
    fn parses_standard_and_ref() {
        assert_eq!(
            Reference::parse(" ISO27001:A.5.15 "),
            Some(Reference { standard: Standard::Iso27001, reference: "A.5.15".into() })
        );
        for bad in ["A.5.15", "ISO9001:4.1", "ISO27001:", ":A.5.15", "iso27001:A.5.15", "ISO27001:A 5"] {
            assert_eq!(Reference::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn references_are_checked_against_catalog_and_standards() {
        let both = [Standard::Iso27001, Standard::Iso42001];
        let ok = vec!["ISO27001:A.5.15".into(), "ISO42001:6.1.4".into(), " ISO27001:A.5.15".into()];
        assert_eq!(check_references("references", &ok, &both, catalog), Ok(vec![ok[0].clone(), ok[1].clone()]));

        let unknown = check_references("references", &["ISO27001:A.9.99".into()], &both, catalog).unwrap_err();
        assert_eq!(unknown.field, "references");
        assert!(unknown.message.contains("ISO27001:A.9.99"), "{}", unknown.message);

        let outside =
            check_references("references", &["ISO42001:6.1.4".into()], &[Standard::Iso27001], catalog).unwrap_err();
        assert!(outside.message.contains("ISO42001:6.1.4"), "{}", outside.message);

        let malformed = check_references("criteria", &["A.5.15".into()], &both, catalog).unwrap_err();
        assert_eq!(malformed.field, "criteria");
    }

    proptest! {
        #[test]
        fn labels_roundtrip(r in "[A-Z0-9.]{1,12}", iso in proptest::bool::ANY) {
            let standard = if iso { Standard::Iso27001 } else { Standard::Iso42001 };
            let label = format!("{}:{r}", standard.as_str());
            let parsed = Reference::parse(&label).expect("parses");
            prop_assert_eq!(parsed.to_label(), label);
        }
    }
}
