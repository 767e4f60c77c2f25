//! Opaque global IDs: `<prefix>_<uuid hex>`, e.g. `rsk_0193…`. The prefix tells `node(id)`
//! which table to look in; clients must treat the whole string as opaque.

use uuid::Uuid;

use crate::error::AppError;

macro_rules! kinds {
    ($($kind:ident => $prefix:literal),* $(,)?) => {
        /// Every entity with a global ID (also the entity type of the audit trail).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kind { $($kind),* }

        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$kind),*];

            pub fn prefix(self) -> &'static str {
                match self { $(Kind::$kind => $prefix),* }
            }

            /// The name used as `entityType` in the audit trail and events.
            pub fn name(self) -> &'static str {
                match self { $(Kind::$kind => stringify!($kind)),* }
            }

            pub fn from_name(name: &str) -> Option<Kind> {
                match name { $(stringify!($kind) => Some(Kind::$kind),)* _ => None }
            }

            fn from_prefix(p: &str) -> Option<Kind> {
                match p { $($prefix => Some(Kind::$kind),)* _ => None }
            }
        }
    };
}

kinds! {
    Organization => "org",
    Membership => "mbr",
    Control => "ctl",
    ClauseAssessment => "cla",
    Scope => "scp",
    AiSystem => "ais",
    Risk => "rsk",
    ImpactAssessment => "aia",
    Audit => "aud",
    Finding => "fnd",
    Nonconformity => "ncr",
    CorrectiveAction => "cap",
    Certification => "crt",
    // issue 16
    Measure => "mea",
    TreatmentPlanApproval => "tpa",
    Programme => "prg",
    ProgrammePhase => "phs",
    Task => "tsk",
    Change => "chg",
    WorkflowTransition => "wft",
    // issue 13
    Document => "doc",
    DocumentVersion => "dcv",
    Objective => "obj",
    Measurement => "msr",
    ContextIssue => "cti",
    // issue 15
    Incident => "inc",
    Supplier => "sup",
    SupplierAssessment => "sua",
    // issue 15: the management review
    ManagementReview => "mrv",
    ReviewInput => "rvi",
    ReviewDecision => "rvd",
}

pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

pub fn encode(kind: Kind, id: Uuid) -> String {
    format!("{}_{}", kind.prefix(), id.simple())
}

/// Parses any global ID; `None` when it is not one.
pub fn decode(s: &str) -> Option<(Kind, Uuid)> {
    let (prefix, hex) = s.split_once('_')?;
    let kind = Kind::from_prefix(prefix)?;
    if hex.len() != 32 {
        return None;
    }
    Uuid::try_parse(hex).ok().map(|u| (kind, u))
}

/// Parses an ID argument that must be of `kind`. A malformed value is `BAD_USER_INPUT`
/// naming `field`; a well-formed ID of another kind names nothing that exists, so it is
/// `NOT_FOUND` like any missing object.
pub fn expect(kind: Kind, s: &str, field: &str) -> Result<Uuid, AppError> {
    match decode(s) {
        None => Err(AppError::bad_input(field, format!("{field} is not a valid ID"))),
        Some((k, id)) if k == kind => Ok(id),
        Some(_) => Err(AppError::not_found(kind.name())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_every_kind() {
        for kind in Kind::ALL {
            let id = new_id();
            assert_eq!(decode(&encode(*kind, id)), Some((*kind, id)));
            assert_eq!(Kind::from_name(kind.name()), Some(*kind));
        }
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(decode("rsk_zz"), None);
        assert_eq!(decode("nope_0193"), None);
        assert_eq!(decode(""), None);
        let e = expect(Kind::Risk, "garbage", "id").unwrap_err();
        assert_eq!(e.code(), "BAD_USER_INPUT");
        let other = encode(Kind::Scope, new_id());
        assert_eq!(expect(Kind::Risk, &other, "id").unwrap_err().code(), "NOT_FOUND");
    }
}
