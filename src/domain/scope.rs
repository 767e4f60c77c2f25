//! Scopes of the management system (ISO 27001 4.3; ISO 42001 4.3).

use super::Invalid;

labelled!(ScopeKind { Isms => "ISMS", Aims => "AIMS", Integrated => "INTEGRATED" });

impl ScopeKind {
    /// The standards a scope of this kind covers when none are given.
    pub fn default_standards(self) -> &'static [&'static str] {
        match self {
            ScopeKind::Isms => &["ISO27001"],
            ScopeKind::Aims => &["ISO42001"],
            ScopeKind::Integrated => &["ISO27001", "ISO42001"],
        }
    }
}

/// The standards must include those the kind stands for: an ISMS scope covers ISO 27001,
/// an AIMS scope ISO 42001, an integrated scope both.
pub fn check_standards(kind: ScopeKind, standards: &[&str]) -> Result<(), Invalid> {
    for needed in kind.default_standards() {
        if !standards.contains(needed) {
            return Err(Invalid::new(
                "standards",
                format!("a {} scope covers {}", kind.as_str(), kind.default_standards().join(" and ")),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standards_follow_the_kind() {
        assert!(check_standards(ScopeKind::Isms, &["ISO27001"]).is_ok());
        assert!(check_standards(ScopeKind::Isms, &["ISO27001", "ISO42001"]).is_ok());
        assert_eq!(check_standards(ScopeKind::Aims, &["ISO27001"]).unwrap_err().field, "standards");
        assert!(check_standards(ScopeKind::Integrated, &["ISO42001"]).is_err());
        assert!(check_standards(ScopeKind::Integrated, &["ISO42001", "ISO27001"]).is_ok());
        for k in ScopeKind::ALL {
            assert!(check_standards(*k, k.default_standards()).is_ok());
        }
    }
}
