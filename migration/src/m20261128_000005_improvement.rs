//! The audit programme (clause 9.2) and the nonconformity and corrective-action process
//! (clause 10.2), with workflow history.

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
                    .table("audits")
                    .col(id())
                    .col(org())
                    .col(text("title"))
                    .col(string_len("audit_type", 16))
                    .col(string_len("mode", 16))
                    .col(string_len("focus", 16))
                    .col(boolean("covers_iso27001"))
                    .col(boolean("covers_iso42001"))
                    .col(uuid_null("scope_id"))
                    .col(date_null("planned_start"))
                    .col(date_null("planned_end"))
                    .col(date_null("actual_start"))
                    .col(date_null("actual_end"))
                    .col(text_null("lead_auditor"))
                    .col(json_binary("team"))
                    .col(json_binary("criteria"))
                    .col(text_null("objectives"))
                    .col(string_len("status", 16))
                    .col(text_null("cancel_reason"))
                    .foreign_key(&mut org_fk("audits"))
                    .foreign_key(&mut tenant_fk("audits", "scope_id", "scopes")),
            ),
            vec![
                tenant_key("audits"),
                index("audits", "org_start", &["organization_id", "planned_start", "id"], false),
                index("audits", "org_scope", &["organization_id", "scope_id"], false),
            ],
        )
        .await?;
        create(
            m,
            versioned(
                Table::create()
                    .table("findings")
                    .col(id())
                    .col(org())
                    .col(uuid("audit_id"))
                    .col(string_len("finding_type", 32))
                    .col(text("title"))
                    .col(text_null("description"))
                    .col(text_null("evidence"))
                    .col(json_binary("refs"))
                    .foreign_key(&mut org_fk("findings"))
                    .foreign_key(&mut tenant_fk("findings", "audit_id", "audits")),
            ),
            vec![tenant_key("findings"), index("findings", "org_audit", &["organization_id", "audit_id", "id"], false)],
        )
        .await?;
        create(
            m,
            versioned(
                Table::create()
                    .table("nonconformities")
                    .col(id())
                    .col(org())
                    .col(text("title"))
                    .col(text_null("description"))
                    .col(string_len("source", 24))
                    .col(string_len("severity", 8))
                    .col(json_binary("refs"))
                    .col(text_null("owner"))
                    .col(text_null("containment"))
                    .col(text_null("root_cause"))
                    .col(text_null("effectiveness_review"))
                    .col(string_len("status", 16))
                    .col(uuid_null("finding_id"))
                    .col(string_len_null("external_system", 64))
                    .col(string_len_null("external_key", 255))
                    .col(text_null("external_url"))
                    .col(text_null("external_status"))
                    .col(boolean_null("external_done"))
                    .col(ts_null("closed_at"))
                    .foreign_key(&mut org_fk("nonconformities"))
                    .foreign_key(&mut tenant_fk("nonconformities", "finding_id", "findings")),
            ),
            vec![
                tenant_key("nonconformities"),
                // ISO 27001/42001 10.2: one NCR per finding; raising twice returns the same one.
                index("nonconformities", "org_finding", &["organization_id", "finding_id"], true),
                // Ticketing sync: one NCR per ticket.
                index("nonconformities", "org_external", &["organization_id", "external_system", "external_key"], true),
                index("nonconformities", "org_status", &["organization_id", "status", "created_at"], false),
            ],
        )
        .await?;
        create(
            m,
            versioned(
                Table::create()
                    .table("corrective_actions")
                    .col(id())
                    .col(org())
                    .col(uuid("nonconformity_id"))
                    .col(text("title"))
                    .col(text_null("owner"))
                    .col(date_null("due_date"))
                    .col(string_len("status", 16))
                    .col(text_null("completion_note"))
                    .col(ts_null("completed_at"))
                    .foreign_key(&mut org_fk("corrective_actions"))
                    .foreign_key(&mut tenant_fk("corrective_actions", "nonconformity_id", "nonconformities")),
            ),
            vec![
                tenant_key("corrective_actions"),
                index("corrective_actions", "org_ncr", &["organization_id", "nonconformity_id", "id"], false),
                index("corrective_actions", "org_due", &["organization_id", "status", "due_date"], false),
            ],
        )
        .await?;
        create(
            m,
            Table::create()
                .table("workflow_transitions")
                .col(id())
                .col(org())
                .col(string_len("entity_type", 48))
                .col(uuid("entity_id"))
                .col(string_len("from_status", 24))
                .col(string_len("to_status", 24))
                .col(text("actor"))
                .col(text_null("note"))
                .col(ts("at"))
                .foreign_key(&mut org_fk("workflow_transitions")),
            vec![index("workflow_transitions", "org_entity", &["organization_id", "entity_id", "at"], false)],
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop(m, &["workflow_transitions", "corrective_actions", "nonconformities", "findings", "audits"]).await
    }
}
