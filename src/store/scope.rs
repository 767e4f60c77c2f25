//! Scopes of the management system (ISO 27001 4.3; ISO 42001 4.3).

use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, QueryFilter};
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::refs::Standard;
use crate::domain::scope::{ScopeKind, check_standards};
use crate::domain::{self, MAX_NAME, MAX_TEXT};
use crate::entity::{StandardList, StringList, ai_system, audit, risk, scope};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::tenancy::{Actor, Gate, Granted, Reader, Writer, now};

const MAX_ITEMS: usize = 100;
const MAX_ITEM: usize = 1_000;

pub struct NewScope<'a> {
    pub name: &'a str,
    pub kind: ScopeKind,
    pub description: Option<&'a str>,
    pub boundaries: Option<&'a str>,
    pub inclusions: &'a [String],
    pub exclusions: &'a [String],
    /// `None`: the standards the kind stands for.
    pub standards: Option<Vec<Standard>>,
}

fn standards_of(kind: ScopeKind, given: Option<Vec<Standard>>) -> AppResult<StandardList> {
    let mut list =
        given.unwrap_or_else(|| kind.default_standards().iter().filter_map(|s| Standard::parse(s)).collect());
    list.sort();
    list.dedup();
    check_covered(kind, &list)?;
    Ok(StandardList(list))
}

fn check_covered(kind: ScopeKind, standards: &[Standard]) -> AppResult<()> {
    let labels: Vec<&str> = standards.iter().map(|s| s.as_str()).collect();
    Ok(check_standards(kind, &labels)?)
}

async fn ensure_name_free(w: &Writer, name: &str, except: Option<Uuid>) -> AppResult<()> {
    let mut q = w.find::<scope::Entity>()?.filter(scope::Column::Name.eq(name));
    if let Some(id) = except {
        q = q.filter(scope::Column::Id.ne(id));
    }
    if q.count().await? > 0 {
        return Err(AppError::Conflict(format!("a scope named {name:?} already exists in this organization")));
    }
    Ok(())
}

pub async fn create_scope(gate: &Gate, actor: &Actor, org: Uuid, n: NewScope<'_>) -> AppResult<Granted<scope::Model>> {
    let name = domain::required_text("name", n.name, MAX_NAME)?;
    let description = domain::optional_text("description", n.description, MAX_TEXT)?;
    let boundaries = domain::optional_text("boundaries", n.boundaries, MAX_TEXT)?;
    let inclusions = domain::clean_list("inclusions", n.inclusions, MAX_ITEMS, MAX_ITEM)?;
    let exclusions = domain::clean_list("exclusions", n.exclusions, MAX_ITEMS, MAX_ITEM)?;
    let standards = standards_of(n.kind, n.standards)?;
    let mut w = gate.write(actor, org, Operation::WriteScopes).await?;
    ensure_name_free(&w, &name, None).await?;
    let at = now();
    let am = scope::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: Set(org),
        name: Set(name),
        kind: Set(n.kind),
        description: Set(description),
        boundaries: Set(boundaries),
        inclusions: Set(StringList(inclusions)),
        exclusions: Set(StringList(exclusions)),
        standards: Set(standards),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert(am, "a scope with that name already exists").await?;
    w.record_create(Kind::Scope, m.id, &m).await?;
    w.commit_with(m).await
}

#[derive(Default)]
pub struct ScopeChanges {
    pub expected_version: Option<i32>,
    pub name: Option<String>,
    pub kind: Option<ScopeKind>,
    /// `Some(None)` clears.
    pub description: Option<Option<String>>,
    pub boundaries: Option<Option<String>>,
    pub inclusions: Option<Vec<String>>,
    pub exclusions: Option<Vec<String>>,
    pub standards: Option<Vec<Standard>>,
}

