//! Issue 12, part B: internal audits per 9.2.2 (2022/2023) and the certification cycle
//! (ISO/IEC 17021-1).
//!
//! * `certifications`: a certificate of a certification body for one or both standards,
//!   unique per organization by (certification body, certificate number), under the
//!   tenant policy.
//! * `audits.certification_id`: the cycle an external audit belongs to. PostgreSQL gets
//!   the composite tenant foreign key `(organization_id, certification_id)`; SQLite
//!   cannot add a foreign key to an existing table, so there the store's check (the
//!   certification must be one of the audit's organization) is the only guard.
//! * `audits.reported_to`, `audits.reported_on`: 9.2.2 c, results reported to management.
//!
//! Existing data keeps its meaning: audits of type CERTIFICATION keep that type (still
//! valid, deprecated in the API in favour of STAGE_1 and STAGE_2; which stage an old audit
//! was cannot be told from its row); audits get no certification; COMPLETED audits
//! keep `reported_to`/`reported_on` empty (the report is required for moves to COMPLETED
//! from now on; closed records are not rewritten with dates nobody recorded).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::util::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const FK: &str = "fk_audits_certification_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        create(
            m,
            versioned(
                Table::create()
                    .table("certifications")
                    .col(id())
                    .col(org())
                    .col(json_binary("standards"))
                    .col(text("certification_body"))
                    .col(text("certificate_number"))
                    .col(date("issued_on"))
                    .col(date("expires_on"))
                    .col(string_len("status", 16))
                    .foreign_key(&mut org_fk("certifications")),
            ),
            vec![
                tenant_key("certifications"),
                index(
                    "certifications",
                    "org_body_number",
                    &["organization_id", "certification_body", "certificate_number"],
                    true,
                ),
                index("certifications", "org_expires", &["organization_id", "expires_on", "id"], false),
            ],
        )
        .await?;
        tenant_rls(m, "certifications").await?;
        // SQLite alters one column per statement.
        m.alter_table(Table::alter().table("audits").add_column(uuid_null("certification_id")).take()).await?;
        m.alter_table(Table::alter().table("audits").add_column(text_null("reported_to")).take()).await?;
        m.alter_table(Table::alter().table("audits").add_column(date_null("reported_on")).take()).await?;
        if m.get_database_backend() == DbBackend::Postgres {
            m.create_foreign_key(tenant_fk("audits", "certification_id", "certifications")).await?;
        }
        m.create_index(index("audits", "org_certification", &["organization_id", "certification_id"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_audits_org_certification").table("audits").to_owned()).await?;
        if m.get_database_backend() == DbBackend::Postgres {
            m.drop_foreign_key(ForeignKey::drop().name(FK).table("audits").to_owned()).await?;
        }
        for c in ["reported_on", "reported_to", "certification_id"] {
            m.alter_table(Table::alter().table("audits").drop_column(c).take()).await?;
        }
        // Audits of the types this migration introduced fall back to the one type the
        // earlier schema knew for them.
        cross_tenant(m).await?;
        m.get_connection()
            .execute_unprepared(
                "UPDATE audits SET audit_type = 'CERTIFICATION' WHERE audit_type IN ('STAGE_1', 'STAGE_2')",
            )
            .await?;
        drop(m, &["certifications"]).await
    }
}
