//! The integrated Statement of Applicability and the clause-level gap analysis.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::util::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        create(
            m,
            versioned(
                Table::create()
                    .table("controls")
                    .col(id())
                    .col(org())
                    .col(string_len("standard", 16))
                    .col(string_len("ref", 32))
                    .col(text("title"))
                    .col(string_len("group_ref", 32))
                    .col(text("group_title"))
                    .col(string_len_null("subgroup_ref", 32))
                    .col(boolean("is_custom"))
                    .col(boolean("ai_specific"))
                    .col(integer("position"))
                    .col(boolean("applicable"))
                    .col(text_null("justification"))
                    .col(json_binary("inclusion_reasons"))
                    .col(string_len("status", 16))
                    .col(text_null("owner"))
                    .col(text_null("implementation_notes"))
                    .col(json_binary("evidence"))
                    .foreign_key(&mut org_fk("controls")),
            ),
            vec![
                tenant_key("controls"),
                index("controls", "org_std_ref", &["organization_id", "standard", "ref"], true),
                index("controls", "org_std_pos", &["organization_id", "standard", "position", "id"], false),
            ],
        )
        .await?;
        create(
            m,
            versioned(
                Table::create()
                    .table("clause_assessments")
                    .col(id())
                    .col(org())
                    .col(string_len("standard", 16))
                    .col(string_len("ref", 16))
                    .col(text("title"))
                    .col(string_len_null("parent_ref", 16))
                    .col(boolean("is_leaf"))
                    .col(integer("position"))
                    .col(string_len("status", 16))
                    .col(text_null("notes"))
                    .col(text_null("owner"))
                    .foreign_key(&mut org_fk("clause_assessments")),
            ),
            vec![
                tenant_key("clause_assessments"),
                index("clause_assessments", "org_std_ref", &["organization_id", "standard", "ref"], true),
            ],
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop(m, &["clause_assessments", "controls"]).await
    }
}
