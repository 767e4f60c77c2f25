//! AI system impact assessments (ISO 42001 6.1.4, 8.4; A.5.2-A.5.5).

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::impact::{self as rules, ImpactAssessmentStatus as DStatus, Right};
use crate::error::AppResult;
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::input::{change, filter_id, ref_id};
use crate::graphql::inventory::AiSystem;
use crate::graphql::limits;
use crate::graphql::loaders::load_by_id;
use crate::graphql::org::Organization;
use crate::graphql::risk::{Risk, risks_in};
use crate::graphql::scalars::Date;
use crate::ids::{self, Kind};
use crate::store::impact as store;
use crate::store::page::PageArgs;
use crate::store::tenancy::{Granted, now};

/// DRAFT → IN_REVIEW → APPROVED; IN_REVIEW → DRAFT sends it back; APPROVED → DRAFT
/// reopens (OWNER/MANAGER).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::impact::ImpactAssessmentStatus")]
pub enum ImpactAssessmentStatus {
    /// Being written: content can change.
    Draft,
    /// Submitted for review (needs at least one impact); can be sent back to DRAFT.
    InReview,
    /// Approved by an OWNER or MANAGER: read-only until reopened (ISO 42001 6.1.4).
    Approved,
}

/// What an assessed impact concerns.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::impact::ImpactArea")]
pub enum ImpactArea {
    /// Fairness and non-discrimination.
    Fairness,
    /// Privacy and personal data.
    Privacy,
    /// Physical or psychological safety.
    Safety,
    /// Security of people, information or systems.
    Security,
    /// Transparency and explainability.
    Transparency,
    /// Accountability for the system's outcomes.
    Accountability,
    /// Human rights.
    HumanRights,
    /// Environmental impact.
    Environment,
    /// Anything else (the description says what).
    Other,
}

/// One potential consequence for individuals, groups or societies.
#[derive(SimpleObject, Clone)]
pub struct Impact {
    /// What the impact concerns.
    pub area: ImpactArea,
    /// The potential consequence.
    pub description: String,
    /// 1..matrixSize.
    pub likelihood: i32,
    /// 1..matrixSize.
    pub severity: i32,
    /// likelihood × severity.
    pub score: i32,
    /// How the impact is mitigated, if at all.
    pub mitigation: Option<String>,
}

crate::entity_type! {
    /// An AI system impact assessment (ISO 42001 6.1.4, 8.4; A.5.2-A.5.5).
    ImpactAssessment, impact_assessment
}

impl ImpactAssessment {
    fn current(&self) -> DStatus {
        self.model.status
    }

    fn allowed(&self, right: Right) -> bool {
        self.access.allows(match right {
            Right::Write => Operation::WriteImpactAssessments,
            Right::Approve => Operation::ApproveImpactAssessment,
        })
    }
}

