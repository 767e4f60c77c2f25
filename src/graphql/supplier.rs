//! Suppliers and their assessments (ISO 27001 A.5.19-A.5.23; ISO 42001 A.10.2-A.10.3).

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Result};
use uuid::Uuid;

use crate::auth::Access;
use crate::domain::supplier as rules;
use crate::entity::{supplier, supplier_ai_system, supplier_assessment, supplier_control, supplier_risk};
use crate::error::AppResult;
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::input::{change, ref_id};
use crate::graphql::inventory::AiSystem;
use crate::graphql::limits;
use crate::graphql::loaders::{Right, load_by_id, load_children, load_linked};
use crate::graphql::risk::{Risk, risks_in};
use crate::graphql::scalars::Date;
use crate::graphql::soa::Control;
use crate::ids::{self, Kind};
use crate::store::page::PageArgs;
use crate::store::supplier as store;
use crate::store::tenancy::now;

/// How much the organization depends on a supplier.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::supplier::Criticality")]
pub enum SupplierCriticality {
    /// Easily replaced, no access to sensitive information.
    Low,
    /// Some dependence or access.
    Medium,
    /// Significant dependence or access; ACTIVE needs an assessment that is not REJECTED.
    High,
    /// Essential; ACTIVE needs an assessment that is not REJECTED.
    Critical,
}

/// Where the relationship with a supplier stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::supplier::SupplierStatus")]
pub enum SupplierStatus {
    /// Being evaluated, not yet engaged.
    Prospect,
    /// Engaged (ISO 27001 A.5.20: agreements in place).
    Active,
    /// The relationship ended; no longer counted as overdue.
    Offboarded,
}

/// The outcome of a supplier assessment.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::supplier::AssessmentResult")]
pub enum SupplierAssessmentResult {
    /// Meets the organization's requirements.
    Approved,
    /// Meets them under the stated `conditions`.
    Conditional,
    /// Does not meet them.
    Rejected,
}

crate::entity_type! {
    /// A supplier (third party) of the organization (ISO 27001 A.5.19-A.5.23; ISO 42001
    /// A.10.2-A.10.3 for suppliers of AI components).
    Supplier, supplier
}

crate::entity_object! {
    Supplier, supplier,
    update: WriteSuppliers,
    delete: WriteSuppliers,
    {
        /// Unique per organization, at most 200 characters.
        async fn name(&self) -> &str {
            &self.model.name
        }
        /// What it provides.
        async fn services(&self) -> Option<&str> {
            self.model.services.as_deref()
        }
        /// LOW, MEDIUM, HIGH or CRITICAL.
        async fn criticality(&self) -> SupplierCriticality {
            self.model.criticality.into()
        }
        /// PROSPECT, ACTIVE or OFFBOARDED.
        async fn status(&self) -> SupplierStatus {
            self.model.status.into()
        }
        /// Whether it provides AI components or services (ISO 42001 A.10.3).
        async fn provides_ai(&self) -> bool {
            self.model.provides_ai
        }
        /// The AI components it provides (models, datasets, services).
        async fn ai_components(&self) -> &[String] {
            &self.model.ai_components.0
        }
        /// The last day of the current contract.
        async fn contract_ends_on(&self) -> Option<Date> {
            self.model.contract_ends_on.map(Date)
        }
        /// Who manages the relationship.
        async fn owner(&self) -> Option<&str> {
            self.model.owner.as_deref()
        }
        /// The result of the latest assessment (by `assessedOn`), if any.
        async fn latest_assessment_result(&self) -> Option<SupplierAssessmentResult> {
            self.model.latest_result.map(Into::into)
        }
        /// `nextReviewOn` of the latest assessment.
        async fn next_assessment_due(&self) -> Option<Date> {
            self.model.next_assessment_due.map(Date)
        }
        /// `nextAssessmentDue` has passed (UTC) and the supplier is not OFFBOARDED.
        async fn assessment_overdue(&self) -> bool {
            rules::assessment_overdue(self.model.status, self.model.next_assessment_due, now().date_naive())
        }
    }
    lists {
        /// Its assessments, oldest first (at most 100).
        #[list(SUPPLIER_ASSESSMENTS)]
        async fn assessments(&self, ctx: &Context<'_>) -> Result<Vec<SupplierAssessment>> {
            let rows = load_children::<supplier_assessment::Entity>(ctx, self.model.organization_id, self.model.id).await?;
            Ok(limits::bounded(rows, limits::SUPPLIER_ASSESSMENTS).into_iter().map(|m| SupplierAssessment::new(m, self.access)).collect())
        }
        /// Risks it brings or treats, highest residual score first (at most 50).
        #[list(SUPPLIER_LINKS)]
        async fn risks(&self, ctx: &Context<'_>) -> Result<Vec<Risk>> {
            let rows = load_linked::<supplier_risk::Entity, Right>(ctx, self.model.organization_id, self.model.id).await?;
            risks_in(ctx, self.model.organization_id, rows, self.access, limits::SUPPLIER_LINKS).await
        }
        /// AI systems it supplies components of (at most 50).
        #[list(SUPPLIER_LINKS)]
        async fn ai_systems(&self, ctx: &Context<'_>) -> Result<Vec<AiSystem>> {
            let rows = load_linked::<supplier_ai_system::Entity, Right>(ctx, self.model.organization_id, self.model.id).await?;
            Ok(limits::bounded(rows, limits::SUPPLIER_LINKS).into_iter().map(|m| AiSystem::new(m, self.access)).collect())
        }
        /// SoA rows that govern it (e.g. A.5.19-A.5.23, A.10.3), in SoA order (at most 50).
        #[list(SUPPLIER_LINKS)]
        async fn controls(&self, ctx: &Context<'_>) -> Result<Vec<Control>> {
            let rows = load_linked::<supplier_control::Entity, Right>(ctx, self.model.organization_id, self.model.id).await?;
            Ok(limits::bounded(rows, limits::SUPPLIER_LINKS).into_iter().map(|m| Control::new(m, self.access)).collect())
        }
    }
}

