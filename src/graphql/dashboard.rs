//! `organization { dashboard }` and `portfolio`: aggregates for dashboards and consultancy
//! portals. Every figure is a grouped SQL aggregate, loaded through a DataLoader keyed by
//! organization, so a page of 50 organizations costs one statement per figure.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use uuid::Uuid;

use crate::entity::organization;

use crate::auth::Operation;
use crate::domain::dashboard::{AgingBucket as DAgingBucket, heat_map, percent};
use crate::domain::ncr::NcrStatus;
use crate::domain::risk::{RiskDomain as DRiskDomain, RiskLevel as DRiskLevel, RiskSettings as DRiskSettings};
use crate::domain::soa::{ControlDecision, ImplementationStatus};
use crate::graphql::audit::Audit;
use crate::graphql::catalog::StandardCode;
use crate::graphql::certification::Certification;
use crate::graphql::context::ContextExt;
use crate::graphql::limits;
use crate::graphql::ncr::NonconformityStatus;
use crate::graphql::org::Organization;
use crate::graphql::risk::{RiskDomain, RiskLevel};
use crate::graphql::soa::{Readiness, readiness_by_org};
use crate::store::dashboard::{self as store, RiskScoreCount, SoaCount};
use crate::store::tenancy::{MultiReader, now};
use tokio::sync::OnceCell;

/// A certification in force and the audits of its cycle.
type CycleRows = (crate::entity::certification::Model, Vec<crate::entity::audit::Model>);

/// Days ahead the dashboard looks for expiring certificates and audits due.
const CERTIFICATION_HORIZON_DAYS: u64 = 90;

/// Risks per (likelihood, impact) cell, per organization.
type HeatCounts = HashMap<Uuid, Vec<(i32, i32, u64)>>;

/// The dashboard figures of a set of organizations (a page of `organizations`, a
/// portfolio, or a single organization), each computed once for all of them with one
/// grouped statement, on first use.
pub struct DashboardBatch {
    orgs: Vec<Uuid>,
    soa: OnceCell<HashMap<Uuid, Vec<SoaCount>>>,
    ncr_status: OnceCell<HashMap<Uuid, Vec<(NcrStatus, u64)>>>,
    ncr_aging: OnceCell<HashMap<Uuid, [u64; 4]>>,
    overdue: OnceCell<HashMap<Uuid, u64>>,
    readiness: OnceCell<HashMap<Uuid, Vec<Readiness>>>,
    upcoming: OnceCell<HashMap<Uuid, Vec<crate::entity::audit::Model>>>,
    certifications: OnceCell<HashMap<Uuid, Vec<CycleRows>>>,
    settings: OnceCell<HashMap<Uuid, DRiskSettings>>,
    risk_scores: OnceCell<HashMap<Uuid, Vec<RiskScoreCount>>>,
    heat_inherent: OnceCell<HeatCounts>,
    heat_residual: OnceCell<HeatCounts>,
    ai_missing: OnceCell<HashMap<Uuid, u64>>,
    reassessment_due: OnceCell<HashMap<Uuid, u64>>,
    // issue 16
    tasks_due: OnceCell<HashMap<Uuid, (u64, u64)>>,
    // issue 15
    incidents_open: OnceCell<HashMap<Uuid, Vec<OpenIncidentCount>>>,
    incident_times: OnceCell<HashMap<Uuid, crate::store::incident::MeanTimes>>,
    supplier_counts: OnceCell<HashMap<Uuid, (u64, u64)>>,
    // issue 13
    documents_due: OnceCell<HashMap<Uuid, u64>>,
    // issue 14
    objective_status: OnceCell<HashMap<Uuid, Vec<(crate::domain::objective::ObjectiveStatus, u64)>>>,
    // issue 15: the management review
    reviews: OnceCell<ReviewRows>,
}

impl DashboardBatch {
    pub fn new(orgs: Vec<Uuid>) -> Arc<Self> {
        Arc::new(Self {
            orgs,
            soa: OnceCell::new(),
            ncr_status: OnceCell::new(),
            ncr_aging: OnceCell::new(),
            overdue: OnceCell::new(),
            readiness: OnceCell::new(),
            upcoming: OnceCell::new(),
            certifications: OnceCell::new(),
            settings: OnceCell::new(),
            risk_scores: OnceCell::new(),
            heat_inherent: OnceCell::new(),
            heat_residual: OnceCell::new(),
            ai_missing: OnceCell::new(),
            reassessment_due: OnceCell::new(),
            tasks_due: OnceCell::new(),
            incidents_open: OnceCell::new(),
            incident_times: OnceCell::new(),
            supplier_counts: OnceCell::new(),
            // issue 13
            documents_due: OnceCell::new(),
            objective_status: OnceCell::new(),
            reviews: OnceCell::new(),
        })
    }

