//! Context issues (ISO 27001 / 42001 4.1) and the risks they give rise to (6.1.1).

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Result};
use uuid::Uuid;

use crate::auth::{Access, Operation};
use crate::entity::{context_issue_risk, risk};
use crate::error::AppResult;
use crate::graphql::audit::StandardCode;
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::input::{change, ref_id};
use crate::graphql::limits;
use crate::graphql::loaders::{Left, Right, load_linked};
use crate::graphql::risk::{Risk, risks_in};
use crate::graphql::scalars::Date;
use crate::ids::{self, Kind};
use crate::store::context as store;
use crate::store::page::PageArgs;

/// 4.1: internal or external to the organization.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::context::IssueKind")]
pub enum ContextIssueKind {
    /// Inside the organization (culture, capabilities, processes, AI systems it runs).
    Internal,
    /// Outside it (regulation, market, technology, society).
    External,
}

/// The grouping of a context issue (PESTLE, plus organizational and ethical issues).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::context::IssueCategory")]
pub enum ContextIssueCategory {
    /// Government, policy.
    Political,
    /// Markets, funding, costs.
    Economic,
    /// Society, culture, demographics, public trust.
    Social,
    /// Technology, AI capabilities, threats.
    Technological,
    /// Laws, regulation, contracts (the EU AI Act, data protection).
    Legal,
    /// Climate, energy, the environment.
    Environmental,
    /// The organization itself: structure, roles, resources.
    Organizational,
    /// Ethics and values, the ethical setting of AI (ISO 42001 4.1).
    Ethical,
}

crate::entity_type! {
    /// An internal or external issue relevant to the management system (ISO 27001 / 42001
    /// 4.1), AI included, with the risks and opportunities it gives rise to (6.1.1).
    ContextIssue, context_issue
}

crate::entity_object! {
    ContextIssue, context_issue,
    update: WriteContextIssues,
    delete: WriteContextIssues,
    {
        /// The issue.
        async fn title(&self) -> &str {
            &self.model.title
        }
        /// Free text.
        async fn description(&self) -> Option<&str> {
            self.model.description.as_deref()
        }
        /// Internal or external.
        async fn kind(&self) -> ContextIssueKind {
            self.model.kind.into()
        }
        /// The grouping.
        async fn category(&self) -> ContextIssueCategory {
            self.model.category.into()
        }
        /// The standards the issue is relevant to.
        async fn standards(&self) -> Vec<StandardCode> {
            self.model.standards.0.iter().map(|s| (*s).into()).collect()
        }
        /// When the issue was last reviewed (context is monitored and reviewed, 4.1).
        async fn reviewed_on(&self) -> Option<Date> {
            self.model.reviewed_on.map(Date)
        }
    }
    lists {
        /// The risks and opportunities this issue gives rise to (6.1.1), highest residual
        /// score first (at most 50: an issue is linked to no more); empty for callers who
        /// may not read risks.
        #[list(CONTEXT_ISSUE_RISKS)]
        async fn risks(&self, ctx: &Context<'_>) -> Result<Vec<Risk>> {
            if !self.access.allows(Operation::ReadRisks) {
                return Ok(Vec::new());
            }
            let org = self.model.organization_id;
            let rows = load_linked::<context_issue_risk::Entity, Right>(ctx, org, self.model.id).await?;
            risks_in(ctx, org, rows, self.access, limits::CONTEXT_ISSUE_RISKS).await
        }
    }
}

crate::connection!(ContextIssueConnection, ContextIssueEdge, ContextIssue);

/// `Risk.contextIssues`: the issues a risk arises from.
pub async fn issues_of_risk(ctx: &Context<'_>, r: &risk::Model, access: Access) -> Result<Vec<ContextIssue>> {
    if !access.allows(Operation::ReadContextIssues) {
        return Ok(Vec::new());
    }
    let rows = load_linked::<context_issue_risk::Entity, Left>(ctx, r.organization_id, r.id).await?;
    Ok(limits::bounded(rows, limits::RISK_CONTEXT_ISSUES).into_iter().map(|m| ContextIssue::new(m, access)).collect())
}

/// Narrows `Organization.contextIssues`.
#[derive(InputObject, Default)]
pub struct ContextIssueFilter {
    /// Only issues of this kind.
    pub kind: Option<ContextIssueKind>,
    /// Only issues of this category.
    pub category: Option<ContextIssueCategory>,
}

