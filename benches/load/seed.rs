//! The dataset, written straight into the tables as the owner: COPY on PostgreSQL,
//! multi-row INSERT on SQLite, the SoA and gap analysis by INSERT … SELECT from the
//! catalogs (as `soa::seed_organization` does). No audit-trail rows: the trail of every
//! seeded organization starts empty, so its chain stays consistent.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row, SqliteConnection};
use uuid::Uuid;

pub type R<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub const RUNTIME_ROLE: &str = "annex_runtime";
const ROLES: [&str; 6] = ["OWNER", "MANAGER", "CONTRIBUTOR", "AUDITOR", "VIEWER", "INTEGRATION"];
pub const CONSULTANT: &str = "bench-consultant";
const BIG_SLUG: &str = "bench-big";

/// How much to seed.
#[derive(Debug, Clone)]
pub struct Shape {
    pub orgs: usize,
    pub risks: usize,
    pub links: usize,
    pub ncrs: usize,
    pub big_risks: usize,
    pub portfolio: usize,
}

impl Shape {
    /// Stored as the name of the big organization: a run reuses a database whose marker
    /// (and row count) match.
    fn marker(&self) -> String {
        format!(
            "bench seed v1: {} orgs x {} risks x {} links, {} NCRs, big {}, consultant {}",
            self.orgs, self.risks, self.links, self.ncrs, self.big_risks, self.portfolio
        )
    }

    fn total_risks(&self) -> i64 {
        (self.orgs * self.risks + self.big_risks) as i64
    }
}

/// The member of organization `org` (`None`: the big one) with `role`.
pub fn subject(org: Option<usize>, role: &str) -> String {
    match org {
        Some(i) => format!("bench-{i:04}-{}", role.to_lowercase()),
        None => format!("{BIG_SLUG}-{}", role.to_lowercase()),
    }
}

pub fn role_names() -> [&'static str; 6] {
    ROLES
}

#[derive(Debug, Clone)]
pub enum Target {
    Postgres { owner_url: String, database: String },
    Sqlite { path: PathBuf },
}

impl Target {
    /// `(DATABASE_URL, ANNEX_MIGRATION_DATABASE_URL)` for the service.
    pub fn service_urls(&self, as_owner: bool) -> (String, Option<String>) {
        match self {
            Target::Postgres { owner_url, .. } => {
                let runtime = if as_owner { owner_url.clone() } else { with_user(owner_url, RUNTIME_ROLE) };
                (runtime, Some(owner_url.clone()))
            }
            Target::Sqlite { path } => (format!("sqlite://{}?mode=rwc", path.display()), None),
        }
    }
}

/// `url` with its user (and password) replaced.
fn with_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let host = rest.split_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://{user}@{host}")
}

/// `url` pointing at another database of the same server.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let (server, _) = base.rsplit_once('/').unwrap_or((base, ""));
    match query {
        Some(q) => format!("{server}/{database}?{q}"),
        None => format!("{server}/{database}"),
    }
}

pub fn database_of(url: &str) -> String {
    let base = url.split_once('?').map_or(url, |(b, _)| b);
    base.rsplit_once('/').map(|(_, d)| d.to_string()).filter(|d| !d.is_empty()).unwrap_or_else(|| "annex_bench".into())
}

pub enum Db {
    Pg(PgConnection),
    Lite(SqliteConnection),
}

impl Db {
    pub async fn open(target: &Target) -> R<Db> {
        Ok(match target {
            Target::Postgres { owner_url, .. } => {
                let mut c = PgConnection::connect(owner_url).await?;
                // The owner is bound by FORCE ROW LEVEL SECURITY unless superuser: see every tenant.
                sqlx::raw_sql("SELECT set_config('annex.platform_admin', 'on', false)").execute(&mut c).await?;
                Db::Pg(c)
            }
            Target::Sqlite { path } => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .foreign_keys(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
                Db::Lite(SqliteConnection::connect_with(&opts).await?)
            }
        })
    }

    fn pg(&self) -> bool {
        matches!(self, Db::Pg(_))
    }

