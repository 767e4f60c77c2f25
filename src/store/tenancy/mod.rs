//! The tenancy gate: the entity registry, and the only door to the database.
//!
//! * The connection is private to this module ([`pool`]); no other module names a
//!   connection or transaction type (a test checks).
//! * Tenant data is reached through a [`Reader`] or [`MultiReader`] (reads) or a [`Writer`]
//!   (one transaction per mutation), which exist only for a verified caller whose standing
//!   in the organization allows the operation, per the permission table.
//! * Entities are registered in [`registry`]: tenant-scoped tables ([`TenantScoped`]: the
//!   tenant column, the right reading a row needs, the operations that may write one) and
//!   tenant-owned entities ([`TenantOwned`]: id, version, kind). Every read checks the
//!   entity's read right, every write its write rights; an unregistered table cannot be
//!   queried at all (deny by default). Catalog tables are [`Global`]: read-only, through
//!   [`Gate::catalog`].
//! * Every query gets the tenant condition when it runs ([`Scoped`]); an object of
//!   another tenant is reported exactly like a missing one (`NOT_FOUND` / `null`).
//! * Rights are read once per operation, never cached longer: an operation opens one
//!   session ([`Actor`]); on PostgreSQL that is a transaction whose first statement,
//!   `annex_session`, reads the caller's memberships and sets the row-level-security
//!   context (`annex.org_ids`) in the same round trip. Writes re-read the caller's role
//!   inside their own transaction, after which the transaction is narrowed to the one
//!   organization and takes its advisory lock, so writers of one tenant are serialised
//!   (the audit-trail hash chain cannot fork); on SQLite the process-wide writer lock does
//!   the same.

mod pool;
mod registry;
mod scoped;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseExecutor, DatabaseTransaction, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Statement, TransactionTrait, Value,
};
use tokio::sync::{Mutex, OwnedMutexGuard};
use uuid::Uuid;

pub use pool::Database;
pub use registry::{ChildOf, Global, Link, TenantOwned, TenantScoped, read_right};
pub use scoped::Scoped;

use crate::auth::{Access, Caller, Operation, Role};
use crate::entity::{change, membership, organization};
use crate::error::{AppError, AppResult};
use crate::events::{ChangeEvent, EventBus};

/// A row as its caller may see it: the model, and the caller's standing in its
/// organization (what `viewerCan*` fields answer from).
#[derive(Debug, Clone)]
pub struct Granted<M> {
    pub model: M,
    pub access: Access,
}

impl<M> Granted<M> {
    /// Builds the API object: `granted.into_object(Scope::new)`.
    pub fn into_object<T>(self, f: impl FnOnce(M, Access) -> T) -> T {
        f(self.model, self.access)
    }
}

/// The SQL statements one operation has run, against the most it may
/// (`ANNEX_MAX_STATEMENTS`): no single operation can hold the pool for long, whatever
/// the cost model thought of it. Reported as `extensions.cost.actual`.
#[derive(Debug, Default)]
pub struct Budget {
    used: AtomicU64,
    /// 0: no limit set (yet).
    max: AtomicU64,
}

impl Budget {
    /// Statements run so far.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    fn limit(&self, max: u64) {
        self.max.store(max, Ordering::Relaxed);
    }

    fn spend(&self, n: u64) -> AppResult<()> {
        let before = self.used.fetch_add(n, Ordering::Relaxed);
        let max = self.max.load(Ordering::Relaxed);
        if max > 0 && before + n > max {
            return Err(AppError::QueryTooComplex(format!(
                "the operation needs more than {max} SQL statements; ask for less at once (a smaller `first`, fewer nested lists, fewer organizations)"
            )));
        }
        Ok(())
    }
}

/// Truncated to microseconds, the precision both databases keep, so a value read back
/// equals the value written (the audit-trail hash depends on it).
pub fn now() -> chrono::DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

// ---------------------------------------------------------------------------------------
// Sessions: one per operation

enum SessionConn {
    /// SQLite: no row-level security; statements run on the pool.
    Pool(DatabaseConnection),
    /// PostgreSQL: one transaction, its tenant context set by `annex_session`.
    Tx(DatabaseTransaction),
}

/// What one operation knows of its caller: the memberships read when it started, and a
/// connection whose tenant context matches them.
struct Session {
    conn: SessionConn,
    budget: Arc<Budget>,
    roles: HashMap<Uuid, Role>,
    /// Platform admins: organizations known to exist (or not).
    admin_orgs: std::sync::Mutex<HashMap<Uuid, bool>>,
}

impl Session {
    fn executor(&self) -> DatabaseExecutor<'_> {
        match &self.conn {
            SessionConn::Pool(c) => DatabaseExecutor::Connection(c),
            SessionConn::Tx(t) => DatabaseExecutor::Transaction(t),
        }
    }

    fn scoped<E: EntityTrait>(&self, tenant: Condition) -> Scoped<'_, E> {
        Scoped::new(self.executor(), tenant, Some(&self.budget))
    }

    fn admin_known(&self, org: Uuid) -> Option<bool> {
        self.admin_orgs.lock().ok().and_then(|m| m.get(&org).copied())
    }

    fn admin_note(&self, orgs: impl IntoIterator<Item = (Uuid, bool)>) {
        if let Ok(mut m) = self.admin_orgs.lock() {
            m.extend(orgs);
        }
    }
}

