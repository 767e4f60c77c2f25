//! Certifications (ISO/IEC 17021-1): the certificate, its status, and the audits of its
//! three-year cycle.

use async_graphql::{Context, Enum, ID, InputObject, Result};
use uuid::Uuid;

use crate::auth::{Access, Operation};
use crate::domain::certification as rules;
use crate::entity::audit;
use crate::graphql::audit::{Audit, AuditType, StandardCode};
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::limits;
use crate::graphql::loaders::load_children;
use crate::graphql::scalars::Date;
use crate::ids::{self, Kind};
use crate::store::certification as store;
use crate::store::page::PageArgs;
use crate::store::tenancy::now;

/// ACTIVE: in force; SUSPENDED: temporarily invalid (ISO/IEC 17021-1 9.6.5); WITHDRAWN:
/// cancelled by the certification body; EXPIRED: past `expiresOn` without renewal.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::certification::CertificationStatus")]
pub enum CertificationStatus {
    /// In force.
    Active,
    /// Temporarily invalid, still within its cycle (ISO/IEC 17021-1 9.6.5).
    Suspended,
    /// Cancelled by the certification body; read-only.
    Withdrawn,
    /// Past `expiresOn` without renewal. Read-only once set; one read EXPIRED while stored
    /// ACTIVE or SUSPENDED can still be renewed.
    Expired,
}

crate::entity_type! {
    /// A certificate of a certification body for one or both standards, and the audits of
    /// its cycle (ISO/IEC 17021-1).
    Certification, certification
}

impl Certification {
    fn today() -> chrono::NaiveDate {
        now().date_naive()
    }

    async fn cycle_audits(&self, ctx: &Context<'_>) -> Result<Vec<audit::Model>> {
        load_children::<audit::Entity>(ctx, self.model.organization_id, self.model.id).await
    }

    async fn next_due(&self, ctx: &Context<'_>) -> Result<Option<rules::NextAudit>> {
        let audits = self.cycle_audits(ctx).await?;
        Ok(store::next_audit_due(&self.model, &audits, Self::today()))
    }
}

crate::entity_object! {
    Certification, certification,
    update: custom,
    /// Always false: certificates are kept as records.
    delete: false,
    {
        /// The standards the certificate covers.
        async fn standards(&self) -> Vec<StandardCode> {
            self.model.standards.0.iter().map(|s| (*s).into()).collect()
        }
        /// The certification body that issued the certificate.
        async fn certification_body(&self) -> &str {
            &self.model.certification_body
        }
        /// The number on the certificate (unique per organization and certification body).
        async fn certificate_number(&self) -> &str {
            &self.model.certificate_number
        }
        /// Day of the certification (or recertification) decision: the cycle starts here.
        async fn issued_on(&self) -> Date {
            Date(self.model.issued_on)
        }
        /// Last day the certificate is valid: at most 3 years after `issuedOn`
        /// (ISO/IEC 17021-1 9.1.1).
        async fn expires_on(&self) -> Date {
            Date(self.model.expires_on)
        }
        /// The status in force today (UTC): an ACTIVE or SUSPENDED certificate read after
        /// its `expiresOn` is EXPIRED.
        async fn status(&self) -> CertificationStatus {
            rules::effective_status(self.model.status, self.model.expires_on, Self::today()).into()
        }
        /// The day the next audit of the cycle is due by; `null` unless in force.
        /// Surveillance 1 by `issuedOn` + 12 months (ISO/IEC 17021-1 9.6.2.2), surveillance
        /// 2 by `issuedOn` + 24 months (29 February falls back to 28 February), then
        /// recertification by `expiresOn` (9.6.3). Each COMPLETED SURVEILLANCE audit of
        /// this certification that ended on or after `issuedOn` counts as one surveillance
        /// done; a surveillance that would fall on or after `expiresOn` is skipped.
        async fn next_surveillance_due(&self, ctx: &Context<'_>) -> Result<Option<Date>> {
            Ok(self.next_due(ctx).await?.map(|n| Date(n.due_on)))
        }
        /// SURVEILLANCE or RECERTIFICATION: the audit `nextSurveillanceDue` is for.
        async fn next_audit_type(&self, ctx: &Context<'_>) -> Result<Option<AuditType>> {
            Ok(self.next_due(ctx).await?.map(|n| n.audit_type.into()))
        }
        /// Whether the caller may update it (OWNER, MANAGER, AUDITOR); false once set
        /// WITHDRAWN or EXPIRED (closed certifications are read-only).
        async fn viewer_can_update(&self) -> bool {
            self.access.allows(Operation::WriteCertifications) && !self.model.status.is_terminal()
        }
    }
    lists {
        /// The audits of this certification's cycle (stage 1 and 2, surveillance,
        /// recertification), by planned start (at most 20); empty for callers who may not
        /// read audits.
        #[list(CERTIFICATION_AUDITS)]
        async fn audits(&self, ctx: &Context<'_>) -> Result<Vec<Audit>> {
            if !self.access.allows(Operation::ReadAudits) {
                return Ok(Vec::new());
            }
            let rows = self.cycle_audits(ctx).await?;
            Ok(limits::bounded(rows, limits::CERTIFICATION_AUDITS).into_iter().map(|a| Audit::new(a, self.access)).collect())
        }
    }
}

