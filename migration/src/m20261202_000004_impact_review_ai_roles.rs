//! Impact assessments go stale and AI roles as the standards define them (issue 12).
//!
//! `impact_assessments`: `review_interval_months` (default 12) and `next_review_on`;
//! existing APPROVED assessments are due 12 months after their approval date (UTC), the
//! last day of the month when that day does not exist (29 February).
//!
//! `ai_systems`: `organization_roles`, the ISO/IEC 22989 roles, mapped from the wave-1
//! `organization_role` (kept: the deprecated field still answers from it): PROVIDER →
//! AI_PROVIDER, DEVELOPER → AI_PRODUCER, DEPLOYER and USER → AI_CUSTOMER. The optional
//! `eu_ai_act_role` and `eu_ai_act_risk_class` start empty: whether and how the EU AI Act
//! applies is a legal determination the old value does not record. `assessment_basis_changed_at`
//! records when purpose, data categories or lifecycle stage last changed (empty: no
//! change known since wave 1).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{date_null, integer, json_binary, string_len_null};
use sea_orm_migration::sea_orm::DbBackend;

use crate::util::{cross_tenant, ts_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Wave-1 role → ISO/IEC 22989 roles (JSON list of labels).
const ROLE_MAP: &[(&str, &str)] = &[
    ("PROVIDER", r#"["AI_PROVIDER"]"#),
    ("DEVELOPER", r#"["AI_PRODUCER"]"#),
    ("DEPLOYER", r#"["AI_CUSTOMER"]"#),
    ("USER", r#"["AI_CUSTOMER"]"#),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [integer("review_interval_months").default(12).take(), date_null("next_review_on")] {
            m.alter_table(Table::alter().table("impact_assessments").add_column(col).take()).await?;
        }
        for col in [
            json_binary("organization_roles").default("[]").take(),
            string_len_null("eu_ai_act_role", 16),
            string_len_null("eu_ai_act_risk_class", 16),
            ts_null("assessment_basis_changed_at"),
        ] {
            m.alter_table(Table::alter().table("ai_systems").add_column(col).take()).await?;
        }
        cross_tenant(m).await?;
        let db = m.get_connection();
        for (old, new) in ROLE_MAP {
            db.execute_unprepared(&format!(
                "UPDATE ai_systems SET organization_roles = '{new}' WHERE organization_role = '{old}'"
            ))
            .await?;
        }
        let next_review = match m.get_database_backend() {
            // Month arithmetic clamps to the month's last day.
            DbBackend::Postgres => "((approved_at AT TIME ZONE 'UTC') + interval '12 months')::date".to_string(),
            // Timestamps are stored as UTC text (`YYYY-MM-DD HH:MM:SS…+00:00`); SQLite rolls
            // 29 February + 12 months over to 1 March, so that day steps back first.
            _ => "CASE WHEN substr(approved_at, 6, 5) = '02-29' \
                  THEN date(substr(approved_at, 1, 10), '-1 day', '+12 months') \
                  ELSE date(substr(approved_at, 1, 10), '+12 months') END"
                .to_string(),
        };
        db.execute_unprepared(&format!(
            "UPDATE impact_assessments SET next_review_on = {next_review}
              WHERE status = 'APPROVED' AND approved_at IS NOT NULL"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in ["assessment_basis_changed_at", "eu_ai_act_risk_class", "eu_ai_act_role", "organization_roles"] {
            m.alter_table(Table::alter().table("ai_systems").drop_column(col).take()).await?;
        }
        for col in ["next_review_on", "review_interval_months"] {
            m.alter_table(Table::alter().table("impact_assessments").drop_column(col).take()).await?;
        }
        Ok(())
    }
}