    pub async fn exec(&mut self, sql: &str) -> R<()> {
        let sql = AssertSqlSafe(sql.to_string());
        match self {
            Db::Pg(c) => sqlx::raw_sql(sql).execute(c).await.map(|_| ())?,
            Db::Lite(c) => sqlx::raw_sql(sql).execute(c).await.map(|_| ())?,
        }
        Ok(())
    }

    /// One text or integer value from the first row, `None` if there is no row.
    pub async fn scalar_text(&mut self, sql: &str, bind: &str) -> R<Option<String>> {
        let sql = AssertSqlSafe(sql.to_string());
        Ok(match self {
            Db::Pg(c) => sqlx::query(sql).bind(bind).fetch_optional(c).await?.map(|r| r.try_get(0)).transpose()?,
            Db::Lite(c) => sqlx::query(sql).bind(bind).fetch_optional(c).await?.map(|r| r.try_get(0)).transpose()?,
        })
    }

    pub async fn scalar_int(&mut self, sql: &str) -> R<i64> {
        let sql = AssertSqlSafe(sql.to_string());
        Ok(match self {
            Db::Pg(c) => sqlx::query(sql).fetch_one(c).await?.try_get(0)?,
            Db::Lite(c) => sqlx::query(sql).fetch_one(c).await?.try_get(0)?,
        })
    }

    /// Rows of uuids (`cols` uuid columns first) followed by `ints` integer columns.
    /// PostgreSQL uuids come back as text (`::text` in the query), SQLite's as 16-byte blobs.
    pub async fn rows(
        &mut self,
        sql: &str,
        uuids: usize,
        ints: usize,
        bind: Option<Uuid>,
    ) -> R<Vec<(Vec<Uuid>, Vec<i64>)>> {
        let mut out = Vec::new();
        match self {
            Db::Pg(c) => {
                let mut q = sqlx::query(AssertSqlSafe(sql.to_string()));
                if let Some(b) = bind {
                    q = q.bind(b.to_string());
                }
                for r in q.fetch_all(c).await? {
                    let mut u = Vec::with_capacity(uuids);
                    for i in 0..uuids {
                        u.push(Uuid::parse_str(&r.try_get::<String, _>(i)?)?);
                    }
                    let mut n = Vec::with_capacity(ints);
                    for i in uuids..uuids + ints {
                        n.push(r.try_get::<i64, _>(i)?);
                    }
                    out.push((u, n));
                }
            }
            Db::Lite(c) => {
                let mut q = sqlx::query(AssertSqlSafe(sql.to_string()));
                if let Some(b) = bind {
                    q = q.bind(b.as_bytes().to_vec());
                }
                for r in q.fetch_all(c).await? {
                    let mut u = Vec::with_capacity(uuids);
                    for i in 0..uuids {
                        u.push(Uuid::from_slice(&r.try_get::<Vec<u8>, _>(i)?)?);
                    }
                    let mut n = Vec::with_capacity(ints);
                    for i in uuids..uuids + ints {
                        n.push(r.try_get::<i64, _>(i)?);
                    }
                    out.push((u, n));
                }
            }
        }
        Ok(out)
    }

    /// A uuid column as the query should select it (see [`Db::rows`]).
    pub fn uuid_col(&self, col: &str) -> String {
        if self.pg() { format!("{col}::text") } else { col.to_string() }
    }

    /// A uuid literal in a query.
    pub fn uuid_param(&self) -> &'static str {
        if self.pg() { "$1::uuid" } else { "$1" }
    }
}