crate::entity_type! {
    /// One assessment of a supplier (ISO 27001 A.5.22: monitoring and review; ISO 42001
    /// A.10.3).
    SupplierAssessment, supplier_assessment
}

crate::entity_object! {
    SupplierAssessment, supplier_assessment,
    /// Always false: assessments are records; record a new one instead.
    update: custom,
    /// Always false: assessments are kept as evidence.
    delete: false,
    {
        /// The day of the assessment.
        async fn assessed_on(&self) -> Date {
            Date(self.model.assessed_on)
        }
        /// Who assessed.
        async fn assessor(&self) -> &str {
            &self.model.assessor
        }
        /// APPROVED, CONDITIONAL or REJECTED.
        async fn result(&self) -> SupplierAssessmentResult {
            self.model.result.into()
        }
        /// The conditions of a CONDITIONAL approval.
        async fn conditions(&self) -> Option<&str> {
            self.model.conditions.as_deref()
        }
        /// Free text.
        async fn notes(&self) -> Option<&str> {
            self.model.notes.as_deref()
        }
        /// When the supplier is to be assessed again.
        async fn next_review_on(&self) -> Option<Date> {
            self.model.next_review_on.map(Date)
        }
        /// The supplier assessed.
        async fn supplier(&self, ctx: &Context<'_>) -> Result<Option<Supplier>> {
            Ok(load_by_id::<supplier::Entity>(ctx, self.model.organization_id, self.model.supplier_id)
                .await?
                .map(|m| Supplier::new(m, self.access)))
        }
        /// Always false: assessments are records; record a new one instead.
        async fn viewer_can_update(&self) -> bool {
            false
        }
    }
}

crate::connection!(SupplierConnection, SupplierEdge, Supplier);

/// Narrows `Organization.suppliers`; every condition given applies.
#[derive(InputObject, Default)]
pub struct SupplierFilter {
    /// Any of these statuses.
    pub status: Option<Vec<SupplierStatus>>,
    /// Of this criticality.
    pub criticality: Option<SupplierCriticality>,
    /// Providing AI (`true`) or not (`false`).
    pub provides_ai: Option<bool>,
    /// `true`: `assessmentOverdue`; `false`: not.
    pub assessment_overdue: Option<bool>,
}

