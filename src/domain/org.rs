//! Organizations (tenants) and memberships.

use super::Invalid;

/// A validated organization slug: lowercase letters, digits and dashes, 3-63 characters,
/// starting and ending with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(s: &str) -> Result<Slug, Invalid> {
        let ok_len = (3..=63).contains(&s.len());
        let ok_chars = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_ends = !s.starts_with('-') && !s.ends_with('-');
        if ok_len && ok_chars && ok_ends {
            Ok(Slug(s.to_string()))
        } else {
            Err(Invalid::new(
                "slug",
                "slug must be 3-63 characters of lowercase letters, digits and dashes, not starting or ending with a dash",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The role counts that matter for the last-owner rule.
pub struct OwnerCount(pub u64);

/// An organization always keeps at least one OWNER, so someone can manage its members.
pub fn check_owner_remains(owners_before: OwnerCount, removing_an_owner: bool) -> Result<(), Invalid> {
    if removing_an_owner && owners_before.0 <= 1 {
        return Err(Invalid::new("role", "the last OWNER cannot be removed or demoted; add another OWNER first"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slugs() {
        for ok in ["acme", "acme-gmbh", "a1b", &"a".repeat(63)] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "Acme", "acme_gmbh", "-acme", "acme-", "ac me", &"a".repeat(64), "äbc"] {
            assert_eq!(Slug::parse(bad).unwrap_err().field, "slug", "{bad}");
        }
    }

    proptest! {
        #[test]
        fn valid_slugs_roundtrip(s in "[a-z0-9][a-z0-9-]{1,61}[a-z0-9]") {
            prop_assert_eq!(Slug::parse(&s).map(|x| x.as_str().to_string()), Ok(s));
        }
    }

    #[test]
    fn last_owner_rule() {
        assert!(check_owner_remains(OwnerCount(1), true).is_err());
        assert!(check_owner_remains(OwnerCount(2), true).is_ok());
        assert!(check_owner_remains(OwnerCount(1), false).is_ok());
    }
}
