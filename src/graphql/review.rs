//! The management review (ISO 27001 9.3; ISO 42001 9.3): reviews, their inputs (one per
//! 9.3.2 topic), their decisions (9.3.3), the workflow PLANNED → HELD → CLOSED, and the
//! snapshot of the organization's figures frozen when a review is held.

use async_graphql::{Context, Enum, ID, InputObject, Json, MaybeUndefined, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::{Access, Operation};
use crate::domain::review as rules;
use crate::entity::{management_review, review_decision, review_input, workflow_transition};
use crate::error::AppResult;
use crate::graphql::catalog::StandardCode;
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::input::change;
use crate::graphql::limits;
use crate::graphql::loaders::{load_by_id, load_children};
use crate::graphql::scalars::Date;
use crate::ids::{self, Kind};
use crate::store::page::PageArgs;
use crate::store::review as store;
use crate::store::tenancy::{Granted, now};

/// PLANNED → HELD → CLOSED: one step at a time, no way back.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::review::ReviewStatus")]
pub enum ReviewStatus {
    /// Being prepared: its fields and inputs may change.
    Planned,
    /// Held (sets `heldOn` and freezes `snapshot`): inputs are a record; decisions are
    /// taken and followed up.
    Held,
    /// Every decision DONE or CANCELLED; read-only.
    Closed,
}

/// What a management review considers (ISO 27001 9.3.2; ISO 42001 9.3.2). Holding a
/// review needs an input for every topic.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::review::ReviewTopic")]
pub enum ReviewTopic {
    /// Status of actions from previous reviews (9.3.2 a); see `previousActions`.
    PreviousActions,
    /// Changes in external and internal issues (9.3.2 b).
    ContextChanges,
    /// Changes in needs and expectations of interested parties (9.3.2 c).
    InterestedPartyChanges,
    /// Nonconformities and corrective actions (9.3.2 d 1).
    NonconformitiesAndActions,
    /// Monitoring and measurement results (9.3.2 d 2).
    MonitoringResults,
    /// Audit results (9.3.2 d 3).
    AuditResults,
    /// Fulfilment of objectives (ISO 27001 9.3.2 d 4).
    Objectives,
    /// Feedback from interested parties (ISO 27001 9.3.2 e).
    InterestedPartyFeedback,
    /// Results of risk assessment and status of the risk treatment plan (ISO 27001
    /// 9.3.2 f).
    RiskAssessmentAndTreatment,
    /// Opportunities for continual improvement (ISO 27001 9.3.2 g; ISO 42001 9.3.2 e).
    ImprovementOpportunities,
    /// Performance of the AI systems (ISO 42001 9.3.2 d).
    AiSystemPerformance,
    /// Information security and AI incidents, and what was learned (ISO 27001 A.5.27;
    /// ISO 42001 A.3.3).
    Incidents,
}

/// What a decision of a review is about (ISO 27001 / 42001 9.3.3).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::review::DecisionKind")]
pub enum ReviewDecisionKind {
    /// A continual improvement opportunity taken up.
    Improvement,
    /// A change needed to the management system.
    ChangeToSystem,
    /// Resources needed.
    Resources,
    /// Anything else.
    Other,
}

/// Where a decision stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::review::DecisionStatus")]
pub enum ReviewDecisionStatus {
    /// To be done; carried over to the next review's `previousActions`.
    Open,
    /// Done.
    Done,
    /// Dropped.
    Cancelled,
}

/// One status change of a management review.
#[derive(SimpleObject, Clone)]
pub struct ReviewTransition {
    /// The status before.
    pub from: ReviewStatus,
    /// The status after.
    pub to: ReviewStatus,
    /// Subject that made the change.
    pub actor: String,
    /// When, UTC.
    pub at: DateTime<Utc>,
    /// The note given.
    pub note: Option<String>,
}

fn transition_of(t: &workflow_transition::Model) -> AppResult<ReviewTransition> {
    let (from, to) = t.statuses::<rules::ReviewStatus>()?;
    Ok(ReviewTransition { from: from.into(), to: to.into(), actor: t.actor.clone(), at: t.at, note: t.note.clone() })
}

crate::entity_type! {
    /// A management review (ISO 27001 9.3; ISO 42001 9.3): top management's review of the
    /// integrated management system, with its inputs, its decisions and, once held, the
    /// organization's figures frozen as evidence.
    ManagementReview, management_review
}

impl ManagementReview {
    fn may_write(&self) -> bool {
        self.access.allows(Operation::WriteManagementReviews)
    }
}

crate::entity_object! {
    ManagementReview, management_review,
    update: custom,
    /// Always false: management reviews are retained as evidence (9.3.3).
    delete: false,
    {
        /// The review in short, at most 300 characters.
        async fn title(&self) -> &str {
            &self.model.title
        }
        /// The day it is planned for.
        async fn planned_on(&self) -> Date {
            Date(self.model.planned_on)
        }
        /// The day it was held (set by the move to HELD); `null` while PLANNED.
        async fn held_on(&self) -> Option<Date> {
            self.model.held_on.map(Date)
        }
        /// Its place in the workflow.
        async fn status(&self) -> ReviewStatus {
            self.model.status.into()
        }
        /// The standards it reviews (both for an integrated review).
        async fn standards(&self) -> Vec<StandardCode> {
            self.model.standards.0.iter().map(|s| (*s).into()).collect()
        }
        /// Who attended (at most 50; at least one to be held).
        async fn attendees(&self) -> &[String] {
            &self.model.attendees.0
        }
        /// The organization's figures when it was held, frozen (`null` while PLANNED): a
        /// JSON object with `schemaVersion` (1), `takenAt`, `heldOn`, `readiness`,
        /// `soaCoverage`, `risks`, `nonconformities`, `incidents`, `objectives`,
        /// `overdueActions` and `previousActions` (see the README).
        async fn snapshot(&self) -> Option<Json<serde_json::Value>> {
            self.model.snapshot.clone().map(Json)
        }
        /// Whether the caller may change it (OWNER, MANAGER; PLANNED only).
        async fn viewer_can_update(&self) -> bool {
            self.may_write() && self.model.status == rules::ReviewStatus::Planned
        }
        /// Whether the caller may move it to its next status (OWNER, MANAGER).
        async fn viewer_can_transition(&self) -> bool {
            self.may_write() && self.model.status.next().is_some()
        }
        /// Whether the caller may add and update its decisions (OWNER, MANAGER; HELD only).
        async fn viewer_can_decide(&self) -> bool {
            self.may_write() && self.model.status == rules::ReviewStatus::Held
        }
    }
    lists {
        /// The inputs recorded, in topic order (one per topic).
        #[list(REVIEW_TOPICS)]
        async fn inputs(&self, ctx: &Context<'_>) -> Result<Vec<ReviewInput>> {
            let mut rows =
                load_children::<review_input::Entity>(ctx, self.model.organization_id, self.model.id).await?;
            rows.sort_by_key(|r| r.topic);
            let access = self.access;
            Ok(limits::bounded(rows, limits::REVIEW_TOPICS).into_iter().map(|m| ReviewInput::new(m, access)).collect())
        }
        /// The topics without an input yet: what still keeps the review from being held.
        #[list(REVIEW_TOPICS)]
        async fn missing_topics(&self, ctx: &Context<'_>) -> Result<Vec<ReviewTopic>> {
            let rows = load_children::<review_input::Entity>(ctx, self.model.organization_id, self.model.id).await?;
            let recorded: Vec<rules::ReviewTopic> = rows.iter().map(|r| r.topic).collect();
            Ok(rules::missing_topics(&recorded).into_iter().map(Into::into).collect())
        }
        /// Its decisions (9.3.3), in the order taken (at most 100).
        #[list(REVIEW_DECISIONS)]
        async fn decisions(&self, ctx: &Context<'_>) -> Result<Vec<ReviewDecision>> {
            let rows =
                load_children::<review_decision::Entity>(ctx, self.model.organization_id, self.model.id).await?;
            let access = self.access;
            Ok(limits::bounded(rows, limits::REVIEW_DECISIONS)
                .into_iter()
                .map(|m| ReviewDecision::new(m, access))
                .collect())
        }
        /// The PREVIOUS_ACTIONS topic's content (9.3.2 a): the OPEN decisions of the
        /// organization's other reviews, soonest due first (undated last; at most 100).
        /// Live while PLANNED; from HELD on, the decisions frozen into `snapshot` (each
        /// as it stands now; the snapshot keeps them as they stood).
        #[list(REVIEW_PREVIOUS_ACTIONS)]
        async fn previous_actions(&self, ctx: &Context<'_>) -> Result<Vec<ReviewDecision>> {
            let (gate, actor) = (ctx.gate()?, ctx.actor()?);
            let r = gate.read(actor, self.model.organization_id, Operation::ReadManagementReviews).await?;
            let rows = match &self.model.snapshot {
                Some(s) if self.model.status != rules::ReviewStatus::Planned => {
                    store::decisions_by_ids(&r, &store::frozen_previous_action_ids(s)).await?
                }
                _ => store::previous_actions(&r, self.model.id).await?,
            };
            let access = self.access;
            Ok(limits::bounded(rows, limits::REVIEW_PREVIOUS_ACTIONS)
                .into_iter()
                .map(|m| ReviewDecision::new(m, access))
                .collect())
        }
        /// Status changes, oldest first.
        #[list(REVIEW_TRANSITIONS)]
        async fn transitions(&self, ctx: &Context<'_>) -> Result<Vec<ReviewTransition>> {
            let rows =
                load_children::<workflow_transition::Entity>(ctx, self.model.organization_id, self.model.id).await?;
            Ok(limits::bounded(rows, limits::REVIEW_TRANSITIONS).iter().map(transition_of).collect::<AppResult<_>>()?)
        }
    }
}

crate::entity_type! {
    /// What a management review considered on one topic (9.3.2): recorded while the
    /// review is PLANNED, a record once it is held.
    ReviewInput, review_input
}

crate::entity_object! {
    ReviewInput, review_input,
    update: custom,
    /// Always false: inputs go only with their review.
    delete: false,
    {
        /// The topic.
        async fn topic(&self) -> ReviewTopic {
            self.model.topic.into()
        }
        /// What was presented and concluded, at most 20,000 characters.
        async fn summary(&self) -> &str {
            &self.model.summary
        }
        /// The review.
        async fn review(&self, ctx: &Context<'_>) -> Result<Option<ManagementReview>> {
            Ok(load_by_id::<management_review::Entity>(ctx, self.model.organization_id, self.model.review_id)
                .await?
                .map(|m| ManagementReview::new(m, self.access)))
        }
        /// Whether the caller may record it again (`recordReviewInput`: OWNER, MANAGER,
        /// while the review is PLANNED).
        async fn viewer_can_update(&self, ctx: &Context<'_>) -> Result<bool> {
            if !self.access.allows(Operation::WriteManagementReviews) {
                return Ok(false);
            }
            let review =
                load_by_id::<management_review::Entity>(ctx, self.model.organization_id, self.model.review_id).await?;
            Ok(review.is_some_and(|r| r.status == rules::ReviewStatus::Planned))
        }
    }
}

crate::entity_type! {
    /// A decision of a management review (ISO 27001 / 42001 9.3.3): an improvement, a
    /// change to the management system or resources, followed up until DONE or
    /// CANCELLED. OPEN decisions carry over to the next review's `previousActions`.
    ReviewDecision, review_decision
}

crate::entity_object! {
    ReviewDecision, review_decision,
    update: custom,
    /// Always false: decisions are kept with their review.
    delete: false,
    {
        /// What was decided, at most 20,000 characters.
        async fn text(&self) -> &str {
            &self.model.text
        }
        /// IMPROVEMENT, CHANGE_TO_SYSTEM, RESOURCES or OTHER.
        async fn kind(&self) -> ReviewDecisionKind {
            self.model.kind.into()
        }
        /// Who carries it out.
        async fn owner(&self) -> Option<&str> {
            self.model.owner.as_deref()
        }
        /// When it is due.
        async fn due_on(&self) -> Option<Date> {
            self.model.due_on.map(Date)
        }
        /// OPEN, DONE or CANCELLED.
        async fn status(&self) -> ReviewDecisionStatus {
            self.model.status.into()
        }
        /// OPEN with `dueOn` before today (UTC).
        async fn overdue(&self) -> bool {
            rules::decision_overdue(self.model.status, self.model.due_on, now().date_naive())
        }
        /// The review that took it.
        async fn review(&self, ctx: &Context<'_>) -> Result<Option<ManagementReview>> {
            Ok(load_by_id::<management_review::Entity>(ctx, self.model.organization_id, self.model.review_id)
                .await?
                .map(|m| ManagementReview::new(m, self.access)))
        }
        /// Whether the caller may update it (OWNER, MANAGER, while its review is HELD).
        async fn viewer_can_update(&self, ctx: &Context<'_>) -> Result<bool> {
            if !self.access.allows(Operation::WriteManagementReviews) {
                return Ok(false);
            }
            let review =
                load_by_id::<management_review::Entity>(ctx, self.model.organization_id, self.model.review_id).await?;
            Ok(review.is_some_and(|r| r.status == rules::ReviewStatus::Held))
        }
    }
}

crate::connection!(ManagementReviewConnection, ManagementReviewEdge, ManagementReview);

/// Narrows `Organization.managementReviews`.
#[derive(InputObject, Default)]
pub struct ManagementReviewFilter {
    /// Any of these statuses.
    pub status: Option<Vec<ReviewStatus>>,
}

/// `Organization.managementReviews`, by planned day (oldest first).
pub async fn management_reviews_of(
    ctx: &Context<'_>,
    org: Uuid,
    access: Access,
    filter: Option<ManagementReviewFilter>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<ManagementReviewConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let args = PageArgs::new(first, after.as_deref(), store::REVIEW_ORDER)?;
    let f = filter.unwrap_or_default();
    let filter = store::ReviewFilter { statuses: f.status.unwrap_or_default().into_iter().map(Into::into).collect() };
    let page = store::list(gate, actor, org, &filter, &args, wants_total(ctx)).await?;
    Ok(ManagementReviewConnection::from_page(page, |m| ManagementReview::new(m, access)))
}

fn standards(v: &[StandardCode]) -> Vec<crate::domain::refs::Standard> {
    v.iter().map(|s| (*s).into()).collect()
}

/// A new management review, status PLANNED.
#[derive(InputObject)]
pub struct CreateManagementReviewInput {
    /// The organization.
    pub organization_id: ID,
    /// Not blank, at most 300 characters.
    pub title: String,
    /// The day it is planned for.
    pub planned_on: Date,
    /// At least one; default both (an integrated review).
    pub standards: Option<Vec<StandardCode>>,
    /// Who is to attend (at most 50, each at most 200 characters; blanks and duplicates
    /// dropped).
    pub attendees: Option<Vec<String>>,
}

/// Omitted fields stay. A review changes only while PLANNED.
#[derive(InputObject)]
pub struct UpdateManagementReviewInput {
    /// The review.
    pub id: ID,
    /// Refused (`CONFLICT`) when the review is at another version.
    pub expected_version: Option<i32>,
    /// Not blank, at most 300 characters.
    pub title: Option<String>,
    /// The day it is planned for.
    pub planned_on: Option<Date>,
    /// At least one.
    pub standards: Option<Vec<StandardCode>>,
    /// Replaces them (at most 50).
    pub attendees: Option<Vec<String>>,
}

/// One move of the review workflow.
#[derive(InputObject)]
pub struct TransitionManagementReviewInput {
    /// The review.
    pub id: ID,
    /// The next status (no skips, no way back): HELD needs an input for every topic and
    /// an attendee; CLOSED needs every decision DONE or CANCELLED.
    pub to: ReviewStatus,
    /// With `to: HELD` only: the day it was held; default today (UTC); not in the future.
    pub held_on: Option<Date>,
    /// Why, free text.
    pub note: Option<String>,
    /// Refused (`CONFLICT`) when the review is at another version.
    pub expected_version: Option<i32>,
}

/// The input of one topic; recording a topic again replaces its summary.
#[derive(InputObject)]
pub struct RecordReviewInputInput {
    /// The review (PLANNED).
    pub review_id: ID,
    /// The topic.
    pub topic: ReviewTopic,
    /// What was presented and concluded; not blank, at most 20,000 characters.
    pub summary: String,
}

/// A decision of a held review.
#[derive(InputObject)]
pub struct AddReviewDecisionInput {
    /// The review (HELD).
    pub review_id: ID,
    /// What was decided; not blank, at most 20,000 characters.
    pub text: String,
    /// IMPROVEMENT, CHANGE_TO_SYSTEM, RESOURCES or OTHER.
    pub kind: ReviewDecisionKind,
    /// Who carries it out, at most 200 characters.
    pub owner: Option<String>,
    /// When it is due.
    pub due_on: Option<Date>,
}

/// Omitted fields stay; `null` clears `owner` and `dueOn`. While the review is HELD.
#[derive(InputObject)]
pub struct UpdateReviewDecisionInput {
    /// The decision.
    pub id: ID,
    /// Refused (`CONFLICT`) when the decision is at another version.
    pub expected_version: Option<i32>,
    /// Not blank.
    pub text: Option<String>,
    /// IMPROVEMENT, CHANGE_TO_SYSTEM, RESOURCES or OTHER.
    pub kind: Option<ReviewDecisionKind>,
    /// `null` clears it.
    pub owner: MaybeUndefined<String>,
    /// `null` clears it.
    pub due_on: MaybeUndefined<Date>,
    /// OPEN, DONE or CANCELLED.
    pub status: Option<ReviewDecisionStatus>,
}

crate::mutations! {
    ReviewMutation;
    /// OWNER, MANAGER. Plans a management review (ISO 27001 / 42001 9.3).
    create_management_review(ctx, gate, actor, input: CreateManagementReviewInput)
        -> CreateManagementReviewPayload { management_review: ManagementReview } {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        let std = input.standards.as_deref().map(standards);
        store::create(gate, actor, org, store::NewReview {
            title: &input.title,
            planned_on: input.planned_on.0,
            standards: std.as_deref(),
            attendees: input.attendees.as_deref().unwrap_or_default(),
        }).await?
    }
    /// OWNER, MANAGER. While the review is PLANNED.
    update_management_review(ctx, gate, actor, input: UpdateManagementReviewInput)
        -> UpdateManagementReviewPayload { management_review: ManagementReview } {
        let id = ids::expect(Kind::ManagementReview, &input.id, "id")?;
        let std = input.standards.as_deref().map(standards);
        store::update(gate, actor, id, store::ReviewChanges {
            expected_version: input.expected_version,
            title: input.title.as_deref(),
            planned_on: input.planned_on.map(|d| d.0),
            standards: std.as_deref(),
            attendees: input.attendees.as_deref(),
        }).await?
    }
    /// OWNER, MANAGER. PLANNED → HELD (every topic has an input; sets `heldOn` and freezes
    /// `snapshot`) → CLOSED (every decision DONE or CANCELLED).
    transition_management_review(ctx, gate, actor, input: TransitionManagementReviewInput)
        -> TransitionManagementReviewPayload { management_review: ManagementReview } {
        let id = ids::expect(Kind::ManagementReview, &input.id, "id")?;
        store::transition(
            gate,
            actor,
            id,
            input.to.into(),
            input.held_on.map(|d| d.0),
            input.note.as_deref(),
            input.expected_version,
        )
        .await?
    }
    /// OWNER, MANAGER. Records (or replaces) the input of one topic while the review is
    /// PLANNED.
    record_review_input(ctx, gate, actor, input: RecordReviewInputInput)
        -> RecordReviewInputPayload {
            /// The input recorded.
            review_input: ReviewInput,
            /// Its review.
            management_review: ManagementReview,
        } => {
        let id = ids::expect(Kind::ManagementReview, &input.review_id, "reviewId")?;
        let Granted { model: (i, r), access } =
            store::record_input(gate, actor, id, input.topic.into(), &input.summary).await?;
        Ok(RecordReviewInputPayload {
            review_input: ReviewInput::new(i, access),
            management_review: ManagementReview::new(r, access),
        })
    }
    /// OWNER, MANAGER. Records a decision (status OPEN) of a HELD review (9.3.3).
    add_review_decision(ctx, gate, actor, input: AddReviewDecisionInput)
        -> AddReviewDecisionPayload {
            /// The decision recorded.
            review_decision: ReviewDecision,
            /// Its review.
            management_review: ManagementReview,
        } => {
        let id = ids::expect(Kind::ManagementReview, &input.review_id, "reviewId")?;
        let Granted { model: (d, r), access } = store::add_decision(gate, actor, store::NewDecision {
            review_id: id,
            text: &input.text,
            kind: input.kind.into(),
            owner: input.owner.as_deref(),
            due_on: input.due_on.map(|d| d.0),
        }).await?;
        Ok(AddReviewDecisionPayload {
            review_decision: ReviewDecision::new(d, access),
            management_review: ManagementReview::new(r, access),
        })
    }
    /// OWNER, MANAGER. While its review is HELD (a CLOSED review is read-only).
    update_review_decision(ctx, gate, actor, input: UpdateReviewDecisionInput)
        -> UpdateReviewDecisionPayload { review_decision: ReviewDecision } {
        let id = ids::expect(Kind::ReviewDecision, &input.id, "id")?;
        let owner = change(input.owner, |v| v);
        store::update_decision(gate, actor, id, store::DecisionChanges {
            expected_version: input.expected_version,
            text: input.text.as_deref(),
            kind: input.kind.map(Into::into),
            owner: owner.as_ref().map(|o| o.as_deref()),
            due_on: change(input.due_on, |d| d.0),
            status: input.status.map(Into::into),
        }).await?
    }
}
