//! Issue 18: spreadsheet import. `risks.external_key` is the stable key a spreadsheet row
//! of the risk register carries, unique per organization (rows without one stay as they
//! are: both databases let a unique index hold many NULLs).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::util::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("risks").add_column(text_null("external_key")).take()).await?;
        m.create_index(index("risks", "org_external_key", &["organization_id", "external_key"], true)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ux_risks_org_external_key").table("risks").to_owned()).await?;
        m.alter_table(Table::alter().table("risks").drop_column("external_key").take()).await
    }
}
