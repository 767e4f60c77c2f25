//! Keyset pagination shared by every connection.
//!
//! A cursor encodes the sort it belongs to, the sort key of the last row and its id (the
//! tie-breaker). Nullable keys sort last in both directions. No OFFSET anywhere.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{ColumnTrait, ColumnType, Condition, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

pub const DEFAULT_PAGE: u64 = 20;
pub const MAX_PAGE: u64 = 100;

/// A sort key value as carried in a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v")]
pub enum SortValue {
    Null,
    Int(i64),
    Text(String),
    Date(NaiveDate),
    Time(DateTime<Utc>),
    Bool(bool),
}

impl SortValue {
    fn to_value(&self) -> sea_orm::Value {
        match self {
            SortValue::Null => sea_orm::Value::String(None),
            SortValue::Int(i) => (*i).into(),
            SortValue::Text(s) => s.clone().into(),
            SortValue::Date(d) => (*d).into(),
            SortValue::Time(t) => (*t).into(),
            SortValue::Bool(b) => (*b).into(),
        }
    }
}

/// The kind of key a column's values take in a cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Int,
    Text,
    Date,
    Time,
    Bool,
}

impl KeyKind {
    /// `None` for column types without a cursor rule (any non-null key is taken).
    fn of(t: &ColumnType) -> Option<Self> {
        use ColumnType as T;
        Some(match t {
            T::TinyInteger
            | T::SmallInteger
            | T::Integer
            | T::BigInteger
            | T::TinyUnsigned
            | T::SmallUnsigned
            | T::Unsigned
            | T::BigUnsigned => KeyKind::Int,
            T::Char(_) | T::String(_) | T::Text | T::Enum { .. } => KeyKind::Text,
            T::Date => KeyKind::Date,
            T::DateTime | T::Timestamp | T::TimestampWithTimeZone => KeyKind::Time,
            T::Boolean => KeyKind::Bool,
            _ => return None,
        })
    }
}

/// Years both databases store and compare (PostgreSQL refuses dates beyond its range).
fn sane_year(year: i32) -> bool {
    (1..=9999).contains(&year)
}

impl SortValue {
    /// True when this key can be a value of a column of type `t`.
    fn fits(&self, t: &ColumnType) -> bool {
        let Some(kind) = KeyKind::of(t) else { return !matches!(self, SortValue::Null) };
        match self {
            SortValue::Null => false,
            SortValue::Int(_) => kind == KeyKind::Int,
            SortValue::Text(s) => kind == KeyKind::Text && !s.contains('\0') && s.len() <= crate::domain::MAX_TEXT,
            SortValue::Date(d) => kind == KeyKind::Date && sane_year(d.year()),
            SortValue::Time(t) => kind == KeyKind::Time && sane_year(t.year()),
            SortValue::Bool(_) => kind == KeyKind::Bool,
        }
    }
}

impl From<Option<NaiveDate>> for SortValue {
    fn from(d: Option<NaiveDate>) -> Self {
        d.map_or(SortValue::Null, SortValue::Date)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CursorData {
    /// The sort this cursor belongs to.
    s: String,
    k: SortValue,
    id: Uuid,
}

/// Validated `first`/`after`.
#[derive(Debug, Clone)]
pub struct PageArgs {
    pub first: u64,
    after: Option<CursorData>,
}

impl PageArgs {
    pub fn new(first: Option<i32>, after: Option<&str>, sort_name: &str) -> AppResult<Self> {
        let first = match first {
            None => DEFAULT_PAGE,
            Some(n) if n >= 1 && (n as u64) <= MAX_PAGE => n as u64,
            Some(_) => {
                return Err(AppError::bad_input("first", format!("first must be between 1 and {MAX_PAGE}")));
            }
        };
        let after = match after {
            None => None,
            Some(c) => {
                let bad = || AppError::bad_input("after", "after is not a cursor of this list and order");
                let bytes = URL_SAFE_NO_PAD.decode(c).map_err(|_| bad())?;
                let data: CursorData = serde_json::from_slice(&bytes).map_err(|_| bad())?;
                if data.s != sort_name {
                    return Err(bad());
                }
                Some(data)
            }
        };
        Ok(Self { first, after })
    }

    pub fn is_after(&self) -> bool {
        self.after.is_some()
    }
}

/// How a list is ordered: one optional key column plus the id.
pub struct Sort<C> {
    pub name: String,
    pub key: Option<(C, bool)>,
    pub id: C,
    pub desc: bool,
}

impl<C: ColumnTrait> Sort<C> {
    pub fn by_id(name: &str, id: C) -> Self {
        Sort { name: name.to_string(), key: None, id, desc: false }
    }

    /// `nullable`: rows with no key sort last (in both directions).
    pub fn by(name: &str, key: C, nullable: bool, id: C, desc: bool) -> Self {
        Sort { name: name.to_string(), key: Some((key, nullable)), id, desc }
    }

    /// A hand-made cursor whose key does not fit the sort (wrong type, a null key on a
    /// non-nullable sort) is the client's mistake, not a database error.
    fn check(&self, c: &CursorData) -> AppResult<()> {
        let fits = match (&self.key, &c.k) {
            (None, k) => *k == SortValue::Null,
            (Some((_, nullable)), SortValue::Null) => *nullable,
            (Some((key, _)), k) => k.fits(key.def().get_column_type()),
        };
        if fits { Ok(()) } else { Err(AppError::bad_input("after", "after is not a cursor of this list and order")) }
    }

    fn after_condition(&self, c: &CursorData) -> Condition {
        let id_after: SimpleExpr = if self.desc { self.id.lt(c.id) } else { self.id.gt(c.id) };
        match &self.key {
            None => Condition::all().add(id_after),
            Some((key, nullable)) => match (&c.k, nullable) {
                (SortValue::Null, _) => Condition::all().add(key.is_null()).add(id_after),
                (v, nullable) => {
                    let val = v.to_value();
                    let beyond: SimpleExpr =
                        if self.desc { Expr::col(*key).lt(val.clone()) } else { Expr::col(*key).gt(val.clone()) };
                    let mut any =
                        Condition::any().add(beyond).add(Condition::all().add(Expr::col(*key).eq(val)).add(id_after));
                    if *nullable {
                        any = any.add(key.is_null());
                    }
                    any
                }
            },
        }
    }

    fn apply<E: EntityTrait<Column = C>>(&self, mut q: Select<E>) -> Select<E> {
        let order = if self.desc { Order::Desc } else { Order::Asc };
        if let Some((key, nullable)) = &self.key {
            if *nullable {
                q = q.order_by(Expr::col(*key).is_null(), Order::Asc);
            }
            q = q.order_by(*key, order.clone());
        }
        q.order_by(self.id, order)
    }
}

/// One page of a connection.
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next: bool,
    pub has_previous: bool,
    pub total: Option<u64>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl Fn(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(|(c, t)| (c, f(t))).collect(),
            has_next: self.has_next,
            has_previous: self.has_previous,
            total: self.total,
        }
    }
}

