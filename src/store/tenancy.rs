//! The tenancy gate: the only way to read or write tenant data.
//!
//! A [`Reader`] or [`Writer`] exists only for a verified caller with access to one
//! organization, checked against the permission table. Every query it builds is filtered
//! by that organization; entities that are not registered as [`TenantOwned`] cannot be
//! queried through it at all (deny by default). An object of another tenant is reported
//! exactly like a missing one (`NOT_FOUND` / `null`), never as `FORBIDDEN`.
//!
//! Writes run in one transaction per mutation. On PostgreSQL the transaction first takes a
//! per-tenant advisory lock, so writers of one tenant are serialised (the audit-trail hash
//! chain cannot fork, and read-check-write rules see committed state); on SQLite the
//! process-wide writer lock does the same.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::Utc;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Select, Statement, TransactionTrait, Value,
};
use tokio::sync::OwnedMutexGuard;
use uuid::Uuid;

use crate::auth::{Access, Caller, Operation, Role};
use crate::db::Database;
use crate::entity::{self, membership, organization};
use crate::error::{AppError, AppResult};
use crate::events::{ChangeEvent, EventBus};
use crate::ids::Kind;

/// A tenant-owned entity: its rows belong to exactly one organization.
pub trait TenantOwned: EntityTrait {
    const KIND: Kind;
    /// The operation that reading a row of this entity needs.
    const READ: Operation;
    fn org_column() -> Self::Column;
    fn id_column() -> Self::Column;
    fn version_column() -> Option<Self::Column>;
    fn updated_at_column() -> Option<Self::Column>;
    fn org_of(model: &Self::Model) -> Uuid;
}

macro_rules! tenant_owned {
    ($module:ident, $kind:ident, $read:ident, versioned) => {
        tenant_owned!(@impl $module, $kind, $read, Some(entity::$module::Column::Version), Some(entity::$module::Column::UpdatedAt));
    };
    ($module:ident, $kind:ident, $read:ident) => {
        tenant_owned!(@impl $module, $kind, $read, None, None);
    };
    (@impl $module:ident, $kind:ident, $read:ident, $version:expr, $updated:expr) => {
        impl TenantOwned for entity::$module::Entity {
            const KIND: Kind = Kind::$kind;
            const READ: Operation = Operation::$read;
            fn org_column() -> Self::Column {
                entity::$module::Column::OrganizationId
            }
            fn id_column() -> Self::Column {
                entity::$module::Column::Id
            }
            fn version_column() -> Option<Self::Column> {
                $version
            }
            fn updated_at_column() -> Option<Self::Column> {
                $updated
            }
            fn org_of(model: &Self::Model) -> Uuid {
                model.organization_id
            }
        }
    };
}

tenant_owned!(membership, Membership, ReadOrganization, versioned);
tenant_owned!(control, Control, ReadControls, versioned);
tenant_owned!(clause_assessment, ClauseAssessment, ReadClauseAssessments, versioned);
tenant_owned!(scope, Scope, ReadScopes, versioned);
tenant_owned!(ai_system, AiSystem, ReadAiSystems, versioned);
tenant_owned!(risk, Risk, ReadRisks, versioned);
tenant_owned!(impact_assessment, ImpactAssessment, ReadImpactAssessments, versioned);
tenant_owned!(audit, Audit, ReadAudits, versioned);
tenant_owned!(finding, Finding, ReadAudits, versioned);
tenant_owned!(nonconformity, Nonconformity, ReadNonconformities, versioned);
tenant_owned!(corrective_action, CorrectiveAction, ReadNonconformities, versioned);
tenant_owned!(change, Change, ReadChanges);
tenant_owned!(workflow_transition, WorkflowTransition, ReadOrganization);

