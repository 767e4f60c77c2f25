//! The `Node` interface and `node(id)`: any entity the caller may see, by global ID.

use async_graphql::{Context, ID, Interface, Object, Result};

use crate::auth::Operation;
use crate::entity::{clause_assessment, control, membership};
use crate::error::AppResult;
use crate::graphql::context::{ContextExt, none_if_missing};
use crate::graphql::org::{Membership, Organization};
use crate::graphql::soa::{ClauseAssessment, Control};
use crate::ids::{self, Kind};
use crate::store::org as org_store;

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Scope(crate::graphql::inventory::Scope),
    AiSystem(crate::graphql::inventory::AiSystem),
    Risk(crate::graphql::risk::Risk),
    ImpactAssessment(crate::graphql::impact::ImpactAssessment),
    Organization(Organization),
    Membership(Membership),
    Control(Control),
    ClauseAssessment(ClauseAssessment),
    Audit(crate::graphql::audit::Audit),
    Finding(crate::graphql::audit::Finding),
    Nonconformity(crate::graphql::ncr::Nonconformity),
    CorrectiveAction(crate::graphql::ncr::CorrectiveAction),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by ID; `null` when it does not exist or the caller may not see it
    /// (another tenant's object is indistinguishable from a missing one).
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let Some((kind, id)) = ids::decode(&id) else {
            ctx.actor()?;
            return Ok(None);
        };
        Ok(none_if_missing(resolve(ctx, kind, id).await)?)
    }
}

async fn resolve(ctx: &Context<'_>, kind: Kind, id: uuid::Uuid) -> AppResult<Node> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    Ok(match kind {
        Kind::Scope => {
            let (r, m) = gate.locate::<crate::entity::scope::Entity>(actor, id, Operation::ReadScopes).await?;
            Node::Scope(crate::graphql::inventory::Scope::new(m, r.access()))
        }
        Kind::AiSystem => {
            let (r, m) = gate.locate::<crate::entity::ai_system::Entity>(actor, id, Operation::ReadAiSystems).await?;
            Node::AiSystem(crate::graphql::inventory::AiSystem::new(m, r.access()))
        }
        Kind::Risk => Node::Risk(crate::graphql::risk::risk_node(gate, actor, id).await?),
        Kind::ImpactAssessment => {
            Node::ImpactAssessment(crate::graphql::impact::impact_assessment_node(gate, actor, id).await?)
        }
        Kind::Organization => {
            let (r, m) = org_store::get(gate, actor, id).await?;
            Node::Organization(Organization::new(m, r.access()))
        }
        Kind::Membership => {
            let (r, m) = gate.locate::<membership::Entity>(actor, id, Operation::ReadOrganization).await?;
            Node::Membership(Membership::new(m, r.access()))
        }
        Kind::Control => {
            let (r, m) = gate.locate::<control::Entity>(actor, id, Operation::ReadControls).await?;
            Node::Control(Control::new(m, r.access()))
        }
        Kind::ClauseAssessment => {
            let (r, m) = gate.locate::<clause_assessment::Entity>(actor, id, Operation::ReadClauseAssessments).await?;
            Node::ClauseAssessment(ClauseAssessment { model: m, access: r.access() })
        }
        Kind::Audit | Kind::Finding => crate::graphql::audit::resolve_node(ctx, kind, id).await?,
        Kind::Nonconformity | Kind::CorrectiveAction => crate::graphql::ncr::resolve_node(ctx, kind, id).await?,
        _ => return Err(crate::error::AppError::not_found(kind.name())),
    })
}