/// The verified caller of one GraphQL operation. Its session (memberships, and on
/// PostgreSQL the read transaction) opens on first use and lives as long as the
/// operation, never longer: a new operation is a new `Actor`.
pub struct Actor {
    pub caller: Caller,
    pub request_id: String,
    /// SQL statements of this operation.
    pub budget: Arc<Budget>,
    session: Mutex<Option<Arc<Session>>>,
}

impl Actor {
    pub fn new(caller: Caller, request_id: String) -> Self {
        Self { caller, request_id, budget: Arc::default(), session: Mutex::new(None) }
    }

    /// Ends the operation's session (its read transaction, if any): the next read opens a
    /// new one with freshly read rights. Writes do this before they begin, and
    /// long-lived operations (subscriptions) after their initial check.
    pub async fn end_session(&self) {
        self.session.lock().await.take();
    }
}

// ---------------------------------------------------------------------------------------
// The gate

#[derive(Clone)]
pub struct Gate {
    db: Database,
    events: EventBus,
    max_statements: u64,
}

impl Gate {
    pub fn new(db: Database, events: EventBus) -> Self {
        Self { db, events, max_statements: 0 }
    }

    /// Caps the SQL statements of every operation (`ANNEX_MAX_STATEMENTS`).
    pub fn with_statement_limit(self, max: u64) -> Self {
        Self { max_statements: max, ..self }
    }

    pub fn events(&self) -> &EventBus {
        &self.events
    }

    fn backend(&self) -> DbBackend {
        self.db.backend()
    }