/// A value as stored by the service (sea-orm): SQLite keeps uuids as 16-byte blobs,
/// timestamps as RFC 3339 text with microseconds, booleans as integers, JSON as text.
enum V {
    Id(Uuid),
    Text(String),
    Int(i64),
    Bool(bool),
    Null,
    Time(DateTime<Utc>),
    Date(NaiveDate),
    Json(&'static str),
}

fn opt_text(v: Option<String>) -> V {
    v.map_or(V::Null, V::Text)
}

fn opt_int(v: Option<i32>) -> V {
    v.map_or(V::Null, |n| V::Int(n.into()))
}

fn opt_date(v: Option<NaiveDate>) -> V {
    v.map_or(V::Null, V::Date)
}

fn sqlite_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// PostgreSQL COPY text format.
fn write_copy(buf: &mut String, v: &V) {
    match v {
        V::Id(u) => {
            let _ = write!(buf, "{}", u.hyphenated());
        }
        V::Text(s) => {
            for ch in s.chars() {
                match ch {
                    '\\' => buf.push_str("\\\\"),
                    '\t' => buf.push_str("\\t"),
                    '\n' => buf.push_str("\\n"),
                    '\r' => buf.push_str("\\r"),
                    c => buf.push(c),
                }
            }
        }
        V::Json(s) => buf.push_str(s),
        V::Int(n) => {
            let _ = write!(buf, "{n}");
        }
        V::Bool(b) => buf.push(if *b { 't' } else { 'f' }),
        V::Null => buf.push_str("\\N"),
        V::Time(t) => {
            let _ = write!(buf, "{}", t.format("%Y-%m-%d %H:%M:%S%.6f+00"));
        }
        V::Date(d) => {
            let _ = write!(buf, "{}", d.format("%Y-%m-%d"));
        }
    }
}

/// Rows of one table, written in batches.
struct Load<'a> {
    db: &'a mut Db,
    table: &'static str,
    cols: &'static [&'static str],
    rows: Vec<Vec<V>>,
    written: u64,
    started: Instant,
}

impl<'a> Load<'a> {
    fn new(db: &'a mut Db, table: &'static str, cols: &'static [&'static str]) -> Self {
        Load { db, table, cols, rows: Vec::new(), written: 0, started: Instant::now() }
    }

    fn batch(&self) -> usize {
        match self.db {
            Db::Pg(_) => 20_000,
            // SQLite binds at most 32,766 parameters per statement.
            Db::Lite(_) => (30_000 / self.cols.len()).min(1_000),
        }
    }

    async fn push(&mut self, row: Vec<V>) -> R<()> {
        debug_assert_eq!(row.len(), self.cols.len(), "{}", self.table);
        self.rows.push(row);
        if self.rows.len() >= self.batch() {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> R<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let cols = self.cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
        let rows = std::mem::take(&mut self.rows);
        let n = rows.len() as u64;
        match self.db {
            Db::Pg(c) => {
                let mut buf = String::with_capacity(rows.len() * 64 * self.cols.len());
                for row in &rows {
                    for (i, v) in row.iter().enumerate() {
                        if i > 0 {
                            buf.push('\t');
                        }
                        write_copy(&mut buf, v);
                    }
                    buf.push('\n');
                }
                let mut copy = c.copy_in_raw(&format!("COPY {} ({cols}) FROM STDIN", self.table)).await?;
                copy.send(buf.into_bytes()).await?;
                copy.finish().await?;
            }
            Db::Lite(c) => {
                let mut sql = format!("INSERT INTO {} ({cols}) VALUES ", self.table);
                // Anonymous `?`: SQLite looks named parameters up in a list, which makes
                // thousands of `$N` in one statement quadratic.
                let one = format!("({})", vec!["?"; self.cols.len()].join(", "));
                for r in 0..rows.len() {
                    if r > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&one);
                }
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for row in rows {
                    for v in row {
                        q = match v {
                            V::Id(u) => q.bind(u.as_bytes().to_vec()),
                            V::Text(s) => q.bind(s),
                            V::Json(s) => q.bind(s),
                            V::Int(n) => q.bind(n),
                            V::Bool(b) => q.bind(b),
                            V::Null => q.bind(None::<String>),
                            V::Time(t) => q.bind(sqlite_time(&t)),
                            V::Date(d) => q.bind(d.format("%Y-%m-%d").to_string()),
                        };
                    }
                }
                q.execute(&mut *c).await?;
            }
        }
        self.written += n;
        Ok(())
    }

    async fn finish(mut self) -> R<u64> {
        self.flush().await?;
        println!("  {}: {} rows in {:.1} s", self.table, self.written, self.started.elapsed().as_secs_f64());
        Ok(self.written)
    }
}

