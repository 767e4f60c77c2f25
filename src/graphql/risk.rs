//! The integrated risk register and the organization's risk settings.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Result, SimpleObject};
use uuid::Uuid;

use crate::auth::{Access, Operation};
use crate::domain::risk::{self as rules, RiskSettings as Settings};
use crate::entity::{control, risk, risk_control};
use crate::error::AppResult;
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::input::{change, filter_id, ref_id, try_change};
use crate::graphql::inventory::{AiSystem, Scope};
use crate::graphql::limits;
use crate::graphql::loaders::{Left, LoaderExt, Right, load_by_id, load_linked};
use crate::graphql::org::Organization;
use crate::graphql::scalars::Date;
use crate::graphql::soa::{Control, OrderDirection};
use crate::ids::{self, Kind};
use crate::store::page::PageArgs;
use crate::store::risk as store;
use crate::store::tenancy::Granted;
use crate::store::{Actor, Gate};

/// What a risk concerns; it fixes the risk's domain, and so the appetite that applies.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::risk::RiskCategory")]
pub enum RiskCategory {
    /// Information disclosed to those not authorized (domain SECURITY).
    Confidentiality,
    /// Information altered, incomplete or inaccurate (domain SECURITY).
    Integrity,
    /// Information or services unavailable when needed (domain SECURITY).
    Availability,
    /// Unfair bias in an AI system's outcomes (domain AI).
    BiasFairness,
    /// An AI system's behaviour or use not explainable or not disclosed (domain AI).
    Transparency,
    /// Quality of the data AI systems learn from and act on (domain AI).
    DataQuality,
    /// Insufficient human oversight of an AI system (domain AI).
    HumanOversight,
    /// Consequences for individuals or groups an AI system affects (domain AI).
    AiSubjectImpact,
    /// Security of an AI system itself (domain SHARED).
    AiSystemSecurity,
    /// Security of training data (domain SHARED).
    TrainingDataSecurity,
    /// Integrity of an AI model, e.g. tampering or poisoning (domain SHARED).
    ModelIntegrity,
    /// Availability of an AI system or service (domain SHARED).
    AiAvailability,
    /// Personal data, in the ISMS and in AI processing (domain SHARED).
    Privacy,
    /// Legal, statutory, regulatory and contractual requirements (domain SHARED).
    LegalRegulatory,
    /// Suppliers, providers and other third parties (domain SHARED).
    ThirdParty,
}

/// ISO 27001 6.1.1; ISO 42001 6.1.1: risks and opportunities are planned for together.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::risk::RiskKind")]
pub enum RiskKind {
    /// An effect to prevent or reduce (the default).
    Threat,
    /// An effect to pursue: rated on the same matrix, never an appetite breach.
    Opportunity,
}

/// SECURITY (confidentiality, integrity, availability), AI (impacts of AI systems) or
/// SHARED (security of AI systems): the category fixes it; each has its own appetite.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::risk::RiskDomain")]
pub enum RiskDomain {
    /// Information-security risks: CONFIDENTIALITY, INTEGRITY, AVAILABILITY.
    Security,
    /// Impacts of AI systems: BIAS_FAIRNESS, TRANSPARENCY, DATA_QUALITY, HUMAN_OVERSIGHT,
    /// AI_SUBJECT_IMPACT.
    Ai,
    /// Security of AI systems, PRIVACY, LEGAL_REGULATORY, THIRD_PARTY: both systems' criteria.
    Shared,
}

/// A band of scores under the organization's thresholds (`RiskSettings.levels`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::risk::RiskLevel")]
pub enum RiskLevel {
    /// Scores 1..lowMax.
    Low,
    /// Scores lowMax+1..mediumMax.
    Medium,
    /// Scores mediumMax+1..highMax.
    High,
    /// Scores highMax+1..maxScore.
    Critical,
}

/// Risk treatment option (ISO 27001 6.1.3 a; ISO 42001 6.1.3).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::risk::RiskTreatment")]
pub enum RiskTreatment {
    /// Reduce the risk with controls (linked with `linkRiskControl`).
    Mitigate,
    /// Retain the residual risk; above the appetite it needs a justification, who accepted
    /// it and an expiry date (ISO 27001 6.1.3 f).
    Accept,
    /// Share the risk with another party (e.g. insurance, a supplier).
    Transfer,
    /// Stop the activity that gives rise to the risk.
    Avoid,
}

/// Where a risk stands in the risk process; every status but IDENTIFIED needs an owner
/// (ISO 27001 6.1.2 c 2).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::risk::RiskStatus")]
pub enum RiskStatus {
    /// Recorded, not yet assessed: the only status allowed without an owner.
    Identified,
    /// Analysed and rated.
    Assessed,
    /// Treatment under way.
    Treating,
    /// Treated and kept under review.
    Monitoring,
    /// No longer tracked: never open, overdue for review or an appetite breach.
    Closed,
}

