//! The `Node` interface and `node(id)`: any entity the caller may see, by global ID. The
//! registry gives each kind its table and the right reading it needs.

use async_graphql::{Context, ID, Interface, Object, Result};
use uuid::Uuid;

use crate::auth::Access;
use crate::entity::context_issue;
use crate::entity::{
    ai_system, audit, certification, clause_assessment, control, corrective_action, finding, impact_assessment,
    measure, measurement, membership, nonconformity, objective, organization, programme, programme_phase, scope, task,
};
use crate::error::{AppError, AppResult};
use crate::graphql::audit::{Audit, Finding};
use crate::graphql::certification::Certification;
use crate::graphql::context::{ContextExt, none_if_missing};
use crate::graphql::context_issue::ContextIssue;
use crate::graphql::impact::ImpactAssessment;
use crate::graphql::inventory::{AiSystem, Scope};
use crate::graphql::measure::Measure;
use crate::graphql::ncr::{CorrectiveAction, Nonconformity};
use crate::graphql::objective::{Measurement, Objective};
use crate::graphql::org::{Membership, Organization};
use crate::graphql::programme::{Programme, ProgrammePhase};
use crate::graphql::risk::{Risk, risk_node};
use crate::graphql::soa::{ClauseAssessment, Control};
use crate::graphql::task::Task;
use crate::ids::{self, Kind};
use crate::store::tenancy::TenantOwned;
use crate::store::{Actor, Gate};

/// An object with a global ID, found again with `node(id)` (Relay object identification).
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global ID: opaque, stable, and what `node(id)` takes."))]
pub enum Node {
    Scope(Scope),
    AiSystem(AiSystem),
    Risk(Risk),
    ImpactAssessment(ImpactAssessment),
    Organization(Organization),
    Membership(Membership),
    Control(Control),
    ClauseAssessment(ClauseAssessment),
    Audit(Audit),
    Finding(Finding),
    Certification(Certification),
    Nonconformity(Nonconformity),
    CorrectiveAction(CorrectiveAction),
    // issue 13
    Document(crate::graphql::document::Document),
    DocumentVersion(crate::graphql::document::DocumentVersion),
    Objective(Objective),
    Measurement(Measurement),
    ContextIssue(ContextIssue),
    Incident(crate::graphql::incident::Incident),
    Supplier(crate::graphql::supplier::Supplier),
    SupplierAssessment(crate::graphql::supplier::SupplierAssessment),
    // issue 16
    Measure(Measure),
    Task(Task),
    Programme(Programme),
    ProgrammePhase(ProgrammePhase),
    // issue 15: the management review
    ManagementReview(crate::graphql::review::ManagementReview),
    ReviewInput(crate::graphql::review::ReviewInput),
    ReviewDecision(crate::graphql::review::ReviewDecision),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by ID; `null` when it does not exist or the caller may not see it
    /// (another tenant's object is indistinguishable from a missing one).
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global ID (any `id` field of a `Node`).")] id: ID,
    ) -> Result<Option<Node>> {
        let Some((kind, id)) = ids::decode(&id) else {
            ctx.actor()?;
            return Ok(None);
        };
        Ok(none_if_missing(resolve(ctx, kind, id).await)?)
    }
}

/// The row of `E` with this id, read with the right `E` is registered with, as the API
/// object `make` builds.
async fn located<E, T>(gate: &Gate, actor: &Actor, id: Uuid, make: fn(E::Model, Access) -> T) -> AppResult<T>
where
    E: TenantOwned,
    E::Model: Sync,
{
    let (r, m) = gate.locate::<E>(actor, id, E::READ).await?;
    Ok(make(m, r.access()))
}

