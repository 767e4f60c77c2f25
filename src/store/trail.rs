//! Appending to and reading the audit trail (the `changes` table).

use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::tenancy::Reader;
use chrono::SecondsFormat;
use sea_orm::{ActiveValue::Set, ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::domain::trail::{self, Entry, GENESIS};
use crate::entity::change;
use crate::error::AppResult;
use crate::events::ChangeEvent;
use crate::ids::{self, Kind};
use crate::store::tenancy::{Writer, now};

/// `CREATE`, `UPDATE`, `DELETE`, `TRANSITION`; `TASK_DUE` (issue 16: the scheduler
/// noticed a task's due day had come).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
    Transition,
    TaskDue,
}

impl Action {
    pub const ALL: [Action; 5] = [Action::Create, Action::Update, Action::Delete, Action::Transition, Action::TaskDue];

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "CREATE",
            Action::Update => "UPDATE",
            Action::Delete => "DELETE",
            Action::Transition => "TRANSITION",
            Action::TaskDue => "TASK_DUE",
        }
    }
}

pub fn at_string(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The hashed view of a stored row.
pub fn entry_of<'a>(row: &'a change::Model, org: &'a str, at: &'a str, entity_id: &'a str) -> Entry<'a> {
    Entry {
        organization_id: org,
        seq: row.seq,
        at,
        actor: &row.actor,
        action: &row.action,
        entity_type: &row.entity_type,
        entity_id,
        fields: &row.fields,
        request_id: &row.request_id,
        prev_hash: &row.prev_hash,
    }
}

fn to_json<T: Serialize>(v: &T) -> AppResult<Value> {
    Ok(serde_json::to_value(v)?)
}

impl Writer {
    /// Appends one change row to this tenant's chain and stages its event.
    pub(in crate::store) async fn record(
        &mut self,
        action: Action,
        kind: Kind,
        entity_id: Uuid,
        fields: Value,
    ) -> AppResult<()> {
        let (prev_seq, prev_hash) = match self.chain_head.take() {
            Some(head) => head,
            None => self.trail_head().await?.unwrap_or((0, GENESIS.to_string())),
        };
        let seq = prev_seq + 1;
        let at = now();
        let at_s = at_string(&at);
        let org_s = self.org().to_string();
        let entity_s = entity_id.to_string();
        let fields_s = fields.to_string();
        let hash = trail::hash(&Entry {
            organization_id: &org_s,
            seq,
            at: &at_s,
            actor: &self.actor,
            action: action.as_str(),
            entity_type: kind.name(),
            entity_id: &entity_s,
            fields: &fields_s,
            request_id: &self.request_id,
            prev_hash: &prev_hash,
        });
        let row = change::ActiveModel {
            id: Set(ids::new_id()),
            organization_id: Set(self.org()),
            seq: Set(seq),
            at: Set(at),
            actor: Set(self.actor.clone()),
            action: Set(action.as_str().to_string()),
            entity_type: Set(kind.name().to_string()),
            entity_id: Set(entity_id),
            fields: Set(fields_s),
            request_id: Set(self.request_id.clone()),
            prev_hash: Set(prev_hash),
            hash: Set(hash.clone()),
        };
        self.append_change(row).await?;
        self.chain_head = Some((seq, hash));
        let event = ChangeEvent {
            organization_id: self.org(),
            action: action.as_str().to_string(),
            entity_type: kind.name().to_string(),
            entity_id,
            at,
            actor: self.actor.clone(),
        };
        self.stage_event(event).await
    }

    pub(in crate::store) async fn record_create<T: Serialize>(
        &mut self,
        kind: Kind,
        id: Uuid,
        after: &T,
    ) -> AppResult<()> {
        let fields = trail::diff(None, Some(&to_json(after)?));
        self.record(Action::Create, kind, id, fields).await
    }

    /// Records an update; nothing is recorded when nothing changed.
    pub(in crate::store) async fn record_update<T: Serialize>(
        &mut self,
        kind: Kind,
        id: Uuid,
        before: &T,
        after: &T,
    ) -> AppResult<()> {
        let fields = trail::diff(Some(&to_json(before)?), Some(&to_json(after)?));
        if fields.as_object().is_some_and(|m| m.is_empty()) {
            return Ok(());
        }
        self.record(Action::Update, kind, id, fields).await
    }

    pub(in crate::store) async fn record_delete<T: Serialize>(
        &mut self,
        kind: Kind,
        id: Uuid,
        before: &T,
    ) -> AppResult<()> {
        let fields = trail::diff(Some(&to_json(before)?), None);
        self.record(Action::Delete, kind, id, fields).await
    }

    pub(in crate::store) async fn record_transition(
        &mut self,
        kind: Kind,
        id: Uuid,
        from: &str,
        to: &str,
        note: Option<&str>,
    ) -> AppResult<()> {
        let mut fields = serde_json::json!({ "status": { "before": from, "after": to } });
        if let Some(note) = note {
            fields["note"] = serde_json::json!({ "before": null, "after": note });
        }
        self.record(Action::Transition, kind, id, fields).await
    }
}

/// Filters of `changes(filter: …)` and `history`.
#[derive(Debug, Default, Clone)]
pub struct ChangeFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<Uuid>,
    pub actor: Option<String>,
    pub action: Option<Action>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

/// Newest first.
pub async fn list_changes(
    r: &Reader,
    f: &ChangeFilter,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<change::Model>> {
    use change::Column as C;
    let mut q = r.find::<change::Entity>()?;
    if let Some(t) = &f.entity_type {
        q = q.filter(C::EntityType.eq(t.as_str()));
    }
    if let Some(id) = f.entity_id {
        q = q.filter(C::EntityId.eq(id));
    }
    if let Some(a) = &f.actor {
        q = q.filter(C::Actor.eq(a.as_str()));
    }
    if let Some(a) = f.action {
        q = q.filter(C::Action.eq(a.as_str()));
    }
    if let Some(from) = f.from {
        q = q.filter(C::At.gte(from));
    }
    if let Some(to) = f.to {
        q = q.filter(C::At.lt(to));
    }
    let sort = Sort::by("changes:SEQ:DESC", C::Seq, false, C::Id, true);
    q.page(&sort, args, want_total, |m| SortValue::Int(m.seq), |m| m.id).await
}

/// Recomputes the tenant's hash chain, a batch of rows at a time.
pub async fn verify_chain(r: &Reader) -> AppResult<trail::Verification> {
    use change::Column as C;
    let mut v = trail::Verifier::default();
    let mut last_seq = 0i64;
    let org = r.org().to_string();
    loop {
        let rows =
            r.find::<change::Entity>()?.filter(C::Seq.gt(last_seq)).order_by_asc(C::Seq).limit(500).all().await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let at = at_string(&row.at);
            let entity = row.entity_id.to_string();
            v.push(&entry_of(row, &org, &at, &entity), &row.hash);
            last_seq = row.seq;
        }
    }
    Ok(v.finish())
}

/// The newest row of the tenant's chain (`None` for an empty trail).
pub async fn head(r: &Reader) -> AppResult<Option<change::Model>> {
    use change::Column as C;
    r.find::<change::Entity>()?.order_by_desc(C::Seq).limit(1).one().await
}

/// The stored hash of the row at `seq`, if there is one.
pub async fn hash_at(r: &Reader, seq: i64) -> AppResult<Option<String>> {
    use change::Column as C;
    let row = r.find::<change::Entity>()?.filter(C::Seq.eq(seq)).one().await?;
    Ok(row.map(|m| m.hash))
}