    /// A batch over organizations whose rows are already read: their risk settings come
    /// from those rows, not from another statement.
    pub fn of_models<'m>(models: impl IntoIterator<Item = &'m organization::Model>) -> Result<Arc<Self>> {
        let mut settings = HashMap::new();
        let mut orgs = Vec::new();
        for m in models {
            orgs.push(m.id);
            settings.insert(m.id, crate::store::risk::settings_of_model(m)?);
        }
        let batch = Self::new(orgs);
        let _ = batch.settings.set(settings);
        Ok(batch)
    }

    pub fn contains(&self, org: Uuid) -> bool {
        self.orgs.contains(&org)
    }

    async fn reader(&self, ctx: &Context<'_>) -> Result<MultiReader> {
        let (gate, actor) = (ctx.gate()?, ctx.actor()?);
        Ok(gate.read_many(actor, &self.orgs, Operation::ReadDashboard).await?)
    }

    async fn soa(&self, ctx: &Context<'_>) -> Result<&HashMap<Uuid, Vec<SoaCount>>> {
        self.soa.get_or_try_init(|| async { Ok(store::soa_counts(&self.reader(ctx).await?).await?) }).await
    }

    async fn ncr_status(&self, ctx: &Context<'_>) -> Result<&HashMap<Uuid, Vec<(NcrStatus, u64)>>> {
        self.ncr_status
            .get_or_try_init(|| async { Ok(store::nonconformities_by_status(&self.reader(ctx).await?).await?) })
            .await
    }

    async fn ncr_aging(&self, ctx: &Context<'_>) -> Result<&HashMap<Uuid, [u64; 4]>> {
        self.ncr_aging
            .get_or_try_init(|| async { Ok(store::nonconformity_aging(&self.reader(ctx).await?, now()).await?) })
            .await
    }

    async fn overdue(&self, ctx: &Context<'_>) -> Result<&HashMap<Uuid, u64>> {
        self.overdue
            .get_or_try_init(|| async {
                Ok(store::overdue_corrective_actions(&self.reader(ctx).await?, now().date_naive()).await?)
            })
            .await
    }

    async fn upcoming(&self, ctx: &Context<'_>) -> Result<&HashMap<Uuid, Vec<crate::entity::audit::Model>>> {
        self.upcoming
            .get_or_try_init(|| async {
                // Only organizations where the caller may read audits (others are left out).
                let (gate, actor) = (ctx.gate()?, ctx.actor()?);
                let reader = gate.read_many(actor, &self.orgs, Operation::ReadAudits).await?;
                Ok(store::upcoming_audits(&reader, now().date_naive(), 90).await?)
            })
            .await
    }

    /// Certifications in force with the audits of their cycles, of the organizations where
    /// the caller may read certifications (the others are left out).
    async fn certifications(&self, ctx: &Context<'_>) -> Result<&HashMap<Uuid, Vec<CycleRows>>> {
        self.certifications
            .get_or_try_init(|| async {
                let (gate, actor) = (ctx.gate()?, ctx.actor()?);
                let reader = gate.read_many(actor, &self.orgs, Operation::ReadCertifications).await?;
                Ok(crate::store::certification::in_force(&reader, now().date_naive()).await?)
            })
            .await
    }

    async fn settings(&self, ctx: &Context<'_>, org: Uuid) -> Result<DRiskSettings> {
        let all = self
            .settings
            .get_or_try_init(|| async {
                Ok::<_, async_graphql::Error>(crate::store::risk::settings_many(&self.reader(ctx).await?).await?)
            })
            .await?;
        Ok(all.get(&org).cloned().unwrap_or_default())
    }

    async fn risk_scores(&self, ctx: &Context<'_>) -> Result<&HashMap<Uuid, Vec<RiskScoreCount>>> {
        self.risk_scores
            .get_or_try_init(|| async {
                Ok(store::risk_score_counts(&self.reader(ctx).await?, now().date_naive()).await?)
            })
            .await
    }

    async fn heat(&self, ctx: &Context<'_>, residual: bool) -> Result<&HeatCounts> {
        let cell = if residual { &self.heat_residual } else { &self.heat_inherent };
        cell.get_or_try_init(|| async { Ok(store::risk_heat_map(&self.reader(ctx).await?, residual).await?) }).await
    }

    async fn ai_missing(&self, ctx: &Context<'_>) -> Result<&HashMap<Uuid, u64>> {
        self.ai_missing
            .get_or_try_init(|| async { Ok(store::ai_systems_without_assessment(&self.reader(ctx).await?).await?) })
            .await
    }

    async fn reassessment_due(&self, ctx: &Context<'_>) -> Result<&HashMap<Uuid, u64>> {
        self.reassessment_due
            .get_or_try_init(|| async {
                Ok(store::impact_assessments_due(&self.reader(ctx).await?, now().date_naive()).await?)
            })
            .await
    }

    // issue 13
    async fn documents_due(&self, ctx: &Context<'_>) -> Result<&HashMap<Uuid, u64>> {
        self.documents_due
            .get_or_try_init(|| async {
                Ok(store::documents_due_for_review(&self.reader(ctx).await?, now().date_naive()).await?)
            })
            .await
    }

    /// Appetite breaches of `org`: open risks above their domain's appetite that are not
    /// validly accepted.
    async fn breaches(&self, ctx: &Context<'_>, org: Uuid) -> Result<u64> {
        let settings = self.settings(ctx, org).await?;
        let rows = self.risk_scores(ctx).await?.get(&org).cloned().unwrap_or_default();
        Ok(rows.iter().filter_map(|r| settings.exceeds_appetite(r.domain, r.score).then_some(r.total - r.exempt)).sum())
    }

    async fn readiness(&self, ctx: &Context<'_>) -> Result<&HashMap<Uuid, Vec<Readiness>>> {
        self.readiness.get_or_try_init(|| async { Ok(readiness_by_org(&self.reader(ctx).await?).await?) }).await
    }

    // issue 16
    /// OPEN tasks (overdue, due soon) of the organizations where the caller may read tasks.
    async fn tasks_due(&self, ctx: &Context<'_>) -> Result<&HashMap<Uuid, (u64, u64)>> {
        self.tasks_due
            .get_or_try_init(|| async {
                let (gate, actor) = (ctx.gate()?, ctx.actor()?);
                let reader = gate.read_many(actor, &self.orgs, Operation::ReadTasks).await?;
                Ok(crate::store::task::due_counts(&reader, now().date_naive()).await?)
            })
            .await
    }

    // issue 15

    async fn incidents_open(&self, ctx: &Context<'_>) -> Result<&HashMap<Uuid, Vec<OpenIncidentCount>>> {
        self.incidents_open
            .get_or_try_init(|| async { Ok(crate::store::incident::open_counts(&self.reader(ctx).await?).await?) })
            .await
    }

    async fn incident_times(&self, ctx: &Context<'_>) -> Result<&HashMap<Uuid, crate::store::incident::MeanTimes>> {
        self.incident_times
            .get_or_try_init(|| async {
                let since = now() - chrono::Duration::days(INCIDENT_WINDOW_DAYS);
                Ok(crate::store::incident::mean_times(&self.reader(ctx).await?, since).await?)
            })
            .await
    }

    /// (overdue assessments, AI suppliers without an approved assessment) per organization.
    async fn supplier_counts(&self, ctx: &Context<'_>, org: Uuid) -> Result<(u64, u64)> {
        let all = self
            .supplier_counts
            .get_or_try_init(|| async {
                Ok::<_, async_graphql::Error>(
                    crate::store::supplier::dashboard_counts(&self.reader(ctx).await?, now().date_naive()).await?,
                )
            })
            .await?;
        Ok(all.get(&org).copied().unwrap_or_default())
    }
}

