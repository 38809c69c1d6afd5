//! Turning stored records into what pages show: plain strings, ready for templates.

use marrow_domain::case::{CaseStatus, Step, advance};
use marrow_domain::morphology::{CellClass, CountingRules, Differential};
use marrow_domain::role::{Action, Role};
use marrow_domain::time::{Date, Timestamp};
use marrow_store::{AuditEntry, CaseRecord, CaseSummary, PatientRecord, ReportVersion};

/// The navigation bar of a logged-in page.
#[derive(Debug, Clone)]
pub struct Nav {
    pub user: String,
    pub role: String,
    pub csrf: String,
    pub admin: bool,
    pub clinical: bool,
    pub alerts: bool,
    pub lab: bool,
}

impl Nav {
    pub fn of(staff: &crate::auth::Staff) -> Self {
        Self {
            user: staff.user.display_name.clone(),
            role: staff.user.role.label().to_owned(),
            csrf: staff.csrf.clone(),
            admin: staff.user.role.may(Action::ManageUsers),
            clinical: staff.user.role.may(Action::ViewClinicalRecords),
            alerts: staff.user.role.may(Action::ReviewAlerts),
            lab: staff.user.role.may(Action::ReceiveSpecimens),
        }
    }
}

/// Patient identifiers as every clinical page shows them.
#[derive(Debug, Clone)]
pub struct PatientBanner {
    pub id: i64,
    pub name: String,
    pub mrn: String,
    pub date_of_birth: String,
    pub age: i32,
    pub sex: String,
}

impl PatientBanner {
    pub fn of(record: &PatientRecord, today: Date) -> Self {
        let p = &record.patient;
        Self {
            id: record.id.0,
            name: p.display_name(),
            mrn: p.mrn.reveal().to_owned(),
            date_of_birth: p.date_of_birth.to_string(),
            age: p.date_of_birth.years_until(today),
            sex: p.sex.label().to_owned(),
        }
    }
}

/// One row of a case list.
#[derive(Debug, Clone)]
pub struct CaseRow {
    pub id: i64,
    pub patient: String,
    pub mrn: String,
    pub indication: String,
    pub sampling: String,
    pub urgency: String,
    pub urgent: bool,
    pub status: String,
    pub status_code: String,
    pub ordered_at: String,
}

impl CaseRow {
    pub fn of(c: &CaseSummary) -> Self {
        Self {
            id: c.id.0,
            patient: c.patient.patient.display_name(),
            mrn: c.patient.patient.mrn.reveal().to_owned(),
            indication: c.order.indication.to_string(),
            sampling: c.order.sampling.label().to_owned(),
            urgency: c.order.urgency.label().to_owned(),
            urgent: c.order.urgency == marrow_domain::order::Urgency::Urgent,
            status: c.status.label().to_owned(),
            status_code: c.status.code().to_owned(),
            ordered_at: c.ordered_at.to_string(),
        }
    }
}

/// A step of the pathway in the progress bar.
#[derive(Debug, Clone)]
pub struct StepMark {
    pub label: &'static str,
    pub state: &'static str, // "done", "current" or "todo"
}

fn progress(status: CaseStatus) -> Vec<StepMark> {
    let order = [
        (CaseStatus::Ordered, "Ordered"),
        (CaseStatus::Checked, "Safety check"),
        (CaseStatus::Performed, "Procedure"),
        (CaseStatus::InLab, "In lab"),
        (CaseStatus::Reported, "Reported"),
    ];
    let reached = if status == CaseStatus::Amended { CaseStatus::Reported } else { status };
    order
        .iter()
        .map(|&(s, label)| StepMark {
            label,
            state: if s < reached {
                "done"
            } else if s == reached {
                "current"
            } else {
                "todo"
            },
        })
        .collect()
}

/// A button or link for the next thing this user can do.
#[derive(Debug, Clone)]
pub struct NextAction {
    pub label: &'static str,
    pub href: String,
    /// A POST form (with CSRF) rather than a link.
    pub post: bool,
}

/// A differential as a table.
#[derive(Debug, Clone)]
pub struct DifferentialView {
    pub rows: Vec<(String, u32, String)>,
    pub excluded: Vec<(String, u32)>,
    pub total: u32,
    pub me_ratio: String,
}

