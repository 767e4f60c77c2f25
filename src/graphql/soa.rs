//! The integrated Statement of Applicability, the gap analysis and readiness.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Result, SimpleObject};
use uuid::Uuid;

use crate::auth::{Access, Operation};
use crate::domain::refs::Standard;
use crate::domain::soa::{self as rules, Coverage as DCoverage};
use crate::entity::control;
use crate::error::AppError;
use crate::graphql::catalog::{ControlMapping, MappingStrength, StandardCode, strength};
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::input::text_change;
use crate::graphql::loaders::LoaderExt;
use crate::graphql::org::Organization;
use crate::ids::{self, Kind};
use crate::store::catalog::Catalog;
use crate::store::page::PageArgs;
use crate::store::soa as store;
use crate::store::{Actor, Gate};

/// Implementation of an SoA row (ISO 27001 6.1.3 d: whether each control is implemented).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::soa::ImplementationStatus")]
pub enum ImplementationStatus {
    /// Nothing implemented yet (where every row starts).
    NotStarted,
    /// Implementation planned.
    Planned,
    /// Partly implemented: counts half in readiness and coverage.
    Partial,
    /// Fully implemented; not allowed on an EXCLUDED row.
    Implemented,
}

/// The SoA decision on a control (ISO 27001 6.1.3 d; ISO 42001 6.1.3). Readiness,
/// coverage, dashboards and the CSV count UNDECIDED rows as not done.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::soa::ControlDecision")]
pub enum ControlDecision {
    /// No decision yet: where every row starts. In the readiness denominator, never done.
    Undecided,
    /// In the SoA, with a justification (an inclusion reason or a text).
    Included,
    /// Not in the SoA, with a justification (text).
    Excluded,
}

/// Why a control is in the SoA (ISO 27001 6.1.3 d: justification for inclusion).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::soa::InclusionReason")]
pub enum InclusionReason {
    /// Needed to treat assessed risks (ISO 27001 6.1.3 b).
    RiskTreatment,
    /// Required by law or regulation.
    LegalRegulatory,
    /// Required by a contract.
    Contractual,
    /// Required by the business or its policies.
    BusinessRequirement,
    /// Adopted as good practice.
    BestPractice,
}

/// Gap-analysis status of a clause of the management system (clauses 4-10).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::soa::ClauseStatus")]
pub enum ClauseStatus {
    /// Not addressed yet: counts nothing in readiness.
    NotAddressed,
    /// Partly addressed: counts half in readiness.
    Partial,
    /// Addressed: counts in full in readiness.
    Addressed,
}

/// How far mapped ISO 27001 controls cover an ISO 42001 control.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::soa::CoverageLevel")]
pub enum CoverageLevel {
    /// Nothing mapped, or none of the applicable mapped controls implemented or partial.
    None,
    /// Some applicable mapped controls implemented or partial, not all implemented.
    Partial,
    /// Every mapped ISO 27001 control not EXCLUDED is INCLUDED and IMPLEMENTED.
    Full,
}

/// A link to evidence of a control's implementation.
#[derive(SimpleObject, Clone)]
pub struct EvidenceLink {
    /// What the link shows.
    pub title: String,
    /// Absolute http(s) URL.
    pub url: String,
}

/// An evidence link of `updateControl`.
#[derive(InputObject)]
pub struct EvidenceLinkInput {
    /// What the link shows (required).
    pub title: String,
    /// Absolute http(s) URL.
    pub url: String,
}

crate::entity_type! {
    /// One row of the Statement of Applicability (either standard, or organization-defined).
    Control, control
}

/// An SoA row of the other standard that this one maps to, with the mapping's provenance.
#[derive(SimpleObject, Clone)]
pub struct MappedControl {
    /// The organization's SoA row of the other standard.
    pub control: Control,
    /// The mapping's relation (always `related`).
    pub relation: String,
    /// STRONG, LOOSE or CURATED, derived from the mapping's provenance.
    pub strength: MappingStrength,
    /// Where the mapping comes from (its provenance).
    pub source: String,
}