/// Open incidents of one (severity, kind), per organization.
type OpenIncidentCount = (crate::domain::incident::IncidentSeverity, crate::domain::incident::IncidentKind, u64);

/// Days back the dashboard's mean times to contain and resolve look.
const INCIDENT_WINDOW_DAYS: i64 = 90;

/// Open incidents of one severity.
#[derive(SimpleObject, Clone)]
pub struct IncidentSeverityCount {
    /// The severity.
    pub severity: crate::graphql::incident::IncidentSeverity,
    /// Incidents of the severity not yet RESOLVED.
    pub count: i32,
}

/// Open incidents of one kind.
#[derive(SimpleObject, Clone)]
pub struct IncidentKindCount {
    /// The kind.
    pub kind: crate::graphql::incident::IncidentKind,
    /// Incidents of the kind not yet RESOLVED.
    pub count: i32,
}

fn hours(seconds: Option<f64>) -> Option<f64> {
    seconds.map(|s| (s / 360.0).round() / 10.0)
}

impl DashboardBatch {
    // issue 14
    async fn objective_status(
        &self,
        ctx: &Context<'_>,
    ) -> Result<&HashMap<Uuid, Vec<(crate::domain::objective::ObjectiveStatus, u64)>>> {
        self.objective_status
            .get_or_try_init(|| async {
                Ok(crate::store::objective::status_counts(&self.reader(ctx).await?, now().date_naive()).await?)
            })
            .await
    }
}

/// How long a nonconformity has been open, in whole days.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::dashboard::AgingBucket")]
pub enum AgingBucket {
    /// 0-30 days open.
    Days0To30,
    /// 31-90 days open.
    Days31To90,
    /// 91-180 days open.
    Days91To180,
    /// 181 days open or more.
    Over180,
}

/// Open nonconformities in one aging bucket.
#[derive(SimpleObject, Clone)]
pub struct AgingCount {
    /// The bucket.
    pub bucket: AgingBucket,
    /// `0-30`, `31-90`, `91-180`, `180+` (days open).
    pub label: String,
    /// Open nonconformities in the bucket.
    pub count: i32,
}

