//! Organizations and memberships.

use std::collections::HashMap;

use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::auth::{Operation, Role};
use crate::domain::org::{OwnerCount, Slug, check_owner_remains};
use crate::domain::refs::Standard;
use crate::domain::soa::ImplementationStatus;
use crate::domain::{self, MAX_NAME};
use crate::entity::{control, measure, measure_control, membership, organization};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::soa;
use crate::store::tenancy::{Actor, Gate, Granted, Reader, Writer, now};
use crate::store::trail::Action;

pub struct NewOrganization<'a> {
    pub name: &'a str,
    pub slug: &'a str,
    /// Subject made the first OWNER, in the same transaction.
    pub initial_owner: Option<&'a str>,
    /// An organization marked as a template to copy risk settings and SoA decisions from.
    pub template: Option<Uuid>,
}

/// What a new organization takes from its template.
struct Template {
    org: organization::Model,
    controls: Vec<control::Model>,
    measures: Vec<measure::Model>,
    measure_controls: Vec<measure_control::Model>,
}

/// Reads the template `id` (a platform admin may read any organization); an organization
/// that is missing or not marked as a template is refused on `templateId`.
async fn read_template(gate: &Gate, actor: &Actor, id: Uuid) -> AppResult<Template> {
    let not_template = || AppError::bad_input("templateId", "no organization marked as a template has this id");
    let (r, org) = match get(gate, actor, id).await {
        Ok(found) => found,
        Err(AppError::NotFound(_)) => return Err(not_template()),
        Err(e) => return Err(e),
    };
    if !org.is_template {
        return Err(not_template());
    }
    let controls = soa::all_controls(&r).await?;
    let measures = r.find::<measure::Entity>()?.all().await?;
    let measure_controls = r.find::<measure_control::Entity>()?.all().await?;
    Ok(Template { org, controls, measures, measure_controls })
}

