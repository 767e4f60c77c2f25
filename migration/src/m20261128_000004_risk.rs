//! Scopes, the AI systems inventory, the integrated risk register and AI impact assessments.

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
                    .table("scopes")
                    .col(id())
                    .col(org())
                    .col(text("name"))
                    .col(string_len("kind", 16))
                    .col(text_null("description"))
                    .col(text_null("boundaries"))
                    .col(json_binary("inclusions"))
                    .col(json_binary("exclusions"))
                    .col(json_binary("standards"))
                    .foreign_key(&mut org_fk("scopes")),
            ),
            vec![tenant_key("scopes"), index("scopes", "org_name", &["organization_id", "name"], true)],
        )
        .await?;
        create(
            m,
            versioned(
                Table::create()
                    .table("ai_systems")
                    .col(id())
                    .col(org())
                    .col(text("name"))
                    .col(text_null("description"))
                    .col(text_null("purpose"))
                    .col(string_len("lifecycle_stage", 16))
                    .col(string_len("organization_role", 16))
                    .col(text_null("owner"))
                    .col(uuid_null("scope_id"))
                    .col(json_binary("data_categories"))
                    .col(text_null("human_oversight"))
                    .foreign_key(&mut org_fk("ai_systems"))
                    .foreign_key(&mut tenant_fk("ai_systems", "scope_id", "scopes")),
            ),
            vec![
                tenant_key("ai_systems"),
                index("ai_systems", "org_name", &["organization_id", "name"], true),
                index("ai_systems", "org_scope", &["organization_id", "scope_id"], false),
            ],
        )
        .await?;
        create(
            m,
            versioned(
                Table::create()
                    .table("risks")
                    .col(id())
                    .col(org())
                    .col(text("title"))
                    .col(text_null("description"))
                    .col(string_len("category", 32))
                    .col(string_len("domain", 16))
                    .col(integer("likelihood"))
                    .col(integer("impact"))
                    .col(integer("inherent_score"))
                    .col(integer_null("residual_likelihood"))
                    .col(integer_null("residual_impact"))
                    .col(integer("effective_score"))
                    .col(string_len_null("treatment", 16))
                    .col(text_null("acceptance_justification"))
                    .col(text_null("accepted_by"))
                    .col(date_null("acceptance_expires_on"))
                    .col(text_null("owner"))
                    .col(string_len("status", 16))
                    .col(date_null("review_date"))
                    .col(uuid_null("scope_id"))
                    .col(uuid_null("ai_system_id"))
                    .foreign_key(&mut org_fk("risks"))
                    .foreign_key(&mut tenant_fk("risks", "scope_id", "scopes"))
                    .foreign_key(&mut tenant_fk("risks", "ai_system_id", "ai_systems")),
            ),
            vec![
                tenant_key("risks"),
                index("risks", "org_score", &["organization_id", "effective_score", "id"], false),
                index("risks", "org_created", &["organization_id", "created_at", "id"], false),
                index("risks", "org_title", &["organization_id", "title", "id"], false),
                index("risks", "org_review", &["organization_id", "review_date", "id"], false),
                index("risks", "org_scope", &["organization_id", "scope_id"], false),
                index("risks", "org_ai_system", &["organization_id", "ai_system_id"], false),
            ],
        )
        .await?;
        create(
            m,
            Table::create()
                .table("risk_controls")
                .col(org())
                .col(uuid("risk_id"))
                .col(uuid("control_id"))
                .col(ts("created_at"))
                .primary_key(Index::create().col("organization_id").col("risk_id").col("control_id"))
                .foreign_key(&mut org_fk("risk_controls"))
                .foreign_key(
                    &mut tenant_fk("risk_controls", "risk_id", "risks").on_delete(ForeignKeyAction::Cascade).take(),
                )
                .foreign_key(&mut tenant_fk("risk_controls", "control_id", "controls")),
            vec![index("risk_controls", "org_control", &["organization_id", "control_id"], false)],
        )
        .await?;
        create(
            m,
            versioned(
                Table::create()
                    .table("impact_assessments")
                    .col(id())
                    .col(org())
                    .col(uuid("ai_system_id"))
                    .col(text("title"))
                    .col(text_null("assessed_individuals"))
                    .col(text_null("assessed_groups"))
                    .col(text_null("assessed_societies"))
                    .col(json_binary("impacts"))
                    .col(string_len("status", 16))
                    .col(text_null("approved_by"))
                    .col(ts_null("approved_at"))
                    .foreign_key(&mut org_fk("impact_assessments"))
                    .foreign_key(&mut tenant_fk("impact_assessments", "ai_system_id", "ai_systems")),
            ),
            vec![
                tenant_key("impact_assessments"),
                index("impact_assessments", "org_ai_system", &["organization_id", "ai_system_id"], false),
            ],
        )
        .await?;
        create(
            m,
            Table::create()
                .table("impact_assessment_risks")
                .col(org())
                .col(uuid("impact_assessment_id"))
                .col(uuid("risk_id"))
                .primary_key(Index::create().col("organization_id").col("impact_assessment_id").col("risk_id"))
                .foreign_key(&mut org_fk("impact_assessment_risks"))
                .foreign_key(
                    &mut tenant_fk("impact_assessment_risks", "impact_assessment_id", "impact_assessments")
                        .on_delete(ForeignKeyAction::Cascade)
                        .take(),
                )
                .foreign_key(
                    &mut tenant_fk("impact_assessment_risks", "risk_id", "risks")
                        .on_delete(ForeignKeyAction::Cascade)
                        .take(),
                ),
            vec![index("impact_assessment_risks", "org_risk", &["organization_id", "risk_id"], false)],
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop(m, &["impact_assessment_risks", "impact_assessments", "risk_controls", "risks", "ai_systems", "scopes"])
            .await
    }
}