// ---------------------------------------------------------------------------------------
// Settings

/// Upper bounds of LOW, MEDIUM and HIGH (scores, 1..maxScore).
#[derive(SimpleObject, Clone)]
pub struct RiskThresholds {
    /// LOW: 1..=lowMax.
    pub low_max: i32,
    /// MEDIUM: lowMax+1..=mediumMax.
    pub medium_max: i32,
    /// HIGH: mediumMax+1..=highMax; CRITICAL: above, up to the max score.
    pub high_max: i32,
}

/// One level and its inclusive score range under the settings in force.
#[derive(SimpleObject, Clone)]
pub struct RiskLevelRange {
    /// The level.
    pub level: RiskLevel,
    /// Lowest score of the level (inclusive).
    pub min_score: i32,
    /// Highest score of the level (inclusive).
    pub max_score: i32,
}

/// Maximum acceptable effective score per domain.
#[derive(SimpleObject, Clone)]
pub struct RiskAppetite {
    /// Appetite of SECURITY risks: 0..maxScore (default 9 on 5×5).
    pub security: i32,
    /// Appetite of AI risks: 0..maxScore (default 6 on 5×5).
    pub ai: i32,
    /// Appetite of SHARED risks: 0..maxScore (default 9 on 5×5).
    pub shared: i32,
}

/// The risk method in force: matrix, level thresholds, appetite per domain. Levels,
/// `exceedsAppetite` and `appetiteBreach` of every risk follow these when read.
#[derive(SimpleObject, Clone)]
pub struct RiskSettings {
    /// 3, 4 or 5 (likelihood and impact are rated 1..matrixSize).
    pub matrix_size: i32,
    /// matrixSize².
    pub max_score: i32,
    /// Upper bounds of LOW, MEDIUM and HIGH in force.
    pub thresholds: RiskThresholds,
    /// The four levels as score ranges.
    #[graphql(complexity = "limits::RISK_LEVELS * child_complexity")]
    pub levels: Vec<RiskLevelRange>,
    /// Appetite per domain in force (ISO 27001 6.1.2 a 1; ISO 42001 6.1.2).
    pub appetite: RiskAppetite,
    /// `false`: the default thresholds, scaled to the matrix (see README).
    pub custom_thresholds: bool,
    /// `false`: every domain has its default appetite, scaled to the matrix.
    pub custom_appetite: bool,
}

impl From<Settings> for RiskSettings {
    fn from(s: Settings) -> Self {
        RiskSettings {
            matrix_size: s.matrix.get(),
            max_score: s.matrix.max_score(),
            thresholds: RiskThresholds {
                low_max: s.thresholds.low_max,
                medium_max: s.thresholds.medium_max,
                high_max: s.thresholds.high_max,
            },
            levels: rules::RiskLevel::ALL
                .iter()
                .map(|l| {
                    let (lo, hi) = s.thresholds.range(*l, s.matrix);
                    RiskLevelRange { level: (*l).into(), min_score: lo, max_score: hi }
                })
                .collect(),
            appetite: RiskAppetite { security: s.appetite.security, ai: s.appetite.ai, shared: s.appetite.shared },
            custom_thresholds: s.custom_thresholds,
            custom_appetite: s.custom_appetite,
        }
    }
}

/// Custom thresholds: `1 <= lowMax < mediumMax < highMax < maxScore`.
#[derive(InputObject)]
pub struct RiskThresholdsInput {
    /// Highest LOW score.
    pub low_max: i32,
    /// Highest MEDIUM score.
    pub medium_max: i32,
    /// Highest HIGH score; CRITICAL runs above it to the max score.
    pub high_max: i32,
}

/// Domains left out keep their current appetite.
#[derive(InputObject)]
pub struct RiskAppetiteInput {
    /// Appetite of SECURITY risks: 0..maxScore.
    pub security: Option<i32>,
    /// Appetite of AI risks: 0..maxScore.
    pub ai: Option<i32>,
    /// Appetite of SHARED risks: 0..maxScore.
    pub shared: Option<i32>,
}

/// Part of `updateOrganization`. Fields left out stay as they are; `thresholds: null` or
/// `appetite: null` go back to the defaults of the matrix size. The matrix cannot shrink
/// below ratings in use.
#[derive(InputObject)]
pub struct RiskSettingsInput {
    /// 3, 4 or 5; refused below a likelihood, impact or severity rating in use.
    pub matrix_size: Option<i32>,
    /// Custom thresholds; `null` returns to the defaults of the matrix size.
    pub thresholds: MaybeUndefined<RiskThresholdsInput>,
    /// Appetite per domain; `null` returns every domain to its default.
    pub appetite: MaybeUndefined<RiskAppetiteInput>,
}