    /// Reads the caller's memberships on `conn` and (PostgreSQL) sets the transaction's
    /// row-level-security context to them.
    async fn memberships_on(&self, conn: &impl ConnectionTrait, actor: &Actor) -> AppResult<HashMap<Uuid, Role>> {
        actor.budget.limit(self.max_statements);
        actor.budget.spend(1)?;
        let mut roles = HashMap::new();
        if self.backend() == DbBackend::Postgres {
            let rows = conn
                .query_all_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT org_id, member_role FROM annex_session($1, $2)",
                    [actor.caller.subject.as_str().into(), actor.caller.platform_admin.into()],
                ))
                .await?;
            for row in rows {
                let org: Uuid = row.try_get_by_index(0)?;
                let role: Role = row.try_get_by_index(1)?;
                roles.insert(org, role);
            }
        } else {
            let rows = membership::Entity::find()
                .filter(membership::Column::Subject.eq(actor.caller.subject.as_str()))
                .all(conn)
                .await?;
            for m in rows {
                roles.insert(m.organization_id, m.role);
            }
        }
        Ok(roles)
    }

    async fn session(&self, actor: &Actor) -> AppResult<Arc<Session>> {
        let mut slot = actor.session.lock().await;
        if let Some(s) = slot.as_ref() {
            return Ok(s.clone());
        }
        let session = if self.backend() == DbBackend::Postgres {
            let tx = self.db.conn.begin().await?;
            let roles = self.memberships_on(&tx, actor).await?;
            Session { conn: SessionConn::Tx(tx), budget: actor.budget.clone(), roles, admin_orgs: Default::default() }
        } else {
            let roles = self.memberships_on(&self.db.conn, actor).await?;
            Session {
                conn: SessionConn::Pool(self.db.conn.clone()),
                budget: actor.budget.clone(),
                roles,
                admin_orgs: Default::default(),
            }
        };
        let session = Arc::new(session);
        *slot = Some(session.clone());
        Ok(session)
    }

    /// Platform admins: which of `orgs` exist (one statement for those not yet known).
    async fn admin_check(&self, s: &Session, orgs: &[Uuid]) -> AppResult<()> {
        let unknown: Vec<Uuid> = orgs.iter().copied().filter(|o| s.admin_known(*o).is_none()).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        s.budget.spend(1)?;
        let found: Vec<Uuid> = organization::Entity::find()
            .select_only()
            .column(organization::Column::Id)
            .filter(organization::Column::Id.is_in(unknown.iter().copied()))
            .into_tuple()
            .all(&s.executor())
            .await?;
        s.admin_note(unknown.iter().map(|o| (*o, found.contains(o))));
        Ok(())
    }

    fn access_in(&self, actor: &Actor, s: &Session, org: Uuid) -> Option<Access> {
        if actor.caller.platform_admin {
            s.admin_known(org).unwrap_or(false).then_some(Access::PlatformAdmin)
        } else {
            s.roles.get(&org).map(|r| Access::Member(*r))
        }
    }

    /// The caller's standing in `org`: `None` when it is not a member (or the organization
    /// does not exist), which callers must report as not found.
    pub async fn access(&self, actor: &Actor, org: Uuid) -> AppResult<Option<Access>> {
        // The operation's trace span names the organization it works in (the last one,
        // for a portfolio).
        let span = tracing::Span::current();
        if !span.is_disabled() {
            span.record("annex.organization_id", crate::ids::encode(crate::ids::Kind::Organization, org));
        }
        let s = self.session(actor).await?;
        if actor.caller.platform_admin {
            self.admin_check(&s, &[org]).await?;
        }
        Ok(self.access_in(actor, &s, org))
    }

    /// Like [`Gate::access`], but a missing membership is `NOT_FOUND`.
    pub async fn access_of(&self, actor: &Actor, org: Uuid) -> AppResult<Access> {
        self.access(actor, org).await?.ok_or_else(|| AppError::not_found("organization"))
    }

    /// The caller's own memberships (also for platform admins), as read for this operation.
    pub async fn member_roles(&self, actor: &Actor) -> AppResult<Vec<(Uuid, Role)>> {
        let s = self.session(actor).await?;
        let mut out: Vec<(Uuid, Role)> = s.roles.iter().map(|(o, r)| (*o, *r)).collect();
        out.sort_by_key(|(o, _)| *o);
        Ok(out)
    }

    fn authorize(&self, access: Option<Access>, op: Operation, what: &str) -> AppResult<Access> {
        match access {
            None => Err(AppError::not_found(what)),
            Some(a) if a.allows(op) => Ok(a),
            Some(_) => Err(AppError::forbidden()),
        }
    }

    /// Read access to one organization for `op`.
    pub async fn read(&self, actor: &Actor, org: Uuid, op: Operation) -> AppResult<Reader> {
        let access = self.authorize(self.access(actor, org).await?, op, "organization")?;
        Ok(Reader { session: self.session(actor).await?, org, access })
    }

    /// Read access to several organizations at once (batch loading for portfolios). Those
    /// the caller may not read for `op` are silently left out.
    pub async fn read_many(&self, actor: &Actor, orgs: &[Uuid], op: Operation) -> AppResult<MultiReader> {
        let s = self.session(actor).await?;
        if actor.caller.platform_admin {
            self.admin_check(&s, orgs).await?;
        }
        let mut allowed: Vec<(Uuid, Access)> = Vec::with_capacity(orgs.len());
        for org in orgs {
            if let Some(a) = self.access_in(actor, &s, *org)
                && a.allows(op)
                && !allowed.iter().any(|(o, _)| o == org)
            {
                allowed.push((*org, a));
            }
        }
        Ok(MultiReader { session: s, orgs: allowed })
    }

    /// The organizations the caller may see (all of them for a platform admin).
    pub async fn organizations(&self, actor: &Actor) -> AppResult<OrganizationsReader> {
        let s = self.session(actor).await?;
        let visible = (!actor.caller.platform_admin).then(|| s.roles.keys().copied().collect());
        Ok(OrganizationsReader { session: s, visible, admin: actor.caller.platform_admin })
    }

    /// The global, read-only catalogs (any caller, no session needed).
    pub fn catalog(&self) -> CatalogReader<'_> {
        CatalogReader { conn: &self.db.conn }
    }

    /// Finds a tenant row by id among the organizations the caller may see and checks the
    /// caller may `op` (and read `E`) there. Anything else is `NOT_FOUND`.
    pub async fn locate<E: TenantOwned>(&self, actor: &Actor, id: Uuid, op: Operation) -> AppResult<(Reader, E::Model)>
    where
        E::Model: Sync,
    {
        let s = self.session(actor).await?;
        let mut q = E::find().filter(E::id_column().eq(id));
        if !actor.caller.platform_admin {
            q = q.filter(E::org_column().is_in(s.roles.keys().copied()));
        }
        s.budget.spend(1)?;
        let Some(row) = q.one(&s.executor()).await? else {
            return Err(AppError::not_found(E::KIND.name()));
        };
        let org = E::org_of(&row);
        if actor.caller.platform_admin {
            self.admin_check(&s, &[org]).await?;
        }
        let access = self.authorize(self.access_in(actor, &s, org), op, E::KIND.name())?;
        if !access.allows(E::READ) {
            return Err(AppError::forbidden());
        }
        Ok((Reader { session: s, org, access }, row))
    }

    /// Rows of `E` by `(organization, id)` keys, from the organizations where the caller
    /// may read `E` (one statement; others silently left out).
    pub async fn rows_by_ids<E: TenantOwned>(&self, actor: &Actor, keys: &[(Uuid, Uuid)]) -> AppResult<Vec<E::Model>>
    where
        E::Model: Sync,
    {
        let r = self.read_many(actor, &orgs_of(keys), E::READ).await?;
        if r.orgs.is_empty() {
            return Ok(Vec::new());
        }
        r.find::<E>()?.filter(E::id_column().is_in(keys.iter().map(|k| k.1))).all().await
    }

    /// Children of `E` under `(organization, parent)` keys, from the organizations where the
    /// caller may read `E` (one statement).
    pub async fn children<E: ChildOf>(&self, actor: &Actor, keys: &[(Uuid, Uuid)]) -> AppResult<Vec<E::Model>>
    where
        E::Model: Sync,
    {
        let r = self.read_many(actor, &orgs_of(keys), E::READ).await?;
        if r.orgs.is_empty() {
            return Ok(Vec::new());
        }
        let q = r.find::<E>()?.filter(E::parent_column().is_in(keys.iter().map(|k| k.1)));
        E::order(q).all().await
    }

    /// For `(organization, left id)` keys, the right-hand rows linked to each, in the
    /// right entity's list order (two statements).
    pub async fn linked_right<L: Link>(
        &self,
        actor: &Actor,
        keys: &[(Uuid, Uuid)],
    ) -> AppResult<Vec<(Uuid, <L::Right as EntityTrait>::Model)>>
    where
        <L::Right as EntityTrait>::Model: Sync + Clone,
        L::Model: Sync,
    {
        let r = self.read_many(actor, &orgs_of(keys), L::READ).await?;
        if r.orgs.is_empty() {
            return Ok(Vec::new());
        }
        let links = r.find::<L>()?.filter(L::left_column().is_in(keys.iter().map(|k| k.1))).all().await?;
        let pairs: Vec<(Uuid, Uuid)> = links.iter().map(|l| (L::left_of(l), L::right_of(l))).collect();
        r.join_targets::<L::Right>(pairs).await
    }

    /// For `(organization, right id)` keys, the left-hand rows linked to each.
    pub async fn linked_left<L: Link>(
        &self,
        actor: &Actor,
        keys: &[(Uuid, Uuid)],
    ) -> AppResult<Vec<(Uuid, <L::Left as EntityTrait>::Model)>>
    where
        <L::Left as EntityTrait>::Model: Sync + Clone,
        L::Model: Sync,
    {
        let r = self.read_many(actor, &orgs_of(keys), L::READ).await?;
        if r.orgs.is_empty() {
            return Ok(Vec::new());
        }
        let links = r.find::<L>()?.filter(L::right_column().is_in(keys.iter().map(|k| k.1))).all().await?;
        let pairs: Vec<(Uuid, Uuid)> = links.iter().map(|l| (L::right_of(l), L::left_of(l))).collect();
        r.join_targets::<L::Left>(pairs).await
    }

    // -----------------------------------------------------------------------------------
    // Writes

    async fn begin_write(&self) -> AppResult<(DatabaseTransaction, Option<OwnedMutexGuard<()>>)> {
        let guard = match &self.db.sqlite_writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let tx = self.db.conn.begin().await?;
        Ok((tx, guard))
    }

    /// Narrows a write transaction to `org` (row-level security) and takes the tenant's
    /// advisory lock, in one statement.
    async fn narrow(&self, tx: &DatabaseTransaction, actor: &Actor, org: Uuid) -> AppResult<()> {
        if self.backend() == DbBackend::Postgres {
            actor.budget.spend(1)?;
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1), set_config('annex.org_ids', $2, true), \
                 set_config('annex.platform_admin', 'off', true)",
                [advisory_key(org).into(), format!("{{{org}}}").into()],
            ))
            .await?;
        }
        Ok(())
    }

    /// The caller's standing in `org`, read inside the write transaction.
    async fn write_access(
        &self,
        tx: &DatabaseTransaction,
        actor: &Actor,
        roles: &HashMap<Uuid, Role>,
        org: Uuid,
    ) -> AppResult<Option<Access>> {
        if actor.caller.platform_admin {
            actor.budget.spend(1)?;
            let exists = organization::Entity::find_by_id(org).one(tx).await?.is_some();
            Ok(exists.then_some(Access::PlatformAdmin))
        } else {
            Ok(roles.get(&org).map(|r| Access::Member(*r)))
        }
    }

    fn writer(
        &self,
        actor: &Actor,
        tx: DatabaseTransaction,
        guard: Option<OwnedMutexGuard<()>>,
        org: Uuid,
        access: Access,
        op: Operation,
    ) -> Writer {
        Writer {
            tx,
            budget: actor.budget.clone(),
            org,
            access,
            op,
            actor: actor.caller.subject.clone(),
            request_id: actor.request_id.clone(),
            bus: self.events.clone(),
            events: Vec::new(),
            chain_head: None,
            _sqlite_guard: guard,
        }
    }

    /// Opens the write transaction for one mutation in `org`; the caller's role is read
    /// inside it.
    pub async fn write(&self, actor: &Actor, org: Uuid, op: Operation) -> AppResult<Writer> {
        actor.end_session().await;
        let (tx, guard) = self.begin_write().await?;
        let roles = self.memberships_on(&tx, actor).await?;
        let access = self.authorize(self.write_access(&tx, actor, &roles, org).await?, op, "organization")?;
        self.narrow(&tx, actor, org).await?;
        Ok(self.writer(actor, tx, guard, org, access, op))
    }

    /// Opens the write transaction for a mutation on the row `id` (any tenant entity):
    /// the row is found among the caller's organizations, then re-read after the tenant
    /// lock.
    pub async fn write_on<E: TenantOwned>(
        &self,
        actor: &Actor,
        id: Uuid,
        op: Operation,
    ) -> AppResult<(Writer, E::Model)>
    where
        E::Model: Sync,
    {
        actor.end_session().await;
        let (tx, guard) = self.begin_write().await?;
        let roles = self.memberships_on(&tx, actor).await?;
        let mut q = E::find().filter(E::id_column().eq(id));
        if !actor.caller.platform_admin {
            q = q.filter(E::org_column().is_in(roles.keys().copied()));
        }
        actor.budget.spend(1)?;
        let Some(found) = q.one(&tx).await? else {
            return Err(AppError::not_found(E::KIND.name()));
        };
        let org = E::org_of(&found);
        let access = self.authorize(self.write_access(&tx, actor, &roles, org).await?, op, E::KIND.name())?;
        self.narrow(&tx, actor, org).await?;
        let w = self.writer(actor, tx, guard, org, access, op);
        let row = w.get::<E>(id).await?.ok_or_else(|| AppError::not_found(E::KIND.name()))?;
        Ok((w, row))
    }

    /// A write transaction for a brand-new organization (platform admins only).
    pub async fn write_new_organization(&self, actor: &Actor, org: Uuid) -> AppResult<Writer> {
        if !actor.caller.platform_admin {
            return Err(AppError::Forbidden("only platform admins create organizations".into()));
        }
        actor.end_session().await;
        let (tx, guard) = self.begin_write().await?;
        self.narrow(&tx, actor, org).await?;
        Ok(self.writer(actor, tx, guard, org, Access::PlatformAdmin, Operation::CreateOrganization))
    }
}

