//! The PostgreSQL runtime role: what the service connects as. It owns nothing, has no
//! BYPASSRLS, may read and write tenant tables (under row-level security), may only read
//! the catalogs, and may only append to the audit trail.

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

/// Tables the runtime role may read and insert into, never update or delete.
pub const APPEND_ONLY: &[&str] = &["changes", "workflow_transitions"];

/// `"name"` as a PostgreSQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The grants for `role`, computed from the tables present: tenant tables (those with an
/// `organization_id`, and `organizations`) read/write, append-only tables read/insert,
/// everything else (catalogs, the migration ledger) read-only.
pub async fn runtime_grants_sql(db: &impl ConnectionTrait, role: &str) -> Result<Vec<String>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT c.relname::text,
                    c.relname = 'organizations' OR EXISTS (
                      SELECT 1 FROM pg_attribute a
                       WHERE a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = current_schema() AND c.relkind = 'r'
              ORDER BY 1",
        ))
        .await?;
    let r = quote_ident(role);
    let mut out = vec![format!("GRANT USAGE ON SCHEMA {} TO {r}", "public")];
    for row in rows {
        let table: String = row.try_get_by_index(0)?;
        let tenant: bool = row.try_get_by_index(1)?;
        let t = quote_ident(&table);
        out.push(format!("REVOKE ALL ON {t} FROM {r}"));
        if APPEND_ONLY.contains(&table.as_str()) {
            out.push(format!("GRANT SELECT, INSERT ON {t} TO {r}"));
        } else if tenant {
            out.push(format!("GRANT SELECT, INSERT, UPDATE, DELETE ON {t} TO {r}"));
        } else {
            out.push(format!("GRANT SELECT ON {t} TO {r}"));
        }
    }
    Ok(out)
}

/// SQL an administrator runs once to create the runtime role (`annex migrate
/// --print-roles`). `annex migrate` then applies the table grants itself.
pub fn create_role_sql(role: &str, database: &str) -> String {
    let r = quote_ident(role);
    format!(
        "-- Run as a superuser or a role with CREATEROLE, once.\n\
         CREATE ROLE {r} LOGIN PASSWORD 'change-me' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS;\n\
         GRANT CONNECT ON DATABASE {db} TO {r};\n\
         -- Then run `annex migrate` with ANNEX_MIGRATION_DATABASE_URL as the owner and\n\
         -- DATABASE_URL as {role}: it grants {role} SELECT/INSERT/UPDATE/DELETE on tenant tables,\n\
         -- SELECT/INSERT on {append}, SELECT on the catalogs, and nothing else.\n",
        db = quote_ident(database),
        append = APPEND_ONLY.join(" and "),
    )
}