impl DifferentialView {
    /// The table under `rules` (the site's exclusions from the denominator).
    pub fn of(d: &Differential, rules: &CountingRules) -> Self {
        let rows = CellClass::ALL
            .iter()
            .filter(|c| rules.counts(**c))
            .map(|&c| {
                let percent =
                    d.percent_with(c, rules).map_or_else(|| "—".to_owned(), |p| format!("{p:.1}"));
                (c.label().to_owned(), d.count(c), percent)
            })
            .collect();
        let excluded = CellClass::ALL
            .iter()
            .filter(|c| !rules.counts(**c))
            .map(|&c| (c.label().to_owned(), d.count(c)))
            .collect();
        Self { rows, excluded, total: d.total_with(rules), me_ratio: d.me_ratio().to_string() }
    }
}

/// Interpretive flags as the pages list them: (text, source).
pub fn flag_rows(flags: &[marrow_domain::flags::Flag]) -> Vec<(String, String)> {
    flags.iter().map(|f| (f.text.clone(), f.source.clone())).collect()
}

/// A signed version in a list.
#[derive(Debug, Clone)]
pub struct VersionLine {
    pub version: i64,
    pub signed_by: String,
    pub signed_at: String,
    pub reason: String,
}

impl VersionLine {
    pub fn of(v: &ReportVersion) -> Self {
        Self {
            version: v.version,
            signed_by: v.signed_by.display_name.clone(),
            signed_at: v.signed_at.to_string(),
            reason: v.amendment_reason.clone().unwrap_or_default(),
        }
    }
}

/// One result line of a signed report, as shown.
#[derive(Debug, Clone)]
pub struct ResultRow {
    pub label: String,
    pub cells: String,
    pub value: String,
    pub limits: String,
    pub reference: String,
    /// "H", "L" or blank: printed, not only coloured, so it survives black-and-white printing.
    pub mark: &'static str,
}

/// One change an amendment made.
#[derive(Debug, Clone)]
pub struct ChangeRow {
    pub heading: &'static str,
    pub before: String,
    pub after: String,
}