crate::connection!(CertificationConnection, CertificationEdge, Certification);

/// Narrows `Organization.certifications`.
#[derive(InputObject, Default)]
pub struct CertificationFilter {
    /// Any of these stored statuses (an ACTIVE certificate past its expiry is stored
    /// ACTIVE and read as EXPIRED).
    pub status: Option<Vec<CertificationStatus>>,
}

/// `Organization.certifications`: by `expiresOn`, soonest first.
pub async fn certifications_of(
    ctx: &Context<'_>,
    org: Uuid,
    access: Access,
    filter: Option<CertificationFilter>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<CertificationConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let args = PageArgs::new(first, after.as_deref(), store::CERTIFICATION_ORDER)?;
    let statuses: Vec<rules::CertificationStatus> =
        filter.unwrap_or_default().status.unwrap_or_default().into_iter().map(Into::into).collect();
    let page = store::list(gate, actor, org, &statuses, &args, wants_total(ctx)).await?;
    Ok(CertificationConnection::from_page(page, |m| Certification::new(m, access)))
}

/// A certificate issued by a certification body (ISO/IEC 17021-1).
#[derive(InputObject)]
pub struct CreateCertificationInput {
    /// The certified organization.
    pub organization_id: ID,
    /// At least one.
    pub standards: Vec<StandardCode>,
    /// The certification body that issued the certificate; not blank, at most 200
    /// characters.
    pub certification_body: String,
    /// Unique per organization and certification body (`CONFLICT`); not blank, at most 100
    /// characters.
    pub certificate_number: String,
    /// Day of the certification decision.
    pub issued_on: Date,
    /// After `issuedOn`, at most 3 years later (ISO/IEC 17021-1 9.1.1).
    pub expires_on: Date,
    /// Default ACTIVE.
    pub status: Option<CertificationStatus>,
}

/// Omitted fields stay. WITHDRAWN and EXPIRED certifications are read-only.
#[derive(InputObject)]
pub struct UpdateCertificationInput {
    /// The certification.
    pub id: ID,
    /// Refused (`CONFLICT`) when the certification is at another version.
    pub expected_version: Option<i32>,
    /// Narrowing is refused while an audit of the cycle covers a dropped standard.
    pub standards: Option<Vec<StandardCode>>,
    /// Not blank.
    pub certification_body: Option<String>,
    /// Not blank; unique per organization and certification body.
    pub certificate_number: Option<String>,
    /// A recertification decision starts a new cycle: set `issuedOn` and `expiresOn`.
    pub issued_on: Option<Date>,
    /// After `issuedOn`, at most 3 years later.
    pub expires_on: Option<Date>,
    /// Any status; from WITHDRAWN or EXPIRED nothing changes any more.
    pub status: Option<CertificationStatus>,
}

fn standards(v: &[StandardCode]) -> Vec<crate::domain::refs::Standard> {
    v.iter().map(|s| (*s).into()).collect()
}

crate::mutations! {
    CertificationMutation;
    /// OWNER, MANAGER, AUDITOR. Records a certificate (status ACTIVE unless given).
    create_certification(ctx, gate, actor, input: CreateCertificationInput)
        -> CreateCertificationPayload { certification: Certification } {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        store::create(gate, actor, org, store::NewCertification {
            standards: &standards(&input.standards),
            certification_body: &input.certification_body,
            certificate_number: &input.certificate_number,
            issued_on: input.issued_on.0,
            expires_on: input.expires_on.0,
            status: input.status.map(Into::into),
        }).await?
    }
    /// OWNER, MANAGER, AUDITOR. WITHDRAWN and EXPIRED certifications are read-only.
    update_certification(ctx, gate, actor, input: UpdateCertificationInput)
        -> UpdateCertificationPayload { certification: Certification } {
        let id = ids::expect(Kind::Certification, &input.id, "id")?;
        let std = input.standards.as_deref().map(standards);
        store::update(gate, actor, id, store::CertificationChanges {
            expected_version: input.expected_version,
            standards: std.as_deref(),
            certification_body: input.certification_body.as_deref(),
            certificate_number: input.certificate_number.as_deref(),
            issued_on: input.issued_on.map(|d| d.0),
            expires_on: input.expires_on.map(|d| d.0),
            status: input.status.map(Into::into),
        }).await?
    }
}
