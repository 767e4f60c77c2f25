//! Documented information (ISO 27001 / 42001 clause 7.5; 27001 A.5.1, A.5.37; 42001
//! A.2.2-A.2.4): documents, their versions and approval.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::{Access, Operation};
use crate::domain::document::{self as rules, DocumentStatus as DStatus, Right};
use crate::entity::{control, document_control, document_version};
use crate::graphql::catalog::StandardCode;
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::input::{change, ref_id};
use crate::graphql::limits;
use crate::graphql::loaders::{Left, Right as LinkRight, load_by_id, load_linked};
use crate::graphql::scalars::Date;
use crate::graphql::soa::{Control, OrderDirection};
use crate::ids::{self, Kind};
use crate::store::document as store;
use crate::store::page::PageArgs;
use crate::store::tenancy::{Granted, now};

/// What a document is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::document::DocumentKind")]
pub enum DocumentKind {
    /// A policy (documentation level 1).
    Policy,
    /// A procedure (level 2).
    Procedure,
    /// A process description (level 2).
    Process,
    /// A work instruction (level 3).
    WorkInstruction,
    /// A plan, e.g. the risk treatment plan (level 2).
    Plan,
    /// A record, kept as evidence (level 4).
    Record,
    /// A report, e.g. an audit or management review report (level 4).
    Report,
    /// Anything else (level 2 unless given).
    Other,
}

/// DRAFT → IN_REVIEW → APPROVED; IN_REVIEW → DRAFT sends it back; any status → RETIRED.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::document::DocumentStatus")]
pub enum DocumentStatus {
    /// The newest version is being written (also after `reviseDocument`).
    Draft,
    /// The newest version is submitted for approval.
    InReview,
    /// The newest version is approved and in force.
    Approved,
    /// Withdrawn from use, kept as a record: read-only.
    Retired,
}

/// How a policy integrates the two standards (seed guide).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::document::PolicyIntegration")]
pub enum PolicyIntegration {
    /// One integrated policy for information security and AI.
    Integrated,
    /// A security policy with an AI addendum.
    Umbrella,
    /// Two aligned policies.
    Aligned,
}

/// Which part of the version number a revision raises.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum VersionBump {
    /// `1.0` → `1.1`.
    #[default]
    Minor,
    /// `1.1` → `2.0`.
    Major,
}

crate::entity_type! {
    /// A controlled document: a policy, procedure, record, … with its versions and their
    /// approval (ISO 27001 / 42001 7.5).
    Document, document
}

impl Document {
    fn current(&self) -> DStatus {
        self.model.status
    }

    fn allowed(&self, right: Right) -> bool {
        self.access.allows(match right {
            Right::Write => Operation::WriteDocuments,
            Right::Approve => Operation::ApproveDocuments,
        })
    }