pub async fn update_scope(gate: &Gate, actor: &Actor, id: Uuid, ch: ScopeChanges) -> AppResult<Granted<scope::Model>> {
    let name = ch.name.as_deref().map(|n| domain::required_text("name", n, MAX_NAME)).transpose()?;
    let description =
        ch.description.as_ref().map(|d| domain::optional_text("description", d.as_deref(), MAX_TEXT)).transpose()?;
    let boundaries =
        ch.boundaries.as_ref().map(|d| domain::optional_text("boundaries", d.as_deref(), MAX_TEXT)).transpose()?;
    let inclusions =
        ch.inclusions.as_deref().map(|l| domain::clean_list("inclusions", l, MAX_ITEMS, MAX_ITEM)).transpose()?;
    let exclusions =
        ch.exclusions.as_deref().map(|l| domain::clean_list("exclusions", l, MAX_ITEMS, MAX_ITEM)).transpose()?;

    let (mut w, before) = gate.write_on::<scope::Entity>(actor, id, Operation::WriteScopes).await?;
    crate::store::org::check_version(ch.expected_version, before.version)?;
    let kind = ch.kind.unwrap_or(before.kind);
    let standards = match ch.standards {
        Some(s) => standards_of(kind, Some(s))?,
        None => {
            // A new kind with the old standards must still fit; otherwise take the kind's.
            if check_covered(kind, &before.standards.0).is_ok() {
                before.standards.clone()
            } else {
                standards_of(kind, None)?
            }
        }
    };
    if let Some(n) = &name {
        ensure_name_free(&w, n, Some(id)).await?;
    }
    let mut am: scope::ActiveModel = before.clone().into();
    am.kind = Set(kind);
    am.standards = Set(standards);
    if let Some(n) = name {
        am.name = Set(n);
    }
    if let Some(d) = description {
        am.description = Set(d);
    }
    if let Some(b) = boundaries {
        am.boundaries = Set(b);
    }
    if let Some(l) = inclusions {
        am.inclusions = Set(StringList(l));
    }
    if let Some(l) = exclusions {
        am.exclusions = Set(StringList(l));
    }
    let after = w.update(am).await?;
    w.record_update(Kind::Scope, id, &before, &after).await?;
    w.commit_with(after).await
}

/// `"2 risks, 1 AI system and 1 audit"`, or `None` when nothing is counted.
pub(crate) fn describe_references(counts: &[(u64, &str, &str)]) -> Option<String> {
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect();
    match parts.len() {
        0 => None,
        1 => Some(parts[0].clone()),
        _ => {
            let (last, head) = parts.split_last()?;
            Some(format!("{} and {last}", head.join(", ")))
        }
    }
}

/// Refused (`CONFLICT`) while risks, AI systems or audits point at the scope.
pub async fn delete_scope(gate: &Gate, actor: &Actor, id: Uuid) -> AppResult<Granted<scope::Model>> {
    let (mut w, before) = gate.write_on::<scope::Entity>(actor, id, Operation::WriteScopes).await?;
    let risks = w.find::<risk::Entity>()?.filter(risk::Column::ScopeId.eq(id)).count().await?;
    let systems = w.find::<ai_system::Entity>()?.filter(ai_system::Column::ScopeId.eq(id)).count().await?;
    let audits = w.find::<audit::Entity>()?.filter(audit::Column::ScopeId.eq(id)).count().await?;
    if let Some(what) = describe_references(&[
        (risks, "risk", "risks"),
        (systems, "AI system", "AI systems"),
        (audits, "audit", "audits"),
    ]) {
        return Err(AppError::Conflict(format!(
            "the scope is referenced by {what}; move or remove them before deleting the scope"
        )));
    }
    w.delete::<scope::Entity>(id).await?;
    w.record_delete(Kind::Scope, id, &before).await?;
    w.commit_with(before).await
}

pub async fn list_scopes(r: &Reader, args: &PageArgs, want_total: bool) -> AppResult<Page<scope::Model>> {
    let sort = Sort::by("scopes:NAME", scope::Column::Name, false, scope::Column::Id, false);
    let q = r.find::<scope::Entity>()?;
    q.page(&sort, args, want_total, |m| SortValue::Text(m.name.clone()), |m| m.id).await
}

/// A scope id given in input must name a scope of the writer's organization.
pub(crate) async fn expect_scope(w: &Writer, id: Uuid, field: &str) -> AppResult<()> {
    if w.get::<scope::Entity>(id).await?.is_none() {
        return Err(AppError::bad_input(field, format!("{field}: no such scope in this organization")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_lists() {
        assert_eq!(describe_references(&[(0, "risk", "risks"), (0, "audit", "audits")]), None);
        assert_eq!(describe_references(&[(1, "risk", "risks")]).as_deref(), Some("1 risk"));
        assert_eq!(
            describe_references(&[(2, "risk", "risks"), (1, "AI system", "AI systems"), (3, "audit", "audits")])
                .as_deref(),
            Some("2 risks, 1 AI system and 3 audits")
        );
    }
}