fn orgs_of(keys: &[(Uuid, Uuid)]) -> Vec<Uuid> {
    let mut orgs: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
    orgs.sort();
    orgs.dedup();
    orgs
}

/// Advisory-lock key of a tenant (both halves of the UUID folded together).
fn advisory_key(org: Uuid) -> i64 {
    let (hi, lo) = org.as_u64_pair();
    (hi ^ lo) as i64
}

/// The tenant condition for reading `E` in `orgs`.
fn tenant_condition<E: TenantScoped>(orgs: impl IntoIterator<Item = Uuid>) -> Condition {
    Condition::all().add(E::org_column().is_in(orgs))
}

// ---------------------------------------------------------------------------------------
// Readers

/// Read access to one organization, for the rest of the operation.
pub struct Reader {
    session: Arc<Session>,
    org: Uuid,
    access: Access,
}

impl Reader {
    pub fn org(&self) -> Uuid {
        self.org
    }
    pub fn access(&self) -> Access {
        self.access
    }

    /// Rows of `E` in this organization; `FORBIDDEN` when the caller's role may not read
    /// `E` here.
    pub(in crate::store) fn find<E: TenantScoped>(&self) -> AppResult<Scoped<'_, E>> {
        if !self.access.allows(E::READ) {
            return Err(AppError::forbidden());
        }
        Ok(self.session.scoped(tenant_condition::<E>([self.org])))
    }

    pub(in crate::store) async fn get<E: TenantOwned>(&self, id: Uuid) -> AppResult<Option<E::Model>>
    where
        E::Model: Sync,
    {
        self.find::<E>()?.filter(E::id_column().eq(id)).one().await
    }
}