crate::entity_object! {
    ImpactAssessment, impact_assessment,
    update: custom,
    delete: none,
    {
        /// The assessed AI system.
        async fn ai_system(&self, ctx: &Context<'_>) -> Result<Option<AiSystem>> {
            Ok(load_by_id::<crate::entity::ai_system::Entity>(ctx, self.model.organization_id, self.model.ai_system_id)
                .await?
                .map(|m| AiSystem::new(m, self.access)))
        }
        /// Title of the assessment.
        async fn title(&self) -> &str {
            &self.model.title
        }
        /// Individuals affected by the system's use.
        async fn assessed_individuals(&self) -> Option<&str> {
            self.model.assessed_individuals.as_deref()
        }
        /// Groups of individuals affected by the system's use.
        async fn assessed_groups(&self) -> Option<&str> {
            self.model.assessed_groups.as_deref()
        }
        /// Societies affected by the system's use.
        async fn assessed_societies(&self) -> Option<&str> {
            self.model.assessed_societies.as_deref()
        }
        /// Workflow status: DRAFT, IN_REVIEW or APPROVED.
        async fn status(&self) -> ImpactAssessmentStatus {
            self.current().into()
        }
        /// Who approved it (token `sub`); `null` unless APPROVED.
        async fn approved_by(&self) -> Option<&str> {
            self.model.approved_by.as_deref()
        }
        /// When it was approved (UTC); `null` unless APPROVED.
        async fn approved_at(&self) -> Option<DateTime<Utc>> {
            self.model.approved_at
        }
        /// Months between reviews once approved (1-60, default 12; ISO 42001 8.4: at
        /// planned intervals).
        async fn review_interval_months(&self) -> i32 {
            self.model.review_interval_months
        }
        /// The approval date (UTC) plus `reviewIntervalMonths`; `null` unless APPROVED.
        async fn next_review_on(&self) -> Option<Date> {
            self.model.next_review_on.map(Date)
        }
        /// APPROVED, and `nextReviewOn` has passed (strictly before today, UTC) or the AI
        /// system's purpose, data categories or lifecycle stage changed after the approval
        /// (ISO 42001 8.4, 6.1.4). Reopening (status DRAFT) starts the reassessment.
        async fn reassessment_due(&self, ctx: &Context<'_>) -> Result<bool> {
            if self.current() != DStatus::Approved {
                return Ok(false);
            }
            let system =
                load_by_id::<crate::entity::ai_system::Entity>(ctx, self.model.organization_id, self.model.ai_system_id)
                    .await?;
            let staleness = rules::Staleness {
                status: self.current(),
                approved_at: self.model.approved_at,
                next_review_on: self.model.next_review_on,
                system_changed_at: system.and_then(|s| s.assessment_basis_changed_at),
            };
            Ok(rules::reassessment_due(&staleness, now().date_naive()))
        }
        /// Content can change (not APPROVED, and the viewer writes assessments).
        async fn viewer_can_update(&self) -> bool {
            self.allowed(Right::Write) && self.current() != DStatus::Approved
        }
        /// The viewer may make at least one move of the workflow from here.
        async fn viewer_can_transition(&self) -> bool {
            rules::next_statuses(self.current()).into_iter().any(|(_, r)| self.allowed(r))
        }
        /// The statuses the viewer may move this assessment to.
        async fn available_transitions(&self) -> Vec<ImpactAssessmentStatus> {
            rules::next_statuses(self.current())
                .into_iter()
                .filter(|(_, r)| self.allowed(*r))
                .map(|(s, _)| s.into())
                .collect()
        }
    }
    lists {
        /// At most 100.
        #[list(IMPACTS)]
        async fn impacts(&self) -> Result<Vec<Impact>> {
            Ok(self.model
                .impacts
                .iter()
                .map(|i| Impact {
                    area: i.area.into(),
                    description: i.description.clone(),
                    likelihood: i.likelihood,
                    severity: i.severity,
                    score: i.likelihood * i.severity,
                    mitigation: i.mitigation.clone(),
                })
                .collect())
        }
        /// Risks this assessment informs, highest residual score first (at most 50: an
        /// assessment is linked to no more).
        #[list(ASSESSMENT_RISKS)]
        async fn risks(&self, ctx: &Context<'_>) -> Result<Vec<Risk>> {
            if !self.access.allows(Operation::ReadRisks) {
                return Ok(Vec::new());
            }
            use crate::graphql::loaders::{Right, load_linked};
            let rows = load_linked::<crate::entity::impact_assessment_risk::Entity, Right>(
                ctx,
                self.model.organization_id,
                self.model.id,
            )
            .await?;
            risks_in(ctx, self.model.organization_id, rows, self.access, limits::ASSESSMENT_RISKS).await
        }
    }
}

crate::connection!(ImpactAssessmentConnection, ImpactAssessmentEdge, ImpactAssessment);

/// Conditions on `organization.impactAssessments`: every one given must hold.
#[derive(InputObject, Default)]
pub struct ImpactAssessmentFilter {
    /// Assessments of this AI system.
    pub ai_system_id: Option<ID>,
    /// Assessments in this status.
    pub status: Option<ImpactAssessmentStatus>,
    /// `true`: due for reassessment (`ImpactAssessment.reassessmentDue`); `false`: not.
    pub reassessment_due: Option<bool>,
}

/// `organization.impactAssessments`, oldest first.
pub async fn organization_impact_assessments(
    ctx: &Context<'_>,
    org: &Organization,
    filter: Option<ImpactAssessmentFilter>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<ImpactAssessmentConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let r = gate.read(actor, org.model.id, Operation::ReadImpactAssessments).await?;
    let args = PageArgs::new(first, after.as_deref(), "impactAssessments:CREATED_AT")?;
    let f = filter.unwrap_or_default();
    let ai_system_id = f.ai_system_id.as_ref().map(|id| filter_id(Kind::AiSystem, id, "aiSystemId")).transpose()?;
    let filter = store::AssessmentFilter {
        ai_system_id,
        status: f.status.map(Into::into),
        reassessment_due: f.reassessment_due,
    };
    let page = store::list_assessments(&r, &filter, &args, wants_total(ctx)).await?;
    let access = r.access();
    Ok(ImpactAssessmentConnection::from_page(page, |m| ImpactAssessment::new(m, access)))
}

/// One potential consequence of an AI system, rated on the organization's risk matrix.
#[derive(InputObject)]
pub struct ImpactInput {
    /// What the impact concerns.
    pub area: ImpactArea,
    /// The potential consequence: required, at most 20,000 characters.
    pub description: String,
    /// 1..matrixSize of the organization's risk settings.
    pub likelihood: i32,
    /// 1..matrixSize of the organization's risk settings.
    pub severity: i32,
    /// How the impact is mitigated, at most 20,000 characters.
    pub mitigation: Option<String>,
}

fn impacts_in(v: Vec<ImpactInput>) -> Vec<store::ImpactIn> {
    v.into_iter()
        .map(|i| store::ImpactIn {
            area: i.area.into(),
            description: i.description,
            likelihood: i.likelihood,
            severity: i.severity,
            mitigation: i.mitigation,
        })
        .collect()
}

