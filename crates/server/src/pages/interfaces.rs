//! The interfaces page: the HL7 outbox, so a failing destination is visible to people, not
//! only to logs.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use marrow_domain::role::Action;

use super::page;
use crate::AppState;
use crate::auth::Staff;
use crate::error::PageError;
use crate::views::Nav;

/// One outbox line as shown.
struct OutboxLine {
    case_id: i64,
    version: i64,
    control_id: String,
    status: &'static str,
    attempts: i64,
    last_error: String,
    when: String,
}

#[derive(Template)]
#[template(path = "interfaces.html")]
struct InterfacesPage {
    nav: Nav,
    destination: String,
    queued: usize,
    lines: Vec<OutboxLine>,
}

pub async fn hl7_outbox(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, PageError> {
    staff.require(Action::ViewClinicalRecords)?;
    let items = state.store.hl7_outbox(500).await?;
    let lines: Vec<OutboxLine> = items
        .iter()
        .map(|i| OutboxLine {
            case_id: i.case_id.0,
            version: i.version,
            control_id: i.control_id.clone(),
            status: if i.sent { "Sent" } else { "Queued" },
            attempts: i.attempts,
            last_error: i.last_error.clone().unwrap_or_default(),
            when: match i.sent_at {
                Some(at) => format!("acknowledged {at}"),
                None => format!("next try {}", i.next_attempt_at),
            },
        })
        .collect();
    page(&InterfacesPage {
        nav: Nav::of(&staff),
        destination: state
            .config
            .hl7
            .as_ref()
            .map_or_else(|| "none configured".to_owned(), |c| c.destination.clone()),
        queued: items.iter().filter(|i| !i.sent).count(),
        lines,
    })
}
