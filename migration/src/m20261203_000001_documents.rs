//! Issue 13: documented information (clause 7.5 of both standards).
//!
//! * `documents`: controlled documents (policies, procedures, records, …) with their review
//!   cycle. `current_version_id` (the approved version in force) and `latest_version_id`
//!   (the newest version) point into `document_versions`; the pointers carry no foreign
//!   key (the two tables point at each other; the store sets both in the transaction that
//!   writes the versions).
//! * `document_versions`: numbered `major.minor`, unique per document, with the author, the
//!   submission and the approval (who and when).
//! * `document_controls`: links from documents to SoA rows of either standard.
//!
//! Every table is a tenant table under the tenant policy; keys lead with `organization_id`.

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
                    .table("documents")
                    .col(id())
                    .col(org())
                    .col(text("title"))
                    .col(string_len("kind", 24))
                    .col(integer("level"))
                    .col(boolean("covers_iso27001"))
                    .col(boolean("covers_iso42001"))
                    .col(string_len_null("policy_integration", 16))
                    .col(text_null("owner"))
                    .col(text_null("classification"))
                    .col(string_len("status", 16))
                    .col(integer("review_interval_months"))
                    .col(date_null("next_review_on"))
                    .col(json_binary("refs"))
                    .col(uuid_null("current_version_id"))
                    .col(uuid("latest_version_id"))
                    .foreign_key(&mut org_fk("documents")),
            ),
            vec![
                tenant_key("documents"),
                index("documents", "org_title", &["organization_id", "title", "id"], false),
                index("documents", "org_next_review", &["organization_id", "next_review_on"], false),
            ],
        )
        .await?;
        tenant_rls(m, "documents").await?;
        create(
            m,
            versioned(
                Table::create()
                    .table("document_versions")
                    .col(id())
                    .col(org())
                    .col(uuid("document_id"))
                    .col(integer("major"))
                    .col(integer("minor"))
                    .col(text_null("change_summary"))
                    .col(text_null("body"))
                    .col(text("author"))
                    .col(ts_null("submitted_at"))
                    .col(ts_null("approved_at"))
                    .col(text_null("approved_by"))
                    .foreign_key(&mut org_fk("document_versions"))
                    .foreign_key(&mut tenant_fk("document_versions", "document_id", "documents")),
            ),
            vec![
                tenant_key("document_versions"),
                index(
                    "document_versions",
                    "org_document_number",
                    &["organization_id", "document_id", "major", "minor"],
                    true,
                ),
            ],
        )
        .await?;
        tenant_rls(m, "document_versions").await?;
        create(
            m,
            Table::create()
                .table("document_controls")
                .col(org())
                .col(uuid("document_id"))
                .col(uuid("control_id"))
                .col(ts("created_at"))
                .primary_key(Index::create().col("organization_id").col("document_id").col("control_id"))
                .foreign_key(&mut org_fk("document_controls"))
                .foreign_key(&mut tenant_fk("document_controls", "document_id", "documents"))
                .foreign_key(&mut tenant_fk("document_controls", "control_id", "controls")),
            vec![index("document_controls", "org_control", &["organization_id", "control_id"], false)],
        )
        .await?;
        tenant_rls(m, "document_controls").await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop(m, &["document_controls", "document_versions", "documents"]).await
    }
}