/// How far the organization's ISO 27001 implementation already covers a 42001 control.
#[derive(SimpleObject, Clone)]
pub struct Iso27001Coverage {
    /// Mapped 27001 controls.
    pub mapped: i32,
    /// Of those, not excluded in this SoA (INCLUDED or UNDECIDED; UNDECIDED counts as not
    /// done).
    pub applicable: i32,
    /// Of the applicable, INCLUDED and IMPLEMENTED.
    pub implemented: i32,
    /// Of the applicable, INCLUDED and PARTIAL (count half).
    pub partial: i32,
    /// (implemented + ½ partial) / applicable, in percent.
    pub percent: f64,
    /// NONE, PARTIAL or FULL.
    pub level: CoverageLevel,
    /// `true` when nothing in ISO 27001 maps to it: an AI-specific control to build new.
    pub nothing_to_build_on: bool,
    /// The mapped ISO 27001 rows (at most 20).
    #[graphql(complexity = "crate::graphql::limits::MAPPINGS * child_complexity")]
    pub controls: Vec<Control>,
}

crate::entity_object! {
    Control, control,
    update: UpdateControl,
    /// SoA rows are never deleted: exclude a control instead (with its justification).
    delete: false,
    {
        /// The SoA the row belongs to: ISO27001 or ISO42001.
        async fn standard(&self) -> StandardCode {
            self.model.standard.into()
        }
        #[graphql(name = "ref")]
        /// Control reference, e.g. `A.5.1`; the organization's own for custom rows.
        async fn reference(&self) -> &str {
            &self.model.reference
        }
        /// Control title (the catalog's name, or the organization's own for custom rows).
        async fn title(&self) -> &str {
            &self.model.title
        }
        /// Theme or objective title (`CUSTOM` group for organization-defined controls).
        async fn group(&self) -> &str {
            &self.model.group_title
        }
        /// Theme or objective ref, e.g. `A.5` (`CUSTOM` for organization-defined controls).
        async fn group_ref(&self) -> &str {
            &self.model.group_ref
        }
        /// ISO 42001 A.6 sub-group (`A.6.1` or `A.6.2`); `null` otherwise.
        async fn subgroup_ref(&self) -> Option<&str> {
            self.model.subgroup_ref.as_deref()
        }
        /// Organization-defined (`createCustomControl`), not from the catalog.
        async fn is_custom(&self) -> bool {
            self.model.is_custom
        }
        /// An ISO 42001 control with nothing to build on in an ISMS (objectives A.5, A.7, A.8
        /// and the controls no mapping connects to ISO 27001).
        async fn ai_specific(&self) -> bool {
            self.model.ai_specific
        }
        /// ISO 27001 controls the seed guide calls relevant to AI systems, and why (e.g.
        /// A.8.24 cryptography: model protection, inference encryption); `null` otherwise.
        async fn ai_relevance(&self) -> Option<&str> {
            self.model.ai_relevance.as_deref()
        }
        /// The SoA decision (ISO 27001 6.1.3 d; ISO 42001 6.1.3). New rows start UNDECIDED.
        async fn decision(&self) -> ControlDecision {
            self.model.decision.into()
        }
        /// `true` only when `decision` is INCLUDED (UNDECIDED and EXCLUDED rows answer
        /// `false`).
        #[graphql(deprecation = "Derived from `decision`, which also tells UNDECIDED from EXCLUDED: read `decision`.")]
        async fn applicable(&self) -> bool {
            self.model.decision.applicable()
        }
        /// Why the control is included or excluded (ISO 27001 6.1.3 d). An exclusion needs
        /// this text; an inclusion needs this text or an inclusion reason.
        async fn justification(&self) -> Option<&str> {
            self.model.justification.as_deref()
        }
        /// Why the control is included (ISO 27001 6.1.3 d).
        async fn inclusion_reasons(&self) -> Vec<InclusionReason> {
            self.model.inclusion_reasons.0.iter().map(|r| (*r).into()).collect()
        }
        /// Implementation status (ISO 27001 6.1.3 d).
        async fn status(&self) -> ImplementationStatus {
            self.model.status.into()
        }
        /// Who is responsible for the control.
        async fn owner(&self) -> Option<&str> {
            self.model.owner.as_deref()
        }
        /// How the control is implemented.
        async fn implementation_notes(&self) -> Option<&str> {
            self.model.implementation_notes.as_deref()
        }
        /// ISO 42001 rows only: what the organization's ISO 27001 implementation already
        /// covers ("extend your ISMS"). `null` on ISO 27001 and custom rows.
        async fn coverage_from_iso27001(&self, ctx: &Context<'_>) -> Result<Option<Iso27001Coverage>> {
            if self.model.standard != Standard::Iso42001 || self.model.is_custom {
                return Ok(None);
            }
            let mapped = mapped_controls(ctx, &self.model, self.access).await?;
            let mut c = DCoverage { mapped: mapped.len() as u64, ..Default::default() };
            for m in &mapped {
                c.add(m.control.model.decision, m.control.model.status);
            }
            Ok(Some(Iso27001Coverage {
                mapped: c.mapped as i32,
                applicable: c.applicable as i32,
                implemented: c.implemented as i32,
                partial: c.partial as i32,
                percent: c.percent(),
                level: c.level().into(),
                nothing_to_build_on: c.mapped == 0,
                controls: mapped.into_iter().map(|m| m.control).collect(),
            }))
        }
        // issue 16
        /// The status the row's measures imply: `null` with no measures; IMPLEMENTED when
        /// all are; PARTIAL when any is PARTIAL or IMPLEMENTED; otherwise PLANNED. `null`
        /// too for callers who may not read measures.
        async fn derived_status(&self, ctx: &Context<'_>) -> Result<Option<ImplementationStatus>> {
            let d = crate::graphql::measure::control_derived_status(ctx, &self.model, self.access).await?;
            Ok(d.map(Into::into))
        }
        /// `status` differs from `derivedStatus` (`false` when `derivedStatus` is `null`).
        async fn status_mismatch(&self, ctx: &Context<'_>) -> Result<bool> {
            let d = crate::graphql::measure::control_derived_status(ctx, &self.model, self.access).await?;
            Ok(crate::domain::measure::status_mismatch(self.model.status, d))
        }
    }
    lists {
        /// At most 50 links.
        #[list(EVIDENCE)]
        async fn evidence(&self) -> Result<Vec<EvidenceLink>> {
            let link = |e: &crate::entity::EvidenceLink| EvidenceLink { title: e.title.clone(), url: e.url.clone() };
            Ok(self.model.evidence.iter().map(link).collect())
        }
        /// The catalog's mapping rows for this control (provenance included; at most 20).
        #[list(MAPPINGS)]
        async fn catalog_mappings(&self, ctx: &Context<'_>) -> Result<Vec<ControlMapping>> {
            Ok(ControlMapping::of(ctx.catalog()?, self.model.standard, &self.model.reference))
        }
        /// This organization's SoA rows of the other standard that this control maps to
        /// (at most 20).
        #[list(MAPPINGS)]
        async fn mapped_controls(&self, ctx: &Context<'_>) -> Result<Vec<MappedControl>> {
            mapped_controls(ctx, &self.model, self.access).await
        }
        /// Risks of the register this control treats: the 12 with the highest residual
        /// score.
        #[list(CONTROL_RISKS)]
        async fn risks(&self, ctx: &Context<'_>) -> Result<Vec<crate::graphql::risk::Risk>> {
            crate::graphql::risk::risks_of_control(ctx, &self.model, self.access).await
        }
        // issue 16
        /// The measures that satisfy this row (at most 50); empty for callers who may not
        /// read measures.
        #[list(CONTROL_MEASURES)]
        async fn measures(&self, ctx: &Context<'_>) -> Result<Vec<crate::graphql::measure::Measure>> {
            crate::graphql::measure::control_measures(ctx, &self.model, self.access).await
        }
        /// Documents that serve this SoA row (issue 13), by title (at most 50); empty for
        /// callers who may not read documents.
        #[list(CONTROL_DOCUMENTS)]
        async fn documents(&self, ctx: &Context<'_>) -> Result<Vec<crate::graphql::document::Document>> {
            crate::graphql::document::documents_of_control(ctx, &self.model, self.access).await
        }
    }
}

