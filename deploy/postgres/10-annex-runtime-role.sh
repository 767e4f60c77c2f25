#!/usr/bin/env bash
# Creates Annex's PostgreSQL runtime role at the database's first initialisation (the
# postgres image runs /docker-entrypoint-initdb.d/* once, on an empty data directory, as
# POSTGRES_USER, the owner). Same attributes as `annex migrate --print-roles`
# (migration/src/roles.rs, create_role_sql): it logs in, owns nothing and cannot bypass
# row-level security. `annex serve` then migrates as the owner and grants this role its
# table rights. Values go to psql as variables, quoted by psql, never spliced into SQL.
# Mounted by compose.yaml; the image may source this file rather than run it, so it does
# not call exit.
set -eo pipefail

: "${ANNEX_RUNTIME_PASSWORD:?ANNEX_RUNTIME_PASSWORD must be set (ANNEX_DB_RUNTIME_PASSWORD in .env)}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v role="${ANNEX_RUNTIME_ROLE:-annex_runtime}" \
  -v password="$ANNEX_RUNTIME_PASSWORD" \
  -v database="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS;
GRANT CONNECT ON DATABASE :"database" TO :"role";
SQL
