//! Issue 16: shared measures, the risk treatment plan, tasks and the implementation
//! programme.
//!
//! * `measures`: one piece of work; `measure_controls` and `measure_risks` link it to SoA
//!   rows of either standard and to risks (composite tenant foreign keys, so a link can
//!   only join rows of one tenant).
//! * `treatment_plan_approvals`: who approved a risk's treatment plan, when, and for whom
//!   (6.1.3 f), newest last.
//! * `programmes`, `programme_phases`: the implementation programme and its phases.
//! * `tasks`: to-do items on any subject, with recurrence. `previous_task_id` is unique per
//!   organization: completing a recurring task creates its successor at most once, even
//!   when two completions race. `due_notified_at` is claimed by a conditional UPDATE so
//!   `TASK_DUE` is published once, whatever the number of replicas.
//!
//! Every table is a tenant table under the tenant policy. Nothing existing changes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::util::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "measures",
    "measure_controls",
    "measure_risks",
    "treatment_plan_approvals",
    "programmes",
    "programme_phases",
    "tasks",
];

fn link(table: &'static str, col: &'static str, target: &'static str) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(org())
        .col(uuid("measure_id"))
        .col(uuid(col))
        .col(ts("created_at"))
        .primary_key(Index::create().col("organization_id").col("measure_id").col(col))
        .foreign_key(&mut org_fk(table))
        .foreign_key(&mut tenant_fk(table, "measure_id", "measures").on_delete(ForeignKeyAction::Cascade).take())
        .foreign_key(&mut tenant_fk(table, col, target).on_delete(ForeignKeyAction::Cascade).take())
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        create(
            m,
            versioned(
                Table::create()
                    .table("measures")
                    .col(id())
                    .col(org())
                    .col(text("title"))
                    .col(text_null("description"))
                    .col(text_null("owner"))
                    .col(string_len("status", 16))
                    .col(date_null("due_on"))
                    .col(string_len_null("effort", 2))
                    .foreign_key(&mut org_fk("measures")),
            ),
            vec![tenant_key("measures"), index("measures", "org_owner", &["organization_id", "owner"], false)],
        )
        .await?;
        create(
            m,
            &mut link("measure_controls", "control_id", "controls"),
            vec![index("measure_controls", "org_control", &["organization_id", "control_id"], false)],
        )
        .await?;
        create(
            m,
            &mut link("measure_risks", "risk_id", "risks"),
            vec![index("measure_risks", "org_risk", &["organization_id", "risk_id"], false)],
        )
        .await?;
        create(
            m,
            Table::create()
                .table("treatment_plan_approvals")
                .col(id())
                .col(org())
                .col(uuid("risk_id"))
                .col(text("approved_by"))
                .col(text_null("on_behalf_of"))
                .col(text_null("note"))
                .col(ts("approved_at"))
                .foreign_key(&mut org_fk("treatment_plan_approvals"))
                .foreign_key(
                    &mut tenant_fk("treatment_plan_approvals", "risk_id", "risks")
                        .on_delete(ForeignKeyAction::Cascade)
                        .take(),
                ),
            vec![
                tenant_key("treatment_plan_approvals"),
                index("treatment_plan_approvals", "org_risk", &["organization_id", "risk_id", "approved_at"], false),
            ],
        )
        .await?;
        create(
            m,
            versioned(
                Table::create()
                    .table("programmes")
                    .col(id())
                    .col(org())
                    .col(string_len("template", 40))
                    .col(date("start_on"))
                    .foreign_key(&mut org_fk("programmes")),
            ),
            vec![tenant_key("programmes")],
        )
        .await?;
        create(
            m,
            versioned(
                Table::create()
                    .table("programme_phases")
                    .col(id())
                    .col(org())
                    .col(uuid("programme_id"))
                    .col(integer("position"))
                    .col(text("name"))
                    .col(integer("planned_weeks"))
                    .col(date("planned_start"))
                    .col(date("planned_end"))
                    .foreign_key(&mut org_fk("programme_phases"))
                    .foreign_key(
                        &mut tenant_fk("programme_phases", "programme_id", "programmes")
                            .on_delete(ForeignKeyAction::Cascade)
                            .take(),
                    ),
            ),
            vec![
                tenant_key("programme_phases"),
                index(
                    "programme_phases",
                    "org_programme_position",
                    &["organization_id", "programme_id", "position"],
                    true,
                ),
            ],
        )
        .await?;
        create(
            m,
            versioned(
                Table::create()
                    .table("tasks")
                    .col(id())
                    .col(org())
                    .col(text("title"))
                    .col(text_null("description"))
                    .col(text_null("assignee"))
                    .col(date_null("due_on"))
                    .col(string_len("status", 16))
                    .col(string_len("recurrence", 16))
                    .col(string_len_null("subject_type", 40))
                    .col(uuid_null("subject_id"))
                    .col(uuid_null("phase_id"))
                    .col(uuid_null("previous_task_id"))
                    .col(text_null("completed_by"))
                    .col(ts_null("completed_at"))
                    .col(ts_null("due_notified_at"))
                    .foreign_key(&mut org_fk("tasks"))
                    .foreign_key(&mut tenant_fk("tasks", "phase_id", "programme_phases")),
            ),
            vec![
                tenant_key("tasks"),
                // One successor per completed recurring task.
                index("tasks", "org_previous", &["organization_id", "previous_task_id"], true),
                index("tasks", "org_status_due", &["organization_id", "status", "due_on"], false),
                index("tasks", "org_subject", &["organization_id", "subject_id"], false),
                index("tasks", "org_phase", &["organization_id", "phase_id"], false),
                // The scheduler's sweep: OPEN tasks not yet announced, by due day.
                index("tasks", "due_sweep", &["status", "due_notified_at", "due_on"], false),
            ],
        )
        .await?;
        for t in TABLES {
            tenant_rls(m, t).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in TABLES.iter().rev() {
            tenant_rls_down(m, t).await?;
        }
        drop(
            m,
            &[
                "tasks",
                "programme_phases",
                "programmes",
                "treatment_plan_approvals",
                "measure_risks",
                "measure_controls",
                "measures",
            ],
        )
        .await
    }
}