/// One likelihood × impact cell of the risk heat map.
#[derive(SimpleObject, Clone)]
pub struct HeatCell {
    /// 1..matrixSize.
    pub likelihood: i32,
    /// 1..matrixSize.
    pub impact: i32,
    /// Open threats in the cell.
    pub count: i32,
    /// The level of the cell's score under the settings in force.
    pub level: RiskLevel,
}

/// Open risks of one domain.
#[derive(SimpleObject, Clone)]
pub struct DomainCount {
    /// The domain.
    pub domain: RiskDomain,
    /// Open (not CLOSED) risks of the domain.
    pub count: i32,
}

/// Open risks of one level.
#[derive(SimpleObject, Clone)]
pub struct LevelCount {
    /// The level.
    pub level: RiskLevel,
    /// Open (not CLOSED) risks whose effective score has the level.
    pub count: i32,
}

/// Nonconformities in one status.
#[derive(SimpleObject, Clone)]
pub struct StatusCount {
    /// The status.
    pub status: NonconformityStatus,
    /// Nonconformities in the status.
    pub count: i32,
}

/// SoA implementation figures of one standard or one Annex A group. UNDECIDED rows count
/// as not done: they are in `applicable` and `undecided`, never in a status figure.
#[derive(SimpleObject, Clone, Default)]
pub struct CoverageFigures {
    /// Rows not excluded: `undecided + implemented + partial + planned + notStarted`.
    pub applicable: i32,
    /// Rows with no SoA decision yet (ISO 27001 6.1.3 d).
    pub undecided: i32,
    /// Rows EXCLUDED from the SoA (not in `applicable`).
    pub excluded: i32,
    /// INCLUDED rows by implementation status.
    pub implemented: i32,
    /// INCLUDED rows PARTIAL.
    pub partial: i32,
    /// INCLUDED rows PLANNED.
    pub planned: i32,
    /// INCLUDED rows NOT_STARTED.
    pub not_started: i32,
    /// implemented / applicable, in percent.
    pub percent_implemented: f64,
}

impl CoverageFigures {
    fn add(&mut self, c: &SoaCount) {
        let n = c.count as i32;
        match c.decision {
            ControlDecision::Excluded => {
                self.excluded += n;
                return;
            }
            ControlDecision::Undecided => {
                self.applicable += n;
                self.undecided += n;
                return;
            }
            ControlDecision::Included => self.applicable += n,
        }
        match c.status {
            ImplementationStatus::Implemented => self.implemented += n,
            ImplementationStatus::Partial => self.partial += n,
            ImplementationStatus::Planned => self.planned += n,
            ImplementationStatus::NotStarted => self.not_started += n,
        }
    }

    fn finish(&mut self) {
        self.percent_implemented = percent(self.implemented as u64, self.applicable as u64);
    }
}

/// SoA implementation figures of one Annex A group, or of `CUSTOM`.
#[derive(SimpleObject, Clone)]
pub struct GroupCoverage {
    /// Group ref, e.g. `A.5`, or `CUSTOM`.
    pub group_ref: String,
    /// Group title.
    pub group: String,
    #[graphql(flatten)]
    pub figures: CoverageFigures,
}

/// SoA implementation figures of one standard, with its groups.
#[derive(SimpleObject, Clone)]
pub struct SoaCoverage {
    /// The standard.
    pub standard: StandardCode,
    #[graphql(flatten)]
    pub figures: CoverageFigures,
    /// The Annex A groups and `CUSTOM` (at most 11).
    #[graphql(complexity = "limits::SOA_GROUPS * child_complexity")]
    pub groups: Vec<GroupCoverage>,
}

fn soa_coverage(counts: &[SoaCount]) -> Result<Vec<SoaCoverage>> {
    let mut out: Vec<SoaCoverage> = Vec::new();
    for code in [StandardCode::Iso27001, StandardCode::Iso42001] {
        let mut cov = SoaCoverage { standard: code, figures: CoverageFigures::default(), groups: Vec::new() };
        let mut rows: Vec<&SoaCount> = counts.iter().filter(|c| c.standard == code.into()).collect();
        rows.sort_by_key(|c| group_order(&c.group_ref));
        for c in rows {
            cov.figures.add(c);
            match cov.groups.iter_mut().find(|g| g.group_ref == c.group_ref) {
                Some(g) => g.figures.add(c),
                None => {
                    let mut figures = CoverageFigures::default();
                    figures.add(c);
                    cov.groups.push(GroupCoverage {
                        group_ref: c.group_ref.clone(),
                        group: c.group_title.clone(),
                        figures,
                    });
                }
            }
        }
        cov.figures.finish();
        for g in &mut cov.groups {
            g.figures.finish();
        }
        out.push(cov);
    }
    Ok(out)
}

/// `A.5` < `A.10` < `CUSTOM`.
fn group_order(group_ref: &str) -> (u32, String) {
    match group_ref.strip_prefix("A.").and_then(|n| n.parse::<u32>().ok()) {
        Some(n) => (n, String::new()),
        None => (u32::MAX, group_ref.to_string()),
    }
}