fn to_change<T>(v: Option<Option<T>>) -> rules::Change<T> {
    match v {
        None => rules::Change::Keep,
        Some(None) => rules::Change::Reset,
        Some(Some(x)) => rules::Change::Set(x),
    }
}

impl From<RiskSettingsInput> for rules::RiskSettingsChange {
    fn from(i: RiskSettingsInput) -> Self {
        rules::RiskSettingsChange {
            matrix_size: i.matrix_size,
            thresholds: to_change(change(i.thresholds, |t| rules::Thresholds {
                low_max: t.low_max,
                medium_max: t.medium_max,
                high_max: t.high_max,
            })),
            appetite: to_change(change(i.appetite, |a| rules::AppetitePatch {
                security: a.security,
                ai: a.ai,
                shared: a.shared,
            })),
        }
    }
}

pub fn organization_risk_settings(org: &Organization) -> Result<RiskSettings> {
    Ok(store::settings_of_model(&org.model)?.into())
}

/// Settings per organization, batched.
pub struct RiskSettingsLoader {
    gate: Gate,
    actor: Arc<Actor>,
}

impl Loader<Uuid> for RiskSettingsLoader {
    type Value = Settings;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let r = self.gate.read_many(&self.actor, keys, Operation::ReadRisks).await?;
        Ok(store::settings_many(&r).await?)
    }
}

async fn settings_for(ctx: &Context<'_>, org: Uuid) -> Result<Settings> {
    let loader = ctx.loader(|gate, actor| RiskSettingsLoader { gate, actor })?;
    Ok(loader.load_one(org).await?.unwrap_or_default())
}

/// The first `max` of a list of risk rows of one organization, as risk objects with its
/// settings (one lookup, batched).
pub(crate) async fn risks_in(
    ctx: &Context<'_>,
    org: Uuid,
    models: Vec<risk::Model>,
    access: Access,
    max: usize,
) -> Result<Vec<Risk>> {
    if models.is_empty() {
        return Ok(Vec::new());
    }
    let models = limits::bounded(models, max);
    let settings = settings_for(ctx, org).await?;
    Ok(models.into_iter().map(|m| Risk::new(m, access, settings)).collect())
}

// ---------------------------------------------------------------------------------------
// Risk

/// A security, AI or shared risk, rated under the organization's one method.
#[derive(Clone)]
pub struct Risk {
    pub model: Arc<risk::Model>,
    pub access: Access,
    pub settings: Settings,
    /// `controls`, when the page that listed this risk already read them for every risk
    /// of the page (one statement for the page, whatever its size).
    pub controls: Option<Arc<Vec<control::Model>>>,
}

impl Risk {
    pub fn new(model: risk::Model, access: Access, settings: Settings) -> Self {
        Self { model: Arc::new(model), access, settings, controls: None }
    }

    fn eval(&self) -> store::Evaluation {
        store::evaluate(&self.model, &self.settings, store::today())
    }
}