async fn mapped_controls(ctx: &Context<'_>, model: &control::Model, access: Access) -> Result<Vec<MappedControl>> {
    let catalog = ctx.services()?.catalog.clone();
    let loader = ctx.loader(|gate, actor| MappedControlsLoader { gate, actor, catalog })?;
    let rows =
        loader.load_one((model.organization_id, model.standard, model.reference.clone())).await?.unwrap_or_default();
    let mappings = ControlMapping::of(ctx.catalog()?, model.standard, &model.reference);
    Ok(rows
        .into_iter()
        .filter_map(|c| {
            let m = mappings.iter().find(|m| m.counterpart() == (c.standard, c.reference.as_str()))?;
            Some(MappedControl {
                relation: m.row.relation.clone(),
                strength: strength(&m.row),
                source: m.row.source.clone(),
                control: Control::new(c, access),
            })
        })
        .collect())
}

/// `(organization, standard, ref)` → the organization's SoA rows mapped to it.
pub struct MappedControlsLoader {
    gate: Gate,
    actor: Arc<Actor>,
    catalog: Arc<Catalog>,
}

impl Loader<(Uuid, Standard, String)> for MappedControlsLoader {
    type Value = Vec<control::Model>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[(Uuid, Standard, String)],
    ) -> Result<HashMap<(Uuid, Standard, String), Self::Value>, Self::Error> {
        let mut orgs: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        orgs.sort();
        orgs.dedup();
        let reader = self.gate.read_many(&self.actor, &orgs, Operation::ReadControls).await?;
        let mut wanted: Vec<(Standard, String)> = Vec::new();
        for (_, s, r) in keys {
            for m in ControlMapping::of(&self.catalog, *s, r) {
                let (cs, cr) = m.counterpart();
                wanted.push((cs, cr.to_string()));
            }
        }
        wanted.sort();
        wanted.dedup();
        let rows = store::controls_by_refs(&reader, &wanted).await?;
        let mut out = HashMap::new();
        for key in keys {
            let counterparts: Vec<(Standard, String)> = ControlMapping::of(&self.catalog, key.1, &key.2)
                .iter()
                .map(|m| (m.counterpart().0, m.counterpart().1.to_string()))
                .collect();
            let mut matched: Vec<control::Model> = rows
                .iter()
                .filter(|c| c.organization_id == key.0 && counterparts.contains(&(c.standard, c.reference.clone())))
                .cloned()
                .collect();
            matched.sort_by_key(|c| c.position);
            out.insert(key.clone(), matched);
        }
        Ok(out)
    }
}

