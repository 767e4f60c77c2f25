//! Organizations (tenants), memberships and the viewer.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};

use crate::auth::{self, Access, Operation};
use crate::entity::organization;
use crate::graphql::connection::wants_total;
use crate::graphql::context::{ContextExt, none_if_missing};
use crate::graphql::{limits, soa};
use crate::ids::{self, Kind};
use crate::store::org as store;
use crate::store::page::PageArgs;

/// Organization roles (what each may do: the permission table in the README).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::auth::Role")]
pub enum Role {
    /// Everything in the organization, managing members included.
    Owner,
    /// Everything but managing members.
    Manager,
    /// Keeps the registers (SoA, gap analysis, scopes, AI systems, risks, impact assessments,
    /// nonconformities); no approving, auditing, closing nonconformities or audit trail.
    Contributor,
    /// Reads everything, the audit trail included; writes audits, findings and
    /// certifications, raises and closes nonconformities.
    Auditor,
    /// Reads everything but the audit trail; changes nothing.
    Viewer,
    /// A ticketing or other system: reads (no audits, certifications or audit trail) and
    /// keeps ticket-synced nonconformities and their corrective actions.
    Integration,
}

/// A tenant: everything of one organization hangs off it.
#[derive(Clone)]
pub struct Organization {
    pub model: Arc<organization::Model>,
    pub access: Access,
    /// Dashboard figures shared with the other organizations of the same page.
    pub batch: Option<Arc<crate::graphql::dashboard::DashboardBatch>>,
}

impl Organization {
    pub fn new(model: organization::Model, access: Access) -> Self {
        Self { model: Arc::new(model), access, batch: None }
    }
    pub fn allows(&self, op: Operation) -> bool {
        self.access.allows(op)
    }
}