crate::entity_object! {
    /// A security, AI or shared risk (or opportunity) of the integrated register, rated under
    /// the organization's one method (ISO 27001 / 42001 6.1.2, 8.2).
    Risk, risk,
    update: WriteRisks,
    delete: WriteRisks,
    {
        /// Short name of the risk.
        async fn title(&self) -> &str {
            &self.model.title
        }
        /// Free-text description of the risk.
        async fn description(&self) -> Option<&str> {
            self.model.description.as_deref()
        }
        /// What the risk concerns; it fixes `domain`.
        async fn category(&self) -> RiskCategory {
            self.model.category.into()
        }
        /// SECURITY, AI or SHARED, from the category: the appetite that applies.
        async fn domain(&self) -> RiskDomain {
            self.model.domain.into()
        }
        /// THREAT or OPPORTUNITY (ISO 27001 6.1.1).
        async fn kind(&self) -> RiskKind {
            self.model.kind.into()
        }
        /// Inherent likelihood rating, 1..matrixSize (ISO 27001 6.1.2 d 2).
        async fn likelihood(&self) -> i32 {
            self.model.likelihood
        }
        /// Inherent impact (consequence) rating, 1..matrixSize (ISO 27001 6.1.2 d 1).
        async fn impact(&self) -> i32 {
            self.model.impact
        }
        /// likelihood × impact.
        async fn inherent_score(&self) -> i32 {
            self.model.inherent_score
        }
        /// Level of `inherentScore` under the thresholds in force.
        async fn inherent_level(&self) -> RiskLevel {
            self.eval().inherent_level.into()
        }
        /// After treatment; `null` when not assessed (the inherent likelihood applies).
        async fn residual_likelihood(&self) -> Option<i32> {
            self.model.residual_likelihood
        }
        /// After treatment, 1..matrixSize; `null` when not assessed (the inherent impact
        /// applies).
        async fn residual_impact(&self) -> Option<i32> {
            self.model.residual_impact
        }
        /// residual likelihood × residual impact, each falling back to its inherent rating.
        async fn residual_score(&self) -> i32 {
            self.model.effective_score
        }
        /// Level of `residualScore` under the thresholds in force.
        async fn residual_level(&self) -> RiskLevel {
            self.eval().residual_level.into()
        }
        /// The appetite of the risk's domain (maximum acceptable residual score).
        async fn appetite(&self) -> i32 {
            self.settings.appetite.for_domain(self.model.domain)
        }
        /// A threat whose residual score is above the appetite of its domain (always false
        /// for an opportunity).
        async fn exceeds_appetite(&self) -> bool {
            self.eval().exceeds_appetite
        }
        /// Exceeds the appetite, is not closed, and is not validly accepted (an expired or
        /// lapsed acceptance counts as none): what the dashboard counts.
        async fn appetite_breach(&self) -> bool {
            self.eval().appetite_breach
        }
        /// The residual score the acceptance was given for (ISO 27001 6.1.3 f); `null`
        /// unless the treatment is ACCEPT.
        async fn accepted_score(&self) -> Option<i32> {
            self.model.accepted_score
        }
        /// Why the acceptance no longer holds: the residual score rose above the accepted
        /// score. `null` while it holds, or when nothing is accepted.
        async fn acceptance_lapsed(&self) -> Option<String> {
            rules::acceptance_lapsed(self.model.treatment, self.model.accepted_score, self.model.effective_score)
        }
        /// The chosen treatment option (ISO 27001 6.1.3 a); `null` until chosen.
        async fn treatment(&self) -> Option<RiskTreatment> {
            self.model.treatment.map(Into::into)
        }
        /// ISO 27001 6.1.3 f: why the risk owner accepts the residual risk.
        async fn acceptance_justification(&self) -> Option<&str> {
            self.model.acceptance_justification.as_deref()
        }
        /// Who accepted the residual risk: the risk owner, or an OWNER or MANAGER acting
        /// for them (then `acceptedOnBehalfOf` names the owner).
        async fn accepted_by(&self) -> Option<&str> {
            self.model.accepted_by.as_deref()
        }
        /// The risk owner that `acceptedBy`, an OWNER or MANAGER, accepted for.
        async fn accepted_on_behalf_of(&self) -> Option<&str> {
            self.model.accepted_on_behalf_of.as_deref()
        }
        /// Last day the acceptance holds (`YYYY-MM-DD`, UTC); `null` when not given.
        async fn acceptance_expires_on(&self) -> Option<Date> {
            self.model.acceptance_expires_on.map(Date)
        }
        /// The acceptance's expiry date is past (UTC).
        async fn acceptance_expired(&self) -> bool {
            self.eval().acceptance_expired
        }
        /// The risk owner (ISO 27001 6.1.2 c 2): required once the risk leaves IDENTIFIED.
        async fn owner(&self) -> Option<&str> {
            self.model.owner.as_deref()
        }
        /// Where the risk stands in the risk process.
        async fn status(&self) -> RiskStatus {
            self.model.status.into()
        }
        /// Next planned review (`YYYY-MM-DD`; ISO 27001 8.2: at planned intervals).
        async fn review_date(&self) -> Option<Date> {
            self.model.review_date.map(Date)
        }
        /// The stable key of the risk in the organization's own register or spreadsheet
        /// (unique per organization): spreadsheet imports of risks match rows by it.
        async fn external_key(&self) -> Option<&str> {
            self.model.external_key.as_deref()
        }
        /// The review date is past (UTC) and the risk is not closed.
        async fn review_overdue(&self) -> bool {
            self.eval().review_overdue
        }
        /// The ISMS, AIMS or integrated scope the risk belongs to, if any.
        async fn scope(&self, ctx: &Context<'_>) -> Result<Option<Scope>> {
            let Some(id) = self.model.scope_id else { return Ok(None) };
            Ok(load_by_id::<crate::entity::scope::Entity>(ctx, self.model.organization_id, id)
                .await?
                .map(|m| Scope::new(m, self.access)))
        }
        /// The AI system the risk concerns, if any.
        async fn ai_system(&self, ctx: &Context<'_>) -> Result<Option<AiSystem>> {
            let Some(id) = self.model.ai_system_id else { return Ok(None) };
            Ok(load_by_id::<crate::entity::ai_system::Entity>(ctx, self.model.organization_id, id)
                .await?
                .map(|m| AiSystem::new(m, self.access)))
        }
        // issue 16
        /// A MITIGATE risk whose treatment plan has no measures (ISO 27001 6.1.3 e); `false`
        /// for callers who may not read measures.
        async fn treatment_plan_missing(&self, ctx: &Context<'_>) -> Result<bool> {
            if !self.access.allows(Operation::ReadMeasures) {
                return Ok(false);
            }
            let rows = crate::graphql::measure::risk_measures(ctx, self.model.organization_id, self.model.id, self.access)
                .await?;
            Ok(crate::domain::measure::treatment_plan_missing(
                self.model.treatment == Some(crate::domain::risk::RiskTreatment::Mitigate),
                rows.len(),
            ))
        }
        /// The newest approval of the treatment plan by the risk owner (or an OWNER or
        /// MANAGER for them; 6.1.3 f); `null` when never approved.
        async fn treatment_plan_approval(
            &self,
            ctx: &Context<'_>,
        ) -> Result<Option<crate::graphql::measure::TreatmentPlanApproval>> {
            crate::graphql::measure::latest_approval(ctx, self.model.organization_id, self.model.id, self.access).await
        }
    }
    lists {
        /// The SoA rows (either standard) that treat this risk, in SoA order (at most 30: a
        /// risk is linked to no more).
        #[list(RISK_CONTROLS)]
        async fn controls(&self, ctx: &Context<'_>) -> Result<Vec<Control>> {
            let (org, id) = (self.model.organization_id, self.model.id);
            let rows = match &self.controls {
                Some(rows) => rows.as_ref().clone(),
                None => load_linked::<risk_control::Entity, Right>(ctx, org, id).await?,
            };
            Ok(limits::bounded(rows, limits::RISK_CONTROLS).into_iter().map(|c| Control::new(c, self.access)).collect())
        }
        // issue 16
        /// The risk treatment plan (ISO 27001 / 42001 6.1.3 e): the measures that treat
        /// this risk, with their owners and due days (at most 50); empty for callers who may
        /// not read measures.
        #[list(RISK_MEASURES)]
        async fn treatment_plan(&self, ctx: &Context<'_>) -> Result<Vec<crate::graphql::measure::Measure>> {
            let rows = crate::graphql::measure::risk_measures(ctx, self.model.organization_id, self.model.id, self.access)
                .await?;
            Ok(limits::bounded(rows, limits::RISK_MEASURES)
                .into_iter()
                .map(|m| crate::graphql::measure::Measure::new(m, self.access))
                .collect())
        }
        // issue 14
        /// The context issues (4.1) this risk or opportunity arises from (6.1.1), by title
        /// (at most 50); empty for callers who may not read context issues.
        #[list(RISK_CONTEXT_ISSUES)]
        async fn context_issues(&self, ctx: &Context<'_>) -> Result<Vec<crate::graphql::context_issue::ContextIssue>> {
            crate::graphql::context_issue::issues_of_risk(ctx, &self.model, self.access).await
        }
    }
}

