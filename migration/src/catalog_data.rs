//! The reference catalogs, parsed from `data/iso-catalogs.json` (a verbatim copy of
//! `shared/reference/iso-catalogs.json`; see `data/README.md` for provenance).

use serde::Deserialize;

const RAW: &str = include_str!("../data/iso-catalogs.json");

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogData {
    pub standards: Vec<CatalogStandard>,
    pub mappings: Vec<CatalogMapping>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogStandard {
    pub code: String,
    pub edition: String,
    pub title: String,
    pub clauses: Vec<CatalogClause>,
    #[serde(rename = "annexA")]
    pub annex_a: Vec<CatalogControl>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CatalogClause {
    #[serde(rename = "ref")]
    pub reference: String,
    pub title: String,
    pub parent: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogControl {
    #[serde(rename = "ref")]
    pub reference: String,
    pub title: String,
    pub group: String,
    pub group_ref: String,
    pub subgroup: Option<String>,
    pub subgroup_ref: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogMapping {
    pub from: String,
    pub to: String,
    pub source: String,
    pub relation: String,
    pub shared_scf_controls: Option<i32>,
    #[serde(default)]
    pub via: Vec<ScfVia>,
    pub rationale: Option<String>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct ScfVia {
    pub scf: String,
    pub name: String,
}

/// The parsed reference file. It is compiled in, so a parse failure is a build defect
/// caught by the catalog tests, not a runtime condition.
pub fn catalog() -> CatalogData {
    serde_json::from_str(RAW).expect("data/iso-catalogs.json is valid (checked by tests)")
}

/// 42001 controls with nothing to build on in an ISMS: the impact-assessment (A.5), data
/// (A.7) and interested-party information (A.8) objectives, plus every control that no
/// mapping row connects to ISO 27001.
pub fn ai_specific_42001_refs(data: &CatalogData) -> Vec<String> {
    let Some(iso42001) = data.standards.iter().find(|s| s.code == "ISO42001") else {
        return Vec::new();
    };
    iso42001
        .annex_a
        .iter()
        .filter(|c| {
            let mapped = data.mappings.iter().any(|m| m.to == format!("ISO42001:{}", c.reference));
            matches!(c.group_ref.as_str(), "A.5" | "A.7" | "A.8") || !mapped
        })
        .map(|c| c.reference.clone())
        .collect()
}

/// ISO 27001:2022 Annex A controls that the seed guide calls relevant to AI systems, with
/// why: the `aiRelevance` text of those SoA rows. Annotations of Annex, not text of the
/// standard (which carries no such tag).
pub const AI_RELEVANCE_27001: &[(&str, &str)] = &[
    ("A.8.10", "Information deletion: training data and model retirement"),
    ("A.8.11", "Data masking: privacy of training data"),
    ("A.8.12", "Data leakage prevention: protection of model outputs"),
    ("A.8.23", "Web filtering: acquisition of training data"),
    ("A.8.24", "Use of cryptography: model protection and encryption of inference"),
];

/// The `aiRelevance` text of a catalog control, if the seed guide tags it.
pub fn ai_relevance(standard: &str, reference: &str) -> Option<&'static str> {
    (standard == "ISO27001")
        .then(|| AI_RELEVANCE_27001.iter().find(|(r, _)| *r == reference).map(|(_, why)| *why))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_file_parses_with_expected_counts() {
        let d = catalog();
        let counts: Vec<_> = d.standards.iter().map(|s| (s.code.as_str(), s.clauses.len(), s.annex_a.len())).collect();
        assert_eq!(counts, vec![("ISO27001", 41, 93), ("ISO42001", 43, 38)]);
        assert_eq!(d.mappings.len(), 103);
    }

    #[test]
    fn ai_relevance_tags_exist_in_the_catalog() {
        let d = catalog();
        let iso27001 = d.standards.iter().find(|s| s.code == "ISO27001").expect("27001 in the catalog");
        for (r, _) in AI_RELEVANCE_27001 {
            assert!(iso27001.annex_a.iter().any(|c| c.reference == *r), "{r} is an ISO 27001 control");
        }
        assert_eq!(ai_relevance("ISO27001", "A.8.24").map(|t| t.contains("cryptography")), Some(true));
        assert_eq!(ai_relevance("ISO42001", "A.8.24"), None, "ids repeat across standards with other meanings");
        assert_eq!(ai_relevance("ISO27001", "A.8.1"), None);
    }

    #[test]
    fn ai_specific_set() {
        let refs = ai_specific_42001_refs(&catalog());
        assert!(refs.contains(&"A.5.2".to_string()));
        assert!(refs.contains(&"A.7.5".to_string()), "A.7 is AI-specific even where SCF maps it");
        assert!(refs.contains(&"A.4.3".to_string()), "unmapped control");
        assert!(!refs.contains(&"A.2.2".to_string()));
        assert_eq!(refs.len(), 18);
    }
}
