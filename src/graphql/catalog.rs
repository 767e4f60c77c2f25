//! The read-only catalogs of both standards and the cross-standard mapping.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};

use crate::domain::refs;
use crate::entity::{catalog_control, clause, control_mapping};
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::limits;
use crate::store::catalog::Catalog;

/// One of the two standards of the integrated management system.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::refs::Standard")]
pub enum StandardCode {
    /// ISO/IEC 27001:2022, information security management systems.
    #[graphql(name = "ISO27001")]
    Iso27001,
    /// ISO/IEC 42001:2023, AI management systems.
    #[graphql(name = "ISO42001")]
    Iso42001,
}

impl StandardCode {
    pub fn as_str(self) -> &'static str {
        refs::Standard::from(self).as_str()
    }

    pub fn other(self) -> Self {
        match self {
            StandardCode::Iso27001 => StandardCode::Iso42001,
            StandardCode::Iso42001 => StandardCode::Iso27001,
        }
    }
}

/// How strong a cross-standard pairing is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum MappingStrength {
    /// Both controls map to two or more shared Secure Controls Framework controls.
    Strong,
    /// One shared SCF control: related, possibly loosely.
    Loose,
    /// A title-level judgement with no published source; review before relying on it.
    Curated,
}

pub fn strength(m: &control_mapping::Model) -> MappingStrength {
    match m.shared_scf_controls {
        Some(n) if n >= 2 => MappingStrength::Strong,
        Some(_) => MappingStrength::Loose,
        None => MappingStrength::Curated,
    }
}

/// An SCF control both sides of a derived mapping share.
#[derive(SimpleObject, Clone, serde::Deserialize)]
pub struct ScfControl {
    /// SCF control id, e.g. `GOV-02`.
    #[serde(rename = "scf")]
    pub id: String,
    /// SCF control name.
    pub name: String,
}

#[derive(Clone)]
pub struct ControlMapping {
    pub row: control_mapping::Model,
    /// true when the control this is read from is the row's `to` side.
    pub reversed: bool,
}

impl ControlMapping {
    pub fn counterpart(&self) -> (refs::Standard, &str) {
        if self.reversed {
            (self.row.from_standard, &self.row.from_ref)
        } else {
            (self.row.to_standard, &self.row.to_ref)
        }
    }

    /// The mapping rows of one control (at most [`limits::MAPPINGS`]).
    pub fn of(catalog: &Catalog, standard: refs::Standard, reference: &str) -> Vec<ControlMapping> {
        catalog
            .mappings_of(standard, reference)
            .map(|m| ControlMapping { reversed: m.to_standard == standard && m.to_ref == reference, row: m.clone() })
            .take(limits::MAPPINGS)
            .collect()
    }
}

/// One mapping row seen from one control: the counterpart in the other standard (Annex's
/// reference data, not text of either standard).
#[Object]
impl ControlMapping {
    /// The counterpart's standard.
    async fn standard(&self) -> StandardCode {
        self.counterpart().0.into()
    }
    /// The counterpart's ref, e.g. `A.5.15`.
    #[graphql(name = "ref")]
    async fn reference(&self) -> &str {
        self.counterpart().1
    }
    /// The counterpart's title.
    async fn title(&self, ctx: &Context<'_>) -> Result<String> {
        let (s, r) = self.counterpart();
        Ok(ctx.catalog()?.control(s, r).map(|c| c.title.clone()).unwrap_or_default())
    }
    /// Always `related` in the reference data (never `equivalent`).
    async fn relation(&self) -> &str {
        &self.row.relation
    }
    /// How strong the pairing is (from `sharedScfControls`).
    async fn strength(&self) -> MappingStrength {
        strength(&self.row)
    }
    /// Provenance of the row, e.g. `SCF-2025.2.2-transitive`.
    async fn source(&self) -> &str {
        &self.row.source
    }
    /// How many SCF controls both sides share; `null` for a curated row.
    async fn shared_scf_controls(&self) -> Option<i32> {
        self.row.shared_scf_controls
    }
    /// The SCF controls both sides share (SCF-derived rows; at most 10). Priced as one
    /// item: the whole catalog holds 103 mapping rows, so nesting cannot multiply them.
    async fn via(&self) -> Vec<ScfControl> {
        limits::bounded(serde_json::from_str(&self.row.via).unwrap_or_default(), limits::SCF_CONTROLS)
    }
    /// Why a curated row pairs the two.
    async fn rationale(&self) -> Option<&str> {
        self.row.rationale.as_deref()
    }
}

#[derive(Clone)]
pub struct Clause(pub clause::Model);

/// A clause or sub-clause (4-10) of a standard: ref and title only, never its text.
#[Object]
impl Clause {
    /// The clause number, e.g. `6.1.3`.
    #[graphql(name = "ref")]
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    /// The clause title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The enclosing clause's ref (`6.1` for `6.1.3`); `null` for a top-level clause.
    async fn parent_ref(&self) -> Option<&str> {
        self.0.parent_ref.as_deref()
    }
}

#[derive(Clone)]
pub struct CatalogControl(pub catalog_control::Model);

