//! Issue 14: objectives and their measurements (ISO 27001 / 42001 6.2, 9.1).
//!
//! * `objectives`: a target on a measure, per organization, under the tenant policy.
//!   `at_risk_limit` is the far edge of the at-risk band, computed by the service from
//!   `target`, `direction` and `at_risk_band_percent` when they are written, so that the
//!   dashboard's SQL and the API derive the same status; `latest_measurement_id`,
//!   `latest_value` and `latest_measured_on` copy the latest measurement (the one measured last, the one
//!   recorded last among those of one day), kept in the transaction that records it.
//! * `measurements`: one value of an objective on one day, who recorded it; never
//!   changed; deleted with their objective.
//! * `context_issues` (4.1): internal and external issues, AI included, with their PESTLE
//!   category; `context_issue_risks` links an issue to the risks and opportunities it
//!   gives rise to (6.1.1), both ends composite tenant keys.

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
                    .table("objectives")
                    .col(id())
                    .col(org())
                    .col(text("title"))
                    .col(text_null("description"))
                    .col(json_binary("standards"))
                    .col(text_null("owner"))
                    .col(text("measure"))
                    .col(text_null("unit"))
                    .col(double("target"))
                    .col(string_len("direction", 16))
                    .col(string_len("frequency", 16))
                    .col(double("at_risk_band_percent"))
                    .col(double("at_risk_limit"))
                    .col(date_null("due_on"))
                    .col(uuid_null("latest_measurement_id"))
                    .col(double_null("latest_value"))
                    .col(date_null("latest_measured_on"))
                    .foreign_key(&mut org_fk("objectives")),
            ),
            vec![
                tenant_key("objectives"),
                index("objectives", "org_title", &["organization_id", "title", "id"], false),
            ],
        )
        .await?;
        tenant_rls(m, "objectives").await?;
        create(
            m,
            versioned(
                Table::create()
                    .table("measurements")
                    .col(id())
                    .col(org())
                    .col(uuid("objective_id"))
                    .col(double("value"))
                    .col(date("measured_on"))
                    .col(text_null("note"))
                    .col(text("recorded_by"))
                    .foreign_key(&mut org_fk("measurements"))
                    .foreign_key(&mut tenant_fk("measurements", "objective_id", "objectives")),
            ),
            vec![
                tenant_key("measurements"),
                index(
                    "measurements",
                    "org_objective_day",
                    &["organization_id", "objective_id", "measured_on", "id"],
                    false,
                ),
            ],
        )
        .await?;
        tenant_rls(m, "measurements").await?;
        create(
            m,
            versioned(
                Table::create()
                    .table("context_issues")
                    .col(id())
                    .col(org())
                    .col(text("title"))
                    .col(text_null("description"))
                    .col(string_len("kind", 16))
                    .col(string_len("category", 16))
                    .col(json_binary("standards"))
                    .col(date_null("reviewed_on"))
                    .foreign_key(&mut org_fk("context_issues")),
            ),
            vec![
                tenant_key("context_issues"),
                index("context_issues", "org_title", &["organization_id", "title", "id"], false),
            ],
        )
        .await?;
        tenant_rls(m, "context_issues").await?;
        create(
            m,
            Table::create()
                .table("context_issue_risks")
                .col(org())
                .col(uuid("context_issue_id"))
                .col(uuid("risk_id"))
                .col(ts("created_at"))
                .primary_key(Index::create().col("organization_id").col("context_issue_id").col("risk_id"))
                .foreign_key(&mut org_fk("context_issue_risks"))
                .foreign_key(
                    &mut tenant_fk("context_issue_risks", "context_issue_id", "context_issues")
                        .on_delete(ForeignKeyAction::Cascade)
                        .take(),
                )
                .foreign_key(&mut tenant_fk("context_issue_risks", "risk_id", "risks")),
            vec![index("context_issue_risks", "org_risk", &["organization_id", "risk_id"], false)],
        )
        .await?;
        tenant_rls(m, "context_issue_risks").await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop(m, &["context_issue_risks", "context_issues", "measurements", "objectives"]).await
    }
}
