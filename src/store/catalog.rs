//! The global, read-only catalogs, loaded once at start-up from the seeded tables.

use std::collections::HashMap;

use sea_orm::QueryOrder;

use crate::domain::refs::Standard;
use crate::entity::{catalog_control, clause, control_mapping, standard};
use crate::error::AppResult;
use crate::store::Gate;

/// Both standards' clauses, Annex A controls and the cross-standard mapping.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub standards: Vec<standard::Model>,
    pub clauses: Vec<clause::Model>,
    pub controls: Vec<catalog_control::Model>,
    pub mappings: Vec<control_mapping::Model>,
    control_index: HashMap<(Standard, String), usize>,
    clause_index: HashMap<(Standard, String), usize>,
}

impl Catalog {
    pub async fn load(gate: &Gate) -> AppResult<Self> {
        let c = gate.catalog();
        let standards = c.find::<standard::Entity>().order_by_asc(standard::Column::Code).all().await?;
        let clauses = c
            .find::<clause::Entity>()
            .order_by_asc(clause::Column::Standard)
            .order_by_asc(clause::Column::Position)
            .all()
            .await?;
        let controls = c
            .find::<catalog_control::Entity>()
            .order_by_asc(catalog_control::Column::Standard)
            .order_by_asc(catalog_control::Column::Position)
            .all()
            .await?;
        let mappings = c.find::<control_mapping::Entity>().order_by_asc(control_mapping::Column::Id).all().await?;
        let control_index = controls.iter().enumerate().map(|(i, c)| ((c.standard, c.reference.clone()), i)).collect();
        let clause_index = clauses.iter().enumerate().map(|(i, c)| ((c.standard, c.reference.clone()), i)).collect();
        Ok(Self { standards, clauses, controls, mappings, control_index, clause_index })
    }

    pub fn control(&self, standard: Standard, reference: &str) -> Option<&catalog_control::Model> {
        self.control_index.get(&(standard, reference.to_string())).map(|i| &self.controls[*i])
    }

    pub fn clause(&self, standard: Standard, reference: &str) -> Option<&clause::Model> {
        self.clause_index.get(&(standard, reference.to_string())).map(|i| &self.clauses[*i])
    }

    pub fn clauses_of(&self, standard: Standard) -> impl Iterator<Item = &clause::Model> + '_ {
        self.clauses.iter().filter(move |c| c.standard == standard)
    }

    pub fn controls_of(&self, standard: Standard) -> impl Iterator<Item = &catalog_control::Model> + '_ {
        self.controls.iter().filter(move |c| c.standard == standard)
    }

    /// Mapping rows touching `standard:reference`, from either side.
    pub fn mappings_of<'a>(
        &'a self,
        standard: Standard,
        reference: &'a str,
    ) -> impl Iterator<Item = &'a control_mapping::Model> + 'a {
        self.mappings.iter().filter(move |m| {
            (m.from_standard == standard && m.from_ref == reference)
                || (m.to_standard == standard && m.to_ref == reference)
        })
    }

    /// True when a clause has sub-clauses.
    pub fn has_children(&self, standard: Standard, reference: &str) -> bool {
        self.clauses.iter().any(|c| c.standard == standard && c.parent_ref.as_deref() == Some(reference))
    }
}
