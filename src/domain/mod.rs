//! Domain rules in plain Rust: no GraphQL, no SQL. Each rule of the standards cites its
//! clause. Errors are [`Invalid`]: the input field at fault and a message.

/// A string-backed enum, stored and exchanged as its label: `ALL`, `as_str`, `parse` and
/// `FromStr`.
macro_rules! labelled {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::parse(s).ok_or_else(|| format!("unknown {} {s:?}", stringify!($name)))
            }
        }
    };
}

pub mod audit;
pub mod certification;
pub mod context;
pub mod dashboard;
pub mod document;
pub mod impact;
pub mod import;
pub mod incident;
pub mod measure;
pub mod ncr;
pub mod objective;
pub mod org;
pub mod programme;
pub mod refs;
// issue 15: the management review
pub mod review;
pub mod risk;
pub mod scope;
pub mod soa;
pub mod supplier;
pub mod task;
pub mod trail;

/// A rule broken by client input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

impl From<Invalid> for crate::error::AppError {
    fn from(i: Invalid) -> Self {
        crate::error::AppError::BadUserInput { field: Some(i.field), message: i.message }
    }
}

/// Trims `value` and requires 1..=`max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, Invalid> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Invalid::new(field, format!("{field} must not be empty")));
    }
    if v.chars().count() > max {
        return Err(Invalid::new(field, format!("{field} must be at most {max} characters")));
    }
    Ok(v.to_string())
}

/// Trims an optional text; empty becomes `None`; more than `max` characters is refused.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, Invalid> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > max => {
            Err(Invalid::new(field, format!("{field} must be at most {max} characters")))
        }
        Some(v) => Ok(Some(v.to_string())),
    }
}

/// Trims every entry of a list, drops empty ones and duplicates (first wins).
pub fn clean_list(field: &str, values: &[String], max_items: usize, max_len: usize) -> Result<Vec<String>, Invalid> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        let v = v.trim();
        if v.is_empty() || out.iter().any(|o| o == v) {
            continue;
        }
        if v.chars().count() > max_len {
            return Err(Invalid::new(field, format!("each entry of {field} must be at most {max_len} characters")));
        }
        out.push(v.to_string());
    }
    if out.len() > max_items {
        return Err(Invalid::new(field, format!("{field} takes at most {max_items} entries")));
    }
    Ok(out)
}

/// A search term: at most [`MAX_SEARCH`] characters (a longer one is no search a person
/// types, and SQLite refuses LIKE patterns beyond 50,000 bytes).
pub fn check_search(term: Option<&str>) -> Result<(), Invalid> {
    match term {
        Some(t) if t.trim().chars().count() > MAX_SEARCH => {
            Err(Invalid::new("filter.search", format!("search must be at most {MAX_SEARCH} characters")))
        }
        _ => Ok(()),
    }
}

/// Limits shared by inputs.
pub const MAX_SEARCH: usize = 200;
pub const MAX_TITLE: usize = 300;
pub const MAX_TEXT: usize = 20_000;
pub const MAX_NAME: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_trims_and_refuses_blank() {
        assert_eq!(required_text("title", "  a  ", 10), Ok("a".into()));
        assert_eq!(required_text("title", "   ", 10).unwrap_err().field, "title");
        assert!(required_text("title", "abcdef", 5).is_err());
    }

    #[test]
    fn search_terms_are_bounded() {
        assert!(check_search(Some(&"a".repeat(MAX_SEARCH))).is_ok());
        assert_eq!(check_search(Some(&"a".repeat(MAX_SEARCH + 1))).unwrap_err().field, "filter.search");
        assert!(check_search(None).is_ok());
    }

    #[test]
    fn lists_are_cleaned() {
        let v = vec![" a ".to_string(), "a".into(), "".into(), "b".into()];
        assert_eq!(clean_list("x", &v, 5, 10), Ok(vec!["a".into(), "b".into()]));
        assert!(clean_list("x", &v, 1, 10).is_err());
    }
}