/// One organization's dashboard.
pub struct Dashboard {
    pub org: Uuid,
    pub batch: Arc<DashboardBatch>,
}

/// One organization's dashboard figures (every member role).
#[Object]
impl Dashboard {
    /// SoA implementation per standard, with a breakdown per Annex A group.
    #[graphql(complexity = "limits::STANDARDS * child_complexity")]
    async fn soa_coverage(&self, ctx: &Context<'_>) -> Result<Vec<SoaCoverage>> {
        soa_coverage(self.batch.soa(ctx).await?.get(&self.org).map(Vec::as_slice).unwrap_or_default())
    }

    /// Nonconformities not CLOSED.
    async fn open_nonconformities(&self, ctx: &Context<'_>) -> Result<i32> {
        let rows = self.batch.ncr_status(ctx).await?.get(&self.org);
        Ok(rows.into_iter().flatten().filter(|(s, _)| *s != NcrStatus::Closed).map(|(_, n)| *n as i32).sum())
    }

    #[graphql(complexity = "limits::NCR_STATUSES * child_complexity")]
    /// Nonconformities per status, every status present.
    async fn nonconformities_by_status(&self, ctx: &Context<'_>) -> Result<Vec<StatusCount>> {
        let rows = self.batch.ncr_status(ctx).await?.get(&self.org).cloned().unwrap_or_default();
        Ok(NcrStatus::ALL
            .iter()
            .map(|s| StatusCount {
                status: (*s).into(),
                count: rows.iter().find(|(r, _)| r == s).map(|(_, n)| *n as i32).unwrap_or(0),
            })
            .collect())
    }

    /// Open nonconformities by whole days open: 0-30, 31-90, 91-180, 180+.
    #[graphql(complexity = "limits::AGING_BUCKETS * child_complexity")]
    async fn nonconformity_aging(&self, ctx: &Context<'_>) -> Result<Vec<AgingCount>> {
        let counts = self.batch.ncr_aging(ctx).await?.get(&self.org).copied().unwrap_or_default();
        Ok(DAgingBucket::ALL
            .iter()
            .zip(counts)
            .map(|(b, n)| AgingCount { bucket: (*b).into(), label: b.label().to_string(), count: n as i32 })
            .collect())
    }

    /// Corrective actions past their due date and not DONE or CANCELLED.
    async fn overdue_corrective_actions(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(self.batch.overdue(ctx).await?.get(&self.org).copied().unwrap_or_default() as i32)
    }

