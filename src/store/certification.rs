//! Certifications (ISO/IEC 17021-1): certificates, their status, and the audits of their
//! cycle; the dashboard's expiring certificates and surveillance due.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::audit::{AuditStatus, AuditType};
use crate::domain::certification::{self as rules, CertificationStatus, NextAudit};
use crate::domain::refs::Standard;
use crate::domain::{self, MAX_NAME};
use crate::entity::{StandardList, audit, certification};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::store::org::check_version;
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::tenancy::{Actor, Gate, Granted, MultiReader, Writer, now};

const MAX_NUMBER: usize = 100;
const CONFLICT: &str = "this certification body's certificate with that number is already recorded";

pub struct NewCertification<'a> {
    pub standards: &'a [Standard],
    pub certification_body: &'a str,
    pub certificate_number: &'a str,
    pub issued_on: NaiveDate,
    pub expires_on: NaiveDate,
    pub status: Option<CertificationStatus>,
}

pub async fn create(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    n: NewCertification<'_>,
) -> AppResult<Granted<certification::Model>> {
    let standards = rules::check_standards(n.standards)?;
    let body = domain::required_text("certificationBody", n.certification_body, MAX_NAME)?;
    let number = domain::required_text("certificateNumber", n.certificate_number, MAX_NUMBER)?;
    rules::check_cycle(n.issued_on, n.expires_on)?;
    let mut w = gate.write(actor, org, Operation::WriteCertifications).await?;
    let at = now();
    let am = certification::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        standards: Set(StandardList(standards)),
        certification_body: Set(body),
        certificate_number: Set(number),
        issued_on: Set(n.issued_on),
        expires_on: Set(n.expires_on),
        status: Set(n.status.unwrap_or(CertificationStatus::Active)),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert::<certification::Entity, _>(am, CONFLICT).await?;
    w.record_create(Kind::Certification, m.id, &m).await?;
    w.commit_with(m).await
}

/// Changes to a certification: `None` leaves a field alone.
#[derive(Default)]
pub struct CertificationChanges<'a> {
    pub expected_version: Option<i32>,
    pub standards: Option<&'a [Standard]>,
    pub certification_body: Option<&'a str>,
    pub certificate_number: Option<&'a str>,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub status: Option<CertificationStatus>,
}

pub async fn update(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    ch: CertificationChanges<'_>,
) -> AppResult<Granted<certification::Model>> {
    let standards = ch.standards.map(rules::check_standards).transpose()?;
    let body = ch.certification_body.map(|b| domain::required_text("certificationBody", b, MAX_NAME)).transpose()?;
    let number =
        ch.certificate_number.map(|c| domain::required_text("certificateNumber", c, MAX_NUMBER)).transpose()?;
    let (mut w, before) = gate.write_on::<certification::Entity>(actor, id, Operation::WriteCertifications).await?;
    check_version(ch.expected_version, before.version)?;
    rules::ensure_editable(before.status, "id")?;
    let issued_on = ch.issued_on.unwrap_or(before.issued_on);
    let expires_on = ch.expires_on.unwrap_or(before.expires_on);
    rules::check_cycle(issued_on, expires_on)?;
    if let Some(s) = &standards
        && *s != before.standards.0
    {
        keep_audits_covered(&w, id, s).await?;
    }

    let mut am: certification::ActiveModel = before.clone().into();
    if let Some(s) = standards {
        am.standards.set_ne(StandardList(s));
    }
    if let Some(b) = body {
        am.certification_body.set_ne(b);
    }
    if let Some(n) = number {
        am.certificate_number.set_ne(n);
    }
    am.issued_on.set_ne(issued_on);
    am.expires_on.set_ne(expires_on);
    if let Some(s) = ch.status {
        am.status.set_ne(s);
    }
    if !sea_orm::ActiveModelTrait::is_changed(&am) {
        return w.commit_with(before).await;
    }
    let after = w.update_unique(am, CONFLICT).await?;
    w.record_update(Kind::Certification, id, &before, &after).await?;
    w.commit_with(after).await
}

/// Narrowing a certification's standards may not leave an audit of its cycle outside them.
async fn keep_audits_covered(w: &Writer, id: Uuid, standards: &[Standard]) -> AppResult<()> {
    let audits = w.find::<audit::Entity>()?.filter(audit::Column::CertificationId.eq(id)).all().await?;
    for a in audits {
        let covered = crate::store::audit::standards_of(&a);
        if let Some(s) = covered.iter().find(|s| !standards.contains(s)) {
            return Err(AppError::bad_input(
                "standards",
                format!("audit {:?} of this certification covers {}", a.title, s.as_str()),
            ));
        }
    }
    Ok(())
}