    async fn version_by_id(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<DocumentVersion>> {
        Ok(load_by_id::<document_version::Entity>(ctx, self.model.organization_id, id)
            .await?
            .map(|m| DocumentVersion::new(m, self.access)))
    }
}

crate::entity_object! {
    Document, document,
    update: custom,
    delete: none,
    {
        /// Title of the document.
        async fn title(&self) -> &str {
            &self.model.title
        }
        /// What the document is.
        async fn kind(&self) -> DocumentKind {
            self.model.kind.into()
        }
        /// Documentation level: 1 policies; 2 procedures, processes and plans; 3 work
        /// instructions; 4 records and reports.
        async fn level(&self) -> i32 {
            self.model.level
        }
        /// The standards the document serves (one or both).
        async fn standards(&self) -> Vec<StandardCode> {
            store::standards_of(&self.model).into_iter().map(Into::into).collect()
        }
        /// How the policy integrates the two standards; `null` for other kinds.
        async fn policy_integration(&self) -> Option<PolicyIntegration> {
            self.model.policy_integration.map(Into::into)
        }
        /// Who owns the document.
        async fn owner(&self) -> Option<&str> {
            self.model.owner.as_deref()
        }
        /// Information classification label (e.g. INTERNAL, CONFIDENTIAL).
        async fn classification(&self) -> Option<&str> {
            self.model.classification.as_deref()
        }
        /// Workflow status of the newest version (RETIRED for the whole document).
        async fn status(&self) -> DocumentStatus {
            self.current().into()
        }
        /// Months between reviews (1-60, default 12).
        async fn review_interval_months(&self) -> i32 {
            self.model.review_interval_months
        }
        /// The last approval day (UTC) plus `reviewIntervalMonths`; `null` until first
        /// approved, and once RETIRED.
        async fn next_review_on(&self) -> Option<Date> {
            self.model.next_review_on.map(Date)
        }
        /// `nextReviewOn` has passed (strictly before today, UTC) and the document is not
        /// RETIRED. Approving a revision sets the next date.
        async fn review_overdue(&self) -> bool {
            rules::review_overdue(self.current(), self.model.next_review_on, now().date_naive())
        }
        /// Clause and control references the document serves (`ISO42001:5.2`).
        async fn references(&self) -> &[String] {
            &self.model.refs.0
        }
        /// The approved version in force; `null` until one is approved. Stays while a
        /// revision is in DRAFT or IN_REVIEW.
        async fn current_version(&self, ctx: &Context<'_>) -> Result<Option<DocumentVersion>> {
            match self.model.current_version_id {
                Some(id) => self.version_by_id(ctx, id).await,
                None => Ok(None),
            }
        }
        /// The newest version: the one the workflow moves.
        async fn latest_version(&self, ctx: &Context<'_>) -> Result<Option<DocumentVersion>> {
            self.version_by_id(ctx, self.model.latest_version_id).await
        }
        /// Metadata and the draft's content can change (not RETIRED, and the viewer
        /// writes documents).
        async fn viewer_can_update(&self) -> bool {
            self.allowed(Right::Write) && self.current() != DStatus::Retired
        }
        /// The statuses the viewer may move this document to (approving also needs
        /// someone other than the version's author).
        async fn available_transitions(&self) -> Vec<DocumentStatus> {
            rules::next_statuses(self.current())
                .into_iter()
                .filter(|(_, r)| self.allowed(*r))
                .map(|(s, _)| s.into())
                .collect()
        }
    }
    lists {
        /// Versions, newest first.
        #[page(first)]
        async fn versions(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<DocumentVersionConnection> {
            let (gate, actor) = (ctx.gate()?, ctx.actor()?);
            let args = PageArgs::new(first, after.as_deref(), store::VERSION_ORDER)?;
            let page = store::versions(gate, actor, self.model.organization_id, self.model.id, &args, wants_total(ctx))
                .await?;
            let access = self.access;
            Ok(DocumentVersionConnection::from_page(page, |m| DocumentVersion::new(m, access)))
        }
        /// SoA rows of either standard this document serves, in SoA order (at most 200:
        /// a document is linked to no more).
        #[list(DOCUMENT_CONTROLS)]
        async fn controls(&self, ctx: &Context<'_>) -> Result<Vec<Control>> {
            if !self.access.allows(Operation::ReadControls) {
                return Ok(Vec::new());
            }
            let rows = load_linked::<document_control::Entity, LinkRight>(ctx, self.model.organization_id, self.model.id)
                .await?;
            let access = self.access;
            Ok(limits::bounded(rows, limits::DOCUMENT_CONTROLS).into_iter().map(|c| Control::new(c, access)).collect())
        }
    }
}

crate::entity_type! {
    /// One numbered version of a document: its content, author, submission and approval.
    DocumentVersion, document_version
}

crate::entity_object! {
    DocumentVersion, document_version,
    update: custom,
    delete: none,
    {
        /// The document.
        async fn document(&self, ctx: &Context<'_>) -> Result<Option<Document>> {
            Ok(load_by_id::<crate::entity::document::Entity>(ctx, self.model.organization_id, self.model.document_id)
                .await?
                .map(|m| Document::new(m, self.access)))
        }
        /// `major.minor` (`1.0`, `1.1`, `2.0`): the author chooses minor or major when
        /// revising.
        async fn number(&self) -> String {
            store::number(&self.model)
        }
        /// What changed in this version.
        async fn change_summary(&self) -> Option<&str> {
            self.model.change_summary.as_deref()
        }
        /// The content as Markdown.
        async fn body(&self) -> Option<&str> {
            self.model.body.as_deref()
        }
        /// Who wrote the version (token `sub` of whoever opened it).
        async fn author(&self) -> &str {
            &self.model.author
        }
        /// When it was submitted for review (UTC); `null` while in DRAFT.
        async fn submitted_at(&self) -> Option<DateTime<Utc>> {
            self.model.submitted_at
        }
        /// When it was approved (UTC); `null` unless approved.
        async fn approved_at(&self) -> Option<DateTime<Utc>> {
            self.model.approved_at
        }
        /// Who approved it (token `sub`, never the author); `null` unless approved.
        async fn approved_by(&self) -> Option<&str> {
            self.model.approved_by.as_deref()
        }
        /// Always false: a draft's content changes through `updateDocument`, and
        /// approved versions never change.
        async fn viewer_can_update(&self) -> bool {
            false
        }
    }
}

crate::connection!(DocumentConnection, DocumentEdge, Document);
crate::connection!(DocumentVersionConnection, DocumentVersionEdge, DocumentVersion);

/// Conditions on `organization.documents`: every one given must hold.
#[derive(InputObject, Default)]
pub struct DocumentFilter {
    /// Documents of this kind.
    pub kind: Option<DocumentKind>,
    /// Documents in this status.
    pub status: Option<DocumentStatus>,
    /// Documents serving this standard.
    pub standard: Option<StandardCode>,
    /// `true`: review overdue (`Document.reviewOverdue`); `false`: not.
    pub review_overdue: Option<bool>,
    /// Case-insensitive substring of the title or owner (at most 200 characters).
    pub search: Option<String>,
}

/// What `organization.documents` sorts by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum DocumentOrderField {
    /// Title.
    #[default]
    Title,
    /// Next review day (documents without one last).
    NextReviewOn,
    /// Time of the last change.
    UpdatedAt,
}

/// Sort order of `organization.documents`.
#[derive(InputObject, Default)]
pub struct DocumentOrder {
    #[graphql(default)]
    /// What to sort by (default TITLE).
    pub field: DocumentOrderField,
    #[graphql(default)]
    /// ASC or DESC (default ASC).
    pub direction: OrderDirection,
}

/// `organization.documents`.
pub async fn documents_of(
    ctx: &Context<'_>,
    org: Uuid,
    filter: Option<DocumentFilter>,
    order_by: Option<DocumentOrder>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<DocumentConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let r = gate.read(actor, org, Operation::ReadDocuments).await?;
    let o = order_by.unwrap_or_default();
    let field = match o.field {
        DocumentOrderField::Title => store::DocumentOrder::Title,
        DocumentOrderField::NextReviewOn => store::DocumentOrder::NextReviewOn,
        DocumentOrderField::UpdatedAt => store::DocumentOrder::UpdatedAt,
    };
    let desc = o.direction == OrderDirection::Desc;
    let args = PageArgs::new(first, after.as_deref(), &store::document_sort(field, desc).name)?;
    let f = filter.unwrap_or_default();
    let filter = store::DocumentFilter {
        kind: f.kind.map(Into::into),
        status: f.status.map(Into::into),
        standard: f.standard.map(Into::into),
        review_overdue: f.review_overdue,
        search: f.search,
    };
    let page = store::list(&r, &filter, field, desc, &args, wants_total(ctx)).await?;
    let access = r.access();
    Ok(DocumentConnection::from_page(page, |m| Document::new(m, access)))
}

/// `Control.documents`: the documents linked to an SoA row, by title.
pub async fn documents_of_control(ctx: &Context<'_>, c: &control::Model, access: Access) -> Result<Vec<Document>> {
    if !access.allows(Operation::ReadDocuments) {
        return Ok(Vec::new());
    }
    let rows = load_linked::<document_control::Entity, Left>(ctx, c.organization_id, c.id).await?;
    Ok(limits::bounded(rows, limits::CONTROL_DOCUMENTS).into_iter().map(|d| Document::new(d, access)).collect())
}

fn standards(v: &[StandardCode]) -> Vec<crate::domain::refs::Standard> {
    v.iter().map(|s| (*s).into()).collect()
}

/// A new document: DRAFT, with version 1.0 authored by the caller.
#[derive(InputObject)]
pub struct CreateDocumentInput {
    /// The organization the document belongs to.
    pub organization_id: ID,
    /// Required, at most 300 characters.
    pub title: String,
    /// What the document is.
    pub kind: DocumentKind,
    /// 1-4; default from the kind (POLICY 1; PROCEDURE, PROCESS, PLAN, OTHER 2;
    /// WORK_INSTRUCTION 3; RECORD, REPORT 4).
    pub level: Option<i32>,
    /// One or both standards.
    pub standards: Vec<StandardCode>,
    /// POLICY documents only.
    pub policy_integration: Option<PolicyIntegration>,
    /// At most 200 characters.
    pub owner: Option<String>,
    /// At most 100 characters.
    pub classification: Option<String>,
    /// 1-60, default 12.
    pub review_interval_months: Option<i32>,
    /// Clause or control references of the document's standards (`ISO42001:5.2`).
    pub references: Option<Vec<String>>,
    /// What version 1.0 is about, at most 20,000 characters.
    pub change_summary: Option<String>,
    /// Version 1.0's content as Markdown, at most 200,000 characters.
    pub body: Option<String>,
}

/// Omitted fields stay. A RETIRED document is read-only; `changeSummary` and `body` edit
/// the newest version and only while the document is DRAFT.
#[derive(InputObject)]
pub struct UpdateDocumentInput {
    /// The document.
    pub id: ID,
    /// Refused (`CONFLICT`) when the document is at another version.
    pub expected_version: Option<i32>,
    /// Not blank, at most 300 characters.
    pub title: Option<String>,
    /// A kind other than POLICY drops `policyIntegration`.
    pub kind: Option<DocumentKind>,
    /// 1-4.
    pub level: Option<i32>,
    /// One or both; the references must stay within them.
    pub standards: Option<Vec<StandardCode>>,
    /// POLICY documents only; `null` clears it.
    pub policy_integration: MaybeUndefined<PolicyIntegration>,
    /// `null` clears it.
    pub owner: MaybeUndefined<String>,
    /// `null` clears it.
    pub classification: MaybeUndefined<String>,
    /// 1-60; takes effect at the next approval.
    pub review_interval_months: Option<i32>,
    /// Replaces the references.
    pub references: Option<Vec<String>>,
    /// The newest version's change summary (DRAFT only); `null` clears it.
    pub change_summary: MaybeUndefined<String>,
    /// The newest version's Markdown body (DRAFT only); `null` clears it.
    pub body: MaybeUndefined<String>,
}

/// Opens a new DRAFT version of an APPROVED document.
#[derive(InputObject)]
pub struct ReviseDocumentInput {
    /// The document (APPROVED).
    pub id: ID,
    /// Refused (`CONFLICT`) when the document is at another version.
    pub expected_version: Option<i32>,
    /// MINOR (default): `1.0` → `1.1`; MAJOR: `1.1` → `2.0`.
    pub bump: Option<VersionBump>,
    /// What changes in this version.
    pub change_summary: Option<String>,
    /// The new content; default the previous version's.
    pub body: Option<String>,
}

/// A move of a document's workflow.
#[derive(InputObject)]
pub struct TransitionDocumentInput {
    /// The document.
    pub id: ID,
    /// DRAFT ⇄ IN_REVIEW (writers); APPROVED from IN_REVIEW and RETIRED from any status
    /// (OWNER or MANAGER; the version's author never approves it).
    pub to: DocumentStatus,
    /// Recorded with the move in the audit trail.
    pub note: Option<String>,
    /// Refused (`CONFLICT`) when the document is at another version.
    pub expected_version: Option<i32>,
}

/// A link between a document and an SoA row.
#[derive(InputObject)]
pub struct DocumentControlInput {
    /// The document (not RETIRED).
    pub document_id: ID,
    /// An SoA row of the same organization, of either standard.
    pub control_id: ID,
}

crate::mutations! {
    DocumentMutation;
    /// OWNER, MANAGER, CONTRIBUTOR. Starts a document as DRAFT with version 1.0.
    create_document(ctx, gate, actor, input: CreateDocumentInput) -> CreateDocumentPayload { document: Document } {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        store::create(gate, actor, ctx.catalog()?, org, store::NewDocument {
            title: &input.title,
            kind: input.kind.into(),
            level: input.level,
            standards: &standards(&input.standards),
            policy_integration: input.policy_integration.map(Into::into),
            owner: input.owner.as_deref(),
            classification: input.classification.as_deref(),
            review_interval_months: input.review_interval_months,
            references: input.references.as_deref().unwrap_or_default(),
            change_summary: input.change_summary.as_deref(),
            body: input.body.as_deref(),
        }).await?
    }
    /// OWNER, MANAGER, CONTRIBUTOR. A RETIRED document is read-only.
    update_document(ctx, gate, actor, input: UpdateDocumentInput) -> UpdateDocumentPayload { document: Document } {
        let id = ids::expect(Kind::Document, &input.id, "id")?;
        store::update(gate, actor, ctx.catalog()?, id, store::DocumentChanges {
            expected_version: input.expected_version,
            title: input.title,
            kind: input.kind.map(Into::into),
            level: input.level,
            standards: input.standards.as_deref().map(standards),
            policy_integration: change(input.policy_integration, Into::into),
            owner: change(input.owner, |v| v),
            classification: change(input.classification, |v| v),
            review_interval_months: input.review_interval_months,
            references: input.references,
            change_summary: change(input.change_summary, |v| v),
            body: change(input.body, |v| v),
        }).await?
    }
    /// OWNER, MANAGER, CONTRIBUTOR. Opens a new DRAFT version of an APPROVED document;
    /// the approved version stays current until the new one is approved.
    revise_document(ctx, gate, actor, input: ReviseDocumentInput) -> ReviseDocumentPayload { document: Document } {
        let id = ids::expect(Kind::Document, &input.id, "id")?;
        let major = input.bump.unwrap_or_default() == VersionBump::Major;
        store::revise(gate, actor, id, major, input.change_summary.as_deref(), input.body.as_deref(), input.expected_version)
            .await?
    }
    /// DRAFT ⇄ IN_REVIEW: OWNER, MANAGER, CONTRIBUTOR. To APPROVED (sets `nextReviewOn`)
    /// or RETIRED: OWNER, MANAGER; the author of the version may not approve it (ISO
    /// 27001 A.5.3).
    transition_document(ctx, gate, actor, input: TransitionDocumentInput)
        -> TransitionDocumentPayload { document: Document } {
        let id = ids::expect(Kind::Document, &input.id, "id")?;
        store::transition(gate, actor, id, input.to.into(), input.note.as_deref(), input.expected_version).await?
    }
    /// OWNER, MANAGER, CONTRIBUTOR. Links a document to an SoA row; linking twice changes
    /// nothing.
    link_document_control(ctx, gate, actor, input: DocumentControlInput) -> LinkDocumentControlPayload {
        document: Document,
        control: Control,
    } => {
        let document_id = ids::expect(Kind::Document, &input.document_id, "documentId")?;
        let control_id = ref_id(Kind::Control, &input.control_id, "controlId")?;
        let Granted { model: l, access } = store::link_control(gate, actor, document_id, control_id, true).await?;
        Ok(LinkDocumentControlPayload { document: Document::new(l.document, access), control: Control::new(l.control, access) })
    }
    /// OWNER, MANAGER, CONTRIBUTOR. Removes a link. Idempotent.
    unlink_document_control(ctx, gate, actor, input: DocumentControlInput) -> UnlinkDocumentControlPayload {
        document: Document,
        control: Control,
    } => {
        let document_id = ids::expect(Kind::Document, &input.document_id, "documentId")?;
        let control_id = ref_id(Kind::Control, &input.control_id, "controlId")?;
        let Granted { model: l, access } = store::link_control(gate, actor, document_id, control_id, false).await?;
        Ok(UnlinkDocumentControlPayload { document: Document::new(l.document, access), control: Control::new(l.control, access) })
    }
}
