//! PostgreSQL row-level security as a second wall behind the tenancy gate.
//!
//! Every tenant table gets one policy: a row is visible (and writable) only when its
//! `organization_id` is among the organizations the current transaction was opened for
//! (`annex.org_ids`, set by the gate with `set_config(…, true)`), or the transaction
//! belongs to a platform admin (`annex.platform_admin = 'on'`). `FORCE` makes the policy
//! bind the table owner too; only superusers bypass it. `annex_session` opens a
//! transaction's tenant context: it records the subject, reads that subject's memberships
//! (the one read a policy allows before the organizations are known) and sets
//! `annex.org_ids` to them, returning the memberships in the same round trip.
//!
//! Data migrations that must touch every tenant set `annex.platform_admin` locally
//! ([`crate::util::cross_tenant`]). SQLite has no row-level security: nothing to do there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::util::{TENANT_TABLES_20261201, tenant_rls_down};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION annex_visible(org uuid) RETURNS boolean
             LANGUAGE sql STABLE AS $$
               SELECT coalesce(current_setting('annex.platform_admin', true), '') = 'on'
                   OR org = ANY (coalesce(nullif(current_setting('annex.org_ids', true), ''), '{}')::uuid[])
             $$;
             CREATE OR REPLACE FUNCTION annex_session(p_subject text, p_platform_admin boolean)
             RETURNS TABLE (org_id uuid, member_role text)
             LANGUAGE plpgsql VOLATILE AS $$
             DECLARE
               orgs uuid[];
               roles text[];
             BEGIN
               PERFORM set_config('annex.subject', p_subject, true);
               PERFORM set_config('annex.platform_admin', CASE WHEN p_platform_admin THEN 'on' ELSE 'off' END, true);
               SELECT array_agg(m.organization_id), array_agg(m.role) INTO orgs, roles
                 FROM memberships m WHERE m.subject = p_subject;
               PERFORM set_config('annex.org_ids', coalesce(orgs, '{}'::uuid[])::text, true);
               RETURN QUERY SELECT u.o, u.r FROM unnest(coalesce(orgs, '{}'::uuid[]), coalesce(roles, '{}'::text[])) AS u(o, r);
             END $$;",
        )
        .await?;
        for table in TENANT_TABLES_20261201 {
            let column = if *table == "organizations" { "id" } else { "organization_id" };
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
                 ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
                 CREATE POLICY tenant_isolation ON {table}
                   USING (annex_visible({column})) WITH CHECK (annex_visible({column}));"
            ))
            .await?;
        }
        // A subject may always read its own memberships: that is how a transaction
        // learns which organizations it may see.
        db.execute_unprepared(
            "CREATE POLICY own_memberships ON memberships FOR SELECT
             USING (subject = current_setting('annex.subject', true))",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        db.execute_unprepared("DROP POLICY IF EXISTS own_memberships ON memberships").await?;
        for table in TENANT_TABLES_20261201 {
            tenant_rls_down(m, table).await?;
        }
        db.execute_unprepared(
            "DROP FUNCTION IF EXISTS annex_session(text, boolean); DROP FUNCTION IF EXISTS annex_visible(uuid);",
        )
        .await?;
        Ok(())
    }
}
