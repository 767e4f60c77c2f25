//! Reading mutation and filter input, the same way everywhere.
//!
//! What "clear" means is fixed by the field's type in the schema:
//! * a field that may be left out or sent as `null` (`MaybeUndefined`): left out keeps the
//!   value, `null` clears it, a value sets it ([`change`], [`try_change`]);
//! * a plain optional text (`String`, where `null` means "not given"): an empty or blank
//!   text clears it ([`text_change`]; stores that take `Option<&str>` apply the same rule
//!   through `domain::optional_text`).

use async_graphql::{ID, MaybeUndefined};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

/// `undefined` → unchanged (`None`), `null` → cleared (`Some(None)`), a value → set.
pub fn change<T, U>(v: MaybeUndefined<T>, f: impl FnOnce(T) -> U) -> Option<Option<U>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(x) => Some(Some(f(x))),
    }
}

/// Fallible [`change`].
pub fn try_change<T, U>(v: MaybeUndefined<T>, f: impl FnOnce(T) -> AppResult<U>) -> AppResult<Option<Option<U>>> {
    change(v, f).map(Option::transpose).transpose()
}

/// A plain optional text: not given → unchanged, empty or blank → cleared, a text → set.
pub fn text_change(v: Option<String>) -> Option<Option<String>> {
    v.map(|s| if s.trim().is_empty() { None } else { Some(s) })
}

/// An ID that refers to another object of the organization (not the one being changed):
/// anything but an existing object of `kind` there is `BAD_USER_INPUT` naming `field`.
pub fn ref_id(kind: Kind, id: &ID, field: &str) -> AppResult<Uuid> {
    match ids::decode(id) {
        Some((k, u)) if k == kind => Ok(u),
        Some(_) => Err(AppError::bad_input(field, format!("{field}: no such {} in this organization", kind.name()))),
        None => Err(AppError::bad_input(field, format!("{field} is not a valid ID"))),
    }
}

/// An ID a list is filtered by: an ID of another kind matches nothing (the nil id); a
/// malformed one is `BAD_USER_INPUT` naming `field`.
pub fn filter_id(kind: Kind, id: &ID, field: &str) -> AppResult<Uuid> {
    match ids::decode(id) {
        Some((k, u)) if k == kind => Ok(u),
        Some(_) => Ok(Uuid::nil()),
        None => Err(AppError::bad_input(field, format!("{field} is not a valid ID"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_keeps_clears_or_sets() {
        assert_eq!(change(MaybeUndefined::<i32>::Undefined, |v| v), None);
        assert_eq!(change(MaybeUndefined::<i32>::Null, |v| v), Some(None));
        assert_eq!(change(MaybeUndefined::Value(2), |v| v * 2), Some(Some(4)));
        let bad: AppResult<Option<Option<i32>>> = try_change(MaybeUndefined::Value(1), |_| Err(AppError::forbidden()));
        assert!(bad.is_err());
        assert_eq!(try_change(MaybeUndefined::<i32>::Null, Ok).ok(), Some(Some(None)));
    }

    #[test]
    fn blank_text_clears() {
        assert_eq!(text_change(None), None);
        assert_eq!(text_change(Some("  ".into())), Some(None));
        assert_eq!(text_change(Some("x".into())), Some(Some("x".into())));
    }

    #[test]
    fn ids_of_the_wrong_kind() {
        let scope = ID(ids::encode(Kind::Scope, Uuid::now_v7()));
        assert!(ref_id(Kind::Scope, &scope, "scopeId").is_ok());
        assert_eq!(ref_id(Kind::Risk, &scope, "riskId").unwrap_err().code(), "BAD_USER_INPUT");
        assert_eq!(filter_id(Kind::Risk, &scope, "riskId").ok(), Some(Uuid::nil()));
        assert_eq!(filter_id(Kind::Risk, &ID("nope".into()), "riskId").unwrap_err().code(), "BAD_USER_INPUT");
    }
}