fn risk_ids(v: &[ID]) -> AppResult<Vec<Uuid>> {
    v.iter().map(|id| ref_id(Kind::Risk, id, "riskIds")).collect()
}

/// Starts as DRAFT.
#[derive(InputObject)]
pub struct CreateImpactAssessmentInput {
    /// The organization the assessment belongs to.
    pub organization_id: ID,
    /// The AI system assessed, of the same organization.
    pub ai_system_id: ID,
    /// Required, at most 300 characters.
    pub title: String,
    /// Individuals affected by the system's use, at most 20,000 characters.
    pub assessed_individuals: Option<String>,
    /// Groups of individuals affected, at most 20,000 characters.
    pub assessed_groups: Option<String>,
    /// Societies affected, at most 20,000 characters.
    pub assessed_societies: Option<String>,
    /// The potential consequences (at most 100; review needs at least one).
    pub impacts: Option<Vec<ImpactInput>>,
    /// Risks of the register this assessment informs.
    pub risk_ids: Option<Vec<ID>>,
    /// Months between reviews once approved: 1-60, default 12 (ISO 42001 8.4).
    pub review_interval_months: Option<i32>,
}

/// Content and workflow in one input. `status` moves the workflow (approving and
/// reopening need OWNER or MANAGER); an APPROVED assessment takes content changes only
/// together with `status: DRAFT` (reopening).
#[derive(InputObject)]
pub struct UpdateImpactAssessmentInput {
    /// The assessment to change.
    pub id: ID,
    /// The `version` last read: refused with CONFLICT when the assessment changed since.
    pub expected_version: Option<i32>,
    /// At most 300 characters.
    pub title: Option<String>,
    /// At most 20,000 characters; `null` clears it.
    pub assessed_individuals: MaybeUndefined<String>,
    /// At most 20,000 characters; `null` clears it.
    pub assessed_groups: MaybeUndefined<String>,
    /// At most 20,000 characters; `null` clears it.
    pub assessed_societies: MaybeUndefined<String>,
    /// Replaces the impacts.
    pub impacts: Option<Vec<ImpactInput>>,
    /// Replaces the linked risks.
    pub risk_ids: Option<Vec<ID>>,
    /// Months between reviews once approved: 1-60 (ISO 42001 8.4). Takes effect at the
    /// next approval.
    pub review_interval_months: Option<i32>,
    /// Moves the workflow: DRAFT → IN_REVIEW → APPROVED, IN_REVIEW → DRAFT, APPROVED →
    /// DRAFT (reopening).
    pub status: Option<ImpactAssessmentStatus>,
    /// Recorded with the status change in the audit trail.
    pub note: Option<String>,
}

crate::mutations! {
    ImpactMutation;
    /// Starts an impact assessment of an AI system, as DRAFT (ISO 42001 6.1.4, 8.4).
    create_impact_assessment(ctx, gate, actor, input: CreateImpactAssessmentInput)
        -> CreateImpactAssessmentPayload { impact_assessment: ImpactAssessment } => {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        let ai_system_id = ref_id(Kind::AiSystem, &input.ai_system_id, "aiSystemId")?;
        let risks = risk_ids(input.risk_ids.as_deref().unwrap_or_default())?;
        let impacts = impacts_in(input.impacts.unwrap_or_default());
        let Granted { model: (m, _), access } = store::create_assessment(gate, actor, org, store::NewAssessment {
            ai_system_id,
            title: &input.title,
            assessed_individuals: input.assessed_individuals.as_deref(),
            assessed_groups: input.assessed_groups.as_deref(),
            assessed_societies: input.assessed_societies.as_deref(),
            impacts: &impacts,
            risk_ids: &risks,
            review_interval_months: input.review_interval_months,
        }).await?;
        Ok(CreateImpactAssessmentPayload { impact_assessment: ImpactAssessment::new(m, access) })
    }
    /// Changes an assessment or moves its workflow; approving and reopening need OWNER or
    /// MANAGER (ISO 42001 6.1.4).
    update_impact_assessment(ctx, gate, actor, input: UpdateImpactAssessmentInput)
        -> UpdateImpactAssessmentPayload { impact_assessment: ImpactAssessment } => {
        let id = ids::expect(Kind::ImpactAssessment, &input.id, "id")?;
        let changes = store::AssessmentChanges {
            expected_version: input.expected_version,
            title: input.title,
            assessed_individuals: change(input.assessed_individuals, |v| v),
            assessed_groups: change(input.assessed_groups, |v| v),
            assessed_societies: change(input.assessed_societies, |v| v),
            impacts: input.impacts.map(impacts_in),
            risk_ids: input.risk_ids.as_deref().map(risk_ids).transpose()?,
            review_interval_months: input.review_interval_months,
            status: input.status.map(Into::into),
            note: input.note,
        };
        let Granted { model: (m, _), access } = store::update_assessment(gate, actor, id, changes).await?;
        Ok(UpdateImpactAssessmentPayload { impact_assessment: ImpactAssessment::new(m, access) })
    }
}