/// `Control.risks`: the risks an SoA row treats.
pub async fn risks_of_control(ctx: &Context<'_>, c: &control::Model, access: Access) -> Result<Vec<Risk>> {
    if !access.allows(Operation::ReadRisks) {
        return Ok(Vec::new());
    }
    let rows = load_linked::<risk_control::Entity, Left>(ctx, c.organization_id, c.id).await?;
    risks_in(ctx, c.organization_id, rows, access, limits::CONTROL_RISKS).await
}

// ---------------------------------------------------------------------------------------
// Lists

crate::connection!(RiskConnection, RiskEdge, Risk);

/// Conditions on `organization.risks`: every one given must hold.
#[derive(InputObject, Default)]
pub struct RiskFilter {
    /// Risks of this domain.
    pub domain: Option<RiskDomain>,
    /// THREAT or OPPORTUNITY.
    pub kind: Option<RiskKind>,
    /// Risks of this category.
    pub category: Option<RiskCategory>,
    /// Residual level under the current thresholds.
    pub level: Option<RiskLevel>,
    /// Inherent level under the current thresholds.
    pub inherent_level: Option<RiskLevel>,
    /// Risks with this treatment.
    pub treatment: Option<RiskTreatment>,
    /// Risks in this status.
    pub status: Option<RiskStatus>,
    /// Residual score above the appetite of the risk's domain (current settings).
    pub exceeds_appetite: Option<bool>,
    /// Exceeds the appetite and is not validly accepted (nor closed).
    pub appetite_breach: Option<bool>,
    /// `true`: review date past (UTC) and not CLOSED; `false`: the others.
    pub review_overdue: Option<bool>,
    /// Exact owner.
    pub owner: Option<String>,
    /// `null` matches risks without an AI system.
    pub ai_system_id: MaybeUndefined<ID>,
    /// `null` matches risks without a scope.
    pub scope_id: MaybeUndefined<ID>,
    /// Case-insensitive match on title or description.
    pub search: Option<String>,
}