    /// Open risks per likelihood × impact cell, every cell of the organization's matrix
    /// present (zeros included). `residual: true` uses residual ratings (each falling back
    /// to its inherent one).
    #[graphql(complexity = "limits::HEAT_CELLS * child_complexity")]
    async fn risk_heat_map(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false, desc = "`true`: residual ratings; `false` (default): inherent ratings.")]
        residual: bool,
    ) -> Result<Vec<HeatCell>> {
        let settings = self.batch.settings(ctx, self.org).await?;
        let counts = self.batch.heat(ctx, residual).await?.get(&self.org).cloned().unwrap_or_default();
        Ok(heat_map(settings.matrix.get(), |l, i| {
            counts.iter().filter(|(cl, ci, _)| *cl == l && *ci == i).map(|(_, _, n)| *n).sum()
        })
        .into_iter()
        .map(|(likelihood, impact, count)| HeatCell {
            likelihood,
            impact,
            count: count as i32,
            level: settings.level(likelihood * impact).into(),
        })
        .collect())
    }

    /// Open risks per domain (every domain present).
    #[graphql(complexity = "limits::RISK_DOMAINS * child_complexity")]
    async fn risks_by_domain(&self, ctx: &Context<'_>) -> Result<Vec<DomainCount>> {
        let rows = self.batch.risk_scores(ctx).await?.get(&self.org).cloned().unwrap_or_default();
        Ok(DRiskDomain::ALL
            .iter()
            .map(|d| DomainCount {
                domain: (*d).into(),
                count: rows.iter().filter(|r| r.domain == *d).map(|r| r.total as i32).sum(),
            })
            .collect())
    }

    /// Open risks per level of their effective (residual, else inherent) score under the
    /// settings in force (every level present).
    #[graphql(complexity = "limits::RISK_LEVELS * child_complexity")]
    async fn risks_by_level(&self, ctx: &Context<'_>) -> Result<Vec<LevelCount>> {
        let settings = self.batch.settings(ctx, self.org).await?;
        let rows = self.batch.risk_scores(ctx).await?.get(&self.org).cloned().unwrap_or_default();
        Ok(DRiskLevel::ALL
            .iter()
            .map(|l| LevelCount {
                level: (*l).into(),
                count: rows.iter().filter(|r| settings.level(r.score) == *l).map(|r| r.total as i32).sum(),
            })
            .collect())
    }

    /// Open risks above their domain's appetite that are not validly accepted (an expired
    /// acceptance counts again).
    async fn appetite_breaches(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(self.batch.breaches(ctx, self.org).await? as i32)
    }

    /// AI systems in VALIDATION or DEPLOYED with no APPROVED impact assessment (ISO 42001
    /// 6.1.4, 8.4; `aiSystems(filter: {impactAssessmentMissing: true})` lists them).
    async fn ai_systems_without_impact_assessment(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(self.batch.ai_missing(ctx).await?.get(&self.org).copied().unwrap_or_default() as i32)
    }

    /// APPROVED impact assessments due for reassessment: review date passed, or the AI
    /// system's purpose, data categories or lifecycle stage changed after approval (ISO
    /// 42001 8.4; `impactAssessments(filter: {reassessmentDue: true})` lists them).
    async fn impact_assessments_due_for_reassessment(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(self.batch.reassessment_due(ctx).await?.get(&self.org).copied().unwrap_or_default() as i32)
    }

    /// PLANNED or IN_PROGRESS audits starting within the next 90 days (today included),
    /// soonest first (at most 20).
    #[graphql(complexity = "limits::UPCOMING_AUDITS * child_complexity")]
    async fn upcoming_audits(&self, ctx: &Context<'_>) -> Result<Vec<Audit>> {
        let rows = self.batch.upcoming(ctx).await?.get(&self.org).cloned().unwrap_or_default();
        let access = ctx.gate()?.access_of(ctx.actor()?, self.org).await?;
        Ok(limits::bounded(rows, limits::UPCOMING_AUDITS).into_iter().map(|m| Audit::new(m, access)).collect())
    }

    /// ACTIVE or SUSPENDED certifications whose `expiresOn` lies within the next 90 days
    /// (today included), soonest first (at most 20); empty for roles that may not read
    /// certifications.
    #[graphql(complexity = "limits::DUE_CERTIFICATIONS * child_complexity")]
    async fn expiring_certifications(&self, ctx: &Context<'_>) -> Result<Vec<Certification>> {
        let today = now().date_naive();
        let until = today + chrono::Days::new(CERTIFICATION_HORIZON_DAYS);
        let rows = self.batch.certifications(ctx).await?.get(&self.org).cloned().unwrap_or_default();
        let access = ctx.gate()?.access_of(ctx.actor()?, self.org).await?;
        let expiring = rows.into_iter().filter(|(c, _)| c.expires_on <= until).map(|(c, _)| c);
        Ok(limits::bounded(expiring.collect(), limits::DUE_CERTIFICATIONS)
            .into_iter()
            .map(|m| Certification::new(m, access))
            .collect())
    }

    /// Certifications in force whose next audit (`nextSurveillanceDue`: surveillance, or
    /// recertification in the last year) is due within the next 90 days or overdue,
    /// soonest first (at most 20); empty for roles that may not read certifications.
    #[graphql(complexity = "limits::DUE_CERTIFICATIONS * child_complexity")]
    async fn surveillance_due(&self, ctx: &Context<'_>) -> Result<Vec<Certification>> {
        let today = now().date_naive();
        let until = today + chrono::Days::new(CERTIFICATION_HORIZON_DAYS);
        let rows = self.batch.certifications(ctx).await?.get(&self.org).cloned().unwrap_or_default();
        let access = ctx.gate()?.access_of(ctx.actor()?, self.org).await?;
        let mut due: Vec<(chrono::NaiveDate, crate::entity::certification::Model)> = rows
            .into_iter()
            .filter_map(|(c, audits)| {
                let next = crate::store::certification::next_audit_due(&c, &audits, today)?;
                (next.due_on <= until).then_some((next.due_on, c))
            })
            .collect();
        due.sort_by_key(|a| (a.0, a.1.id));
        Ok(limits::bounded(due, limits::DUE_CERTIFICATIONS)
            .into_iter()
            .map(|(_, m)| Certification::new(m, access))
            .collect())
    }

    /// Certification readiness per standard.
    #[graphql(complexity = "limits::STANDARDS * child_complexity")]
    async fn readiness(&self, ctx: &Context<'_>) -> Result<Vec<Readiness>> {
        self.readiness_of(ctx).await
    }

    // issue 16
    /// OPEN tasks due before today (UTC); 0 for roles that may not read tasks.
    async fn overdue_tasks(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(self.batch.tasks_due(ctx).await?.get(&self.org).map_or(0, |c| c.0 as i32))
    }

    /// OPEN tasks due today or within the next 7 days; 0 for roles that may not read tasks.
    async fn tasks_due_soon(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(self.batch.tasks_due(ctx).await?.get(&self.org).map_or(0, |c| c.1 as i32))
    }

    // issue 15

    /// Incidents not yet RESOLVED (REPORTED, TRIAGED or CONTAINED).
    async fn open_incidents(&self, ctx: &Context<'_>) -> Result<i32> {
        let rows = self.batch.incidents_open(ctx).await?.get(&self.org);
        Ok(rows.into_iter().flatten().map(|(_, _, n)| *n as i32).sum())
    }

    /// Incidents not yet RESOLVED per severity (every severity present).
    #[graphql(complexity = "limits::INCIDENT_SEVERITIES * child_complexity")]
    async fn open_incidents_by_severity(&self, ctx: &Context<'_>) -> Result<Vec<IncidentSeverityCount>> {
        let rows = self.batch.incidents_open(ctx).await?.get(&self.org).cloned().unwrap_or_default();
        Ok(crate::domain::incident::IncidentSeverity::ALL
            .iter()
            .map(|s| IncidentSeverityCount {
                severity: (*s).into(),
                count: rows.iter().filter(|r| r.0 == *s).map(|r| r.2 as i32).sum(),
            })
            .collect())
    }

    /// Incidents not yet RESOLVED per kind (every kind present).
    #[graphql(complexity = "limits::INCIDENT_KINDS * child_complexity")]
    async fn open_incidents_by_kind(&self, ctx: &Context<'_>) -> Result<Vec<IncidentKindCount>> {
        let rows = self.batch.incidents_open(ctx).await?.get(&self.org).cloned().unwrap_or_default();
        Ok(crate::domain::incident::IncidentKind::ALL
            .iter()
            .map(|k| IncidentKindCount {
                kind: (*k).into(),
                count: rows.iter().filter(|r| r.1 == *k).map(|r| r.2 as i32).sum(),
            })
            .collect())
    }

    /// Mean hours (one decimal) from `detectedAt` to `containedAt` over the incidents
    /// contained in the last 90 days; `null` when none was.
    async fn mean_hours_to_contain(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        Ok(hours(self.batch.incident_times(ctx).await?.get(&self.org).and_then(|t| t.to_contain)))
    }

    /// Mean hours (one decimal) from `detectedAt` to `resolvedAt` over the incidents
    /// resolved in the last 90 days; `null` when none was.
    async fn mean_hours_to_resolve(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        Ok(hours(self.batch.incident_times(ctx).await?.get(&self.org).and_then(|t| t.to_resolve)))
    }

    /// Suppliers (not OFFBOARDED) whose next assessment is overdue: the latest
    /// assessment's `nextReviewOn` has passed (ISO 27001 A.5.22).
    async fn supplier_assessments_overdue(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(self.batch.supplier_counts(ctx, self.org).await?.0 as i32)
    }

    /// Suppliers providing AI (not OFFBOARDED) whose latest assessment is missing or not
    /// APPROVED (ISO 42001 A.10.3).
    async fn ai_suppliers_without_approved_assessment(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(self.batch.supplier_counts(ctx, self.org).await?.1 as i32)
    }

    // issue 13
    /// Documents whose review is overdue: `nextReviewOn` strictly before today (UTC), not
    /// RETIRED (7.5.2; `documents(filter: {reviewOverdue: true})` lists them); 0 for roles
    /// that may not read documents.
    async fn documents_due_for_review(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(self.batch.documents_due(ctx).await?.get(&self.org).copied().unwrap_or_default() as i32)
    }

    // issue 14
    /// Objectives per derived status (ISO 27001 / 42001 6.2, 9.1), every status present.
    #[graphql(complexity = "limits::OBJECTIVE_STATUSES * child_complexity")]
    async fn objectives(&self, ctx: &Context<'_>) -> Result<Vec<ObjectiveStatusCount>> {
        let rows = self.batch.objective_status(ctx).await?.get(&self.org).cloned().unwrap_or_default();
        Ok(crate::domain::objective::ObjectiveStatus::ALL
            .iter()
            .map(|s| ObjectiveStatusCount {
                status: (*s).into(),
                count: rows.iter().filter(|(r, _)| r == s).map(|(_, n)| *n as i32).sum(),
            })
            .collect())
    }

    /// Objectives OFF_TRACK.
    async fn objectives_off_track(&self, ctx: &Context<'_>) -> Result<i32> {
        let rows = self.batch.objective_status(ctx).await?.get(&self.org);
        Ok(rows
            .into_iter()
            .flatten()
            .filter(|(s, _)| *s == crate::domain::objective::ObjectiveStatus::OffTrack)
            .map(|(_, n)| *n as i32)
            .sum())
    }

    // issue 15: the management review
    /// When the last management review was held, the next planned one, and the decisions
    /// still OPEN (ISO 27001 / 42001 9.3); empty figures for roles that may not read
    /// management reviews.
    async fn management_review(&self, ctx: &Context<'_>) -> Result<ManagementReviewFigures> {
        let (days, decisions) = self.batch.reviews(ctx).await?;
        let d = days.get(&self.org).copied().unwrap_or_default();
        let (open, overdue) = decisions.get(&self.org).copied().unwrap_or_default();
        Ok(ManagementReviewFigures {
            last_held_on: d.last_held_on.map(crate::graphql::scalars::Date),
            next_planned_on: d.next_planned_on.map(crate::graphql::scalars::Date),
            open_decisions: open as i32,
            overdue_decisions: overdue as i32,
        })
    }
}