/// `Organization.contextIssues`: by title.
pub async fn context_issues_of(
    ctx: &Context<'_>,
    org: Uuid,
    access: Access,
    filter: Option<ContextIssueFilter>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<ContextIssueConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let args = PageArgs::new(first, after.as_deref(), store::CONTEXT_ISSUE_ORDER)?;
    let f = filter.unwrap_or_default();
    let page =
        store::list(gate, actor, org, f.kind.map(Into::into), f.category.map(Into::into), &args, wants_total(ctx))
            .await?;
    Ok(ContextIssueConnection::from_page(page, |m| ContextIssue::new(m, access)))
}

/// A new context issue (4.1).
#[derive(InputObject)]
pub struct CreateContextIssueInput {
    /// The organization.
    pub organization_id: ID,
    /// Not blank, at most 300 characters.
    pub title: String,
    /// At most 20,000 characters.
    pub description: Option<String>,
    /// Internal or external.
    pub kind: ContextIssueKind,
    /// The grouping.
    pub category: ContextIssueCategory,
    /// At least one.
    pub standards: Vec<StandardCode>,
    /// Not in the future.
    pub reviewed_on: Option<Date>,
    /// Risks of the organization this issue gives rise to (at most 50).
    pub risk_ids: Option<Vec<ID>>,
}

/// Omitted fields stay; `null` clears the optional ones.
#[derive(InputObject)]
pub struct UpdateContextIssueInput {
    /// The issue.
    pub id: ID,
    /// Refused (`CONFLICT`) when the issue is at another version.
    pub expected_version: Option<i32>,
    /// Not blank.
    pub title: Option<String>,
    /// `null` clears it.
    pub description: MaybeUndefined<String>,
    /// Internal or external.
    pub kind: Option<ContextIssueKind>,
    /// The grouping.
    pub category: Option<ContextIssueCategory>,
    /// At least one.
    pub standards: Option<Vec<StandardCode>>,
    /// Not in the future; `null` clears it.
    pub reviewed_on: MaybeUndefined<Date>,
    /// Replaces the linked risks.
    pub risk_ids: Option<Vec<ID>>,
}

/// The issue to delete (its risks stay).
#[derive(InputObject)]
pub struct DeleteContextIssueInput {
    /// The issue.
    pub id: ID,
}

fn standards(v: &[StandardCode]) -> Vec<crate::domain::refs::Standard> {
    v.iter().map(|s| (*s).into()).collect()
}

fn risk_ids(v: &[ID]) -> AppResult<Vec<Uuid>> {
    v.iter().map(|id| ref_id(Kind::Risk, id, "riskIds")).collect()
}

crate::mutations! {
    ContextIssueMutation;
    /// OWNER, MANAGER, CONTRIBUTOR. Records an issue of the organization's context (4.1).
    create_context_issue(ctx, gate, actor, input: CreateContextIssueInput)
        -> CreateContextIssuePayload { context_issue: ContextIssue } {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        let risks = risk_ids(input.risk_ids.as_deref().unwrap_or_default())?;
        store::create(gate, actor, org, store::NewContextIssue {
            title: &input.title,
            description: input.description.as_deref(),
            kind: input.kind.into(),
            category: input.category.into(),
            standards: &standards(&input.standards),
            reviewed_on: input.reviewed_on.map(|d| d.0),
            risk_ids: &risks,
        }).await?
    }
    /// OWNER, MANAGER, CONTRIBUTOR.
    update_context_issue(ctx, gate, actor, input: UpdateContextIssueInput)
        -> UpdateContextIssuePayload { context_issue: ContextIssue } {
        let id = ids::expect(Kind::ContextIssue, &input.id, "id")?;
        let std = input.standards.as_deref().map(standards);
        let risks = input.risk_ids.as_deref().map(risk_ids).transpose()?;
        let description = change(input.description, |v| v);
        store::update(gate, actor, id, store::ContextIssueChanges {
            expected_version: input.expected_version,
            title: input.title.as_deref(),
            description: description.as_ref().map(|d| d.as_deref()),
            kind: input.kind.map(Into::into),
            category: input.category.map(Into::into),
            standards: std.as_deref(),
            reviewed_on: change(input.reviewed_on, |d| d.0),
            risk_ids: risks.as_deref(),
        }).await?
    }
    /// OWNER, MANAGER, CONTRIBUTOR. The linked risks stay.
    delete_context_issue(ctx, gate, actor, input: DeleteContextIssueInput)
        -> DeleteContextIssuePayload { deleted_id: ID } => {
        let id = ids::expect(Kind::ContextIssue, &input.id, "id")?;
        let m = store::delete(gate, actor, id).await?;
        Ok(DeleteContextIssuePayload { deleted_id: ID(ids::encode(Kind::ContextIssue, m.model.id)) })
    }
}