crate::connection!(ControlConnection, ControlEdge, Control);

/// Conditions on `organization.controls`: every one given must hold.
#[derive(InputObject, Default)]
pub struct ControlFilter {
    /// Rows of this standard's SoA.
    pub standard: Option<StandardCode>,
    /// `true`: INCLUDED rows; `false`: UNDECIDED and EXCLUDED rows.
    #[graphql(deprecation = "Filter on `decision`.")]
    pub applicable: Option<bool>,
    /// Rows with this SoA decision.
    pub decision: Option<ControlDecision>,
    /// `true`: the ISO 27001 controls tagged with an `aiRelevance`; `false`: the others.
    pub ai_relevant: Option<bool>,
    /// Rows with this implementation status.
    pub status: Option<ImplementationStatus>,
    /// Annex A group, e.g. `A.5`, or `CUSTOM`.
    pub group: Option<String>,
    /// `true`: the AI-specific ISO 42001 controls (`aiSpecific`); `false`: the others.
    pub ai_specific: Option<bool>,
    /// `true`: organization-defined controls; `false`: catalog controls.
    pub is_custom: Option<bool>,
    /// Case-insensitive match on ref or title.
    pub search: Option<String>,
}

/// What `organization.controls` is sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum ControlOrderField {
    /// Catalog order: ISO 27001 Annex A, ISO 42001 Annex A, custom controls.
    #[default]
    Ref,
    /// Title, alphabetically.
    Title,
    /// Time of the last change.
    UpdatedAt,
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum OrderDirection {
    #[default]
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

/// Sort order of `organization.controls`.
#[derive(InputObject, Default)]
pub struct ControlOrder {
    #[graphql(default)]
    /// What to sort by (default REF).
    pub field: ControlOrderField,
    #[graphql(default)]
    /// ASC or DESC (default ASC).
    pub direction: OrderDirection,
}

/// The organization's SoA rows (connection).
pub async fn organization_controls(
    ctx: &Context<'_>,
    org: &Organization,
    filter: Option<ControlFilter>,
    order_by: Option<ControlOrder>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<ControlConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let r = gate.read(actor, org.model.id, Operation::ReadControls).await?;
    let f = filter.unwrap_or_default();
    let order = order_by.unwrap_or_default();
    let (field, desc) = (
        match order.field {
            ControlOrderField::Ref => store::ControlOrder::Ref,
            ControlOrderField::Title => store::ControlOrder::Title,
            ControlOrderField::UpdatedAt => store::ControlOrder::UpdatedAt,
        },
        order.direction == OrderDirection::Desc,
    );
    let sort_name = store::control_sort(field, desc).name;
    let args = PageArgs::new(first, after.as_deref(), &sort_name)?;
    let filter = store::ControlFilter {
        standard: f.standard.map(Into::into),
        applicable: f.applicable,
        decision: f.decision.map(Into::into),
        ai_relevant: f.ai_relevant,
        status: f.status.map(Into::into),
        group_ref: f.group,
        ai_specific: f.ai_specific,
        is_custom: f.is_custom,
        search: f.search,
    };
    let page = store::list_controls(&r, &filter, field, desc, &args, wants_total(ctx)).await?;
    let access = r.access();
    Ok(ControlConnection::from_page(page, |m| Control::new(m, access)))
}

/// A row of the SoA export (the JSON twin of `GET /organizations/{id}/soa.csv`).
#[derive(SimpleObject, Clone)]
pub struct SoaRow {
    /// ISO27001 or ISO42001.
    pub standard: StandardCode,
    #[graphql(name = "ref")]
    /// Control reference, e.g. `A.5.1`.
    pub reference: String,
    /// Control title.
    pub title: String,
    /// Theme or objective title (`CUSTOM` group for organization-defined controls).
    pub group: String,
    /// `true` only for INCLUDED rows.
    #[graphql(deprecation = "Derived from `decision`: read `decision`.")]
    pub applicable: bool,
    /// The SoA decision; UNDECIDED rows are not done.
    pub decision: ControlDecision,
    /// Why the control is included or excluded (ISO 27001 6.1.3 d).
    pub justification: Option<String>,
    /// Why the control is included.
    pub inclusion_reasons: Vec<InclusionReason>,
    /// Implementation status.
    pub status: ImplementationStatus,
    /// Who is responsible for the control.
    pub owner: Option<String>,
    /// Mapped refs of the other standard, as `STANDARD:ref`.
    pub mapped_refs: Vec<String>,
    /// The seed guide's AI tag on an ISO 27001 control, if any.
    pub ai_relevance: Option<String>,
}

/// Every SoA row in export form (both standards, catalog order).
pub async fn soa_rows(catalog: &Catalog, rows: Vec<control::Model>) -> Result<Vec<SoaRow>, AppError> {
    rows.into_iter()
        .map(|c| {
            let mapped_refs = ControlMapping::of(catalog, c.standard, &c.reference)
                .iter()
                .map(|m| format!("{}:{}", m.counterpart().0.as_str(), m.counterpart().1))
                .collect();
            Ok(SoaRow {
                standard: c.standard.into(),
                status: c.status.into(),
                reference: c.reference,
                title: c.title,
                group: c.group_title,
                applicable: c.decision.applicable(),
                decision: c.decision.into(),
                justification: c.justification,
                inclusion_reasons: c.inclusion_reasons.0.iter().map(|r| (*r).into()).collect(),
                owner: c.owner,
                mapped_refs,
                ai_relevance: c.ai_relevance,
            })
        })
        .collect()
}

pub async fn organization_soa(ctx: &Context<'_>, org: &Organization) -> Result<Vec<SoaRow>> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let r = gate.read(actor, org.model.id, Operation::ReadControls).await?;
    let rows = store::all_controls(&r).await?;
    Ok(soa_rows(ctx.catalog()?, rows).await?)
}

crate::entity_type! {
    /// Gap-analysis status of one clause of one standard.
    ClauseAssessment, clause_assessment
}

crate::entity_object! {
    ClauseAssessment, clause_assessment,
    update: UpdateClauseAssessment,
    delete: none,
    {
        /// ISO27001 or ISO42001.
        async fn standard(&self) -> StandardCode {
            self.model.standard.into()
        }
        #[graphql(name = "ref")]
        /// Clause ref, e.g. `6.1.3`.
        async fn reference(&self) -> &str {
            &self.model.reference
        }
        /// Clause title (the catalog's name).
        async fn title(&self) -> &str {
            &self.model.title
        }
        /// The parent clause's ref; `null` for a top-level clause.
        async fn parent_ref(&self) -> Option<&str> {
            self.model.parent_ref.as_deref()
        }
        /// Leaf clauses (no sub-clauses) are the ones readiness counts.
        async fn is_leaf(&self) -> bool {
            self.model.is_leaf
        }
        /// Gap-analysis status.
        async fn status(&self) -> ClauseStatus {
            self.model.status.into()
        }
        /// Gap-analysis notes.
        async fn notes(&self) -> Option<&str> {
            self.model.notes.as_deref()
        }
        /// Who is responsible for addressing the clause.
        async fn owner(&self) -> Option<&str> {
            self.model.owner.as_deref()
        }
    }
}

crate::connection!(ClauseAssessmentConnection, ClauseAssessmentEdge, ClauseAssessment);

/// Conditions on `organization.clauseAssessments`: every one given must hold.
#[derive(InputObject, Default)]
pub struct ClauseAssessmentFilter {
    /// Clauses of this standard.
    pub standard: Option<StandardCode>,
    /// Clauses with this status.
    pub status: Option<ClauseStatus>,
    /// Only clauses without sub-clauses.
    #[graphql(default)]
    pub leaves_only: bool,
}

pub async fn organization_clause_assessments(
    ctx: &Context<'_>,
    org: &Organization,
    filter: Option<ClauseAssessmentFilter>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<ClauseAssessmentConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let r = gate.read(actor, org.model.id, Operation::ReadClauseAssessments).await?;
    let f = filter.unwrap_or_default();
    let args = PageArgs::new(first, after.as_deref(), "clauses:POSITION")?;
    let filter = store::ClauseFilter {
        standard: f.standard.map(Into::into),
        status: f.status.map(Into::into),
        leaves_only: f.leaves_only,
    };
    let page = store::list_clause_assessments(&r, &filter, &args, wants_total(ctx)).await?;
    let access = r.access();
    Ok(ClauseAssessmentConnection::from_page(page, |m| ClauseAssessment::new(m, access)))
}

/// Certification readiness of one standard (formula in the README).
#[derive(SimpleObject, Clone, Debug)]
pub struct Readiness {
    /// The standard.
    pub standard: StandardCode,
    /// 0-100, one decimal.
    pub percent: f64,
    /// Leaf clauses of the standard.
    pub clauses_total: i32,
    /// Leaf clauses ADDRESSED.
    pub clauses_addressed: i32,
    /// Leaf clauses PARTIAL (count half).
    pub clauses_partial: i32,
    /// Controls not excluded (INCLUDED or UNDECIDED): the control score's denominator.
    pub controls_applicable: i32,
    /// Of those, still UNDECIDED: counted as not done whatever their status.
    pub controls_undecided: i32,
    /// INCLUDED and IMPLEMENTED.
    pub controls_implemented: i32,
    /// INCLUDED and PARTIAL (count half).
    pub controls_partial: i32,
}

/// Readiness of every organization `reader` covers (two grouped statements).
pub async fn readiness_by_org(
    reader: &crate::store::tenancy::MultiReader,
) -> Result<HashMap<Uuid, Vec<Readiness>>, AppError> {
    let counts = store::readiness_counts(reader).await?;
    let mut out = HashMap::new();
    for (org, by_standard) in counts {
        let mut list = Vec::new();
        for (standard, c) in by_standard {
            list.push(Readiness {
                standard: standard.into(),
                percent: rules::readiness_percent(&c),
                clauses_total: c.clauses_total as i32,
                clauses_addressed: c.clauses_addressed as i32,
                clauses_partial: c.clauses_partial as i32,
                controls_applicable: c.controls_applicable as i32,
                controls_undecided: c.controls_undecided as i32,
                controls_implemented: c.controls_implemented as i32,
                controls_partial: c.controls_partial as i32,
            });
        }
        out.insert(org, list);
    }
    Ok(out)
}

/// Input of `updateControl`. Fields left out stay; an empty text clears a text field.
#[derive(InputObject)]
pub struct UpdateControlInput {
    /// The SoA row to change.
    pub id: ID,
    /// The `version` last read: refused with CONFLICT when the row changed since.
    pub expected_version: Option<i32>,
    /// The SoA decision. INCLUDED needs a justification text or an inclusion reason;
    /// EXCLUDED needs a justification text (ISO 27001 6.1.3 d; ISO 42001 6.1.3).
    pub decision: Option<ControlDecision>,
    /// `true` means INCLUDED, `false` EXCLUDED; refused when it contradicts `decision`.
    #[graphql(deprecation = "Send `decision`.")]
    pub applicable: Option<bool>,
    /// Why the control is included or excluded (ISO 27001 6.1.3 d); required (non-empty)
    /// for an exclusion.
    pub justification: Option<String>,
    /// Replaces the inclusion reasons.
    pub inclusion_reasons: Option<Vec<InclusionReason>>,
    /// Implementation status; an EXCLUDED row cannot be IMPLEMENTED.
    pub status: Option<ImplementationStatus>,
    /// Who is responsible, at most 200 characters.
    pub owner: Option<String>,
    /// How the control is implemented, at most 20,000 characters.
    pub implementation_notes: Option<String>,
    /// Replaces the evidence links.
    pub evidence: Option<Vec<EvidenceLinkInput>>,
    /// Organization-defined controls only.
    pub title: Option<String>,
}

/// Input of `createCustomControl`.
#[derive(InputObject)]
pub struct CreateCustomControlInput {
    /// The organization whose SoA gets the control.
    pub organization_id: ID,
    /// Which standard's SoA the control belongs to.
    pub standard: StandardCode,
    /// The organization's own ref, unique within its SoA (e.g. `ORG-1`).
    #[graphql(name = "ref")]
    pub reference: String,
    /// Control title: required, at most 300 characters.
    pub title: String,
    /// With a justification or an inclusion reason the control starts INCLUDED, without
    /// either UNDECIDED (ISO 27001 6.1.3 d).
    pub justification: Option<String>,
    /// Why the control is included.
    pub inclusion_reasons: Option<Vec<InclusionReason>>,
    /// Who is responsible, at most 200 characters.
    pub owner: Option<String>,
}

/// Input of `updateClauseAssessment`. Fields left out stay; an empty text clears a text
/// field.
#[derive(InputObject)]
pub struct UpdateClauseAssessmentInput {
    /// The gap-analysis row to change.
    pub id: ID,
    /// The `version` last read: refused with CONFLICT when the row changed since.
    pub expected_version: Option<i32>,
    /// NOT_ADDRESSED, PARTIAL or ADDRESSED.
    pub status: Option<ClauseStatus>,
    /// Gap-analysis notes, at most 20,000 characters.
    pub notes: Option<String>,
    /// Who is responsible, at most 200 characters.
    pub owner: Option<String>,
}

crate::mutations! {
    SoaMutation;
    /// Records the SoA decision on a row (ISO 27001 6.1.3 d) and its implementation.
    update_control(ctx, gate, actor, input: UpdateControlInput) -> UpdateControlPayload { control: Control } {
        let id = ids::expect(Kind::Control, &input.id, "id")?;
        store::update_control(gate, actor, id, store::ControlChanges {
            expected_version: input.expected_version,
            decision: input.decision.map(Into::into),
            applicable: input.applicable,
            justification: text_change(input.justification),
            inclusion_reasons: input.inclusion_reasons.map(|v| v.into_iter().map(Into::into).collect()),
            status: input.status.map(Into::into),
            owner: text_change(input.owner),
            implementation_notes: text_change(input.implementation_notes),
            evidence: input.evidence.map(|v| v.into_iter().map(|e| (e.title, e.url)).collect()),
            title: input.title,
        }).await?
    }
    /// Adds an organization-defined control to the SoA (ISO 27001 6.1.3 b: controls from
    /// any source; ISO 42001 6.1.3).
    create_custom_control(ctx, gate, actor, input: CreateCustomControlInput)
        -> CreateCustomControlPayload { control: Control } {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        let reasons: Vec<rules::InclusionReason> =
            input.inclusion_reasons.unwrap_or_default().into_iter().map(Into::into).collect();
        store::create_custom_control(gate, actor, org, store::NewCustomControl {
            standard: input.standard.into(),
            reference: &input.reference,
            title: &input.title,
            justification: input.justification.as_deref(),
            inclusion_reasons: &reasons,
            owner: input.owner.as_deref(),
        }).await?
    }
    /// Records the gap-analysis status of one clause; readiness counts leaf clauses.
    update_clause_assessment(ctx, gate, actor, input: UpdateClauseAssessmentInput)
        -> UpdateClauseAssessmentPayload { clause_assessment: ClauseAssessment } {
        let id = ids::expect(Kind::ClauseAssessment, &input.id, "id")?;
        store::update_clause_assessment(gate, actor, id, store::ClauseChanges {
            expected_version: input.expected_version,
            status: input.status.map(Into::into),
            notes: text_change(input.notes),
            owner: text_change(input.owner),
        }).await?
    }
}
