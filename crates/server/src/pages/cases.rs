//! The worklist, the case page and signed report versions.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use marrow_domain::case::CaseStatus;
use marrow_domain::ids::CaseId;
use marrow_domain::role::Action;
use marrow_domain::time::Date;

use super::{page, path_id};
use crate::AppState;
use crate::auth::Staff;
use crate::error::{AppError, PageError};
use crate::report::ReportParts;
use crate::views::{CaseRow, CaseView, HistoryLine, Nav, PatientBanner, VersionView};

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage {
    nav: Nav,
    cases: Vec<CaseRow>,
    statuses: &'static [CaseStatus],
    filter: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    nav: Nav,
    case: CaseView,
}

#[derive(Template)]
#[template(path = "report_version.html")]
struct VersionPage {
    nav: Nav,
    case_id: i64,
    patient: PatientBanner,
    indication: String,
    clinical_details: String,
    requested_by: String,
    site: String,
    report: VersionView,
    latest: i64,
    all_versions: Vec<i64>,
}

#[derive(Debug, serde::Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    staff.require(Action::ViewClinicalRecords)?;
    let filter = match q.status.trim() {
        "" => None,
        raw => Some(CaseStatus::parse(raw).map_err(AppError::Input)?),
    };
    let cases = state.store.cases(filter, 200, 0).await?.iter().map(CaseRow::of).collect();
    page(&CasesPage {
        nav: Nav::of(&staff),
        cases,
        statuses: CaseStatus::ALL,
        filter: filter.map(|s| s.code().to_owned()).unwrap_or_default(),
    })
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Action::ViewClinicalRecords)?;
    let id = CaseId(path_id(&id, "case")?);
    let record = state.store.case(id).await?;
    // Counts and aspirate findings exist only from the lab onwards; earlier cases skip the
    // queries.
    let (counts, aspirate) = if record.status >= CaseStatus::InLab {
        (state.store.counts_of_case(id).await?, state.store.aspirate(id).await?.map(|(a, _, _)| a))
    } else {
        (Vec::new(), None)
    };
    let rules = state.counting_rules().await?;
    let today = Date::of(state.clock.now());
    let view = CaseView::of(&record, staff.role(), today, &counts, aspirate.as_ref(), &rules);
    page(&CasePage { nav: Nav::of(&staff), case: view })
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    nav: Nav,
    case_id: i64,
    patient: PatientBanner,
    history: Vec<HistoryLine>,
}

/// The case's audit trail: every change, who made it and when (kept apart from the case page,
/// which is read far more often).
pub async fn history(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Action::ViewClinicalRecords)?;
    let id = CaseId(path_id(&id, "case")?);
    let record = state.store.case(id).await?;
    let history = state.store.history_for("case", id.0).await?;
    page(&HistoryPage {
        nav: Nav::of(&staff),
        case_id: id.0,
        patient: PatientBanner::of(&record.patient, Date::of(state.clock.now())),
        history: history.iter().map(HistoryLine::of).collect(),
    })
}

pub async fn report_version(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, version)): Path<(String, String)>,
) -> Result<Response, PageError> {
    staff.require(Action::ViewClinicalRecords)?;
    let id = CaseId(path_id(&id, "case")?);
    let wanted = path_id(&version, "report version")?;
    let record = state.store.case(id).await?;
    let found = super::signed_version(&record, wanted)?;
    let previous = record.versions.iter().rev().find(|v| v.version < found.version);
    let site = record.procedure.as_ref().map_or_else(
        || "not recorded".to_owned(),
        |p| format!("{}, {}", p.value.site.label(), p.value.side.label().to_lowercase()),
    );
    let parts = ReportParts::of(&record);
    let report = parts.report(&record, found);
    page(&VersionPage {
        nav: Nav::of(&staff),
        case_id: id.0,
        patient: PatientBanner::of(&record.patient, Date::of(state.clock.now())),
        indication: record.order.value.indication.to_string(),
        clinical_details: record.order.value.clinical_details.clone().unwrap_or_default(),
        requested_by: format!("{}, {}", record.order.by.display_name, record.order.at),
        site,
        report: VersionView::of(&report, previous),
        latest: record.versions.last().map_or(0, |v| v.version),
        all_versions: record.versions.iter().map(|v| v.version).collect(),
    })
}

/// The signed version as a plain-text document (`marrow-interop`), for filing or pasting.
pub async fn report_text(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, version)): Path<(String, String)>,
) -> Result<Response, PageError> {
    use axum::response::IntoResponse;
    staff.require(Action::ViewClinicalRecords)?;
    let id = CaseId(path_id(&id, "case")?);
    let wanted = path_id(&version, "report version")?;
    let record = state.store.case(id).await?;
    let found = super::signed_version(&record, wanted)?;
    let parts = ReportParts::of(&record);
    let text = marrow_interop::report_text::render(&parts.report(&record, found));
    Ok(([(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

#[derive(Debug, serde::Deserialize)]
pub struct PdfQuery {
    #[serde(default)]
    paper: String,
}

/// The signed version as a PDF (`?paper=a4`, the default, or `letter`).
pub async fn report_pdf(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, version)): Path<(String, String)>,
    Query(q): Query<PdfQuery>,
) -> Result<Response, PageError> {
    use axum::response::IntoResponse;
    use marrow_interop::report_pdf::PaperSize;
    staff.require(Action::ViewClinicalRecords)?;
    let paper = match q.paper.trim() {
        "" | "a4" => PaperSize::A4,
        "letter" => PaperSize::Letter,
        other => {
            return Err(AppError::Input(marrow_domain::FieldError::new(
                "paper",
                format!("{other:?} is not one of: a4, letter"),
            ))
            .into());
        }
    };
    let id = CaseId(path_id(&id, "case")?);
    let wanted = path_id(&version, "report version")?;
    let record = state.store.case(id).await?;
    let found = super::signed_version(&record, wanted)?;
    let parts = ReportParts::of(&record);
    let pdf = marrow_interop::report_pdf::render(&parts.report(&record, found), paper);
    let disposition = format!("inline; filename=\"marrow-case-{}-v{}.pdf\"", id.0, found.version);
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/pdf".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        pdf,
    )
        .into_response())
}
