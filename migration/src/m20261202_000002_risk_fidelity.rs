//! Risk acceptance holds only for what was accepted, risks and opportunities (ISO 27001
//! 6.1.1, 6.1.3 f; issue 12).
//!
//! * `risks.kind`: THREAT (every wave-1 risk) or OPPORTUNITY.
//! * `risks.accepted_score`: the residual score an acceptance was given for. Wave 1 did
//!   not record it; a risk accepted then is taken to have been accepted at the residual
//!   score it has now, so no acceptance lapses by the migration itself.
//! * `risks.accepted_on_behalf_of`: the risk owner an OWNER or MANAGER accepted for.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{integer_null, string_len, text_null};

use crate::util::cross_tenant;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("risks").add_column(string_len("kind", 16).default("THREAT")).take())
            .await?;
        m.alter_table(Table::alter().table("risks").add_column(integer_null("accepted_score")).take()).await?;
        m.alter_table(Table::alter().table("risks").add_column(text_null("accepted_on_behalf_of")).take()).await?;
        cross_tenant(m).await?;
        m.get_connection()
            .execute_unprepared("UPDATE risks SET accepted_score = effective_score WHERE treatment = 'ACCEPT'")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in ["accepted_on_behalf_of", "accepted_score", "kind"] {
            m.alter_table(Table::alter().table("risks").drop_column(col).take()).await?;
        }
        Ok(())
    }
}
