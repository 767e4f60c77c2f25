//! `nonconformities.ticket_synced`: whether an NCR was created with its ticket, which is
//! what an INTEGRATION may sync (issue 9, finding 3). Existing NCRs that carry a ticket
//! and did not come from an audit finding are taken to be ticket-made; NCRs raised from
//! findings, and NCRs people opened, are not.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::boolean;

use crate::util::cross_tenant;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter().table("nonconformities").add_column(boolean("ticket_synced").default(false)).take(),
        )
        .await?;
        cross_tenant(m).await?;
        m.get_connection()
            .execute_unprepared(
                "UPDATE nonconformities SET ticket_synced = TRUE
                  WHERE external_system IS NOT NULL AND finding_id IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("nonconformities").drop_column("ticket_synced").take()).await?;
        Ok(())
    }
}