/// What `organization.risks` is sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum RiskOrderField {
    /// Residual score.
    #[default]
    Score,
    /// Creation time.
    CreatedAt,
    /// Title, alphabetically.
    Title,
    /// Risks without a review date come last in both directions.
    ReviewDate,
}

/// Sort order of `organization.risks`.
#[derive(InputObject, Default)]
pub struct RiskOrder {
    #[graphql(default)]
    /// What to sort by (default SCORE).
    pub field: RiskOrderField,
    #[graphql(default)]
    /// ASC or DESC (default ASC).
    pub direction: OrderDirection,
}

/// `organization.risks`: default order is the residual score, highest first.
pub async fn organization_risks(
    ctx: &Context<'_>,
    org: &Organization,
    filter: Option<RiskFilter>,
    order_by: Option<RiskOrder>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<RiskConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let r = gate.read(actor, org.model.id, Operation::ReadRisks).await?;
    let settings = store::settings_of_model(&org.model)?;
    let (field, desc) = match order_by {
        None => (store::RiskOrder::Score, true),
        Some(o) => (
            match o.field {
                RiskOrderField::Score => store::RiskOrder::Score,
                RiskOrderField::CreatedAt => store::RiskOrder::CreatedAt,
                RiskOrderField::Title => store::RiskOrder::Title,
                RiskOrderField::ReviewDate => store::RiskOrder::ReviewDate,
            },
            o.direction == OrderDirection::Desc,
        ),
    };
    let args = PageArgs::new(first, after.as_deref(), &store::risk_sort(field, desc).name)?;
    let f = filter.unwrap_or_default();
    let filter = store::RiskFilter {
        domain: f.domain.map(Into::into),
        kind: f.kind.map(Into::into),
        category: f.category.map(Into::into),
        level: f.level.map(Into::into),
        inherent_level: f.inherent_level.map(Into::into),
        treatment: f.treatment.map(Into::into),
        status: f.status.map(Into::into),
        exceeds_appetite: f.exceeds_appetite,
        appetite_breach: f.appetite_breach,
        review_overdue: f.review_overdue,
        owner: f.owner,
        ai_system_id: try_change(f.ai_system_id, |id| filter_id(Kind::AiSystem, &id, "aiSystemId"))?,
        scope_id: try_change(f.scope_id, |id| filter_id(Kind::Scope, &id, "scopeId"))?,
        search: f.search,
    };
    let page = store::list_risks(&r, &settings, &filter, field, desc, &args, wants_total(ctx)).await?;
    let access = r.access();
    // Controls asked for under the page: read them for the whole page now, in one batch
    // that cannot split however long the page takes to resolve.
    let look = ctx.look_ahead();
    let wants_controls =
        look.field("nodes").field("controls").exists() || look.field("edges").field("node").field("controls").exists();
    let mut controls: HashMap<Uuid, Vec<control::Model>> = HashMap::new();
    if wants_controls && !page.items.is_empty() {
        let keys: Vec<(Uuid, Uuid)> = page.items.iter().map(|(_, m)| (m.organization_id, m.id)).collect();
        for (risk_id, c) in gate.linked_right::<risk_control::Entity>(actor, &keys).await? {
            controls.entry(risk_id).or_default().push(c);
        }
    }
    Ok(RiskConnection::from_page(page, |m| {
        let mut risk = Risk::new(m, access, settings);
        if wants_controls {
            risk.controls = Some(Arc::new(controls.remove(&risk.model.id).unwrap_or_default()));
        }
        risk
    }))
}

// ---------------------------------------------------------------------------------------
// Mutations

/// Input of `createRisk`.
#[derive(InputObject)]
pub struct CreateRiskInput {
    /// The organization whose register gets the risk.
    pub organization_id: ID,
    /// The stable key of the risk in the organization's own register or spreadsheet,
    /// unique per organization (CONFLICT when taken), at most 200 characters.
    pub external_key: Option<String>,
    /// Short name: required, at most 300 characters.
    pub title: String,
    /// Free text, at most 20,000 characters.
    pub description: Option<String>,
    /// Fixes the domain (and so the appetite that applies).
    pub category: RiskCategory,
    /// Default THREAT.
    pub kind: Option<RiskKind>,
    /// 1..matrixSize.
    pub likelihood: i32,
    /// 1..matrixSize.
    pub impact: i32,
    /// Likelihood after treatment, 1..matrixSize; left out, the inherent one applies.
    pub residual_likelihood: Option<i32>,
    /// Impact after treatment, 1..matrixSize; left out, the inherent one applies.
    pub residual_impact: Option<i32>,
    /// ACCEPT above the domain's appetite needs acceptanceJustification, acceptedBy and
    /// acceptanceExpiresOn (ISO 27001 6.1.3 f). ACCEPT records the residual score accepted.
    pub treatment: Option<RiskTreatment>,
    /// Why the risk owner accepts the residual risk (ISO 27001 6.1.3 f); ACCEPT only.
    pub acceptance_justification: Option<String>,
    /// The risk owner, or yourself as an OWNER or MANAGER acting for them.
    pub accepted_by: Option<String>,
    /// Last day the acceptance holds (`YYYY-MM-DD`, not in the past); ACCEPT only.
    pub acceptance_expires_on: Option<Date>,
    /// Required unless the status is IDENTIFIED (ISO 27001 6.1.2 c 2).
    pub owner: Option<String>,
    /// Default IDENTIFIED.
    pub status: Option<RiskStatus>,
    /// Next planned review (`YYYY-MM-DD`).
    pub review_date: Option<Date>,
    /// A scope of the same organization.
    pub scope_id: Option<ID>,
    /// An AI system of the same organization.
    pub ai_system_id: Option<ID>,
}

