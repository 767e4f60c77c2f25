//! Row-level security, evaluated once per statement instead of once per row.
//!
//! The first policies called `annex_visible(organization_id)`, which re-read and re-parsed
//! `annex.org_ids` for every row a scan touched (the benchmark measured 1.5-15 × the
//! PostgreSQL CPU of the same queries as the owner). The tenant list and the admin flag are
//! now read by scalar subqueries, which PostgreSQL evaluates once per statement (an
//! InitPlan), and `organization_id = ANY(array)` can use the tenant indexes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::util::{TENANT_TABLES_20261201, tenant_rls_policy};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        m.get_connection()
            .execute_unprepared(
                "CREATE OR REPLACE FUNCTION annex_org_ids() RETURNS uuid[]
                 LANGUAGE sql STABLE AS $$
                   SELECT coalesce(nullif(current_setting('annex.org_ids', true), ''), '{}')::uuid[]
                 $$;
                 CREATE OR REPLACE FUNCTION annex_is_platform_admin() RETURNS boolean
                 LANGUAGE sql STABLE AS $$
                   SELECT coalesce(current_setting('annex.platform_admin', true), '') = 'on'
                 $$;",
            )
            .await?;
        for table in TENANT_TABLES_20261201 {
            m.get_connection()
                .execute_unprepared(&format!("DROP POLICY IF EXISTS tenant_isolation ON {table}"))
                .await?;
            tenant_rls_policy(m, table).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for table in TENANT_TABLES_20261201 {
            let column = if *table == "organizations" { "id" } else { "organization_id" };
            m.get_connection()
                .execute_unprepared(&format!(
                    "DROP POLICY IF EXISTS tenant_isolation ON {table};
                     CREATE POLICY tenant_isolation ON {table}
                       USING (annex_visible({column})) WITH CHECK (annex_visible({column}));"
                ))
                .await?;
        }
        Ok(())
    }
}