/// `Organization.suppliers`, by name.
pub async fn suppliers_of(
    ctx: &Context<'_>,
    org: Uuid,
    access: Access,
    filter: Option<SupplierFilter>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<SupplierConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let args = PageArgs::new(first, after.as_deref(), store::SUPPLIER_ORDER)?;
    let f = filter.unwrap_or_default();
    let filter = store::SupplierFilter {
        statuses: f.status.unwrap_or_default().into_iter().map(Into::into).collect(),
        criticality: f.criticality.map(Into::into),
        provides_ai: f.provides_ai,
        assessment_overdue: f.assessment_overdue,
    };
    let page = store::list(gate, actor, org, &filter, &args, wants_total(ctx)).await?;
    Ok(SupplierConnection::from_page(page, |m| Supplier::new(m, access)))
}

fn id_list(kind: Kind, v: &[ID], field: &str) -> AppResult<Vec<Uuid>> {
    v.iter().map(|id| ref_id(kind, id, field)).collect()
}

/// A new supplier.
#[derive(InputObject)]
pub struct CreateSupplierInput {
    /// The organization.
    pub organization_id: ID,
    /// Not blank, at most 200 characters, unique per organization (`CONFLICT`).
    pub name: String,
    /// What it provides.
    pub services: Option<String>,
    /// LOW, MEDIUM, HIGH or CRITICAL.
    pub criticality: SupplierCriticality,
    /// Default PROSPECT; ACTIVE is refused for HIGH and CRITICAL (no assessment yet).
    pub status: Option<SupplierStatus>,
    /// Default false.
    pub provides_ai: Option<bool>,
    /// At most 50, each at most 200 characters.
    pub ai_components: Option<Vec<String>>,
    /// The last day of the current contract.
    pub contract_ends_on: Option<Date>,
    /// Who manages the relationship.
    pub owner: Option<String>,
    /// Risks of the organization, at most 50.
    pub risk_ids: Option<Vec<ID>>,
    /// AI systems of the organization, at most 50.
    pub ai_system_ids: Option<Vec<ID>>,
    /// SoA rows (`Control` IDs) of the organization, at most 50.
    pub control_ids: Option<Vec<ID>>,
}

/// Omitted fields stay; an empty text clears a text; a list replaces the links.
#[derive(InputObject)]
pub struct UpdateSupplierInput {
    /// The supplier.
    pub id: ID,
    /// Refused (`CONFLICT`) when the supplier is at another version.
    pub expected_version: Option<i32>,
    /// Not blank, unique per organization.
    pub name: Option<String>,
    /// What it provides.
    pub services: Option<String>,
    /// LOW, MEDIUM, HIGH or CRITICAL.
    pub criticality: Option<SupplierCriticality>,
    /// To ACTIVE: refused for a HIGH or CRITICAL supplier whose latest assessment is
    /// missing or REJECTED.
    pub status: Option<SupplierStatus>,
    /// Whether it provides AI.
    pub provides_ai: Option<bool>,
    /// Replaces them.
    pub ai_components: Option<Vec<String>>,
    /// `null` clears it.
    pub contract_ends_on: MaybeUndefined<Date>,
    /// Who manages the relationship.
    pub owner: Option<String>,
    /// Replaces the linked risks; `[]` removes them all.
    pub risk_ids: Option<Vec<ID>>,
    /// Replaces the linked AI systems.
    pub ai_system_ids: Option<Vec<ID>>,
    /// Replaces the linked SoA rows.
    pub control_ids: Option<Vec<ID>>,
}

/// The supplier to delete.
#[derive(InputObject)]
pub struct DeleteSupplierInput {
    /// Refused (`CONFLICT`) while incidents or assessments reference it.
    pub id: ID,
}

/// A new assessment of a supplier.
#[derive(InputObject)]
pub struct AddSupplierAssessmentInput {
    /// The supplier.
    pub supplier_id: ID,
    /// Not in the future.
    pub assessed_on: Date,
    /// Who assessed; not blank.
    pub assessor: String,
    /// APPROVED, CONDITIONAL (needs `conditions`) or REJECTED.
    pub result: SupplierAssessmentResult,
    /// The conditions of a CONDITIONAL approval.
    pub conditions: Option<String>,
    /// Free text.
    pub notes: Option<String>,
    /// After `assessedOn`.
    pub next_review_on: Option<Date>,
}