impl Dashboard {
    pub async fn readiness_of(&self, ctx: &Context<'_>) -> Result<Vec<Readiness>> {
        Ok(self.batch.readiness(ctx).await?.get(&self.org).cloned().unwrap_or_default())
    }
}

pub async fn organization_dashboard(ctx: &Context<'_>, org: &Organization) -> Result<Dashboard> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    gate.read(actor, org.model.id, Operation::ReadDashboard).await?;
    let batch = match &org.batch {
        Some(b) if b.contains(org.model.id) => b.clone(),
        _ => DashboardBatch::of_models([org.model.as_ref()])?,
    };
    Ok(Dashboard { org: org.model.id, batch })
}

/// The organization and standard with the lowest readiness.
#[derive(SimpleObject, Clone)]
pub struct LowestReadiness {
    /// The organization.
    pub organization: Organization,
    /// The standard.
    pub standard: StandardCode,
    /// Its readiness: percent, 0-100, one decimal.
    pub percent: f64,
}

/// Figures across every organization the caller may see.
pub struct Portfolio {
    orgs: Vec<Organization>,
    batch: Arc<DashboardBatch>,
}

/// Figures across every organization the caller may see.
#[Object]
impl Portfolio {
    /// How many organizations the caller may see.
    async fn organizations(&self) -> i32 {
        self.orgs.len() as i32
    }