pub(crate) async fn resolve(ctx: &Context<'_>, kind: Kind, id: Uuid) -> AppResult<Node> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    Ok(match kind {
        Kind::Organization => {
            Node::Organization(located::<organization::Entity, _>(gate, actor, id, Organization::new).await?)
        }
        Kind::Membership => Node::Membership(located::<membership::Entity, _>(gate, actor, id, Membership::new).await?),
        Kind::Control => Node::Control(located::<control::Entity, _>(gate, actor, id, Control::new).await?),
        Kind::ClauseAssessment => Node::ClauseAssessment(
            located::<clause_assessment::Entity, _>(gate, actor, id, ClauseAssessment::new).await?,
        ),
        Kind::Scope => Node::Scope(located::<scope::Entity, _>(gate, actor, id, Scope::new).await?),
        Kind::AiSystem => Node::AiSystem(located::<ai_system::Entity, _>(gate, actor, id, AiSystem::new).await?),
        // A risk is read with its organization's risk settings.
        Kind::Risk => Node::Risk(risk_node(gate, actor, id).await?),
        Kind::ImpactAssessment => Node::ImpactAssessment(
            located::<impact_assessment::Entity, _>(gate, actor, id, ImpactAssessment::new).await?,
        ),
        Kind::Audit => Node::Audit(located::<audit::Entity, _>(gate, actor, id, Audit::new).await?),
        Kind::Finding => Node::Finding(located::<finding::Entity, _>(gate, actor, id, Finding::new).await?),
        Kind::Certification => {
            Node::Certification(located::<certification::Entity, _>(gate, actor, id, Certification::new).await?)
        }
        Kind::Nonconformity => {
            Node::Nonconformity(located::<nonconformity::Entity, _>(gate, actor, id, Nonconformity::new).await?)
        }
        Kind::CorrectiveAction => Node::CorrectiveAction(
            located::<corrective_action::Entity, _>(gate, actor, id, CorrectiveAction::new).await?,
        ),
        // issue 13
        Kind::Document => Node::Document(
            located::<crate::entity::document::Entity, _>(gate, actor, id, crate::graphql::document::Document::new)
                .await?,
        ),
        Kind::DocumentVersion => Node::DocumentVersion(
            located::<crate::entity::document_version::Entity, _>(
                gate,
                actor,
                id,
                crate::graphql::document::DocumentVersion::new,
            )
            .await?,
        ),
        Kind::Objective => Node::Objective(located::<objective::Entity, _>(gate, actor, id, Objective::new).await?),
        Kind::Measurement => {
            Node::Measurement(located::<measurement::Entity, _>(gate, actor, id, Measurement::new).await?)
        }
        Kind::ContextIssue => {
            Node::ContextIssue(located::<context_issue::Entity, _>(gate, actor, id, ContextIssue::new).await?)
        }
        Kind::Incident => Node::Incident(
            located::<crate::entity::incident::Entity, _>(gate, actor, id, crate::graphql::incident::Incident::new)
                .await?,
        ),
        Kind::Supplier => Node::Supplier(
            located::<crate::entity::supplier::Entity, _>(gate, actor, id, crate::graphql::supplier::Supplier::new)
                .await?,
        ),
        Kind::SupplierAssessment => Node::SupplierAssessment(
            located::<crate::entity::supplier_assessment::Entity, _>(
                gate,
                actor,
                id,
                crate::graphql::supplier::SupplierAssessment::new,
            )
            .await?,
        ),
        // issue 16
        Kind::Measure => Node::Measure(located::<measure::Entity, _>(gate, actor, id, Measure::new).await?),
        Kind::Task => Node::Task(located::<task::Entity, _>(gate, actor, id, Task::new).await?),
        Kind::Change | Kind::WorkflowTransition | Kind::TreatmentPlanApproval => {
            return Err(AppError::not_found(kind.name()));
        }
        Kind::Programme => Node::Programme(located::<programme::Entity, _>(gate, actor, id, Programme::new).await?),
        Kind::ProgrammePhase => {
            Node::ProgrammePhase(located::<programme_phase::Entity, _>(gate, actor, id, ProgrammePhase::new).await?)
        }
        // issue 15: the management review
        Kind::ManagementReview => Node::ManagementReview(
            located::<crate::entity::management_review::Entity, _>(
                gate,
                actor,
                id,
                crate::graphql::review::ManagementReview::new,
            )
            .await?,
        ),
        Kind::ReviewInput => Node::ReviewInput(
            located::<crate::entity::review_input::Entity, _>(
                gate,
                actor,
                id,
                crate::graphql::review::ReviewInput::new,
            )
            .await?,
        ),
        Kind::ReviewDecision => Node::ReviewDecision(
            located::<crate::entity::review_decision::Entity, _>(
                gate,
                actor,
                id,
                crate::graphql::review::ReviewDecision::new,
            )
            .await?,
        ),
    })
}