/// An Annex A control of a standard's catalog: ref and title only, never its text.
#[Object]
impl CatalogControl {
    /// The standard whose Annex A holds the control.
    async fn standard(&self) -> StandardCode {
        self.0.standard.into()
    }
    /// The control's ref, e.g. `A.5.15` (unique within its standard only).
    #[graphql(name = "ref")]
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    /// The control's title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The theme or objective, e.g. `Organizational controls`.
    async fn group(&self) -> &str {
        &self.0.group_title
    }
    /// The theme's or objective's ref, e.g. `A.5`.
    async fn group_ref(&self) -> &str {
        &self.0.group_ref
    }
    /// ISO 42001 A.6 only: `A.6.1` or `A.6.2`.
    async fn subgroup_ref(&self) -> Option<&str> {
        self.0.subgroup_ref.as_deref()
    }
    /// ISO 42001 A.6 only: the sub-group's title.
    async fn subgroup(&self) -> Option<&str> {
        self.0.subgroup_title.as_deref()
    }
    /// ISO 42001 controls with nothing to build on in an ISMS: objectives A.5 (impact
    /// assessment), A.7 (data), A.8 (information for interested parties), and every
    /// control no mapping row connects to ISO 27001. Always false for ISO 27001.
    async fn ai_specific(&self) -> bool {
        self.0.ai_specific
    }
    /// The mapping rows of this control (at most 20). Priced as one item: the catalog
    /// holds 103 mapping rows in all, and nothing under them leads back to a list.
    async fn mappings(&self, ctx: &Context<'_>) -> Result<Vec<ControlMapping>> {
        Ok(ControlMapping::of(ctx.catalog()?, self.0.standard, &self.0.reference))
    }
}

/// An Annex A theme (ISO 27001) or control objective (ISO 42001).
#[derive(SimpleObject, Clone)]
pub struct ControlGroup {
    /// The group's ref, e.g. `A.5`.
    #[graphql(name = "ref")]
    pub reference: String,
    /// The theme or objective, e.g. `Organizational controls`.
    pub title: String,
    /// How many Annex A controls the group holds.
    pub count: i32,
}

pub struct Standard {
    pub code: StandardCode,
}

/// A standard's catalog: clauses 4-10 and Annex A (names only, never the standard's text).
#[Object]
impl Standard {
    /// Which standard.
    async fn code(&self) -> StandardCode {
        self.code
    }
    /// The edition the catalog follows, e.g. `2022`.
    async fn edition(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.model(ctx)?.edition.clone())
    }
    /// The standard's full title.
    async fn title(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.model(ctx)?.title.clone())
    }
    /// Clauses 4-10 with every sub-clause, in the standard's order (at most 50).
    #[graphql(complexity = "limits::CLAUSES * child_complexity")]
    async fn clauses(&self, ctx: &Context<'_>) -> Result<Vec<Clause>> {
        Ok(ctx.catalog()?.clauses_of(self.code.into()).take(limits::CLAUSES).cloned().map(Clause).collect())
    }
    /// Annex A, optionally one group (`A.5`, …; at most 100).
    #[graphql(complexity = "limits::CATALOG_CONTROLS * child_complexity")]
    async fn controls(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this theme or objective, e.g. `A.5`; all when left out.")] group_ref: Option<String>,
    ) -> Result<Vec<CatalogControl>> {
        Ok(ctx
            .catalog()?
            .controls_of(self.code.into())
            .filter(|c| group_ref.as_deref().is_none_or(|g| c.group_ref == g))
            .take(limits::CATALOG_CONTROLS)
            .cloned()
            .map(CatalogControl)
            .collect())
    }
    /// Annex A themes (27001) or objectives (42001) with their control counts (at most 10).
    #[graphql(complexity = "limits::CATALOG_GROUPS * child_complexity")]
    async fn groups(&self, ctx: &Context<'_>) -> Result<Vec<ControlGroup>> {
        let mut out: Vec<ControlGroup> = Vec::new();
        for c in ctx.catalog()?.controls_of(self.code.into()) {
            match out.iter_mut().find(|g| g.reference == c.group_ref) {
                Some(g) => g.count += 1,
                None => {
                    out.push(ControlGroup { reference: c.group_ref.clone(), title: c.group_title.clone(), count: 1 })
                }
            }
        }
        Ok(limits::bounded(out, limits::CATALOG_GROUPS))
    }
}

impl Standard {
    fn model<'a>(&self, ctx: &'a Context<'_>) -> Result<&'a crate::entity::standard::Model> {
        Ok(ctx
            .catalog()?
            .standards
            .iter()
            .find(|s| s.code == self.code.into())
            .ok_or_else(|| AppError::internal("standard missing from catalog"))?)
    }
}

#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// ISO/IEC 27001:2022 and ISO/IEC 42001:2023 (names only, never the standards' text).
    #[graphql(complexity = "limits::STANDARDS * child_complexity")]
    async fn standards(&self, ctx: &Context<'_>) -> Result<Vec<Standard>> {
        ctx.actor()?;
        Ok(vec![Standard { code: StandardCode::Iso27001 }, Standard { code: StandardCode::Iso42001 }])
    }

    /// One standard's catalog.
    async fn standard(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which standard.")] code: StandardCode,
    ) -> Result<Option<Standard>> {
        ctx.actor()?;
        Ok(Some(Standard { code }))
    }
}
