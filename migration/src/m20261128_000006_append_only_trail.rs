//! Defence in depth for the audit trail: the database itself refuses UPDATE and DELETE on
//! `changes` (the service only ever inserts). The hash chain shows edits by anyone who
//! cannot recompute it; an owner able to drop these triggers can rewrite a row and every
//! later hash, which only the signed trail head (`auditTrailHead`) exposes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$;
                     CREATE TRIGGER changes_append_only BEFORE UPDATE OR DELETE ON changes
                     FOR EACH ROW EXECUTE FUNCTION changes_append_only();",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TRIGGER changes_no_update BEFORE UPDATE ON changes
                     BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER changes_no_delete BEFORE DELETE ON changes
                     BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "DROP TRIGGER IF EXISTS changes_append_only ON changes; DROP FUNCTION IF EXISTS changes_append_only();",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared("DROP TRIGGER IF EXISTS changes_no_update").await?;
                db.execute_unprepared("DROP TRIGGER IF EXISTS changes_no_delete").await?;
            }
        }
        Ok(())
    }
}