/// Left out: unchanged; `null`: cleared. Acceptance details are kept while the treatment
/// stays ACCEPT and cleared when it changes. Choosing ACCEPT, or sending any acceptance
/// detail, records the acceptance again at the current residual score.
#[derive(InputObject)]
pub struct UpdateRiskInput {
    /// The risk to change.
    pub id: ID,
    /// The stable key in the organization's own register, unique per organization;
    /// `null` clears it.
    pub external_key: MaybeUndefined<String>,
    /// The `version` last read: refused with CONFLICT when the risk changed since.
    pub expected_version: Option<i32>,
    /// Short name: at most 300 characters.
    pub title: Option<String>,
    /// Free text, at most 20,000 characters; `null` clears it.
    pub description: MaybeUndefined<String>,
    /// Changes the domain (and the appetite that applies) with it.
    pub category: Option<RiskCategory>,
    /// THREAT or OPPORTUNITY.
    pub kind: Option<RiskKind>,
    /// Inherent likelihood, 1..matrixSize.
    pub likelihood: Option<i32>,
    /// Inherent impact, 1..matrixSize.
    pub impact: Option<i32>,
    /// 1..matrixSize; `null` falls back to the inherent likelihood.
    pub residual_likelihood: MaybeUndefined<i32>,
    /// 1..matrixSize; `null` falls back to the inherent impact.
    pub residual_impact: MaybeUndefined<i32>,
    /// Treatment option (ISO 27001 6.1.3 a); leaving ACCEPT clears the acceptance details.
    pub treatment: MaybeUndefined<RiskTreatment>,
    /// Why the risk owner accepts the residual risk (ISO 27001 6.1.3 f); ACCEPT only.
    pub acceptance_justification: MaybeUndefined<String>,
    /// The risk owner, or yourself as an OWNER or MANAGER acting for them; ACCEPT only.
    pub accepted_by: MaybeUndefined<String>,
    /// Last day the acceptance holds (`YYYY-MM-DD`, not in the past); ACCEPT only.
    pub acceptance_expires_on: MaybeUndefined<Date>,
    /// The risk owner; cannot be cleared once the status is past IDENTIFIED (ISO 27001
    /// 6.1.2 c 2).
    pub owner: MaybeUndefined<String>,
    /// Leaving IDENTIFIED needs an owner.
    pub status: Option<RiskStatus>,
    /// Next planned review (`YYYY-MM-DD`); `null` clears it.
    pub review_date: MaybeUndefined<Date>,
    /// A scope of the same organization; `null` detaches the risk.
    pub scope_id: MaybeUndefined<ID>,
    /// An AI system of the same organization; `null` detaches the risk.
    pub ai_system_id: MaybeUndefined<ID>,
}

/// Input of `deleteRisk`.
#[derive(InputObject)]
pub struct DeleteRiskInput {
    /// The risk to delete.
    pub id: ID,
}

/// Input of `linkRiskControl`.
#[derive(InputObject)]
pub struct LinkRiskControlInput {
    /// The risk to treat.
    pub risk_id: ID,
    /// An SoA row of either standard, in the risk's organization.
    pub control_id: ID,
}

/// Input of `unlinkRiskControl`.
#[derive(InputObject)]
pub struct UnlinkRiskControlInput {
    /// The risk.
    pub risk_id: ID,
    /// The SoA row to unlink from it.
    pub control_id: ID,
}

