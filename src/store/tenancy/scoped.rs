//! A query the gate built: sea-orm's builder methods (filters, order, selection) work on
//! it as on any `Select`, but it runs only on the connection the gate chose, and the
//! tenant condition is added when it runs, after everything the caller added.

use sea_orm::sea_query::{Expr, SelectStatement};
use sea_orm::{Condition, DatabaseExecutor, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select, TryGetableMany};
use uuid::Uuid;

use super::Budget;
use crate::error::AppResult;
use crate::store::page::{self, Page, PageArgs, Sort, SortValue};

pub struct Scoped<'c, E: EntityTrait> {
    select: Select<E>,
    exec: DatabaseExecutor<'c>,
    tenant: Condition,
    /// The operation's statement budget (`None`: the global catalogs at start-up).
    budget: Option<&'c Budget>,
}

impl<'c, E: EntityTrait> Scoped<'c, E> {
    pub(super) fn new(exec: DatabaseExecutor<'c>, tenant: Condition, budget: Option<&'c Budget>) -> Self {
        Self { select: E::find(), exec, tenant, budget }
    }

    /// The statement with its tenant condition, once `statements` are paid for.
    fn finish(self, statements: u64) -> AppResult<(Select<E>, DatabaseExecutor<'c>)> {
        if let Some(b) = self.budget {
            b.spend(statements)?;
        }
        Ok((self.select.filter(self.tenant), self.exec))
    }
}

impl<E: EntityTrait> QueryFilter for Scoped<'_, E> {
    type QueryStatement = SelectStatement;
    fn query(&mut self) -> &mut SelectStatement {
        QueryFilter::query(&mut self.select)
    }
}

impl<E: EntityTrait> QueryOrder for Scoped<'_, E> {
    type QueryStatement = SelectStatement;
    fn query(&mut self) -> &mut SelectStatement {
        QueryOrder::query(&mut self.select)
    }
}

impl<E: EntityTrait> QuerySelect for Scoped<'_, E> {
    type QueryStatement = SelectStatement;
    fn query(&mut self) -> &mut SelectStatement {
        QuerySelect::query(&mut self.select)
    }
}

impl<E> Scoped<'_, E>
where
    E: EntityTrait,
    E::Model: Sync,
{
    pub async fn all(self) -> AppResult<Vec<E::Model>> {
        let (q, exec) = self.finish(1)?;
        Ok(q.all(&exec).await?)
    }

    pub async fn one(self) -> AppResult<Option<E::Model>> {
        let (q, exec) = self.finish(1)?;
        Ok(q.one(&exec).await?)
    }

    pub async fn count(self) -> AppResult<u64> {
        let (q, exec) = self.finish(1)?;
        let n: Option<i64> = q.select_only().column_as(Expr::cust("COUNT(*)"), "n").into_tuple().one(&exec).await?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    pub async fn exists(self) -> AppResult<bool> {
        Ok(self.limit(1).one().await?.is_some())
    }

    /// Rows as tuples of the selected columns (after `select_only().column(…)`).
    pub async fn tuples<T: TryGetableMany>(self) -> AppResult<Vec<T>> {
        let (q, exec) = self.finish(1)?;
        Ok(q.into_tuple::<T>().all(&exec).await?)
    }

    pub async fn tuple<T: TryGetableMany>(self) -> AppResult<Option<T>> {
        let (q, exec) = self.finish(1)?;
        Ok(q.into_tuple::<T>().one(&exec).await?)
    }

    /// One page of a keyset-paginated connection (see [`page::fetch`]).
    pub async fn page(
        self,
        sort: &Sort<E::Column>,
        args: &PageArgs,
        want_total: bool,
        key_of: impl Fn(&E::Model) -> SortValue,
        id_of: impl Fn(&E::Model) -> Uuid,
    ) -> AppResult<Page<E::Model>> {
        let (q, exec) = self.finish(1 + u64::from(want_total))?;
        let query = page::page_query(q.clone(), sort, args)?;
        // `COUNT(*)` over the filtered rows, not over a subquery of every column.
        let total = if want_total {
            let n: Option<i64> = q.select_only().column_as(Expr::cust("COUNT(*)"), "n").into_tuple().one(&exec).await?;
            Some(n.unwrap_or(0).max(0) as u64)
        } else {
            None
        };
        let rows = query.all(&exec).await?;
        Ok(page::page_of(rows, &sort.name, args, total, key_of, id_of))
    }
}
