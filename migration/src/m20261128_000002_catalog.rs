//! The read-only catalogs of both standards, seeded from the reference file.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::catalog_data::{ai_specific_42001_refs, catalog};
use crate::util::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        create(
            m,
            Table::create()
                .table("standards")
                .col(string_len("code", 16).primary_key())
                .col(string_len("edition", 8))
                .col(text("title")),
            vec![],
        )
        .await?;
        create(
            m,
            Table::create()
                .table("clauses")
                .col(string_len("standard", 16))
                .col(string_len("ref", 16))
                .col(text("title"))
                .col(string_len_null("parent_ref", 16))
                .col(integer("position"))
                .primary_key(Index::create().col("standard").col("ref"))
                .foreign_key(ForeignKey::create().from("clauses", "standard").to("standards", "code")),
            vec![],
        )
        .await?;
        create(
            m,
            Table::create()
                .table("catalog_controls")
                .col(string_len("standard", 16))
                .col(string_len("ref", 16))
                .col(text("title"))
                .col(string_len("group_ref", 16))
                .col(text("group_title"))
                .col(string_len_null("subgroup_ref", 16))
                .col(text_null("subgroup_title"))
                .col(boolean("ai_specific"))
                .col(integer("position"))
                .primary_key(Index::create().col("standard").col("ref"))
                .foreign_key(ForeignKey::create().from("catalog_controls", "standard").to("standards", "code")),
            vec![],
        )
        .await?;
        create(
            m,
            Table::create()
                .table("control_mappings")
                .col(pk_auto("id"))
                .col(string_len("from_standard", 16))
                .col(string_len("from_ref", 16))
                .col(string_len("to_standard", 16))
                .col(string_len("to_ref", 16))
                .col(string_len("relation", 32))
                .col(text("source"))
                .col(integer_null("shared_scf_controls"))
                .col(text("via"))
                .col(text_null("rationale"))
                .foreign_key(
                    ForeignKey::create()
                        .from("control_mappings", ("from_standard", "from_ref"))
                        .to("catalog_controls", ("standard", "ref")),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("control_mappings", ("to_standard", "to_ref"))
                        .to("catalog_controls", ("standard", "ref")),
                ),
            vec![
                index("control_mappings", "from", &["from_standard", "from_ref"], false),
                index("control_mappings", "to", &["to_standard", "to_ref"], false),
            ],
        )
        .await?;
        seed(m).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop(m, &["control_mappings", "catalog_controls", "clauses", "standards"]).await
    }
}

async fn seed(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let data = catalog();
    let ai_specific = ai_specific_42001_refs(&data);
    for s in &data.standards {
        let mut q = Query::insert();
        q.into_table("standards").columns(["code", "edition", "title"]).values_panic([
            s.code.clone().into(),
            s.edition.clone().into(),
            s.title.clone().into(),
        ]);
        m.exec_stmt(q).await?;

        let mut q = Query::insert();
        q.into_table("clauses").columns(["standard", "ref", "title", "parent_ref", "position"]);
        for (i, c) in s.clauses.iter().enumerate() {
            q.values_panic([
                s.code.clone().into(),
                c.reference.clone().into(),
                c.title.clone().into(),
                c.parent.clone().into(),
                (i as i32).into(),
            ]);
        }
        m.exec_stmt(q).await?;

        let mut q = Query::insert();
        q.into_table("catalog_controls").columns([
            "standard",
            "ref",
            "title",
            "group_ref",
            "group_title",
            "subgroup_ref",
            "subgroup_title",
            "ai_specific",
            "position",
        ]);
        for (i, c) in s.annex_a.iter().enumerate() {
            let specific = s.code == "ISO42001" && ai_specific.contains(&c.reference);
            q.values_panic([
                s.code.clone().into(),
                c.reference.clone().into(),
                c.title.clone().into(),
                c.group_ref.clone().into(),
                c.group.clone().into(),
                c.subgroup_ref.clone().into(),
                c.subgroup.clone().into(),
                specific.into(),
                (i as i32).into(),
            ]);
        }
        m.exec_stmt(q).await?;
    }

    let mut q = Query::insert();
    q.into_table("control_mappings").columns([
        "from_standard",
        "from_ref",
        "to_standard",
        "to_ref",
        "relation",
        "source",
        "shared_scf_controls",
        "via",
        "rationale",
    ]);
    for mapping in &data.mappings {
        let (fs, fr) = split_ref(&mapping.from)?;
        let (ts, tr) = split_ref(&mapping.to)?;
        let via = serde_json::to_string(&mapping.via).map_err(|e| DbErr::Custom(e.to_string()))?;
        q.values_panic([
            fs.into(),
            fr.into(),
            ts.into(),
            tr.into(),
            mapping.relation.clone().into(),
            mapping.source.clone().into(),
            mapping.shared_scf_controls.into(),
            via.into(),
            mapping.rationale.clone().into(),
        ]);
    }
    m.exec_stmt(q).await?;
    Ok(())
}

fn split_ref(s: &str) -> Result<(String, String), DbErr> {
    s.split_once(':')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(|| DbErr::Custom(format!("catalog mapping endpoint without standard: {s}")))
}