/// Runs `select` one page at a time. `key_of` reads the sort key of a row, `id_of` its id.
/// The query for one page of `select`: after the cursor, in sort order, one row more than
/// asked (to tell whether there is a next page). Run by the gate ([`crate::store::tenancy::Scoped::page`]).
pub(crate) fn page_query<E: EntityTrait>(
    select: Select<E>,
    sort: &Sort<E::Column>,
    args: &PageArgs,
) -> AppResult<Select<E>> {
    let mut q = select;
    if let Some(c) = &args.after {
        sort.check(c)?;
        q = q.filter(sort.after_condition(c));
    }
    Ok(sort.apply(q).limit(args.first + 1))
}

/// The page made of the rows `page_query` returned.
pub(crate) fn page_of<M>(
    mut rows: Vec<M>,
    sort_name: &str,
    args: &PageArgs,
    total: Option<u64>,
    key_of: impl Fn(&M) -> SortValue,
    id_of: impl Fn(&M) -> Uuid,
) -> Page<M> {
    let has_next = rows.len() as u64 > args.first;
    rows.truncate(args.first as usize);
    let items = rows
        .into_iter()
        .map(|m| {
            let cursor = encode(sort_name, key_of(&m), id_of(&m));
            (cursor, m)
        })
        .collect();
    Page { items, has_next, has_previous: args.is_after(), total }
}

fn encode(sort: &str, key: SortValue, id: Uuid) -> String {
    let data = CursorData { s: sort.to_string(), k: key, id };
    // Serializing this plain struct cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&data).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_roundtrip_and_mismatch() {
        let id = Uuid::now_v7();
        let c = encode("risks:SCORE:DESC", SortValue::Int(12), id);
        let args = PageArgs::new(Some(5), Some(&c), "risks:SCORE:DESC").expect("valid");
        assert!(args.is_after());
        assert_eq!(PageArgs::new(Some(5), Some(&c), "risks:TITLE:ASC").unwrap_err().code(), "BAD_USER_INPUT");
        assert_eq!(PageArgs::new(Some(5), Some("garbage!"), "x").unwrap_err().code(), "BAD_USER_INPUT");
        assert_eq!(PageArgs::new(Some(0), None, "x").unwrap_err().code(), "BAD_USER_INPUT");
        assert_eq!(PageArgs::new(Some(101), None, "x").unwrap_err().code(), "BAD_USER_INPUT");
    }

    #[test]
    fn cursor_keys_must_fit_the_sort() {
        use crate::entity::risk::Column as C;
        let cursor = |k: SortValue| CursorData { s: "s".into(), k, id: Uuid::now_v7() };
        let by_score = Sort::by("s", C::EffectiveScore, false, C::Id, true);
        assert!(by_score.check(&cursor(SortValue::Int(12))).is_ok());
        for k in [SortValue::Text("12".into()), SortValue::Null, SortValue::Bool(true)] {
            assert_eq!(by_score.check(&cursor(k)).unwrap_err().code(), "BAD_USER_INPUT");
        }
        let by_title = Sort::by("s", C::Title, false, C::Id, false);
        assert!(by_title.check(&cursor(SortValue::Text("a".into()))).is_ok());
        assert!(by_title.check(&cursor(SortValue::Text("a\0".into()))).is_err());
        assert!(by_title.check(&cursor(SortValue::Int(1))).is_err());
        let by_review = Sort::by("s", C::ReviewDate, true, C::Id, false);
        assert!(by_review.check(&cursor(SortValue::Null)).is_ok());
        assert!(by_review.check(&cursor(SortValue::Date(NaiveDate::from_ymd_opt(2026, 1, 2).expect("date")))).is_ok());
        assert!(by_review.check(&cursor(SortValue::Date(NaiveDate::MAX))).is_err());
        assert!(by_review.check(&cursor(SortValue::Time(Utc::now()))).is_err());
        let by_created = Sort::by("s", C::CreatedAt, false, C::Id, false);
        assert!(by_created.check(&cursor(SortValue::Time(Utc::now()))).is_ok());
        assert!(by_created.check(&cursor(SortValue::Time(DateTime::<Utc>::MIN_UTC))).is_err());
        let by_id = Sort::by_id("s", C::Id);
        assert!(by_id.check(&cursor(SortValue::Null)).is_ok());
        assert!(by_id.check(&cursor(SortValue::Int(1))).is_err());
    }
}
