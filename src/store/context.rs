//! Context issues (ISO 27001 / 42001 4.1) and the risks they give rise to (6.1.1).

use chrono::NaiveDate;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, Condition, QueryFilter, QueryOrder};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::context::{self as rules, IssueCategory, IssueKind};
use crate::domain::refs::Standard;
use crate::domain::{self, MAX_TEXT, MAX_TITLE};
use crate::entity::{StandardList, context_issue, context_issue_risk};
use crate::error::AppResult;
use crate::ids::{self, Kind};
use crate::store::org::check_version;
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::risk::expect_risks;
use crate::store::tenancy::{Actor, Gate, Granted, Writer, now};

/// What the audit trail records of an issue: the row plus its linked risks.
#[derive(Serialize)]
struct Snapshot<'a> {
    #[serde(flatten)]
    row: &'a context_issue::Model,
    risks: Vec<Uuid>,
}

async fn linked_risk_ids(w: &Writer, id: Uuid) -> AppResult<Vec<Uuid>> {
    let rows = w
        .find::<context_issue_risk::Entity>()?
        .filter(context_issue_risk::Column::ContextIssueId.eq(id))
        .order_by_asc(context_issue_risk::Column::RiskId)
        .all()
        .await?;
    Ok(rows.into_iter().map(|r| r.risk_id).collect())
}

async fn set_links(w: &Writer, id: Uuid, risk_ids: &[Uuid]) -> AppResult<()> {
    w.delete_where::<context_issue_risk::Entity>(
        Condition::all().add(context_issue_risk::Column::ContextIssueId.eq(id)),
    )
    .await?;
    let at = now();
    let rows = risk_ids
        .iter()
        .map(|r| context_issue_risk::ActiveModel {
            organization_id: Set(w.org()),
            context_issue_id: Set(id),
            risk_id: Set(*r),
            created_at: Set(at),
        })
        .collect();
    w.insert_many(rows).await
}

pub struct NewContextIssue<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub kind: IssueKind,
    pub category: IssueCategory,
    pub standards: &'a [Standard],
    pub reviewed_on: Option<NaiveDate>,
    pub risk_ids: &'a [Uuid],
}

pub async fn create(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    n: NewContextIssue<'_>,
) -> AppResult<Granted<context_issue::Model>> {
    let title = domain::required_text("title", n.title, MAX_TITLE)?;
    let description = domain::optional_text("description", n.description, MAX_TEXT)?;
    let standards = rules::check_standards(n.standards)?;
    rules::check_reviewed_on(n.reviewed_on, now().date_naive())?;
    let risk_ids = rules::check_risk_ids(n.risk_ids)?;
    let mut w = gate.write(actor, org, Operation::WriteContextIssues).await?;
    expect_risks(&w, &risk_ids, "riskIds").await?;
    let at = now();
    let am = context_issue::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        title: Set(title),
        description: Set(description),
        kind: Set(n.kind),
        category: Set(n.category),
        standards: Set(StandardList(standards)),
        reviewed_on: Set(n.reviewed_on),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert::<context_issue::Entity, _>(am, "").await?;
    set_links(&w, m.id, &risk_ids).await?;
    w.record_create(Kind::ContextIssue, m.id, &Snapshot { row: &m, risks: risk_ids }).await?;
    w.commit_with(m).await
}

/// Changes to an issue: `None` leaves a field alone; `Some(None)` clears it.
#[derive(Default)]
pub struct ContextIssueChanges<'a> {
    pub expected_version: Option<i32>,
    pub title: Option<&'a str>,
    pub description: Option<Option<&'a str>>,
    pub kind: Option<IssueKind>,
    pub category: Option<IssueCategory>,
    pub standards: Option<&'a [Standard]>,
    pub reviewed_on: Option<Option<NaiveDate>>,
    /// Replaces the linked risks.
    pub risk_ids: Option<&'a [Uuid]>,
}