/// A tenant entity listed under a parent row (findings of an audit, actions of a
/// nonconformity, …), for batch loading.
pub trait ChildOf: TenantOwned {
    fn parent_column() -> Self::Column;
    fn parent_of(model: &Self::Model) -> Option<Uuid>;
    /// The order children are listed in.
    fn order(q: Select<Self>) -> Select<Self>;
}

macro_rules! child_of {
    ($module:ident, $parent:ident, |$m:ident| $parent_of:expr, |$q:ident| $order:expr) => {
        impl ChildOf for entity::$module::Entity {
            fn parent_column() -> Self::Column {
                entity::$module::Column::$parent
            }
            fn parent_of($m: &Self::Model) -> Option<Uuid> {
                $parent_of
            }
            fn order($q: Select<Self>) -> Select<Self> {
                use entity::$module::Column as C;
                $order
            }
        }
    };
}

child_of!(finding, AuditId, |m| Some(m.audit_id), |q| q.order_by_asc(C::Id));
child_of!(corrective_action, NonconformityId, |m| Some(m.nonconformity_id), |q| q.order_by_asc(C::Id));
child_of!(impact_assessment, AiSystemId, |m| Some(m.ai_system_id), |q| q
    .order_by_asc(C::CreatedAt)
    .order_by_asc(C::Id));
child_of!(risk, AiSystemId, |m| m.ai_system_id, |q| q.order_by_desc(C::EffectiveScore).order_by_asc(C::Id));

/// The verified caller of one request, with its organization roles cached for the request.
pub struct Actor {
    pub caller: Caller,
    pub request_id: String,
    access: Mutex<HashMap<Uuid, Option<Access>>>,
}

impl Actor {
    pub fn new(caller: Caller, request_id: String) -> Self {
        Self { caller, request_id, access: Mutex::new(HashMap::new()) }
    }

    fn cached(&self, org: Uuid) -> Option<Option<Access>> {
        self.access.lock().ok().and_then(|m| m.get(&org).copied())
    }

    fn remember(&self, org: Uuid, access: Option<Access>) {
        if let Ok(mut m) = self.access.lock() {
            m.insert(org, access);
        }
    }

    /// Forgets cached roles (after membership changes).
    pub fn forget(&self) {
        if let Ok(mut m) = self.access.lock() {
            m.clear();
        }
    }
}

/// Truncated to microseconds, the precision both databases keep, so a value read back
/// equals the value written (the audit-trail hash depends on it).
pub fn now() -> chrono::DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

#[derive(Clone)]
pub struct Gate {
    db: Database,
    events: EventBus,
}

impl Gate {
    pub fn new(db: Database, events: EventBus) -> Self {
        Self { db, events }
    }

    pub fn events(&self) -> &EventBus {
        &self.events
    }

    /// The caller's standing in `org`: `None` when it is not a member (or the organization
    /// does not exist), which callers must report as not found.
    pub async fn access(&self, actor: &Actor, org: Uuid) -> AppResult<Option<Access>> {
        if let Some(hit) = actor.cached(org) {
            return Ok(hit);
        }
        let access = if actor.caller.platform_admin {
            organization::Entity::find_by_id(org).one(&self.db.conn).await?.map(|_| Access::PlatformAdmin)
        } else {
            membership::Entity::find()
                .filter(membership::Column::OrganizationId.eq(org))
                .filter(membership::Column::Subject.eq(actor.caller.subject.as_str()))
                .one(&self.db.conn)
                .await?
                .map(|m| m.role.parse::<Role>().map(Access::Member).map_err(AppError::internal))
                .transpose()?
        };
        actor.remember(org, access);
        Ok(access)
    }

    /// Like [`Gate::access`], but a missing membership is `NOT_FOUND`.
    pub async fn access_of(&self, actor: &Actor, org: Uuid) -> AppResult<Access> {
        self.access(actor, org).await?.ok_or_else(|| AppError::not_found("organization"))
    }

