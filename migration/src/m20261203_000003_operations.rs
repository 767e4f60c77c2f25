//! Issue 15: incidents, suppliers and the management review (ISO 27001 A.5.19-A.5.28,
//! 9.3; ISO 42001 A.3.3, A.10, 9.3).
//!
//! * `suppliers`, `supplier_assessments`, and the supplier links to risks, AI systems and
//!   SoA rows (`supplier_risks`, `supplier_ai_systems`, `supplier_controls`).
//! * `incidents`: unique per organization by ticket `(external_system, external_key)` (the
//!   idempotency key of `upsertIncidentByExternalRef`; rows without a ticket hold NULLs,
//!   which never collide).
//! * `management_reviews`, `review_inputs` (one per review and topic), `review_decisions`
//!   (the management review, read and written through the gate since its API landed).
//!
//! Every table is a tenant table: composite tenant foreign keys, the tenant policy.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::util::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A link table between a supplier and another tenant entity, dropped with the supplier.
async fn supplier_link(
    m: &SchemaManager<'_>,
    table: &'static str,
    col: &'static str,
    to: &'static str,
) -> Result<(), DbErr> {
    create(
        m,
        Table::create()
            .table(table)
            .col(org())
            .col(uuid("supplier_id"))
            .col(uuid(col))
            .col(ts("created_at"))
            .primary_key(Index::create().col("organization_id").col("supplier_id").col(col))
            .foreign_key(&mut org_fk(table))
            .foreign_key(&mut tenant_fk(table, "supplier_id", "suppliers").on_delete(ForeignKeyAction::Cascade).take())
            .foreign_key(&mut tenant_fk(table, col, to).on_delete(ForeignKeyAction::Cascade).take()),
        vec![index(table, &format!("org_{col}"), &["organization_id", col], false)],
    )
    .await?;
    tenant_rls(m, table).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        create(
            m,
            versioned(
                Table::create()
                    .table("suppliers")
                    .col(id())
                    .col(org())
                    .col(text("name"))
                    .col(text_null("services"))
                    .col(string_len("criticality", 16))
                    .col(string_len("status", 16))
                    .col(boolean("provides_ai").default(false))
                    .col(json_binary("ai_components"))
                    .col(date_null("contract_ends_on"))
                    .col(text_null("owner"))
                    // The latest assessment's result, day and next review, kept with the
                    // supplier for the activation rule and the dashboard's counts.
                    .col(string_len_null("latest_result", 16))
                    .col(date_null("latest_assessed_on"))
                    .col(date_null("next_assessment_due"))
                    .foreign_key(&mut org_fk("suppliers")),
            ),
            vec![
                tenant_key("suppliers"),
                index("suppliers", "org_name", &["organization_id", "name"], true),
                index("suppliers", "org_status", &["organization_id", "status"], false),
            ],
        )
        .await?;
        tenant_rls(m, "suppliers").await?;
        create(
            m,
            versioned(
                Table::create()
                    .table("supplier_assessments")
                    .col(id())
                    .col(org())
                    .col(uuid("supplier_id"))
                    .col(date("assessed_on"))
                    .col(text("assessor"))
                    .col(string_len("result", 16))
                    .col(text_null("conditions"))
                    .col(text_null("notes"))
                    .col(date_null("next_review_on"))
                    .foreign_key(&mut org_fk("supplier_assessments"))
                    .foreign_key(&mut tenant_fk("supplier_assessments", "supplier_id", "suppliers")),
            ),
            vec![
                tenant_key("supplier_assessments"),
                index(
                    "supplier_assessments",
                    "org_supplier",
                    &["organization_id", "supplier_id", "assessed_on"],
                    false,
                ),
            ],
        )
        .await?;
        tenant_rls(m, "supplier_assessments").await?;
        supplier_link(m, "supplier_risks", "risk_id", "risks").await?;
        supplier_link(m, "supplier_ai_systems", "ai_system_id", "ai_systems").await?;
        supplier_link(m, "supplier_controls", "control_id", "controls").await?;

        create(
            m,
            versioned(
                Table::create()
                    .table("incidents")
                    .col(id())
                    .col(org())
                    .col(text("title"))
                    .col(text_null("description"))
                    .col(string_len("kind", 16))
                    .col(json_binary("ai_harms"))
                    .col(string_len("severity", 16))
                    .col(string_len("status", 16))
                    .col(ts("detected_at"))
                    .col(ts("reported_at"))
                    .col(ts_null("triaged_at"))
                    .col(ts_null("contained_at"))
                    .col(ts_null("resolved_at"))
                    .col(ts_null("closed_at"))
                    // Kept with the times, for the dashboard's means (a portable AVG).
                    .col(integer_null("seconds_to_contain"))
                    .col(integer_null("seconds_to_resolve"))
                    .col(uuid_null("ai_system_id"))
                    .col(uuid_null("supplier_id"))
                    .col(json_binary("affected_control_ids"))
                    .col(string_len_null("external_system", 64))
                    .col(string_len_null("external_key", 255))
                    .col(text_null("external_url"))
                    .col(text_null("external_status"))
                    .col(boolean("ticket_synced").default(false))
                    .col(text_null("lessons_learned"))
                    .col(uuid_null("nonconformity_id"))
                    .foreign_key(&mut org_fk("incidents"))
                    .foreign_key(&mut tenant_fk("incidents", "ai_system_id", "ai_systems"))
                    .foreign_key(&mut tenant_fk("incidents", "supplier_id", "suppliers"))
                    .foreign_key(&mut tenant_fk("incidents", "nonconformity_id", "nonconformities")),
            ),
            vec![
                tenant_key("incidents"),
                index("incidents", "org_ticket", &["organization_id", "external_system", "external_key"], true),
                index("incidents", "org_status", &["organization_id", "status"], false),
                index("incidents", "org_detected", &["organization_id", "detected_at"], false),
                index("incidents", "org_ai_system", &["organization_id", "ai_system_id"], false),
                index("incidents", "org_supplier", &["organization_id", "supplier_id"], false),
                index("incidents", "org_nonconformity", &["organization_id", "nonconformity_id"], true),
            ],
        )
        .await?;
        tenant_rls(m, "incidents").await?;

        create(
            m,
            versioned(
                Table::create()
                    .table("management_reviews")
                    .col(id())
                    .col(org())
                    .col(text("title"))
                    .col(date("planned_on"))
                    .col(date_null("held_on"))
                    .col(string_len("status", 16))
                    .col(json_binary("standards"))
                    .col(json_binary("attendees"))
                    .col(json_binary_null("snapshot"))
                    .foreign_key(&mut org_fk("management_reviews")),
            ),
            vec![
                tenant_key("management_reviews"),
                index("management_reviews", "org_planned", &["organization_id", "planned_on", "id"], false),
            ],
        )
        .await?;
        tenant_rls(m, "management_reviews").await?;
        create(
            m,
            versioned(
                Table::create()
                    .table("review_inputs")
                    .col(id())
                    .col(org())
                    .col(uuid("review_id"))
                    .col(string_len("topic", 40))
                    .col(text("summary"))
                    .foreign_key(&mut org_fk("review_inputs"))
                    .foreign_key(&mut tenant_fk("review_inputs", "review_id", "management_reviews")),
            ),
            vec![
                tenant_key("review_inputs"),
                index("review_inputs", "org_review_topic", &["organization_id", "review_id", "topic"], true),
            ],
        )
        .await?;
        tenant_rls(m, "review_inputs").await?;
        create(
            m,
            versioned(
                Table::create()
                    .table("review_decisions")
                    .col(id())
                    .col(org())
                    .col(uuid("review_id"))
                    .col(text("text"))
                    .col(string_len("kind", 24))
                    .col(text_null("owner"))
                    .col(date_null("due_on"))
                    .col(string_len("status", 16))
                    .foreign_key(&mut org_fk("review_decisions"))
                    .foreign_key(&mut tenant_fk("review_decisions", "review_id", "management_reviews")),
            ),
            vec![
                tenant_key("review_decisions"),
                index("review_decisions", "org_review", &["organization_id", "review_id"], false),
                index("review_decisions", "org_status", &["organization_id", "status"], false),
            ],
        )
        .await?;
        tenant_rls(m, "review_decisions").await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop(
            m,
            &[
                "review_decisions",
                "review_inputs",
                "management_reviews",
                "incidents",
                "supplier_controls",
                "supplier_ai_systems",
                "supplier_risks",
                "supplier_assessments",
                "suppliers",
            ],
        )
        .await
    }
}
