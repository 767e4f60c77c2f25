//! Nonconformities per ISO 27001 / 42001 10.2 (issue 12): the immediate `correction`
//! (10.2 a, beside `containment`), the 10.2 b decision that no action is needed
//! (`action_needed`, `no_action_justification`), links to similar nonconformities
//! (10.2 b 3) and the changes to the management system (10.2 e). Existing NCRs keep their
//! text; their actions were planned, so `action_needed` is TRUE, and they link to no
//! similar ones yet.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{boolean, json_binary, text_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "nonconformities";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for col in [
            text_null("correction"),
            boolean("action_needed").default(true).take(),
            text_null("no_action_justification"),
            json_binary("similar_nonconformity_ids").default("[]").take(),
            text_null("management_system_changes"),
        ] {
            m.alter_table(Table::alter().table(TABLE).add_column(col).take()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            "management_system_changes",
            "similar_nonconformity_ids",
            "no_action_justification",
            "action_needed",
            "correction",
        ] {
            m.alter_table(Table::alter().table(TABLE).drop_column(col).take()).await?;
        }
        Ok(())
    }
}