/// A signed report version, as shown: every synoptic element, the results against their
/// reference with 95% limits, the flags shown at sign-out and, for an amendment, what changed.
#[derive(Debug, Clone)]
pub struct VersionView {
    pub version: i64,
    pub signed_by: String,
    pub signed_at: String,
    pub reason: String,
    pub fields: Vec<(&'static str, String)>,
    pub aspirate: Vec<(&'static str, String)>,
    pub results: Vec<ResultRow>,
    pub me: ResultRow,
    pub total: u32,
    pub excluded: Vec<(String, u32)>,
    pub reference: String,
    pub flags: Vec<(String, String)>,
    /// Against the version before this one; empty for version 1.
    pub changes: Vec<ChangeRow>,
}

impl VersionView {
    pub fn of(report: &marrow_interop::SignedReport<'_>, previous: Option<&ReportVersion>) -> Self {
        use marrow_interop::report_text::{aspirate_lines, range_mark};
        use marrow_interop::signed::ResultUnit;
        let row = |l: &marrow_interop::signed::ResultLine| ResultRow {
            label: l.label.clone(),
            cells: l.cells.map(|c| c.to_string()).unwrap_or_default(),
            value: l.display.clone(),
            limits: l.limits_95.map(|(lo, hi)| format!("{lo:.1}–{hi:.1}")).unwrap_or_default(),
            reference: l
                .reference
                .as_ref()
                .map(|(lo, hi)| {
                    if l.unit == ResultUnit::Ratio {
                        format!("{lo}–{hi}:1")
                    } else {
                        format!("{lo}–{hi}")
                    }
                })
                .unwrap_or_default(),
            mark: range_mark(l.status),
        };
        let lines = report.results();
        let me = lines.iter().find(|l| l.unit == ResultUnit::Ratio).map(row);
        let rules = report.rules;
        Self {
            version: report.version,
            signed_by: report.signed_by.to_owned(),
            signed_at: report.signed_at.to_string(),
            reason: report.amendment_reason.unwrap_or_default().to_owned(),
            fields: report
                .content
                .fields()
                .into_iter()
                .filter_map(|f| f.text.map(|t| (f.heading, t)))
                .collect(),
            aspirate: report.aspirate.map(aspirate_lines).unwrap_or_default(),
            results: lines.iter().filter(|l| l.unit == ResultUnit::Percent).map(row).collect(),
            me: me.unwrap_or(ResultRow {
                label: "M:E ratio".into(),
                cells: String::new(),
                value: "not calculable".into(),
                limits: String::new(),
                reference: String::new(),
                mark: "",
            }),
            total: report.differential.total_with(rules),
            excluded: CellClass::ALL
                .iter()
                .filter(|c| !rules.counts(**c))
                .map(|&c| (c.label().to_owned(), report.differential.count(c)))
                .collect(),
            reference: format!("{}. {}", report.reference.name(), report.reference.citation()),
            flags: flag_rows(report.flags),
            changes: previous
                .map(|p| {
                    marrow_domain::report::diff(&p.content, report.content)
                        .into_iter()
                        .map(|c| ChangeRow {
                            heading: c.heading,
                            before: c.before.unwrap_or_else(|| "(blank)".into()),
                            after: c.after.unwrap_or_else(|| "(blank)".into()),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// One line of the case's history.
#[derive(Debug, Clone)]
pub struct HistoryLine {
    pub at: String,
    pub who: String,
    pub what: String,
}

impl HistoryLine {
    pub fn of(e: &AuditEntry) -> Self {
        let what = e.action.strip_prefix("case.").unwrap_or(&e.action);
        let what = match Step::parse(what) {
            Ok(step) => {
                let mut label = step.label().to_owned();
                if let Some(first) = label.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                label.replace("Record the ", "Recorded the ")
            }
            Err(_) if what == "order" => "Ordered".to_owned(),
            Err(_) => what.to_owned(),
        };
        Self {
            at: e.at.to_string(),
            who: e.actor_name.clone().unwrap_or_else(|| "system".to_owned()),
            what,
        }
    }
}

/// Label/value rows of a section.
pub type Rows = Vec<(String, String)>;

fn yes_no(b: bool) -> String {
    if b { "Yes".into() } else { "No".into() }
}

fn when(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "not recorded".to_owned(), |t| t.to_string())
}

/// Everything the case page shows.
#[derive(Debug, Clone)]
pub struct CaseView {
    pub id: i64,
    pub patient: PatientBanner,
    pub status: String,
    pub status_code: String,
    pub amended: bool,
    pub steps: Vec<StepMark>,
    pub order: Rows,
    pub safety: Option<Rows>,
    pub medications: Vec<[String; 4]>,
    pub procedure: Option<Rows>,
    pub specimens: Vec<[String; 4]>,
    pub differential: Option<(DifferentialView, String)>,
    pub draft: Option<Rows>,
    pub versions: Vec<VersionLine>,
    pub actions: Vec<NextAction>,
    pub counts: Vec<CountLine>,
    pub can_count: bool,
    pub aspirate: Option<Rows>,
}

/// A keyboard count on the case page.
#[derive(Debug, Clone)]
pub struct CountLine {
    pub id: i64,
    pub observer: String,
    pub target: u32,
    pub started: String,
    pub finished: String,
}

impl CountLine {
    pub fn of(c: &marrow_store::CountRecord) -> Self {
        Self {
            id: c.id.0,
            observer: c.observer.display_name.clone(),
            target: c.target,
            started: c.started_at.to_string(),
            finished: c
                .finished_at
                .map_or_else(|| "in progress".to_owned(), |t| format!("finished {t}")),
        }
    }
}

impl CaseView {
    pub fn of(
        c: &CaseRecord,
        role: Role,
        today: Date,
        counts: &[marrow_store::CountRecord],
        aspirate: Option<&marrow_domain::aspirate::Aspirate>,
        rules: &CountingRules,
    ) -> Self {
        let o = &c.order.value;
        let order = vec![
            ("Indication".into(), o.indication.to_string()),
            ("Sampling".into(), o.sampling.label().to_owned()),
            ("Urgency".into(), o.urgency.label().to_owned()),
            ("Clinical details".into(), o.clinical_details.clone().unwrap_or_else(|| "—".into())),
            ("Ordered by".into(), format!("{}, {}", c.order.by.display_name, c.order.at)),
        ];
        let safety = c.safety.as_ref().map(|s| {
            let f = &s.value;
            vec![
                (
                    "Allergies".into(),
                    if f.allergies.is_empty() {
                        "No known allergies".into()
                    } else {
                        f.allergies.join("; ")
                    },
                ),
                (
                    "Platelets".into(),
                    f.platelets
                        .map_or("not recorded".into(), |p| format!("{} ×10⁹/L", p.per_nanolitre())),
                ),
                ("INR".into(), f.inr.map_or("not recorded".into(), |i| i.to_string())),
                ("Bloods taken".into(), when(f.bloods_taken_at)),
                ("Sedation planned".into(), yes_no(f.sedation_planned)),
                ("Escort arranged".into(), yes_no(f.escort_arranged)),
                ("Immunocompromised".into(), yes_no(f.immunocompromised)),
                ("Recorded by".into(), format!("{}, {}", s.by.display_name, s.at)),
            ]
        });
        let medications = c
            .safety
            .as_ref()
            .map(|s| {
                s.value
                    .medications
                    .iter()
                    .map(|m| {
                        [
                            m.name.clone(),
                            m.class.label().to_owned(),
                            m.dose.clone(),
                            when(m.last_dose_at),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        let procedure = c.procedure.as_ref().map(|p| {
            let n = &p.value;
            vec![
                ("Operator".into(), n.operator.clone()),
                ("Performed".into(), n.performed_at.to_string()),
                ("Site".into(), format!("{}, {}", n.site.label(), n.side.label().to_lowercase())),
                ("Position".into(), n.position.label().to_owned()),
                ("Local anaesthetic".into(), n.local_anaesthetic.clone()),
                ("Sedation".into(), n.sedation.label().to_owned()),
                ("Time-out and identity check".into(), yes_no(n.steps.time_out_done)),
                ("Needle".into(), n.steps.needle.clone().unwrap_or_else(|| "not recorded".into())),
                (
                    "Passes".into(),
                    n.steps.passes.map_or_else(|| "not recorded".into(), |p| p.to_string()),
                ),
                ("Dry tap".into(), yes_no(n.steps.dry_tap)),
                (
                    "Trephine core length".into(),
                    n.steps
                        .trephine_length_mm
                        .map_or_else(|| "no core".into(), |l| format!("{l} mm")),
                ),
                (
                    "Haemostasis and dressing".into(),
                    n.steps.haemostasis.clone().unwrap_or_else(|| "not recorded".into()),
                ),
                ("Complications".into(), n.complications.clone().unwrap_or_else(|| "None".into())),
                ("Recorded by".into(), format!("{}, {}", p.by.display_name, p.at)),
            ]
        });
        let specimens = c
            .specimens
            .iter()
            .map(|s| {
                [
                    marrow_interop::labels::specimen_code(s.id.0),
                    match s.specimen.volume_ml {
                        Some(v) => format!("{}, {v} mL", s.specimen.tube.label()),
                        None => s.specimen.tube.label().to_owned(),
                    },
                    s.specimen.destination.label().to_owned(),
                    match &s.received {
                        Some((by, at)) => {
                            format!("{} by {}, {}", s.status.label(), by.display_name, at)
                        }
                        None => s.status.label().to_owned(),
                    },
                ]
            })
            .collect();
        let differential = c.differential.as_ref().map(|d| {
            (DifferentialView::of(&d.value, rules), format!("{}, {}", d.by.display_name, d.at))
        });
        let draft = c.draft.as_ref().map(|d| {
            let t = &d.content;
            let mut rows: Rows = t
                .fields()
                .into_iter()
                .map(|f| (f.heading.to_owned(), f.text.unwrap_or_else(|| "—".to_owned())))
                .collect();
            rows.push((
                "Last saved".into(),
                format!("{}, {} (revision {})", d.by.display_name, d.at, d.revision),
            ));
            rows
        });
        Self {
            id: c.id.0,
            patient: PatientBanner::of(&c.patient, today),
            status: c.status.label().to_owned(),
            status_code: c.status.code().to_owned(),
            amended: c.status == CaseStatus::Amended,
            steps: progress(c.status),
            order,
            safety,
            medications,
            procedure,
            specimens,
            differential,
            draft,
            versions: c.versions.iter().map(VersionLine::of).collect(),
            actions: next_actions(c, role),
            counts: counts.iter().map(CountLine::of).collect(),
            can_count: role.may(Action::RecordDifferential)
                && advance(c.status, Step::Differential).is_ok(),
            aspirate: aspirate.map(aspirate_rows),
        }
    }
}

/// What this role can do next on this case: the domain decides both halves.
fn next_actions(c: &CaseRecord, role: Role) -> Vec<NextAction> {
    let id = c.id.0;
    let can = |step: Step, action: Action| role.may(action) && advance(c.status, step).is_ok();
    let mut actions = Vec::new();
    if can(Step::SafetyCheck, Action::RecordSafetyCheck) {
        let label = if c.safety.is_some() { "Revise safety check" } else { "Record safety check" };
        actions.push(NextAction { label, href: format!("/cases/{id}/safety-check"), post: false });
    }
    if can(Step::Procedure, Action::RecordProcedure) {
        actions.push(NextAction {
            label: "Record procedure note",
            href: format!("/cases/{id}/procedure"),
            post: false,
        });
    }
    if can(Step::ReceiveSpecimens, Action::ReceiveSpecimens) {
        actions.push(NextAction {
            label: "Receive specimens in lab",
            href: format!("/cases/{id}/specimens/receive"),
            post: true,
        });
    }
    if can(Step::Differential, Action::RecordDifferential) {
        let label =
            if c.differential.is_some() { "Edit differential" } else { "Enter differential" };
        actions.push(NextAction { label, href: format!("/cases/{id}/differential"), post: false });
    }
    if can(Step::DraftReport, Action::DraftReport) {
        let label = if c.draft.is_some() { "Edit report draft" } else { "Write report draft" };
        actions.push(NextAction { label, href: format!("/cases/{id}/report"), post: false });
    }
    if can(Step::SignReport, Action::SignReport) && c.draft.is_some() {
        actions.push(NextAction {
            label: "Review and sign report",
            href: format!("/cases/{id}/report/sign"),
            post: false,
        });
    }
    if role.may(Action::IssueCheckInLink) && c.status >= CaseStatus::Performed {
        actions.push(NextAction {
            label: "Give the patient a check-in link",
            href: format!("/cases/{id}/checkin-link"),
            post: true,
        });
        actions.push(NextAction {
            label: "Discharge sheet and check-in link",
            href: format!("/cases/{id}/discharge"),
            post: true,
        });
    }
    if can(Step::AmendReport, Action::AmendReport) {
        actions.push(NextAction {
            label: "Amend report",
            href: format!("/cases/{id}/report/amend"),
            post: false,
        });
    }
    actions
}

fn aspirate_rows(a: &marrow_domain::aspirate::Aspirate) -> Rows {
    use marrow_domain::aspirate::IronStain;
    let mut rows = vec![
        ("Particles".into(), a.particles.label().to_owned()),
        (
            "Cellularity (trails / particles)".into(),
            format!("{} / {}", a.trail_cellularity.label(), a.particle_cellularity.label()),
        ),
        ("Haemodilution".into(), a.haemodilution.label().to_owned()),
        ("Megakaryocytes".into(), a.megakaryocytes.label().to_owned()),
    ];
    let iron = match a.iron {
        IronStain::NotPerformed => "Not performed".to_owned(),
        IronStain::Performed { grade, ring_sideroblasts, particles_examined } => format!(
            "Grade {grade}{}{}",
            particles_examined.map(|n| format!(", {n} particles examined")).unwrap_or_default(),
            ring_sideroblasts.map(|r| format!("; ring sideroblasts {r} %")).unwrap_or_default()
        ),
    };
    rows.push(("Iron stain".into(), iron));
    for w in a.iron.warnings() {
        rows.push(("Caution".into(), w.to_string()));
    }
    if let Some(c) = &a.comment {
        rows.push(("Comment".into(), c.clone()));
    }
    rows
}
