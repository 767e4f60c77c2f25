//! Issue 18: tenant templates. `organizations.is_template` marks an organization whose
//! risk settings and SoA decisions new organizations may be created from (set by its
//! OWNER). Existing organizations are not templates.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("organizations").add_column(boolean("is_template").default(false)).take())
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("organizations").drop_column("is_template").take()).await
    }
}