/// Checks that an audit of `audit_type` over `audit_standards` may join the cycle of
/// certification `id` (one of the writer's organization: another tenant's looks missing),
/// and that the cycle has room for it (`joining`: the audit is not in it yet).
pub(in crate::store) async fn check_audit_link(
    w: &Writer,
    id: Uuid,
    audit_type: AuditType,
    audit_standards: &[Standard],
    joining: bool,
    field: &str,
) -> AppResult<()> {
    let Some(c) = w.get::<certification::Entity>(id).await? else {
        return Err(AppError::bad_input("certificationId", "no such certification in this organization"));
    };
    rules::check_audit_link(audit_type, audit_standards, &c.standards.0, field)?;
    if joining {
        let n = w.find::<audit::Entity>()?.filter(audit::Column::CertificationId.eq(id)).count().await?;
        if n as usize >= rules::MAX_AUDITS {
            return Err(AppError::bad_input(
                "certificationId",
                format!("a certification lists at most {} audits", rules::MAX_AUDITS),
            ));
        }
    }
    Ok(())
}

pub const CERTIFICATION_ORDER: &str = "certifications:EXPIRES_ON";

/// Certifications by expiry (soonest first), then id.
pub async fn list(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    statuses: &[CertificationStatus],
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<certification::Model>> {
    let r = gate.read(actor, org, Operation::ReadCertifications).await?;
    let mut q = r.find::<certification::Entity>()?;
    if !statuses.is_empty() {
        q = q.filter(certification::Column::Status.is_in(statuses.iter().copied()));
    }
    let sort = Sort::by(CERTIFICATION_ORDER, certification::Column::ExpiresOn, false, certification::Column::Id, false);
    q.page(&sort, args, want_total, |m| SortValue::Date(m.expires_on), |m| m.id).await
}

/// The COMPLETED SURVEILLANCE audits of a certification's current cycle: those that
/// ended (or, without an end day, were planned to start) on or after `issued_on`.
pub fn surveillances_done(c: &certification::Model, audits: &[audit::Model]) -> usize {
    audits
        .iter()
        .filter(|a| a.certification_id == Some(c.id))
        .filter(|a| a.audit_type == AuditType::Surveillance && a.status == AuditStatus::Completed)
        .filter(|a| a.actual_end.or(a.planned_start).is_none_or(|d| d >= c.issued_on))
        .count()
}

/// The next audit due for a certification, given the audits of its cycle.
pub fn next_audit_due(c: &certification::Model, audits: &[audit::Model], today: NaiveDate) -> Option<NextAudit> {
    let status = rules::effective_status(c.status, c.expires_on, today);
    rules::next_audit_due(status, c.issued_on, c.expires_on, surveillances_done(c, audits))
}

/// Certifications in force on `today` (ACTIVE or SUSPENDED, not past `expiresOn`), with the
/// audits of their cycles: two statements for every organization of the reader.
pub async fn in_force(
    r: &MultiReader,
    today: NaiveDate,
) -> AppResult<HashMap<Uuid, Vec<(certification::Model, Vec<audit::Model>)>>> {
    use certification::Column as C;
    let mut out: HashMap<Uuid, Vec<(certification::Model, Vec<audit::Model>)>> = HashMap::new();
    if r.is_empty() {
        return Ok(out);
    }
    let certs = r
        .find::<certification::Entity>()?
        .filter(C::Status.is_in([CertificationStatus::Active, CertificationStatus::Suspended]))
        .filter(C::ExpiresOn.gte(today))
        .order_by_asc(C::ExpiresOn)
        .order_by_asc(C::Id)
        .all()
        .await?;
    if certs.is_empty() {
        return Ok(out);
    }
    let ids: Vec<Uuid> = certs.iter().map(|c| c.id).collect();
    let audits = r.find::<audit::Entity>()?.filter(audit::Column::CertificationId.is_in(ids)).all().await?;
    for c in certs {
        let mine: Vec<audit::Model> = audits.iter().filter(|a| a.certification_id == Some(c.id)).cloned().collect();
        out.entry(c.organization_id).or_default().push((c, mine));
    }
    Ok(out)
}
