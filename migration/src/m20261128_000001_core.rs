//! Tenants, memberships and the append-only audit trail.

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
                    .table("organizations")
                    .col(id())
                    .col(text("name"))
                    .col(string_len("slug", 63))
                    .col(json_binary_null("risk_settings")),
            ),
            vec![index("organizations", "slug", &["slug"], true)],
        )
        .await?;

        create(
            m,
            versioned(
                Table::create()
                    .table("memberships")
                    .col(id())
                    .col(org())
                    .col(text("subject"))
                    .col(string_len("role", 32))
                    .foreign_key(&mut org_fk("memberships")),
            ),
            vec![
                index("memberships", "org_subject", &["organization_id", "subject"], true),
                index("memberships", "subject", &["subject"], false),
            ],
        )
        .await?;

        // The audit trail: one hash chain per tenant, ordered by `seq`.
        create(
            m,
            Table::create()
                .table("changes")
                .col(id())
                .col(org())
                .col(big_integer("seq"))
                .col(ts("at"))
                .col(text("actor"))
                .col(string_len("action", 16))
                .col(string_len("entity_type", 48))
                .col(uuid("entity_id"))
                .col(text("fields"))
                .col(text("request_id"))
                .col(string_len("prev_hash", 64))
                .col(string_len("hash", 64))
                .foreign_key(&mut org_fk("changes")),
            vec![
                index("changes", "org_seq", &["organization_id", "seq"], true),
                index("changes", "org_entity", &["organization_id", "entity_id", "seq"], false),
            ],
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop(m, &["changes", "memberships", "organizations"]).await
    }
}