crate::mutations! {
    SupplierMutation;
    /// OWNER, MANAGER, CONTRIBUTOR.
    create_supplier(ctx, gate, actor, input: CreateSupplierInput) -> CreateSupplierPayload { supplier: Supplier } {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        let risks = id_list(Kind::Risk, input.risk_ids.as_deref().unwrap_or_default(), "riskIds")?;
        let ais = id_list(Kind::AiSystem, input.ai_system_ids.as_deref().unwrap_or_default(), "aiSystemIds")?;
        let ctls = id_list(Kind::Control, input.control_ids.as_deref().unwrap_or_default(), "controlIds")?;
        store::create(gate, actor, org, store::NewSupplier {
            name: &input.name,
            services: input.services.as_deref(),
            criticality: input.criticality.into(),
            status: input.status.map(Into::into),
            provides_ai: input.provides_ai.unwrap_or(false),
            ai_components: input.ai_components.as_deref().unwrap_or_default(),
            contract_ends_on: input.contract_ends_on.map(|d| d.0),
            owner: input.owner.as_deref(),
            links: store::Links { risk_ids: Some(&risks), ai_system_ids: Some(&ais), control_ids: Some(&ctls) },
        }).await?
    }
    /// OWNER, MANAGER, CONTRIBUTOR.
    update_supplier(ctx, gate, actor, input: UpdateSupplierInput) -> UpdateSupplierPayload { supplier: Supplier } {
        let id = ids::expect(Kind::Supplier, &input.id, "id")?;
        let risks = input.risk_ids.as_deref().map(|v| id_list(Kind::Risk, v, "riskIds")).transpose()?;
        let ais = input.ai_system_ids.as_deref().map(|v| id_list(Kind::AiSystem, v, "aiSystemIds")).transpose()?;
        let ctls = input.control_ids.as_deref().map(|v| id_list(Kind::Control, v, "controlIds")).transpose()?;
        store::update(gate, actor, id, store::SupplierChanges {
            expected_version: input.expected_version,
            name: input.name.as_deref(),
            services: input.services.as_deref(),
            criticality: input.criticality.map(Into::into),
            status: input.status.map(Into::into),
            provides_ai: input.provides_ai,
            ai_components: input.ai_components.as_deref(),
            contract_ends_on: change(input.contract_ends_on, |d| d.0),
            owner: input.owner.as_deref(),
            links: store::Links { risk_ids: risks.as_deref(), ai_system_ids: ais.as_deref(), control_ids: ctls.as_deref() },
        }).await?
    }
    /// OWNER, MANAGER, CONTRIBUTOR. Refused while incidents or assessments reference the
    /// supplier (offboard it instead); its links go with it.
    delete_supplier(ctx, gate, actor, input: DeleteSupplierInput) -> DeleteSupplierPayload { deleted_id: ID } => {
        let id = ids::expect(Kind::Supplier, &input.id, "id")?;
        store::delete(gate, actor, id).await?;
        Ok(DeleteSupplierPayload { deleted_id: input.id })
    }
    /// OWNER, MANAGER, CONTRIBUTOR. The newest assessment (by `assessedOn`) sets the
    /// supplier's `latestAssessmentResult` and `nextAssessmentDue`.
    add_supplier_assessment(ctx, gate, actor, input: AddSupplierAssessmentInput)
        -> AddSupplierAssessmentPayload { supplier_assessment: SupplierAssessment } {
        let id = ids::expect(Kind::Supplier, &input.supplier_id, "supplierId")?;
        store::add_assessment(gate, actor, id, store::NewAssessment {
            assessed_on: input.assessed_on.0,
            assessor: &input.assessor,
            result: input.result.into(),
            conditions: input.conditions.as_deref(),
            notes: input.notes.as_deref(),
            next_review_on: input.next_review_on.map(|d| d.0),
        }).await?
    }
}