    /// The caller's own memberships (also for platform admins), cached for the request.
    pub async fn member_roles(&self, actor: &Actor) -> AppResult<Vec<(Uuid, Role)>> {
        let rows = membership::Entity::find()
            .filter(membership::Column::Subject.eq(actor.caller.subject.as_str()))
            .all(&self.db.conn)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for m in rows {
            let role = m.role.parse::<Role>().map_err(AppError::internal)?;
            if !actor.caller.platform_admin {
                actor.remember(m.organization_id, Some(Access::Member(role)));
            }
            out.push((m.organization_id, role));
        }
        Ok(out)
    }

    /// Records that these organizations exist for a platform admin (saves a lookup each).
    pub fn note_admin_access(&self, actor: &Actor, orgs: impl IntoIterator<Item = Uuid>) {
        if actor.caller.platform_admin {
            for o in orgs {
                actor.remember(o, Some(Access::PlatformAdmin));
            }
        }
    }

    /// Loads the caller's memberships into the request cache in one statement and returns
    /// the organizations it may see (platform admins: `None`, meaning all).
    pub async fn visible_organizations(&self, actor: &Actor) -> AppResult<Option<Vec<(Uuid, Role)>>> {
        if actor.caller.platform_admin {
            return Ok(None);
        }
        Ok(Some(self.member_roles(actor).await?))
    }

    async fn authorize(&self, actor: &Actor, org: Uuid, op: Operation, what: &str) -> AppResult<Access> {
        match self.access(actor, org).await? {
            None => Err(AppError::not_found(what)),
            Some(a) if a.allows(op) => Ok(a),
            Some(_) => Err(AppError::forbidden()),
        }
    }