/// Read access to several organizations (batch loaders, portfolios).
pub struct MultiReader {
    session: Arc<Session>,
    orgs: Vec<(Uuid, Access)>,
}

impl MultiReader {
    pub fn orgs(&self) -> Vec<Uuid> {
        self.orgs.iter().map(|(o, _)| *o).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.orgs.is_empty()
    }

    /// Rows of `E` in the organizations whose caller role may read `E` (the others are
    /// left out).
    pub(in crate::store) fn find<E: TenantScoped>(&self) -> AppResult<Scoped<'_, E>> {
        let orgs = self.orgs.iter().filter(|(_, a)| a.allows(E::READ)).map(|(o, _)| *o);
        Ok(self.session.scoped(tenant_condition::<E>(orgs)))
    }

    /// `(key, target)` for `(key, target id)` pairs, in the target's list order.
    async fn join_targets<T: TenantOwned>(&self, pairs: Vec<(Uuid, Uuid)>) -> AppResult<Vec<(Uuid, T::Model)>>
    where
        T::Model: Sync + Clone,
    {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids: Vec<Uuid> = pairs.iter().map(|p| p.1).collect();
        ids.sort();
        ids.dedup();
        let targets = T::list_order(self.find::<T>()?.filter(T::id_column().is_in(ids))).all().await?;
        let mut out = Vec::with_capacity(pairs.len());
        for t in targets {
            let id = T::id_of(&t);
            for (key, _) in pairs.iter().filter(|p| p.1 == id) {
                out.push((*key, t.clone()));
            }
        }
        Ok(out)
    }
}

/// The organizations a caller may see (`organizations`, portfolios).
pub struct OrganizationsReader {
    session: Arc<Session>,
    /// `None`: all (platform admin).
    visible: Option<Vec<Uuid>>,
    admin: bool,
}

