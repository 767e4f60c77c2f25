//! The SoA records decisions, not defaults (ISO 27001 6.1.3 d; ISO 42001 6.1.3; issue 12).
//!
//! * `controls.decision`: UNDECIDED, INCLUDED or EXCLUDED. Wave 1 started every row
//!   applicable, so an untouched row (version 1) carried no decision: it becomes
//!   UNDECIDED. A row someone changed keeps what it said: INCLUDED when applicable,
//!   EXCLUDED when not. An organization-defined control was added on purpose: INCLUDED
//!   when it came with a justification, UNDECIDED otherwise (the rule for new ones).
//! * `controls.applicable` stays as the derived flag (INCLUDED only).
//! * `controls.ai_relevance`: the seed guide's AI tag on five ISO 27001 controls.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{string_len, text_null};

use crate::catalog_data::AI_RELEVANCE_27001;
use crate::util::cross_tenant;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter().table("controls").add_column(string_len("decision", 16).default("UNDECIDED")).take(),
        )
        .await?;
        m.alter_table(Table::alter().table("controls").add_column(text_null("ai_relevance")).take()).await?;
        cross_tenant(m).await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "UPDATE controls SET decision = CASE
                 WHEN is_custom AND justification IS NOT NULL THEN 'INCLUDED'
                 WHEN version = 1 THEN 'UNDECIDED'
                 WHEN applicable THEN 'INCLUDED'
                 ELSE 'EXCLUDED' END",
        )
        .await?;
        db.execute_unprepared("UPDATE controls SET applicable = (decision = 'INCLUDED')").await?;
        for (reference, why) in AI_RELEVANCE_27001 {
            m.exec_stmt(
                Query::update()
                    .table("controls")
                    .value("ai_relevance", *why)
                    .and_where(Expr::col("standard").eq("ISO27001"))
                    .and_where(Expr::col("ref").eq(*reference))
                    .and_where(Expr::col("is_custom").eq(false))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        cross_tenant(m).await?;
        // Wave 1 read an undecided row as applicable.
        m.get_connection().execute_unprepared("UPDATE controls SET applicable = (decision <> 'EXCLUDED')").await?;
        m.alter_table(Table::alter().table("controls").drop_column("ai_relevance").take()).await?;
        m.alter_table(Table::alter().table("controls").drop_column("decision").take()).await?;
        Ok(())
    }
}