    /// Read access to one organization for `op`.
    pub async fn read(&self, actor: &Actor, org: Uuid, op: Operation) -> AppResult<Reader<'_>> {
        let access = self.authorize(actor, org, op, "organization").await?;
        Ok(Reader { conn: &self.db.conn, org, access })
    }

    /// Read access to several organizations at once (batch loading for portfolios). Those
    /// the caller may not read for `op` are silently left out.
    pub async fn read_many(&self, actor: &Actor, orgs: &[Uuid], op: Operation) -> AppResult<MultiReader<'_>> {
        let mut allowed = Vec::with_capacity(orgs.len());
        for org in orgs {
            if matches!(self.access(actor, *org).await?, Some(a) if a.allows(op)) {
                allowed.push(*org);
            }
        }
        Ok(MultiReader { conn: &self.db.conn, orgs: allowed })
    }

    /// Finds a tenant row by id wherever it lives and checks the caller may `op` in its
    /// organization. Rows of organizations the caller is not in are `NOT_FOUND`.
    pub async fn locate<E: TenantOwned>(
        &self,
        actor: &Actor,
        id: Uuid,
        op: Operation,
    ) -> AppResult<(Reader<'_>, E::Model)>
    where
        E::Model: Sync,
    {
        let row = E::find().filter(E::id_column().eq(id)).one(&self.db.conn).await?;
        let Some(row) = row else {
            return Err(AppError::not_found(E::KIND.name()));
        };
        let org = E::org_of(&row);
        let access = self.authorize(actor, org, op, E::KIND.name()).await?;
        Ok((Reader { conn: &self.db.conn, org, access }, row))
    }

    /// Rows of `E` by `(organization, id)` keys, from the organizations where the caller
    /// may read `E` (one statement; others silently left out).
    pub async fn rows_by_ids<E: TenantOwned>(&self, actor: &Actor, keys: &[(Uuid, Uuid)]) -> AppResult<Vec<E::Model>>
    where
        E::Model: Sync,
    {
        let mut orgs: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        orgs.sort();
        orgs.dedup();
        let r = self.read_many(actor, &orgs, E::READ).await?;
        if r.orgs().is_empty() {
            return Ok(Vec::new());
        }
        Ok(r.find::<E>().filter(E::id_column().is_in(keys.iter().map(|k| k.1))).all(r.conn).await?)
    }

    /// Children of `E` under `(organization, parent)` keys, from the organizations where the
    /// caller may read `E` (one statement).
    pub async fn children<E: ChildOf>(&self, actor: &Actor, keys: &[(Uuid, Uuid)]) -> AppResult<Vec<E::Model>>
    where
        E::Model: Sync,
    {
        let mut orgs: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        orgs.sort();
        orgs.dedup();
        let r = self.read_many(actor, &orgs, E::READ).await?;
        if r.orgs().is_empty() {
            return Ok(Vec::new());
        }
        let q = r.find::<E>().filter(E::parent_column().is_in(keys.iter().map(|k| k.1)));
        Ok(E::order(q).all(r.conn).await?)
    }

    /// The organization a tenant row belongs to, if the row exists.
    pub async fn organization_of<E: TenantOwned>(&self, id: Uuid) -> AppResult<Option<Uuid>> {
        Ok(E::find().filter(E::id_column().eq(id)).one(&self.db.conn).await?.map(|m| E::org_of(&m)))
    }

    /// Opens the write transaction for one mutation in `org`.
    pub async fn write(&self, actor: &Actor, org: Uuid, op: Operation) -> AppResult<Writer> {
        let access = self.authorize(actor, org, op, "organization").await?;
        self.begin(actor, org, access).await
    }

    /// Opens the write transaction for a mutation on the row `id` (any tenant entity): the
    /// row is re-read inside the transaction, after the tenant lock.
    pub async fn write_on<E: TenantOwned>(
        &self,
        actor: &Actor,
        id: Uuid,
        op: Operation,
    ) -> AppResult<(Writer, E::Model)>
    where
        E::Model: Sync,
    {
        let Some(org) = self.organization_of::<E>(id).await? else {
            return Err(AppError::not_found(E::KIND.name()));
        };
        let access = self.authorize(actor, org, op, E::KIND.name()).await?;
        let w = self.begin(actor, org, access).await?;
        let row = w.get::<E>(id).await?.ok_or_else(|| AppError::not_found(E::KIND.name()))?;
        Ok((w, row))
    }

    /// A write transaction for a brand-new organization (platform admins only).
    pub async fn write_new_organization(&self, actor: &Actor, org: Uuid) -> AppResult<Writer> {
        if !actor.caller.platform_admin {
            return Err(AppError::Forbidden("only platform admins create organizations".into()));
        }
        self.begin(actor, org, Access::PlatformAdmin).await
    }

    async fn begin(&self, actor: &Actor, org: Uuid, access: Access) -> AppResult<Writer> {
        let sqlite_guard = match &self.db.sqlite_writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let tx = self.db.conn.begin().await?;
        if tx.get_database_backend() == DbBackend::Postgres {
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [advisory_key(org).into()],
            ))
            .await?;
        }
        Ok(Writer {
            tx,
            org,
            access,
            actor: actor.caller.subject.clone(),
            request_id: actor.request_id.clone(),
            bus: self.events.clone(),
            events: Vec::new(),
            chain_head: None,
            _sqlite_guard: sqlite_guard,
        })
    }

    /// Catalog (global, read-only) tables are read through here.
    pub(in crate::store) fn catalog_conn(&self) -> &DatabaseConnection {
        &self.db.conn
    }
}

/// Advisory-lock key of a tenant (both halves of the UUID folded together).
fn advisory_key(org: Uuid) -> i64 {
    let (hi, lo) = org.as_u64_pair();
    (hi ^ lo) as i64
}

/// Read access to one organization.
pub struct Reader<'g> {
    conn: &'g DatabaseConnection,
    org: Uuid,
    access: Access,
}

impl Reader<'_> {
    pub fn org(&self) -> Uuid {
        self.org
    }
    pub fn access(&self) -> Access {
        self.access
    }
    pub(in crate::store) fn conn(&self) -> &DatabaseConnection {
        self.conn
    }
    pub(in crate::store) fn find<E: TenantOwned>(&self) -> Select<E> {
        E::find().filter(E::org_column().eq(self.org))
    }
}