impl OrganizationsReader {
    pub(in crate::store) fn find(&self) -> Scoped<'_, organization::Entity> {
        let cond = match &self.visible {
            Some(v) => Condition::all().add(organization::Column::Id.is_in(v.iter().copied())),
            None => Condition::all(),
        };
        self.session.scoped(cond)
    }

    /// Records organizations a platform admin has seen exist (saves a lookup each later).
    pub(in crate::store) fn note_seen(&self, orgs: impl IntoIterator<Item = Uuid>) {
        if self.admin {
            self.session.admin_note(orgs.into_iter().map(|o| (o, true)));
        }
    }
}

/// The global catalogs, read-only.
pub struct CatalogReader<'g> {
    conn: &'g DatabaseConnection,
}

impl CatalogReader<'_> {
    pub(in crate::store) fn find<E: Global>(&self) -> Scoped<'_, E> {
        Scoped::new(DatabaseExecutor::Connection(self.conn), Condition::all(), None)
    }
}

// ---------------------------------------------------------------------------------------
// The writer

/// One mutation's transaction in one organization. Dropping it without
/// [`Writer::commit`] rolls everything back, audit-trail rows and events included.
pub struct Writer {
    tx: DatabaseTransaction,
    budget: Arc<Budget>,
    org: Uuid,
    access: Access,
    /// The operation it was opened for: what it may write (`TenantScoped::WRITE`).
    op: Operation,
    pub(in crate::store) actor: String,
    pub(in crate::store) request_id: String,
    bus: EventBus,
    events: Vec<ChangeEvent>,
    /// (seq, hash) of the newest audit-trail row, once read in this transaction.
    pub(in crate::store) chain_head: Option<(i64, String)>,
    _sqlite_guard: Option<OwnedMutexGuard<()>>,
}

impl Writer {
    pub fn org(&self) -> Uuid {
        self.org
    }
    pub fn access(&self) -> Access {
        self.access
    }
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Lets this operation run `extra` more SQL statements than `ANNEX_MAX_STATEMENTS`
    /// (a bulk import, priced per row and bounded by its row limit).
    pub(in crate::store) fn allow_more_statements(&self, extra: u64) {
        let max = self.budget.max.load(Ordering::Relaxed);
        if max > 0 {
            self.budget.limit(max.saturating_add(extra));
        }
    }

    /// Refuses (`FORBIDDEN`) unless the caller's role also allows `op` (a rule that
    /// depends on the row, decided after it was read).
    pub(in crate::store) fn require(&self, op: Operation) -> AppResult<()> {
        if self.access.allows(op) { Ok(()) } else { Err(AppError::forbidden()) }
    }

    fn check_write<E: TenantScoped>(&self) -> AppResult<()> {
        if E::WRITE.contains(&self.op) {
            Ok(())
        } else {
            Err(AppError::internal(format!(
                "a writer opened for {} may not write {}",
                self.op.name(),
                std::any::type_name::<E>()
            )))
        }
    }