/// Creates an organization with its whole Statement of Applicability and gap-analysis
/// rows, in one transaction (platform admins only).
pub async fn create(gate: &Gate, actor: &Actor, input: NewOrganization<'_>) -> AppResult<Granted<organization::Model>> {
    let name = domain::required_text("name", input.name, MAX_NAME)?;
    let slug = Slug::parse(input.slug)?;
    let owner = domain::optional_text("initialOwner", input.initial_owner, MAX_NAME)?;
    let id = ids::new_id();
    let mut w = gate.write_new_organization(actor, id).await?;
    // Read after the writer has checked the caller (platform admins only).
    let template = match input.template {
        Some(t) => Some(read_template(gate, actor, t).await?),
        None => None,
    };
    let at = now();
    let org = organization::ActiveModel {
        id: Set(id),
        name: Set(name),
        slug: Set(slug.as_str().to_string()),
        risk_settings: Set(template.as_ref().and_then(|t| t.org.risk_settings.clone())),
        is_template: Set(false),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    // The slug is unique across tenants; no tenant can see another's, so the unique index
    // decides.
    let org = w.insert(org, &slug_taken(slug.as_str())).await?;
    w.record_create(Kind::Organization, id, &org).await?;
    let copied = soa::seed_organization(&mut w, template.as_ref().map(|t| t.controls.as_slice())).await?;
    let measures_copied = match &template {
        Some(t) => copy_measures(&w, t).await?,
        None => 0,
    };
    if let Some(t) = &template {
        // Where it came from, as a record: the new organization keeps no reference to the
        // template (no key, no link), so neither tenant ever reads the other's rows.
        let source = serde_json::json!({
            "id": ids::encode(Kind::Organization, t.org.id),
            "name": t.org.name,
            "slug": t.org.slug,
            "riskSettings": t.org.risk_settings.is_some(),
            "decisionsCopied": copied.decisions,
            "customControlsCopied": copied.custom_controls,
            "measuresCopied": measures_copied,
        });
        let fields = serde_json::json!({ "copiedFromTemplate": { "before": null, "after": source } });
        w.record(Action::Update, Kind::Organization, id, fields).await?;
    }
    if let Some(subject) = owner {
        insert_member(&mut w, &subject, Role::Owner).await?;
    }
    w.commit_with(org).await
}

/// Copies the template's measures into the new organization as PLANNED, without owner or
/// due date, linked to the new organization's SoA rows of the same refs (issue 16: the
/// consultancy's "implement once" baseline). Returns how many were copied.
async fn copy_measures(w: &Writer, t: &Template) -> AppResult<usize> {
    if t.measures.is_empty() {
        return Ok(0);
    }
    let refs: HashMap<Uuid, (Standard, &str)> =
        t.controls.iter().map(|c| (c.id, (c.standard, c.reference.as_str()))).collect();
    let fresh: HashMap<(Standard, String), Uuid> =
        w.find::<control::Entity>()?.all().await?.into_iter().map(|c| ((c.standard, c.reference), c.id)).collect();
    let at = now();
    let mut new_ids = HashMap::new();
    let rows: Vec<measure::ActiveModel> = t
        .measures
        .iter()
        .map(|m| {
            let id = ids::new_id();
            new_ids.insert(m.id, id);
            measure::ActiveModel {
                id: Set(id),
                organization_id: Set(w.org()),
                title: Set(m.title.clone()),
                description: Set(m.description.clone()),
                owner: Set(None),
                status: Set(ImplementationStatus::Planned),
                due_on: Set(None),
                effort: Set(m.effort),
                version: Set(1),
                created_at: Set(at),
                updated_at: Set(at),
            }
        })
        .collect();
    let links: Vec<measure_control::ActiveModel> = t
        .measure_controls
        .iter()
        .filter_map(|l| {
            let (standard, reference) = refs.get(&l.control_id)?;
            let control_id = fresh.get(&(*standard, reference.to_string()))?;
            Some(measure_control::ActiveModel {
                organization_id: Set(w.org()),
                measure_id: Set(*new_ids.get(&l.measure_id)?),
                control_id: Set(*control_id),
                created_at: Set(at),
            })
        })
        .collect();
    w.insert_many(rows).await?;
    w.insert_many(links).await?;
    Ok(t.measures.len())
}

fn slug_taken(slug: &str) -> String {
    format!("slug {slug:?} is already taken")
}

/// Reads one organization the caller may see.
pub async fn get(gate: &Gate, actor: &Actor, id: Uuid) -> AppResult<(Reader, organization::Model)> {
    let r = gate.read(actor, id, Operation::ReadOrganization).await?;
    let org = r.get::<organization::Entity>(id).await?.ok_or_else(|| AppError::not_found("organization"))?;
    Ok((r, org))
}

/// Loads organizations by id (the caller's access is checked by the gate).
pub async fn get_many(gate: &Gate, actor: &Actor, ids: &[Uuid]) -> AppResult<Vec<organization::Model>> {
    let r = gate.read_many(actor, ids, Operation::ReadOrganization).await?;
    if r.is_empty() {
        return Ok(Vec::new());
    }
    r.find::<organization::Entity>()?.all().await
}

/// The organizations the caller may see (all of them for a platform admin), by name.
pub async fn list(
    gate: &Gate,
    actor: &Actor,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<organization::Model>> {
    let visible = gate.organizations(actor).await?;
    let sort = Sort::by("organizations:NAME", organization::Column::Name, false, organization::Column::Id, false);
    let page = visible.find().page(&sort, args, want_total, |m| SortValue::Text(m.name.clone()), |m| m.id).await?;
    visible.note_seen(page.items.iter().map(|(_, o)| o.id));
    Ok(page)
}

pub struct OrganizationChanges<'a> {
    pub expected_version: Option<i32>,
    pub name: Option<&'a str>,
    pub slug: Option<&'a str>,
    /// Risk matrix, thresholds and appetite (re-evaluated at read time; risk rows untouched).
    pub risk_settings: Option<crate::domain::risk::RiskSettingsChange>,
}

pub async fn update(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    ch: OrganizationChanges<'_>,
) -> AppResult<Granted<organization::Model>> {
    let name = ch.name.map(|n| domain::required_text("name", n, MAX_NAME)).transpose()?;
    let slug = ch.slug.map(Slug::parse).transpose()?;
    let mut w = gate.write(actor, id, Operation::UpdateOrganization).await?;
    let before = w.get::<organization::Entity>(id).await?.ok_or_else(|| AppError::not_found("organization"))?;
    check_version(ch.expected_version, before.version)?;
    let conflict = slug.as_ref().map(|s| slug_taken(s.as_str()));
    let mut am: organization::ActiveModel = before.clone().into();
    if let Some(n) = name {
        am.name = Set(n);
    }
    if let Some(s) = slug {
        am.slug = Set(s.as_str().to_string());
    }
    if let Some(change) = &ch.risk_settings {
        let current = crate::domain::risk::StoredRiskSettings::from_json(before.risk_settings.as_ref())
            .map_err(AppError::internal)?;
        let in_use = if change.matrix_size.is_some() {
            crate::store::risk::ratings_in_use(&w).await?
        } else {
            crate::domain::risk::RatingsInUse::default()
        };
        let next = change.apply(&current, in_use)?;
        am.risk_settings = Set(Some(serde_json::to_value(&next)?));
    }
    let after = match &conflict {
        Some(message) => w.update_unique(am, message).await?,
        None => w.update(am).await?,
    };
    w.record_update(Kind::Organization, id, &before, &after).await?;
    w.commit_with(after).await
}

/// Marks (or unmarks) the organization as a template new organizations may be created
/// from (OWNER). Organizations created from it earlier are not affected.
pub async fn set_template(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    is_template: bool,
) -> AppResult<Granted<organization::Model>> {
    let mut w = gate.write(actor, id, Operation::MarkTemplate).await?;
    let before = w.get::<organization::Entity>(id).await?.ok_or_else(|| AppError::not_found("organization"))?;
    if before.is_template == is_template {
        return w.commit_with(before).await;
    }
    let mut am: organization::ActiveModel = before.clone().into();
    am.is_template = Set(is_template);
    let after = w.update(am).await?;
    w.record_update(Kind::Organization, id, &before, &after).await?;
    w.commit_with(after).await
}

/// `expectedVersion`, when given, must match.
pub fn check_version(expected: Option<i32>, actual: i32) -> AppResult<()> {
    match expected {
        Some(v) if v != actual => Err(AppError::Conflict(format!(
            "stale expectedVersion {v}: the object is at version {actual}; reload and retry"
        ))),
        _ => Ok(()),
    }
}

/// The first `limit` members, by subject.
pub async fn members(r: &Reader, limit: usize) -> AppResult<Vec<membership::Model>> {
    r.find::<membership::Entity>()?.order_by_asc(membership::Column::Subject).limit(limit as u64).all().await
}

async fn insert_member(w: &mut Writer, subject: &str, role: Role) -> AppResult<membership::Model> {
    let exists = w.find::<membership::Entity>()?.filter(membership::Column::Subject.eq(subject)).exists().await?;
    if exists {
        return Err(AppError::Conflict(format!("{subject:?} is already a member")));
    }
    let at = now();
    let m = membership::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: Set(w.org()),
        subject: Set(subject.to_string()),
        role: Set(role),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert(m, &format!("{subject:?} is already a member")).await?;
    w.record_create(Kind::Membership, m.id, &m).await?;
    Ok(m)
}

pub async fn add_member(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    subject: &str,
    role: Role,
) -> AppResult<Granted<membership::Model>> {
    let subject = domain::required_text("subject", subject, MAX_NAME)?;
    let mut w = gate.write(actor, org, Operation::ManageMembers).await?;
    let m = insert_member(&mut w, &subject, role).await?;
    w.commit_with(m).await
}

async fn member_by_subject(w: &Writer, subject: &str) -> AppResult<membership::Model> {
    w.find::<membership::Entity>()?
        .filter(membership::Column::Subject.eq(subject))
        .one()
        .await?
        .ok_or_else(|| AppError::not_found("membership"))
}

async fn owner_count(w: &Writer) -> AppResult<OwnerCount> {
    Ok(OwnerCount(w.find::<membership::Entity>()?.filter(membership::Column::Role.eq(Role::Owner)).count().await?))
}

pub async fn change_member_role(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    subject: &str,
    role: Role,
    expected_version: Option<i32>,
) -> AppResult<Granted<membership::Model>> {
    let mut w = gate.write(actor, org, Operation::ManageMembers).await?;
    let before = member_by_subject(&w, subject).await?;
    check_version(expected_version, before.version)?;
    let demoting_owner = before.role == Role::Owner && role != Role::Owner;
    check_owner_remains(owner_count(&w).await?, demoting_owner)?;
    let mut am: membership::ActiveModel = before.clone().into();
    am.role = Set(role);
    let after = w.update(am).await?;
    w.record_update(Kind::Membership, after.id, &before, &after).await?;
    w.commit_with(after).await
}

pub async fn remove_member(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    subject: &str,
) -> AppResult<Granted<membership::Model>> {
    let mut w = gate.write(actor, org, Operation::ManageMembers).await?;
    let before = member_by_subject(&w, subject).await?;
    check_owner_remains(owner_count(&w).await?, before.role == Role::Owner)?;
    w.delete::<membership::Entity>(before.id).await?;
    w.record_delete(Kind::Membership, before.id, &before).await?;
    w.commit_with(before).await
}

/// The slug of the reader's organization.
pub async fn slug_of(r: &Reader) -> AppResult<String> {
    r.get::<organization::Entity>(r.org()).await?.map(|o| o.slug).ok_or_else(|| AppError::not_found("organization"))
}

/// Every organization the caller may see (portfolio figures), by name.
pub async fn all_visible(gate: &Gate, actor: &Actor) -> AppResult<Vec<organization::Model>> {
    let visible = gate.organizations(actor).await?;
    let orgs = visible.find().order_by_asc(organization::Column::Name).all().await?;
    visible.note_seen(orgs.iter().map(|o| o.id));
    Ok(orgs)
}