/// A small deterministic generator (SplitMix64): the same seed gives the same dataset.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

/// Whether the database holds the seed of `shape`.
pub async fn holds_seed(target: &Target, shape: &Shape) -> R<bool> {
    if let Target::Sqlite { path } = target
        && !path.exists()
    {
        return Ok(false);
    }
    let mut db = match Db::open(target).await {
        Ok(db) => db,
        Err(_) => return Ok(false),
    };
    let name = match db.scalar_text("SELECT name FROM organizations WHERE slug = $1", BIG_SLUG).await {
        Ok(n) => n,
        Err(_) => return Ok(false),
    };
    if name.as_deref() != Some(shape.marker().as_str()) {
        return Ok(false);
    }
    Ok(db.scalar_int("SELECT count(*) FROM risks").await? == shape.total_risks())
}

/// Drops and recreates the database (PostgreSQL) or deletes the file (SQLite), and makes
/// sure the runtime role exists.
pub async fn recreate(target: &Target) -> R<()> {
    match target {
        Target::Postgres { owner_url, database } => {
            let mut admin = PgConnection::connect(&with_database(owner_url, "postgres")).await?;
            // Concurrent test processes may race to create the role; either way it exists afterwards.
            let _ = sqlx::raw_sql(AssertSqlSafe(format!(
                "DO $$ BEGIN CREATE ROLE {RUNTIME_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; \
                 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            )))
            .execute(&mut admin)
            .await;
            let db = format!("\"{}\"", database.replace('"', "\"\""));
            sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")))
                .execute(&mut admin)
                .await?;
            sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&mut admin).await?;
            admin.close().await?;
        }
        Target::Sqlite { path } => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            for suffix in ["", "-wal", "-shm"] {
                let p = PathBuf::from(format!("{}{suffix}", path.display()));
                if p.exists() {
                    std::fs::remove_file(p)?;
                }
            }
        }
    }
    Ok(())
}

const RISK_CATEGORIES: [(&str, &str); 12] = [
    ("CONFIDENTIALITY", "SECURITY"),
    ("INTEGRITY", "SECURITY"),
    ("AVAILABILITY", "SECURITY"),
    ("BIAS_FAIRNESS", "AI"),
    ("TRANSPARENCY", "AI"),
    ("DATA_QUALITY", "AI"),
    ("HUMAN_OVERSIGHT", "AI"),
    ("AI_SUBJECT_IMPACT", "AI"),
    ("AI_SYSTEM_SECURITY", "SHARED"),
    ("TRAINING_DATA_SECURITY", "SHARED"),
    ("MODEL_INTEGRITY", "SHARED"),
    ("AI_AVAILABILITY", "SHARED"),
];
const NCR_SOURCES: [&str; 7] =
    ["INTERNAL_AUDIT", "EXTERNAL_AUDIT", "INCIDENT", "MANAGEMENT_REVIEW", "MONITORING", "COMPLAINT", "OTHER"];

const ORG_COLS: &[&str] = &["id", "name", "slug", "risk_settings", "version", "created_at", "updated_at"];
const MEMBER_COLS: &[&str] = &["id", "organization_id", "subject", "role", "version", "created_at", "updated_at"];
const RISK_COLS: &[&str] = &[
    "id",
    "organization_id",
    "title",
    "description",
    "category",
    "domain",
    "likelihood",
    "impact",
    "inherent_score",
    "residual_likelihood",
    "residual_impact",
    "effective_score",
    "treatment",
    "acceptance_justification",
    "accepted_by",
    "acceptance_expires_on",
    "owner",
    "status",
    "review_date",
    "scope_id",
    "ai_system_id",
    "version",
    "created_at",
    "updated_at",
];
const LINK_COLS: &[&str] = &["organization_id", "risk_id", "control_id", "created_at"];
const NCR_COLS: &[&str] = &[
    "id",
    "organization_id",
    "title",
    "description",
    "source",
    "severity",
    "refs",
    "owner",
    "containment",
    "root_cause",
    "effectiveness_review",
    "status",
    "finding_id",
    "external_system",
    "external_key",
    "external_url",
    "external_status",
    "external_done",
    "ticket_synced",
    "closed_at",
    "version",
    "created_at",
    "updated_at",
];
const ACTION_COLS: &[&str] = &[
    "id",
    "organization_id",
    "nonconformity_id",
    "title",
    "owner",
    "due_date",
    "status",
    "completion_note",
    "completed_at",
    "version",
    "created_at",
    "updated_at",
];

/// One seeded organization: `index` `None` is the big one.
struct Org {
    id: Uuid,
    index: Option<usize>,
    risks: usize,
    ncrs: usize,
}

/// Seeds an empty, migrated database in one transaction. Returns the seconds it took.
pub async fn seed(target: &Target, shape: &Shape) -> R<f64> {
    let started = Instant::now();
    let mut db = Db::open(target).await?;
    let now = Utc::now();
    let today = now.date_naive();
    let mut orgs: Vec<Org> = (0..shape.orgs)
        .map(|i| Org { id: Uuid::now_v7(), index: Some(i), risks: shape.risks, ncrs: shape.ncrs })
        .collect();
    orgs.push(Org { id: Uuid::now_v7(), index: None, risks: shape.big_risks, ncrs: 0 });

    if db.pg() {
        db.exec("BEGIN; SET LOCAL synchronous_commit = off").await?;
    } else {
        // The whole seed is one transaction: keep its pages in memory rather than re-reading
        // them from the write-ahead log.
        db.exec("PRAGMA synchronous = OFF; PRAGMA cache_size = -1048576; PRAGMA temp_store = MEMORY; BEGIN").await?;
    }

    let created = now - Duration::days(400);
    let mut load = Load::new(&mut db, "organizations", ORG_COLS);
    for o in &orgs {
        let (name, slug) = match o.index {
            Some(i) => (format!("Bench client {i:04}"), format!("bench-org-{i:05}")),
            None => (shape.marker(), BIG_SLUG.to_string()),
        };
        load.push(vec![
            V::Id(o.id),
            V::Text(name),
            V::Text(slug),
            V::Null,
            V::Int(1),
            V::Time(created),
            V::Time(created),
        ])
        .await?;
    }
    load.finish().await?;

    let mut load = Load::new(&mut db, "memberships", MEMBER_COLS);
    for o in &orgs {
        for role in ROLES {
            load.push(vec![
                V::Id(Uuid::now_v7()),
                V::Id(o.id),
                V::Text(subject(o.index, role)),
                V::Text(role.into()),
                V::Int(1),
                V::Time(created),
                V::Time(created),
            ])
            .await?;
        }
        if o.index.is_some_and(|i| i < shape.portfolio) {
            load.push(vec![
                V::Id(Uuid::now_v7()),
                V::Id(o.id),
                V::Text(CONSULTANT.into()),
                V::Text("MANAGER".into()),
                V::Int(1),
                V::Time(created),
                V::Time(created),
            ])
            .await?;
        }
    }
    let members = load.finish().await?;

    // The SoA and the gap analysis: one row per catalog control and clause, with decisions
    // spread over every status (the service seeds them all applicable / NOT_STARTED /
    // NOT_ADDRESSED; a register in use has moved on).
    let (new_id, org_param, time_param) =
        if db.pg() { ("gen_random_uuid()", "$1::uuid", "$3::timestamptz") } else { ("randomblob(16)", "$1", "$3") };
    let controls_sql = format!(
        "INSERT INTO controls (id, organization_id, standard, \"ref\", title, group_ref, group_title, subgroup_ref,
           is_custom, ai_specific, position, applicable, justification, inclusion_reasons, status, owner,
           implementation_notes, evidence, version, created_at, updated_at)
         SELECT {new_id}, {org_param}, c.standard, c.\"ref\", c.title, c.group_ref, c.group_title, c.subgroup_ref,
           {f}, c.ai_specific, CASE WHEN c.standard = 'ISO42001' THEN 1000 + c.position ELSE c.position END,
           (c.position * 7 + $2) % 23 <> 0,
           CASE WHEN (c.position * 7 + $2) % 23 = 0 THEN 'Outside the scope of the management system' END,
           '[]', CASE WHEN (c.position * 7 + $2) % 23 = 0 THEN 'NOT_STARTED'
                      ELSE CASE (c.position * 5 + $2) % 4 WHEN 0 THEN 'NOT_STARTED' WHEN 1 THEN 'PLANNED'
                                                          WHEN 2 THEN 'PARTIAL' ELSE 'IMPLEMENTED' END END,
           NULL, NULL, '[]', 1, {time_param}, {time_param}
         FROM catalog_controls c",
        f = if db.pg() { "false" } else { "0" },
    );
    let clauses_sql = format!(
        "INSERT INTO clause_assessments (id, organization_id, standard, \"ref\", title, parent_ref, is_leaf, position,
           status, notes, owner, version, created_at, updated_at)
         SELECT {new_id}, {org_param}, c.standard, c.\"ref\", c.title, c.parent_ref,
           NOT EXISTS (SELECT 1 FROM clauses o WHERE o.standard = c.standard AND o.parent_ref = c.\"ref\"),
           CASE WHEN c.standard = 'ISO42001' THEN 1000 + c.position ELSE c.position END,
           CASE (c.position * 3 + $2) % 3 WHEN 0 THEN 'NOT_ADDRESSED' WHEN 1 THEN 'PARTIAL' ELSE 'ADDRESSED' END,
           NULL, NULL, 1, {time_param}, {time_param}
         FROM clauses c",
    );
    let step = Instant::now();
    for (k, o) in orgs.iter().enumerate() {
        for sql in [&controls_sql, &clauses_sql] {
            let sql = AssertSqlSafe(sql.clone());
            match &mut db {
                Db::Pg(c) => {
                    sqlx::query(sql)
                        .bind(o.id.to_string())
                        .bind(k as i32)
                        .bind(created.to_rfc3339())
                        .execute(&mut *c)
                        .await?;
                }
                Db::Lite(c) => {
                    sqlx::query(sql)
                        .bind(o.id.as_bytes().to_vec())
                        .bind(k as i32)
                        .bind(sqlite_time(&created))
                        .execute(&mut *c)
                        .await?;
                }
            }
        }
    }
    println!(
        "  controls and clause_assessments (INSERT … SELECT from the catalogs) in {:.1} s",
        step.elapsed().as_secs_f64()
    );
    // Control ids per organization, in SoA order, for the links.
    let mut controls: std::collections::HashMap<Uuid, Vec<Uuid>> = std::collections::HashMap::new();
    let sql = format!(
        "SELECT {}, {} FROM controls ORDER BY organization_id, position",
        db.uuid_col("organization_id"),
        db.uuid_col("id")
    );
    for (u, _) in db.rows(&sql, 2, 0, None).await? {
        controls.entry(u[0]).or_default().push(u[1]);
    }

    let mut rng = Rng::new(11);
    let mut risk_ids: Vec<(Uuid, Uuid)> = Vec::new();
    let mut load = Load::new(&mut db, "risks", RISK_COLS);
    for o in &orgs {
        let span = (now - created).num_seconds().max(1) as u64;
        for r in 0..o.risks {
            let (category, domain) = RISK_CATEGORIES[rng.below(12) as usize];
            let likelihood = 1 + rng.below(5) as i32;
            let impact = 1 + rng.below(5) as i32;
            let assessed = rng.pct(60);
            let (rl, ri) = if assessed {
                (Some((likelihood - rng.below(3) as i32).max(1)), Some((impact - rng.below(2) as i32).max(1)))
            } else {
                (None, None)
            };
            let effective = rl.unwrap_or(likelihood) * ri.unwrap_or(impact);
            let treatment = if assessed {
                Some("MITIGATE")
            } else {
                [None, None, None, Some("TRANSFER"), Some("AVOID")][rng.below(5) as usize]
            };
            let status = match rng.below(100) {
                0..30 => "IDENTIFIED",
                30..55 => "ASSESSED",
                55..75 => "TREATING",
                75..90 => "MONITORING",
                _ => "CLOSED",
            };
            let at = created + Duration::seconds((rng.below(span)) as i64);
            let review = rng.pct(70).then(|| today + Duration::days(rng.below(360) as i64 - 180));
            let id = Uuid::now_v7();
            risk_ids.push((o.id, id));
            load.push(vec![
                V::Id(id),
                V::Id(o.id),
                V::Text(format!("Risk {r}: {} exposure of process {}", category.to_lowercase(), rng.below(500))),
                opt_text(rng.pct(50).then(|| format!("Seeded risk {r} of the register"))),
                V::Text(category.into()),
                V::Text(domain.into()),
                V::Int(likelihood.into()),
                V::Int(impact.into()),
                V::Int((likelihood * impact).into()),
                opt_int(rl),
                opt_int(ri),
                V::Int(effective.into()),
                opt_text(treatment.map(str::to_string)),
                V::Null,
                V::Null,
                V::Null,
                opt_text(rng.pct(80).then(|| format!("owner-{}", rng.below(20)))),
                V::Text(status.into()),
                opt_date(review),
                V::Null,
                V::Null,
                V::Int(1),
                V::Time(at),
                V::Time(at),
            ])
            .await?;
        }
    }
    let risks = load.finish().await?;

    // Distinct controls per risk: offsets 41·k apart in a catalog of 131 (a prime).
    let mut load = Load::new(&mut db, "risk_controls", LINK_COLS);
    for (org, risk) in &risk_ids {
        let Some(list) = controls.get(org) else { continue };
        let start = rng.below(list.len() as u64) as usize;
        for k in 0..shape.links.min(list.len()) {
            let control = list[(start + k * 41) % list.len()];
            load.push(vec![V::Id(*org), V::Id(*risk), V::Id(control), V::Time(created)]).await?;
        }
    }
    let links = load.finish().await?;
    drop(risk_ids);

    // Nonconformities across the workflow, each with one or two corrective actions.
    let mut ncr_rows: Vec<(Uuid, Uuid, &'static str, DateTime<Utc>)> = Vec::new();
    let mut load = Load::new(&mut db, "nonconformities", NCR_COLS);
    for o in &orgs {
        for n in 0..o.ncrs {
            let status = match rng.below(100) {
                0..25 => "OPEN",
                25..40 => "ANALYSIS",
                40..55 => "ACTION_PLANNED",
                55..70 => "IN_PROGRESS",
                70..80 => "VERIFICATION",
                _ => "CLOSED",
            };
            let at = now - Duration::days(rng.below(400) as i64) - Duration::minutes(rng.below(1440) as i64);
            let analysed = !matches!(status, "OPEN" | "ANALYSIS");
            let id = Uuid::now_v7();
            ncr_rows.push((o.id, id, status, at));
            load.push(vec![
                V::Id(id),
                V::Id(o.id),
                V::Text(format!("Nonconformity {n}")),
                opt_text(rng.pct(50).then(|| "Found during routine monitoring".to_string())),
                V::Text(NCR_SOURCES[rng.below(7) as usize].into()),
                V::Text(if rng.pct(30) { "MAJOR" } else { "MINOR" }.into()),
                V::Json("[]"),
                opt_text(rng.pct(70).then(|| format!("owner-{}", rng.below(20)))),
                V::Null,
                opt_text(analysed.then(|| "Procedure not followed".to_string())),
                opt_text((status == "CLOSED").then(|| "Effective: no recurrence".to_string())),
                V::Text(status.into()),
                V::Null,
                V::Null,
                V::Null,
                V::Null,
                V::Null,
                V::Null,
                V::Bool(false),
                if status == "CLOSED" { V::Time(at + Duration::days(30)) } else { V::Null },
                V::Int(1),
                V::Time(at),
                V::Time(at),
            ])
            .await?;
        }
    }
    let ncrs = load.finish().await?;

    let mut load = Load::new(&mut db, "corrective_actions", ACTION_COLS);
    for (org, ncr, status, at) in &ncr_rows {
        for a in 0..1 + rng.below(2) {
            let due = at.date_naive() + Duration::days(30 + rng.below(90) as i64);
            let done = *status == "CLOSED" || rng.pct(30);
            let action_status = if done {
                "DONE"
            } else if rng.pct(50) {
                "IN_PROGRESS"
            } else {
                "OPEN"
            };
            load.push(vec![
                V::Id(Uuid::now_v7()),
                V::Id(*org),
                V::Id(*ncr),
                V::Text(format!("Corrective action {a}")),
                opt_text(rng.pct(80).then(|| format!("owner-{}", rng.below(20)))),
                V::Date(due),
                V::Text(action_status.into()),
                opt_text(done.then(|| "Done and verified".to_string())),
                if done { V::Time(*at + Duration::days(20)) } else { V::Null },
                V::Int(1),
                V::Time(*at),
                V::Time(*at),
            ])
            .await?;
        }
    }
    let actions = load.finish().await?;

    db.exec("COMMIT").await?;
    if db.pg() {
        // Sets the visibility map too, as autovacuum would have on a database in use: without
        // it no index-only scan is possible.
        db.exec("VACUUM (ANALYZE)").await?;
    } else {
        db.exec("ANALYZE; PRAGMA synchronous = NORMAL").await?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {} organizations, {members} memberships, {risks} risks, {links} risk-control links, {ncrs} nonconformities, {actions} corrective actions in {secs:.1} s",
        orgs.len()
    );
    Ok(secs)
}

/// What the scenarios need from the seeded database.
pub struct Fixture {
    /// Regular organizations by index.
    pub orgs: Vec<Uuid>,
    pub big: Uuid,
    /// Up to 100 risk ids per regular organization (updateRisk targets).
    pub risks: Vec<Vec<Uuid>>,
    /// The keyset position (score, id) of the last row before `offset` in the big
    /// organization, by score descending.
    pub deep_key: Option<(i64, Uuid)>,
    pub deep_next: Option<Uuid>,
}

pub async fn fixture(target: &Target, shape: &Shape, deep_offset: usize) -> R<Fixture> {
    let mut db = Db::open(target).await?;
    let sql = format!("SELECT {} FROM organizations WHERE slug LIKE 'bench-org-%' ORDER BY slug", db.uuid_col("id"));
    let orgs: Vec<Uuid> = db.rows(&sql, 1, 0, None).await?.into_iter().map(|(u, _)| u[0]).collect();
    if orgs.len() != shape.orgs {
        return Err(format!("expected {} seeded organizations, found {}", shape.orgs, orgs.len()).into());
    }
    let sql = format!("SELECT {} FROM organizations WHERE slug = '{BIG_SLUG}'", db.uuid_col("id"));
    let big = db.rows(&sql, 1, 0, None).await?.first().map(|(u, _)| u[0]).ok_or("the big organization is missing")?;
    let index: std::collections::HashMap<Uuid, usize> = orgs.iter().enumerate().map(|(i, o)| (*o, i)).collect();
    let sql = format!(
        "SELECT {}, {} FROM (SELECT organization_id, id, row_number() OVER (PARTITION BY organization_id ORDER BY id) AS n
           FROM risks) t WHERE n <= 100",
        db.uuid_col("organization_id"),
        db.uuid_col("id")
    );
    let mut risks = vec![Vec::new(); orgs.len()];
    for (u, _) in db.rows(&sql, 2, 0, None).await? {
        if let Some(i) = index.get(&u[0]) {
            risks[*i].push(u[1]);
        }
    }
    let sql = format!(
        "SELECT {}, CAST(effective_score AS BIGINT) FROM risks WHERE organization_id = {}
          ORDER BY effective_score DESC, id DESC LIMIT 2 OFFSET {}",
        db.uuid_col("id"),
        db.uuid_param(),
        deep_offset.saturating_sub(1)
    );
    let deep = if deep_offset > 0 { db.rows(&sql, 1, 1, Some(big)).await? } else { Vec::new() };
    Ok(Fixture {
        orgs,
        big,
        risks,
        deep_key: deep.first().map(|(u, n)| (n[0], u[0])),
        deep_next: deep.get(1).map(|(u, _)| u[0]),
    })
}