    /// Rows of `E` in this organization, inside the transaction.
    pub(in crate::store) fn find<E: TenantScoped>(&self) -> AppResult<Scoped<'_, E>> {
        if !self.access.allows(E::READ) {
            return Err(AppError::forbidden());
        }
        Ok(Scoped::new(DatabaseExecutor::Transaction(&self.tx), tenant_condition::<E>([self.org]), Some(&self.budget)))
    }

    pub(in crate::store) async fn get<E: TenantOwned>(&self, id: Uuid) -> AppResult<Option<E::Model>>
    where
        E::Model: Sync,
    {
        self.find::<E>()?.filter(E::id_column().eq(id)).one().await
    }

    /// The global catalogs, inside the transaction.
    pub(in crate::store) fn catalog<E: Global>(&self) -> Scoped<'_, E> {
        Scoped::new(DatabaseExecutor::Transaction(&self.tx), Condition::all(), Some(&self.budget))
    }

    /// Inserts a row of this tenant (the tenant column is set here, whatever `am` holds).
    /// A unique-key collision is `CONFLICT` with `conflict` as its message.
    pub(in crate::store) async fn insert<E, A>(&self, mut am: A, conflict: &str) -> AppResult<E::Model>
    where
        E: TenantScoped,
        A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
        E::Model: IntoActiveModel<A>,
    {
        self.check_write::<E>()?;
        self.budget.spend(1)?;
        am.set(E::org_column(), self.org.into());
        am.insert(&self.tx).await.map_err(|e| AppError::on_unique(e, conflict))
    }

    /// Inserts many rows of this tenant in one statement.
    pub(in crate::store) async fn insert_many<E, A>(&self, rows: Vec<A>) -> AppResult<()>
    where
        E: TenantScoped,
        A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
    {
        self.check_write::<E>()?;
        if rows.is_empty() {
            return Ok(());
        }
        self.budget.spend(1)?;
        let org = self.org;
        let rows = rows.into_iter().map(|mut am| {
            am.set(E::org_column(), org.into());
            am
        });
        E::insert_many(rows).exec_without_returning(&self.tx).await?;
        Ok(())
    }

    /// Updates one versioned row of this tenant: bumps `version` and `updated_at`, and
    /// refuses (`CONFLICT`) when the row's version moved since `am` was read.
    pub(in crate::store) async fn update<E, A>(&self, am: A) -> AppResult<E::Model>
    where
        E: TenantOwned,
        A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
        E::Model: IntoActiveModel<A> + Sync,
    {
        self.update_unique(am, "that name or key is already taken in this organization").await
    }

    /// [`Writer::update`], with the message a unique-key collision reports.
    pub(in crate::store) async fn update_unique<E, A>(&self, mut am: A, conflict: &str) -> AppResult<E::Model>
    where
        E: TenantOwned,
        A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
        E::Model: IntoActiveModel<A> + Sync,
    {
        self.check_write::<E>()?;
        let id = match am.get(E::id_column()).into_value() {
            Some(Value::Uuid(Some(id))) => id,
            _ => return Err(AppError::internal("update without id")),
        };
        let mut q = E::update_many();
        if let (Some(vcol), Some(ucol)) = (E::version_column(), E::updated_at_column()) {
            let version = match am.get(vcol).into_value() {
                Some(Value::Int(Some(v))) => v,
                _ => return Err(AppError::internal("update without version")),
            };
            am.set(vcol, (version + 1).into());
            am.set(ucol, now().into());
            q = q.filter(vcol.eq(version));
        }
        self.budget.spend(1)?;
        let res = q
            .set(am)
            .filter(E::id_column().eq(id))
            .filter(E::org_column().eq(self.org))
            .exec(&self.tx)
            .await
            .map_err(|e| AppError::on_unique(e, conflict))?;
        if res.rows_affected == 0 {
            return Err(AppError::Conflict("the object was changed by someone else; reload and retry".into()));
        }
        self.get::<E>(id).await?.ok_or_else(|| AppError::internal("updated row vanished"))
    }

    /// Deletes one row of this tenant.
    pub(in crate::store) async fn delete<E: TenantOwned>(&self, id: Uuid) -> AppResult<()> {
        if self.delete_where::<E>(Condition::all().add(E::id_column().eq(id))).await? == 0 {
            return Err(AppError::not_found(E::KIND.name()));
        }
        Ok(())
    }

    /// Deletes the rows of this tenant matching `cond`; returns how many went.
    pub(in crate::store) async fn delete_where<E: TenantScoped>(&self, cond: Condition) -> AppResult<u64> {
        self.check_write::<E>()?;
        self.budget.spend(1)?;
        let res = E::delete_many().filter(cond).filter(E::org_column().eq(self.org)).exec(&self.tx).await?;
        Ok(res.rows_affected)
    }

    /// A conditional UPDATE of this tenant's rows of `E` that match `cond`, with the values
    /// set in `am`: a claim (issue 16: only the writer whose update changed a row acts on
    /// it). Leaves `version` alone. Returns how many rows changed.
    pub(in crate::store) async fn claim<E, A>(&self, am: A, cond: Condition) -> AppResult<u64>
    where
        E: TenantScoped,
        A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
    {
        self.check_write::<E>()?;
        self.budget.spend(1)?;
        let res = E::update_many().set(am).filter(cond).filter(E::org_column().eq(self.org)).exec(&self.tx).await?;
        Ok(res.rows_affected)
    }

    /// The newest audit-trail row's `(seq, hash)` (the trail is the gate's own: no right
    /// is needed to extend it).
    pub(in crate::store) async fn trail_head(&self) -> AppResult<Option<(i64, String)>> {
        self.budget.spend(1)?;
        let row = change::Entity::find()
            .filter(change::Column::OrganizationId.eq(self.org))
            .order_by_desc(change::Column::Seq)
            .limit(1)
            .one(&self.tx)
            .await?;
        Ok(row.map(|r| (r.seq, r.hash)))
    }

    /// Appends one audit-trail row of this tenant.
    pub(in crate::store) async fn append_change(&self, mut row: change::ActiveModel) -> AppResult<()> {
        row.organization_id = sea_orm::ActiveValue::Set(self.org);
        self.budget.spend(1)?;
        change::Entity::insert(row).exec_without_returning(&self.tx).await?;
        Ok(())
    }

    /// Stages an event; it is sent when (and only if) the transaction commits.
    pub(in crate::store) async fn stage_event(&mut self, event: ChangeEvent) -> AppResult<()> {
        if let Some(payload) = self.bus.notify_payload(&event)? {
            self.budget.spend(1)?;
            self.tx
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_notify($1, $2)",
                    [crate::events::PG_CHANNEL.into(), payload.into()],
                ))
                .await?;
        }
        self.events.push(event);
        Ok(())
    }

    /// Commits; returns the caller's standing in the organization.
    pub async fn commit(self) -> AppResult<Access> {
        let Writer { tx, bus, events, _sqlite_guard, access, .. } = self;
        tx.commit().await?;
        drop(_sqlite_guard);
        bus.committed(events);
        Ok(access)
    }

    /// Commits and hands back `model` with the caller's standing.
    pub async fn commit_with<M>(self, model: M) -> AppResult<Granted<M>> {
        let access = self.commit().await?;
        Ok(Granted { model, access })
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::ActiveValue::Set;

    use super::*;
    use crate::entity::{change, control, risk};
    use crate::store::org::{self, NewOrganization};

    async fn gate() -> Gate {
        let dir = std::env::temp_dir().join(format!("annex-gate-{}", Uuid::new_v4().simple()));
        let url = format!("sqlite://{}/annex.db?mode=rwc", dir.display());
        let env: HashMap<&str, String> = [("DATABASE_URL", url), ("ANNEX_JWT_SECRET", "x".repeat(32))].into();
        let cfg = crate::config::Config::from_lookup(|k| env.get(k).cloned()).expect("config");
        Database::migrate(&cfg).await.expect("migrate");
        let db = Database::connect(&cfg).await.expect("connect");
        let events = EventBus::start(&db);
        Gate::new(db, events)
    }

    fn actor(subject: &str, platform_admin: bool) -> Actor {
        Actor::new(Caller { subject: subject.into(), platform_admin, expires_at: None }, "test".into())
    }

    async fn org_with(gate: &Gate, member: &str, role: Role) -> Uuid {
        let admin = actor("admin", true);
        let slug = format!("o-{}", &Uuid::new_v4().simple().to_string()[..8]);
        let o = org::create(
            gate,
            &admin,
            NewOrganization { name: "Org", slug: &slug, initial_owner: None, template: None },
        )
        .await
        .expect("organization");
        org::add_member(gate, &actor("admin", true), o.model.id, member, role).await.expect("member");
        o.model.id
    }

    #[tokio::test]
    async fn a_reader_reads_only_what_its_role_may() {
        // Issue 9, 1: a reader opened for the dashboard must not read the audit trail.
        let gate = gate().await;
        let org = org_with(&gate, "v", Role::Viewer).await;
        let viewer = actor("v", false);
        let r = gate.read(&viewer, org, Operation::ReadDashboard).await.expect("reader");
        assert_eq!(r.find::<change::Entity>().err().map(|e| e.code()), Some("FORBIDDEN"));
        assert!(r.find::<risk::Entity>().is_ok());
        let m = gate.read_many(&viewer, &[org], Operation::ReadDashboard).await.expect("reader");
        assert!(m.find::<change::Entity>().expect("query").all().await.expect("rows").is_empty());
        let admin = actor("admin", true);
        let m = gate.read_many(&admin, &[org], Operation::ReadDashboard).await.expect("reader");
        assert!(!m.find::<change::Entity>().expect("query").all().await.expect("rows").is_empty());
    }

    #[tokio::test]
    async fn a_writer_writes_only_what_its_operation_may() {
        let gate = gate().await;
        let org = org_with(&gate, "c", Role::Contributor).await;
        let c = actor("c", false);
        let w = gate.write(&c, org, Operation::WriteRisks).await.expect("writer");
        let row = w.find::<control::Entity>().expect("query").one().await.expect("row").expect("a control");
        let mut am: control::ActiveModel = row.into();
        am.owner = Set(Some("c".into()));
        let e = w.update(am).await.expect_err("a risk writer may not update the SoA");
        assert_eq!(e.code(), "INTERNAL");
        drop(w);
        // A role without the operation never gets a writer; another tenant's org is missing.
        let e = gate.write(&actor("c", false), org, Operation::ManageMembers).await.err().map(|e| e.code());
        assert_eq!(e, Some("FORBIDDEN"));
        let e = gate.write(&actor("c", false), Uuid::now_v7(), Operation::WriteRisks).await.err().map(|e| e.code());
        assert_eq!(e, Some("NOT_FOUND"));
    }

    #[tokio::test]
    async fn a_label_the_enum_does_not_know_is_an_error_not_a_panic() {
        let gate = gate().await;
        let org = org_with(&gate, "v", Role::Viewer).await;
        gate.db
            .conn
            .execute_raw(Statement::from_string(DbBackend::Sqlite, "UPDATE controls SET status = 'SHREDDED'"))
            .await
            .expect("corrupt");
        let r = gate.read(&actor("v", false), org, Operation::ReadControls).await.expect("reader");
        let e = r.find::<control::Entity>().expect("query").one().await.expect_err("a bad label");
        assert_eq!(e.code(), "INTERNAL");
    }

    #[tokio::test]
    async fn rights_are_read_per_operation() {
        let gate = gate().await;
        let org = org_with(&gate, "m", Role::Manager).await;
        let first = actor("m", false);
        assert_eq!(gate.access(&first, org).await.expect("access"), Some(Access::Member(Role::Manager)));
        let admin = actor("admin", true);
        org::change_member_role(&gate, &admin, org, "m", Role::Viewer, None).await.expect("demote");
        // The same operation keeps what it read; the next one sees the demotion.
        assert_eq!(gate.access(&first, org).await.expect("access"), Some(Access::Member(Role::Manager)));
        let next = actor("m", false);
        assert_eq!(gate.access(&next, org).await.expect("access"), Some(Access::Member(Role::Viewer)));
    }
}