    /// Appetite breaches summed over the organizations (see `Dashboard.appetiteBreaches`).
    async fn total_appetite_breaches(&self, ctx: &Context<'_>) -> Result<i32> {
        let mut total = 0;
        for org in &self.orgs {
            total += self.batch.breaches(ctx, org.model.id).await?;
        }
        Ok(total as i32)
    }

    /// Nonconformities not CLOSED, summed over the organizations.
    async fn total_open_nonconformities(&self, ctx: &Context<'_>) -> Result<i32> {
        let all = self.batch.ncr_status(ctx).await?;
        Ok(all.values().flatten().filter(|(s, _)| *s != NcrStatus::Closed).map(|(_, n)| *n as i32).sum())
    }

    /// The organization and standard furthest from certification.
    async fn lowest_readiness(&self, ctx: &Context<'_>) -> Result<Option<LowestReadiness>> {
        let all = self.batch.readiness(ctx).await?;
        let mut lowest: Option<LowestReadiness> = None;
        for org in &self.orgs {
            for r in all.get(&org.model.id).into_iter().flatten() {
                if lowest.as_ref().is_none_or(|l| r.percent < l.percent) {
                    lowest =
                        Some(LowestReadiness { organization: org.clone(), standard: r.standard, percent: r.percent });
                }
            }
        }
        Ok(lowest)
    }
}

pub async fn portfolio(ctx: &Context<'_>) -> Result<Portfolio> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let orgs = crate::store::org::all_visible(gate, actor).await?;
    let mut out = Vec::with_capacity(orgs.len());
    for m in orgs {
        let access = gate.access_of(actor, m.id).await?;
        out.push(Organization::new(m, access));
    }
    let batch = DashboardBatch::of_models(out.iter().map(|o| o.model.as_ref()))?;
    Ok(Portfolio { orgs: out, batch })
}

#[derive(Default)]
pub struct DashboardQuery;

#[Object]
impl DashboardQuery {
    /// Figures across every organization the caller may see (consultancy portals).
    async fn portfolio(&self, ctx: &Context<'_>) -> Result<Portfolio> {
        portfolio(ctx).await
    }
}

// issue 14

/// Objectives with one derived status.
#[derive(SimpleObject, Clone)]
pub struct ObjectiveStatusCount {
    /// The status.
    pub status: crate::graphql::objective::ObjectiveStatus,
    /// Objectives with it.
    pub count: i32,
}

// issue 15: the management review

/// Review days and (open, overdue) decisions per organization.
type ReviewRows = (HashMap<Uuid, crate::store::review::ReviewDays>, HashMap<Uuid, (u64, u64)>);

impl DashboardBatch {
    async fn reviews(&self, ctx: &Context<'_>) -> Result<&ReviewRows> {
        self.reviews
            .get_or_try_init(|| async {
                let r = self.reader(ctx).await?;
                let days = crate::store::review::review_days(&r).await?;
                let decisions = crate::store::review::decision_counts(&r, now().date_naive()).await?;
                Ok::<_, async_graphql::Error>((days, decisions))
            })
            .await
    }
}

/// The management review at a glance (ISO 27001 / 42001 9.3).
#[derive(SimpleObject, Clone)]
pub struct ManagementReviewFigures {
    /// The latest day a review was held; `null` before the first.
    pub last_held_on: Option<crate::graphql::scalars::Date>,
    /// The earliest planned day of the reviews still PLANNED; `null` when none is.
    pub next_planned_on: Option<crate::graphql::scalars::Date>,
    /// Decisions of reviews still OPEN.
    pub open_decisions: i32,
    /// Of those, due before today (UTC).
    pub overdue_decisions: i32,
}