crate::entity_object! {
    /// A tenant: everything of one organization hangs off it.
    Organization, organization,
    update: UpdateOrganization,
    /// Organizations are not deleted through the API.
    delete: false,
    {
        /// Display name (1-200 characters).
        async fn name(&self) -> &str {
            &self.model.name
        }
        /// Unique short name: lowercase letters, digits and dashes, 3-63 characters.
        async fn slug(&self) -> &str {
            &self.model.slug
        }
        /// Whether new organizations may be created from this one (set by its OWNER with
        /// `setOrganizationTemplate`).
        async fn is_template(&self) -> bool {
            self.model.is_template
        }
        /// The caller's role here; `null` for a platform admin who is not a member.
        async fn viewer_role(&self) -> Option<Role> {
            match self.access {
                Access::Member(r) => Some(r.into()),
                Access::PlatformAdmin => None,
            }
        }
        /// Whether the caller may add, re-role and remove members (OWNER or platform admin).
        async fn viewer_can_manage_members(&self) -> bool {
            self.allows(Operation::ManageMembers)
        }
        /// Aggregates for dashboards (every member role).
        async fn dashboard(&self, ctx: &Context<'_>) -> Result<crate::graphql::dashboard::Dashboard> {
            crate::graphql::dashboard::organization_dashboard(ctx, self).await
        }
        /// Recomputes the audit trail's hash chain (OWNER, MANAGER, AUDITOR).
        async fn audit_trail_integrity(&self, ctx: &Context<'_>) -> Result<crate::graphql::trail::AuditTrailIntegrity> {
            crate::graphql::trail::integrity(ctx, self.model.id).await
        }
        /// The audit trail's newest row signed by the service, for auditors to keep
        /// (OWNER, MANAGER, AUDITOR); `null` for an empty trail.
        async fn audit_trail_head(&self, ctx: &Context<'_>) -> Result<Option<crate::graphql::trail::AuditTrailHead>> {
            crate::graphql::trail::signed_head(ctx, self.model.id).await
        }
        /// The risk method in force: matrix, level thresholds, appetite per domain.
        async fn risk_settings(&self) -> Result<crate::graphql::risk::RiskSettings> {
            crate::graphql::risk::organization_risk_settings(self)
        }
    }
    lists {
        /// Certification readiness per standard (formula in the README).
        #[list(STANDARDS)]
        async fn readiness(&self, ctx: &Context<'_>) -> Result<Vec<soa::Readiness>> {
            crate::graphql::dashboard::organization_dashboard(ctx, self).await?.readiness_of(ctx).await
        }
        /// The members, by subject (at most 500).
        #[list(MEMBERS)]
        async fn members(&self, ctx: &Context<'_>) -> Result<Vec<Membership>> {
            let (gate, actor) = (ctx.gate()?, ctx.actor()?);
            let r = gate.read(actor, self.model.id, Operation::ReadOrganization).await?;
            let rows = store::members(&r, limits::MEMBERS).await?;
            Ok(rows.into_iter().map(|m| Membership::new(m, self.access)).collect())
        }
        /// The integrated Statement of Applicability: one row per Annex A control of both
        /// standards, plus organization-defined controls.
        #[page(first)]
        async fn controls(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the controls matching every given condition.")]
            filter: Option<soa::ControlFilter>,
            #[graphql(desc = "Sort order (default: catalog order, ISO 27001 Annex A, ISO 42001 Annex A, custom controls).")]
            order_by: Option<soa::ControlOrder>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<soa::ControlConnection> {
            soa::organization_controls(ctx, self, filter, order_by, first, after).await
        }
        /// The SoA in export form (all rows, at most 231: the catalog's 131 and up to 100 of
        /// the organization's own; the JSON twin of `/organizations/{id}/soa.csv`).
        #[list(SOA_ROWS)]
        async fn soa(&self, ctx: &Context<'_>) -> Result<Vec<soa::SoaRow>> {
            soa::organization_soa(ctx, self).await
        }
        /// Clause-level gap analysis of both standards (clauses 4-10).
        #[page(first)]
        async fn clause_assessments(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the clause rows matching every given condition.")]
            filter: Option<soa::ClauseAssessmentFilter>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<soa::ClauseAssessmentConnection> {
            soa::organization_clause_assessments(ctx, self, filter, first, after).await
        }
        /// The organization's audit trail, newest first (OWNER, MANAGER, AUDITOR).
        #[page(first)]
        async fn changes(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the changes matching every given condition.")]
            filter: Option<crate::graphql::trail::ChangeFilter>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::trail::ChangeConnection> {
            crate::graphql::trail::organization_changes(ctx, self.model.id, filter, first, after).await
        }
        /// ISMS, AIMS and integrated scopes, by name.
        #[page(first)]
        async fn scopes(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::inventory::ScopeConnection> {
            crate::graphql::inventory::organization_scopes(ctx, self, first, after).await
        }
        /// The AI systems inventory, by name.
        #[page(first)]
        async fn ai_systems(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the AI systems matching every given condition.")]
            filter: Option<crate::graphql::inventory::AiSystemFilter>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::inventory::AiSystemConnection> {
            crate::graphql::inventory::organization_ai_systems(ctx, self, filter, first, after).await
        }
        /// The integrated risk register (security, AI and shared risks). Default order:
        /// residual score, highest first.
        #[page(first)]
        async fn risks(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the risks matching every given condition.")]
            filter: Option<crate::graphql::risk::RiskFilter>,
            #[graphql(desc = "Sort order (default: residual score, highest first).")]
            order_by: Option<crate::graphql::risk::RiskOrder>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::risk::RiskConnection> {
            crate::graphql::risk::organization_risks(ctx, self, filter, order_by, first, after).await
        }
        /// AI system impact assessments (ISO 42001 6.1.4, 8.4), oldest first.
        #[page(first)]
        async fn impact_assessments(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the impact assessments matching every given condition.")]
            filter: Option<crate::graphql::impact::ImpactAssessmentFilter>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::impact::ImpactAssessmentConnection> {
            crate::graphql::impact::organization_impact_assessments(ctx, self, filter, first, after).await
        }
        /// The audit programme (ISO 27001 / 42001 9.2), by planned start (unplanned last).
        #[page(first)]
        async fn audits(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the audits matching every given condition.")]
            filter: Option<crate::graphql::audit::AuditFilter>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::audit::AuditConnection> {
            crate::graphql::audit::audits_of(ctx, self.model.id, self.access, filter, first, after).await
        }
        /// Certificates of certification bodies and their cycles (ISO/IEC 17021-1), by
        /// `expiresOn`, soonest first.
        #[page(first)]
        async fn certifications(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the certifications matching every given condition.")]
            filter: Option<crate::graphql::certification::CertificationFilter>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::certification::CertificationConnection> {
            crate::graphql::certification::certifications_of(ctx, self.model.id, self.access, filter, first, after).await
        }
        /// Nonconformities of both standards (10.2), newest first.
        #[page(first)]
        async fn nonconformities(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the nonconformities matching every given condition.")]
            filter: Option<crate::graphql::ncr::NonconformityFilter>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::ncr::NonconformityConnection> {
            crate::graphql::ncr::nonconformities_of(ctx, self.model.id, self.access, filter, first, after).await
        }
        // issue 16
        /// Measures: work recorded once, linked to SoA rows of both standards and to risks;
        /// by due day (undated last).
        #[page(first)]
        async fn measures(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the measures matching every given condition.")]
            filter: Option<crate::graphql::measure::MeasureFilter>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::measure::MeasureConnection> {
            crate::graphql::measure::measures_of(ctx, self.model.id, self.access, filter, false, first, after).await
        }
        /// The risk treatment plan across the register (ISO 27001 / 42001 6.1.3 e): the
        /// measures that treat at least one risk, with owners and due days; by due day.
        #[page(first)]
        async fn treatment_plan(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the measures matching every given condition.")]
            filter: Option<crate::graphql::measure::MeasureFilter>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::measure::MeasureConnection> {
            crate::graphql::measure::measures_of(ctx, self.model.id, self.access, filter, true, first, after).await
        }
        /// The organization's tasks, by due day (undated last).
        #[page(first)]
        async fn tasks(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the tasks matching every given condition.")]
            filter: Option<crate::graphql::task::TaskFilter>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::task::TaskConnection> {
            crate::graphql::task::tasks_of(ctx, self.model.id, self.access, filter, first, after).await
        }
        /// Implementation programmes, by start day.
        #[page(first)]
        async fn programmes(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::programme::ProgrammeConnection> {
            crate::graphql::programme::programmes_of(ctx, self.model.id, self.access, first, after).await
        }
        /// Controlled documents of both standards (7.5): policies, procedures, records, …
        /// (issue 13), by title unless `orderBy` says otherwise.
        #[page(first)]
        async fn documents(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the documents matching every given condition.")]
            filter: Option<crate::graphql::document::DocumentFilter>,
            #[graphql(desc = "Sort order (default TITLE ascending).")]
            order_by: Option<crate::graphql::document::DocumentOrder>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::document::DocumentConnection> {
            crate::graphql::document::documents_of(ctx, self.model.id, filter, order_by, first, after).await
        }
        // issue 14
        /// Information security and AI objectives (ISO 27001 / 42001 6.2), by title.
        #[page(first)]
        async fn objectives(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::objective::ObjectiveConnection> {
            crate::graphql::objective::objectives_of(ctx, self.model.id, self.access, first, after).await
        }
        /// Internal and external issues of the organization's context (ISO 27001 / 42001
        /// 4.1), AI included, by title.
        #[page(first)]
        async fn context_issues(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the issues matching every given condition.")]
            filter: Option<crate::graphql::context_issue::ContextIssueFilter>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::context_issue::ContextIssueConnection> {
            crate::graphql::context_issue::context_issues_of(ctx, self.model.id, self.access, filter, first, after)
                .await
        }
        /// Security, AI and privacy incidents (ISO 27001 A.5.24-A.5.28; ISO 42001 A.3.3),
        /// most recently detected first.
        #[page(first)]
        async fn incidents(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the incidents matching every given condition.")]
            filter: Option<crate::graphql::incident::IncidentFilter>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::incident::IncidentConnection> {
            crate::graphql::incident::incidents_of(ctx, self.model.id, self.access, filter, first, after).await
        }
        /// Suppliers (third parties, ISO 27001 A.5.19-A.5.23; ISO 42001 A.10.2-A.10.3), by
        /// name.
        #[page(first)]
        async fn suppliers(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the suppliers matching every given condition.")]
            filter: Option<crate::graphql::supplier::SupplierFilter>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::supplier::SupplierConnection> {
            crate::graphql::supplier::suppliers_of(ctx, self.model.id, self.access, filter, first, after).await
        }
        // issue 15: the management review
        /// Management reviews (ISO 27001 / 42001 9.3), by planned day (oldest first).
        #[page(first)]
        async fn management_reviews(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Only the reviews matching every given condition.")]
            filter: Option<crate::graphql::review::ManagementReviewFilter>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<crate::graphql::review::ManagementReviewConnection> {
            crate::graphql::review::management_reviews_of(ctx, self.model.id, self.access, filter, first, after).await
        }
    }
}

crate::entity_type! {
    /// A subject's role in one organization.
    Membership, membership
}

crate::entity_object! {
    Membership, membership,
    update: ManageMembers,
    delete: ManageMembers,
    {
        /// The token `sub` of the member.
        async fn subject(&self) -> &str {
            &self.model.subject
        }
        /// The member's role in the organization.
        async fn role(&self) -> Role {
            self.model.role.into()
        }
        /// The organization; `null` when the caller may no longer see it.
        async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
            let (gate, actor) = (ctx.gate()?, ctx.actor()?);
            Ok(none_if_missing(store::get(gate, actor, self.model.organization_id).await)?
                .map(|(r, m)| Organization::new(m, r.access())))
        }
    }
}

pub struct Viewer;

/// One organization the caller is a member of.
#[derive(SimpleObject)]
pub struct ViewerMembership {
    /// The caller's role there.
    role: Role,
    /// The organization.
    organization: Organization,
}

/// The caller.
#[Object]
impl Viewer {
    /// The token's `sub`.
    async fn subject(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(ctx.actor()?.caller.subject.clone())
    }
    /// Whether the token carries `roles: ["platform_admin"]`: every right in every
    /// organization.
    async fn is_platform_admin(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(ctx.actor()?.caller.platform_admin)
    }
    /// The organizations the caller is a member of, with its role in each, by name (at
    /// most 200; `organizations` pages through all).
    #[graphql(complexity = "limits::VIEWER_MEMBERSHIPS * child_complexity")]
    async fn memberships(&self, ctx: &Context<'_>) -> Result<Vec<ViewerMembership>> {
        let (gate, actor) = (ctx.gate()?, ctx.actor()?);
        let roles = gate.member_roles(actor).await?;
        let ids: Vec<_> = roles.iter().map(|(id, _)| *id).collect();
        let orgs = store::get_many(gate, actor, &ids).await?;
        let mut out: Vec<ViewerMembership> = orgs
            .into_iter()
            .filter_map(|o| {
                let role = roles.iter().find(|(id, _)| *id == o.id)?.1;
                Some(ViewerMembership { role: role.into(), organization: Organization::new(o, Access::Member(role)) })
            })
            .collect();
        out.sort_by(|a, b| a.organization.model.name.cmp(&b.organization.model.name));
        Ok(limits::bounded(out, limits::VIEWER_MEMBERSHIPS))
    }
    // issue 16
    /// The caller's to-do list: tasks of every organization it is a member of (where its
    /// role may read tasks; a platform admin: of every organization), by due day (undated
    /// last).
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the tasks matching every given condition.")] filter: Option<
            crate::graphql::task::TaskFilter,
        >,
        #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
        after: Option<String>,
    ) -> Result<crate::graphql::task::TaskConnection> {
        crate::graphql::task::viewer_tasks(ctx, filter, first, after).await
    }
}

crate::connection!(OrganizationConnection, OrganizationEdge, Organization);

#[derive(Default)]
pub struct OrgQuery;

#[Object]
impl OrgQuery {
    /// The caller (requires a token).
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Viewer> {
        ctx.actor()?;
        Ok(Viewer)
    }

    /// The organizations the caller may see (every one for a platform admin), by name.
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
        after: Option<String>,
    ) -> Result<OrganizationConnection> {
        let (gate, actor) = (ctx.gate()?, ctx.actor()?);
        let args = PageArgs::new(first, after.as_deref(), "organizations:NAME")?;
        let page = store::list(gate, actor, &args, wants_total(ctx)).await?;
        let mut accesses = Vec::with_capacity(page.items.len());
        for (_, o) in &page.items {
            accesses.push(gate.access_of(actor, o.id).await?);
        }
        let mut accesses = accesses.into_iter();
        let batch = crate::graphql::dashboard::DashboardBatch::of_models(page.items.iter().map(|(_, o)| o))?;
        Ok(OrganizationConnection::from_page(page, |m| {
            let access = accesses.next();
            // `from_page` visits rows in order, one access per row.
            let mut org = Organization::new(m, access.unwrap_or(Access::Member(auth::Role::Viewer)));
            org.batch = Some(batch.clone());
            org
        }))
    }

    /// One organization, or `null` when it does not exist or the caller is not in it.
    async fn organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organization's global ID.")] id: ID,
    ) -> Result<Option<Organization>> {
        let (gate, actor) = (ctx.gate()?, ctx.actor()?);
        let Some((Kind::Organization, id)) = ids::decode(&id) else {
            return Ok(None);
        };
        Ok(none_if_missing(store::get(gate, actor, id).await)?.map(|(r, m)| Organization::new(m, r.access())))
    }
}

/// A new organization (tenant).
#[derive(InputObject)]
pub struct CreateOrganizationInput {
    /// Display name, 1-200 characters (trimmed).
    pub name: String,
    /// Lowercase letters, digits and dashes, 3-63 characters; unique.
    pub slug: String,
    /// Subject (token `sub`) made the first OWNER.
    pub initial_owner: Option<String>,
    /// An organization marked `isTemplate` to start from: its risk settings, its SoA
    /// decisions with justifications and inclusion reasons, and its custom controls are
    /// copied (implementation status, owners, notes, evidence, risks and members are
    /// not). The new organization keeps no link to the template; its audit trail records
    /// where the copy came from. `BAD_USER_INPUT` when it is not a template.
    pub template_id: Option<ID>,
}

/// Marks an organization as a template, or unmarks it.
#[derive(InputObject)]
pub struct SetOrganizationTemplateInput {
    /// The organization's ID.
    pub id: ID,
    /// `true`: new organizations may be created from it (`createOrganization(templateId)`).
    pub is_template: bool,
}

/// Changes to an organization; fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    /// The organization's ID.
    pub id: ID,
    /// The `version` the change is based on; a stale one is `CONFLICT` (none: no check).
    pub expected_version: Option<i32>,
    /// Display name, 1-200 characters (trimmed).
    pub name: Option<String>,
    /// Lowercase letters, digits and dashes, 3-63 characters; unique.
    pub slug: Option<String>,
    /// OWNER or MANAGER. Risk levels and appetite follow at once, at read time.
    pub risk_settings: Option<crate::graphql::risk::RiskSettingsInput>,
}

/// A new member of an organization.
#[derive(InputObject)]
pub struct AddMemberInput {
    /// The organization's ID.
    pub organization_id: ID,
    /// The member's token `sub`, 1-200 characters; not already a member.
    pub subject: String,
    /// The role granted.
    pub role: Role,
}

/// A member's new role.
#[derive(InputObject)]
pub struct ChangeMemberRoleInput {
    /// The organization's ID.
    pub organization_id: ID,
    /// The member's token `sub`.
    pub subject: String,
    /// The new role.
    pub role: Role,
    /// The membership's `version` the change is based on; a stale one is `CONFLICT`.
    pub expected_version: Option<i32>,
}

/// A member to remove.
#[derive(InputObject)]
pub struct RemoveMemberInput {
    /// The organization's ID.
    pub organization_id: ID,
    /// The member's token `sub`.
    pub subject: String,
}

crate::mutations! {
    OrgMutation;
    /// Platform admins only. Creates the organization with its whole Statement of
    /// Applicability (both standards) and gap-analysis rows.
    create_organization(ctx, gate, actor, input: CreateOrganizationInput)
        -> CreateOrganizationPayload { organization: Organization } {
        let template = input.template_id.as_ref().map(|t| ids::expect(Kind::Organization, t, "templateId")).transpose()?;
        store::create(gate, actor, store::NewOrganization {
            name: &input.name,
            slug: &input.slug,
            initial_owner: input.initial_owner.as_deref(),
            template,
        }).await?
    }
    /// OWNER. Marks the organization as a template new organizations may be created from
    /// (by platform admins, with `createOrganization(input: {templateId})`), or unmarks it.
    set_organization_template(ctx, gate, actor, input: SetOrganizationTemplateInput)
        -> SetOrganizationTemplatePayload { organization: Organization } {
        let id = ids::expect(Kind::Organization, &input.id, "id")?;
        store::set_template(gate, actor, id, input.is_template).await?
    }
    /// OWNER or MANAGER. Renames the organization, changes its slug or its risk method.
    update_organization(ctx, gate, actor, input: UpdateOrganizationInput)
        -> UpdateOrganizationPayload { organization: Organization } {
        let id = ids::expect(Kind::Organization, &input.id, "id")?;
        store::update(gate, actor, id, store::OrganizationChanges {
            expected_version: input.expected_version,
            name: input.name.as_deref(),
            slug: input.slug.as_deref(),
            risk_settings: input.risk_settings.map(Into::into),
        }).await?
    }
    /// OWNER or platform admin.
    add_member(ctx, gate, actor, input: AddMemberInput) -> AddMemberPayload { membership: Membership } {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        store::add_member(gate, actor, org, &input.subject, input.role.into()).await?
    }
    /// OWNER or platform admin. The last OWNER cannot be demoted.
    change_member_role(ctx, gate, actor, input: ChangeMemberRoleInput)
        -> ChangeMemberRolePayload { membership: Membership } {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        store::change_member_role(gate, actor, org, &input.subject, input.role.into(), input.expected_version).await?
    }
    /// OWNER or platform admin. The last OWNER cannot be removed.
    remove_member(ctx, gate, actor, input: RemoveMemberInput) -> RemoveMemberPayload {
        /// The removed membership's ID.
        deleted_id: ID
    } => {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        let m = store::remove_member(gate, actor, org, &input.subject).await?;
        Ok(RemoveMemberPayload { deleted_id: ID(ids::encode(Kind::Membership, m.model.id)) })
    }
}