/// Read access to several organizations (batch loaders).
pub struct MultiReader<'g> {
    conn: &'g DatabaseConnection,
    orgs: Vec<Uuid>,
}

impl MultiReader<'_> {
    pub fn orgs(&self) -> &[Uuid] {
        &self.orgs
    }
    pub(in crate::store) fn conn(&self) -> &DatabaseConnection {
        self.conn
    }
    pub(in crate::store) fn find<E: TenantOwned>(&self) -> Select<E> {
        E::find().filter(E::org_column().is_in(self.orgs.iter().copied()))
    }
}

/// One mutation's transaction in one organization. Dropping it without [`Writer::commit`]
/// rolls everything back, audit-trail rows and events included.
pub struct Writer {
    tx: DatabaseTransaction,
    org: Uuid,
    access: Access,
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
    pub(in crate::store) fn tx(&self) -> &DatabaseTransaction {
        &self.tx
    }
    pub(in crate::store) fn find<E: TenantOwned>(&self) -> Select<E> {
        E::find().filter(E::org_column().eq(self.org))
    }
    pub(in crate::store) async fn get<E: TenantOwned>(&self, id: Uuid) -> AppResult<Option<E::Model>> {
        Ok(self.find::<E>().filter(E::id_column().eq(id)).one(&self.tx).await?)
    }

    /// Inserts a row of this tenant (the tenant column is set here, whatever `am` holds).
    pub(in crate::store) async fn insert<E, A>(&self, mut am: A) -> Result<E::Model, sea_orm::DbErr>
    where
        E: TenantOwned,
        A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
        E::Model: IntoActiveModel<A>,
    {
        am.set(E::org_column(), self.org.into());
        am.insert(&self.tx).await
    }

    /// Updates one versioned row of this tenant: bumps `version` and `updated_at`, and
    /// refuses (`CONFLICT`) when the row's version moved since `am` was read.
    pub(in crate::store) async fn update<E, A>(&self, mut am: A) -> AppResult<E::Model>
    where
        E: TenantOwned,
        A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
        E::Model: IntoActiveModel<A>,
    {
        let id = am.get(E::id_column()).into_value().ok_or_else(|| AppError::internal("update without id"))?;
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
        let res = q
            .set(am)
            .filter(E::id_column().eq(id.clone()))
            .filter(E::org_column().eq(self.org))
            .exec(&self.tx)
            .await
            .map_err(|e| AppError::on_unique(e, "that name or key is already taken in this organization"))?;
        if res.rows_affected == 0 {
            return Err(AppError::Conflict("the object was changed by someone else; reload and retry".into()));
        }
        self.find::<E>()
            .filter(E::id_column().eq(id))
            .one(&self.tx)
            .await?
            .ok_or_else(|| AppError::internal("updated row vanished"))
    }

    /// Deletes one row of this tenant.
    pub(in crate::store) async fn delete<E: TenantOwned>(&self, id: Uuid) -> AppResult<()> {
        let res =
            E::delete_many().filter(E::id_column().eq(id)).filter(E::org_column().eq(self.org)).exec(&self.tx).await?;
        if res.rows_affected == 0 {
            return Err(AppError::not_found(E::KIND.name()));
        }
        Ok(())
    }

    /// Stages an event; it is sent when (and only if) the transaction commits.
    pub(in crate::store) async fn stage_event(&mut self, event: ChangeEvent) -> AppResult<()> {
        self.bus.stage(&self.tx, &event).await?;
        self.events.push(event);
        Ok(())
    }

    pub async fn commit(self) -> AppResult<()> {
        let Writer { tx, bus, events, _sqlite_guard, .. } = self;
        tx.commit().await?;
        drop(_sqlite_guard);
        bus.committed(events);
        Ok(())
    }
}