crate::mutations! {
    RiskMutation;
    /// Records a risk or opportunity in the register (ISO 27001 6.1.2; ISO 42001 6.1.2).
    create_risk(ctx, gate, actor, input: CreateRiskInput) -> CreateRiskPayload { risk: Risk } => {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        let scope_id = input.scope_id.as_ref().map(|i| ref_id(Kind::Scope, i, "scopeId")).transpose()?;
        let ai_system_id = input.ai_system_id.as_ref().map(|i| ref_id(Kind::AiSystem, i, "aiSystemId")).transpose()?;
        let Granted { model: (m, settings), access } = store::create_risk(gate, actor, org, store::NewRisk {
            title: &input.title,
            description: input.description.as_deref(),
            category: input.category.into(),
            kind: input.kind.map(Into::into),
            likelihood: input.likelihood,
            impact: input.impact,
            residual_likelihood: input.residual_likelihood,
            residual_impact: input.residual_impact,
            treatment: input.treatment.map(Into::into),
            acceptance_justification: input.acceptance_justification.as_deref(),
            accepted_by: input.accepted_by.as_deref(),
            acceptance_expires_on: input.acceptance_expires_on.map(|d| d.0),
            owner: input.owner.as_deref(),
            status: input.status.map(Into::into),
            review_date: input.review_date.map(|d| d.0),
            scope_id,
            ai_system_id,
            external_key: input.external_key.as_deref(),
        }).await?;
        Ok(CreateRiskPayload { risk: Risk::new(m, access, settings) })
    }
    /// Changes a risk: ratings, treatment and acceptance (ISO 27001 6.1.3), owner, status,
    /// scope or AI system.
    update_risk(ctx, gate, actor, input: UpdateRiskInput) -> UpdateRiskPayload { risk: Risk } => {
        let id = ids::expect(Kind::Risk, &input.id, "id")?;
        let changes = store::RiskChanges {
            expected_version: input.expected_version,
            title: input.title,
            description: change(input.description, |v| v),
            category: input.category.map(Into::into),
            kind: input.kind.map(Into::into),
            likelihood: input.likelihood,
            impact: input.impact,
            residual_likelihood: change(input.residual_likelihood, |v| v),
            residual_impact: change(input.residual_impact, |v| v),
            treatment: change(input.treatment, Into::into),
            acceptance_justification: change(input.acceptance_justification, |v| v),
            accepted_by: change(input.accepted_by, |v| v),
            acceptance_expires_on: change(input.acceptance_expires_on, |d| d.0),
            owner: change(input.owner, |v| v),
            status: input.status.map(Into::into),
            review_date: change(input.review_date, |d| d.0),
            scope_id: try_change(input.scope_id, |i| ref_id(Kind::Scope, &i, "scopeId"))?,
            ai_system_id: try_change(input.ai_system_id, |i| ref_id(Kind::AiSystem, &i, "aiSystemId"))?,
            external_key: change(input.external_key, |v| v),
        };
        let Granted { model: (m, settings), access } = store::update_risk(gate, actor, id, changes).await?;
        Ok(UpdateRiskPayload { risk: Risk::new(m, access, settings) })
    }
    /// Removes the risk with its control and assessment links.
    delete_risk(ctx, gate, actor, input: DeleteRiskInput) -> DeleteRiskPayload { deleted_id: ID } => {
        let id = ids::expect(Kind::Risk, &input.id, "id")?;
        let m = store::delete_risk(gate, actor, id).await?;
        Ok(DeleteRiskPayload { deleted_id: ID(ids::encode(Kind::Risk, m.model.id)) })
    }
    /// Treats the risk with an SoA row of either standard that is not EXCLUDED. Idempotent.
    link_risk_control(ctx, gate, actor, input: LinkRiskControlInput) -> LinkRiskControlPayload {
        risk: Risk,
        control: Control,
    } => {
        let risk_id = ids::expect(Kind::Risk, &input.risk_id, "riskId")?;
        let control_id = ref_id(Kind::Control, &input.control_id, "controlId")?;
        let Granted { model: l, access } = store::link_control(gate, actor, risk_id, control_id).await?;
        Ok(LinkRiskControlPayload {
            risk: Risk::new(l.risk, access, l.settings),
            control: Control::new(l.control, access),
        })
    }
    /// Removes a link. Idempotent.
    unlink_risk_control(ctx, gate, actor, input: UnlinkRiskControlInput) -> UnlinkRiskControlPayload {
        risk: Risk,
        control: Control,
    } => {
        let risk_id = ids::expect(Kind::Risk, &input.risk_id, "riskId")?;
        let control_id = ref_id(Kind::Control, &input.control_id, "controlId")?;
        let Granted { model: l, access } = store::unlink_control(gate, actor, risk_id, control_id).await?;
        Ok(UnlinkRiskControlPayload {
            risk: Risk::new(l.risk, access, l.settings),
            control: Control::new(l.control, access),
        })
    }
}

/// `node(id)` for a risk.
pub async fn risk_node(gate: &Gate, actor: &Actor, id: Uuid) -> AppResult<Risk> {
    let (r, m) = gate.locate::<risk::Entity>(actor, id, Operation::ReadRisks).await?;
    let settings = store::settings(&r).await?;
    Ok(Risk::new(m, r.access(), settings))
}