pub async fn update(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    ch: ContextIssueChanges<'_>,
) -> AppResult<Granted<context_issue::Model>> {
    let title = ch.title.map(|t| domain::required_text("title", t, MAX_TITLE)).transpose()?;
    let description = ch.description.map(|d| domain::optional_text("description", d, MAX_TEXT)).transpose()?;
    let standards = ch.standards.map(rules::check_standards).transpose()?;
    if let Some(r) = ch.reviewed_on {
        rules::check_reviewed_on(r, now().date_naive())?;
    }
    let risk_ids = ch.risk_ids.map(rules::check_risk_ids).transpose()?;
    let (mut w, before) = gate.write_on::<context_issue::Entity>(actor, id, Operation::WriteContextIssues).await?;
    check_version(ch.expected_version, before.version)?;
    let risks_before = linked_risk_ids(&w, id).await?;
    let links_change = risk_ids.as_ref().is_some_and(|r| *r != risks_before);
    if let (Some(r), true) = (&risk_ids, links_change) {
        expect_risks(&w, r, "riskIds").await?;
    }

    let mut am: context_issue::ActiveModel = before.clone().into();
    if let Some(t) = title {
        am.title.set_ne(t);
    }
    if let Some(d) = description {
        am.description.set_ne(d);
    }
    if let Some(k) = ch.kind {
        am.kind.set_ne(k);
    }
    if let Some(c) = ch.category {
        am.category.set_ne(c);
    }
    if let Some(s) = standards {
        am.standards.set_ne(StandardList(s));
    }
    if let Some(r) = ch.reviewed_on {
        am.reviewed_on.set_ne(r);
    }
    if !sea_orm::ActiveModelTrait::is_changed(&am) && !links_change {
        return w.commit_with(before).await;
    }
    // The version moves with the links too, so the trail's before/after pair is whole.
    am.updated_at.set_ne(now());
    let after = w.update::<context_issue::Entity, _>(am).await?;
    let risks_after = match (&risk_ids, links_change) {
        (Some(r), true) => {
            set_links(&w, id, r).await?;
            r.clone()
        }
        _ => risks_before.clone(),
    };
    w.record_update(
        Kind::ContextIssue,
        id,
        &Snapshot { row: &before, risks: risks_before },
        &Snapshot { row: &after, risks: risks_after },
    )
    .await?;
    w.commit_with(after).await
}

/// Deletes an issue; its risk links go with it (the risks stay).
pub async fn delete(gate: &Gate, actor: &Actor, id: Uuid) -> AppResult<Granted<context_issue::Model>> {
    let (mut w, before) = gate.write_on::<context_issue::Entity>(actor, id, Operation::WriteContextIssues).await?;
    let risks = linked_risk_ids(&w, id).await?;
    w.delete_where::<context_issue_risk::Entity>(
        Condition::all().add(context_issue_risk::Column::ContextIssueId.eq(id)),
    )
    .await?;
    w.delete::<context_issue::Entity>(id).await?;
    w.record_delete(Kind::ContextIssue, id, &Snapshot { row: &before, risks }).await?;
    w.commit_with(before).await
}

pub const CONTEXT_ISSUE_ORDER: &str = "contextIssues:TITLE";

/// Issues by title, then id; optionally of one kind or category.
pub async fn list(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    kind: Option<IssueKind>,
    category: Option<IssueCategory>,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<context_issue::Model>> {
    let r = gate.read(actor, org, Operation::ReadContextIssues).await?;
    let mut q = r.find::<context_issue::Entity>()?;
    if let Some(k) = kind {
        q = q.filter(context_issue::Column::Kind.eq(k));
    }
    if let Some(c) = category {
        q = q.filter(context_issue::Column::Category.eq(c));
    }
    let sort = Sort::by(CONTEXT_ISSUE_ORDER, context_issue::Column::Title, false, context_issue::Column::Id, false);
    q.page(&sort, args, want_total, |m| SortValue::Text(m.title.clone()), |m| m.id).await
}
