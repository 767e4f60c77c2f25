//! The integrated Statement of Applicability and the clause-level gap analysis.

use sea_orm::ActiveValue::Set;
use sea_orm::EntityTrait;

use crate::entity::{StringList, catalog_control, clause, clause_assessment, control};
use crate::error::AppResult;
use crate::ids;
use crate::store::tenancy::{Writer, now};

/// Creates one SoA row per catalog control of both standards and one gap-analysis row per
/// clause, each applicable / NOT_STARTED / NOT_ADDRESSED until someone decides otherwise.
pub(crate) async fn seed_organization(w: &mut Writer) -> AppResult<()> {
    let org = w.org();
    let at = now();
    let catalog = catalog_control::Entity::find().all(w.tx()).await?;
    let rows: Vec<control::ActiveModel> = catalog
        .into_iter()
        .map(|c| control::ActiveModel {
            id: Set(ids::new_id()),
            organization_id: Set(org),
            standard: Set(c.standard),
            reference: Set(c.reference),
            title: Set(c.title),
            group_ref: Set(c.group_ref),
            group_title: Set(c.group_title),
            subgroup_ref: Set(c.subgroup_ref),
            is_custom: Set(false),
            ai_specific: Set(c.ai_specific),
            position: Set(c.position),
            applicable: Set(true),
            justification: Set(None),
            inclusion_reasons: Set(StringList::default()),
            status: Set("NOT_STARTED".to_string()),
            owner: Set(None),
            implementation_notes: Set(None),
            evidence: Set(Vec::new()),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .collect();
    control::Entity::insert_many(rows).exec_without_returning(w.tx()).await?;

    let clauses = clause::Entity::find().all(w.tx()).await?;
    let rows: Vec<clause_assessment::ActiveModel> = clauses
        .iter()
        .map(|c| clause_assessment::ActiveModel {
            id: Set(ids::new_id()),
            organization_id: Set(org),
            standard: Set(c.standard.clone()),
            reference: Set(c.reference.clone()),
            title: Set(c.title.clone()),
            parent_ref: Set(c.parent_ref.clone()),
            is_leaf: Set(!clauses
                .iter()
                .any(|o| o.standard == c.standard && o.parent_ref.as_ref() == Some(&c.reference))),
            position: Set(c.position),
            status: Set("NOT_ADDRESSED".to_string()),
            notes: Set(None),
            owner: Set(None),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .collect();
    clause_assessment::Entity::insert_many(rows).exec_without_returning(w.tx()).await?;
    Ok(())
}
