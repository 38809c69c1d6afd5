//! The keyboard counter's server side, shared by the page (session + CSRF header) and the API
//! (bearer token): accepting event batches and computing the live statistics from what is
//! stored.

use marrow_domain::FieldError;
use marrow_domain::counter::{CounterEvent, replay, statistics};
use marrow_domain::morphology::MeRatio;
use marrow_domain::reference::{RangeStatus, ReferenceTable};
use marrow_domain::role::Action;
use marrow_domain::time::Timestamp;
use marrow_store::{CountId, CountRecord, NewEvent, UserRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::require;
use crate::error::AppError;

/// The most events one request may carry (a page resending after a long outage sends its whole
/// queue in batches of this size).
pub const MAX_EVENTS_PER_REQUEST: usize = 1000;

/// A batch of key presses.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsBody {
    /// The events, oldest first.
    pub events: Vec<EventBody>,
}

/// One key press.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    /// The client's id for this event (1–80 letters, digits, `-`, `_`, `.`, `:`); a resend
    /// with the same id is stored once.
    pub id: String,
    /// `tally:CLASS`, `tally:CLASS:abnormal` or `undo`.
    pub event: String,
    /// When the key was pressed (RFC 3339), by the client's clock.
    #[serde(default)]
    pub pressed_at: Option<String>,
}

/// The answer to a batch: every event in it is stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct AckDto {
    /// The count.
    pub count_id: i64,
    /// How many events of the request are now stored (resends included).
    pub acknowledged: usize,
}

pub(crate) fn parse_events(body: &EventsBody) -> Result<Vec<NewEvent>, FieldError> {
    if body.events.is_empty() {
        return Err(FieldError::new("events", "send at least one event"));
    }
    if body.events.len() > MAX_EVENTS_PER_REQUEST {
        return Err(FieldError::new(
            "events",
            format!("at most {MAX_EVENTS_PER_REQUEST} events per request"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    body.events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let id = e.id.trim();
            let id_ok = (1..=80).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
            if !id_ok {
                return Err(FieldError::new(
                    format!("events[{i}].id"),
                    "use 1 to 80 letters, digits, '-', '_', '.' or ':'",
                ));
            }
            if !seen.insert(id) {
                return Err(FieldError::new(
                    format!("events[{i}].id"),
                    "is repeated within this batch",
                ));
            }
            let event = CounterEvent::parse(&e.event)
                .map_err(|err| err.at(format!("events[{i}].event")))?;
            let pressed_at = match e.pressed_at.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(raw) => Some(Timestamp::parse(&format!("events[{i}].pressed_at"), raw)?),
            };
            Ok(NewEvent { client_event_id: id.to_owned(), event: event.code(), pressed_at })
        })
        .collect()
}

/// The count, refused unless `user` is its observer: each observer counts independently, and
/// only into their own count (key presses and image decisions alike).
pub async fn observers_count(
    state: &AppState,
    user: &UserRecord,
    count: CountId,
) -> Result<CountRecord, AppError> {
    let record = state.store.count(count).await?;
    if record.observer.id != user.id {
        return Err(AppError::Forbidden(
            "This is another observer's count; each observer counts independently.".into(),
        ));
    }
    Ok(record)
}

/// Stores a batch for `count`, which must be `user`'s own open count.
pub async fn accept_events(
    state: &AppState,
    user: &UserRecord,
    count: CountId,
    body: &EventsBody,
) -> Result<AckDto, AppError> {
    require(user, Action::RecordDifferential)?;
    let events = parse_events(body)?;
    observers_count(state, user, count).await?;
    let acknowledged = events.len();
    match state.events.submit(count, events).await? {
        Ok(()) => Ok(AckDto { count_id: count.0, acknowledged }),
        Err(refusal) => Err(AppError::Conflict { message: refusal.to_string(), field: None }),
    }
}

/// One class's live statistic.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClassStatDto {
    /// Class code.
    pub class: String,
    /// Label.
    pub label: String,
    /// Cells counted.
    pub count: u32,
    /// Of which marked abnormal/dysplastic.
    pub abnormal: u32,
    /// Whether the class is in the denominator.
    pub counted: bool,
    /// Percent of the denominator (null for excluded classes or an empty count).
    pub percent: Option<f64>,
    /// Exact (Clopper–Pearson) 95% lower limit, percent.
    pub lower: Option<f64>,
    /// Exact 95% upper limit, percent.
    pub upper: Option<f64>,
    /// The adult reference range as text, or "no validated interval".
    pub range: String,
    /// Whether the observed percentage is outside the reference range.
    pub outside: bool,
}

/// A count with its statistics, computed from the stored events.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountStatsDto {
    /// Count id.
    pub count_id: i64,
    /// Case id.
    pub case_id: i64,
    /// Observer's name.
    pub observer: String,
    /// Target number of cells.
    pub target: u32,
    /// Cells in the denominator so far.
    pub total: u32,
    /// Cells seen but excluded from the denominator.
    pub excluded: u32,
    /// Whether the target is reached (counting past it is allowed).
    pub target_reached: bool,
    /// Whether the observer has finished.
    pub finished: bool,
    /// Events stored (tallies and undos).
    pub events_stored: usize,
    /// Per class.
    pub classes: Vec<ClassStatDto>,
    /// M:E ratio; null when not calculable.
    pub me_ratio: Option<f64>,
    /// M:E ratio as shown.
    pub me_ratio_text: String,
}

/// The statistics of a count from its stored events.
pub async fn count_statistics(
    state: &AppState,
    count: &CountRecord,
) -> Result<CountStatsDto, AppError> {
    let (events_stored, tally) = replayed(state, count.id).await?;
    let rules = state.counting_rules().await?;
    let table = ReferenceTable::iowa_adult();
    let stats = statistics(&tally, &rules, &table);
    let classes = stats
        .classes
        .iter()
        .map(|s| {
            // The table row that holds this class alone gives its range text.
            let row = table.rows().iter().find(|r| r.classes == [s.class]);
            let range = match row.and_then(|r| r.limits) {
                Some(l) => format!("{}–{} %", l.low, l.high),
                None if row.is_some() => "no validated interval".to_owned(),
                None => String::new(),
            };
            ClassStatDto {
                class: s.class.code().to_owned(),
                label: s.class.label().to_owned(),
                count: s.count,
                abnormal: s.abnormal,
                counted: rules.counts(s.class),
                percent: s.percent,
                lower: s.interval.map(|i| i.lower_percent()),
                upper: s.interval.map(|i| i.upper_percent()),
                range,
                outside: matches!(s.reference, Some(RangeStatus::Below | RangeStatus::Above)),
            }
        })
        .collect();
    let me = stats.me_ratio.observed;
    let total = stats.total;
    Ok(CountStatsDto {
        count_id: count.id.0,
        case_id: count.case_id.0,
        observer: count.observer.display_name.clone(),
        target: count.target,
        total,
        excluded: stats.excluded,
        target_reached: total >= count.target,
        finished: count.finished_at.is_some(),
        events_stored,
        classes,
        me_ratio: match me {
            MeRatio::Ratio(r) => Some(r),
            MeRatio::NotCalculable => None,
        },
        me_ratio_text: me.to_string(),
    })
}

/// How many events a count has stored, and what they add up to.
async fn replayed(
    state: &AppState,
    count: CountId,
) -> Result<(usize, marrow_domain::counter::Tally), AppError> {
    let stored = state.store.count_events(count).await?;
    let events = stored
        .iter()
        .map(|e| CounterEvent::parse(&e.event))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AppError::Internal(format!("stored event does not parse: {e}")))?;
    Ok((stored.len(), replay(events.iter())))
}

/// The differential a count's stored events add up to.
pub async fn differential_of(
    state: &AppState,
    count: CountId,
) -> Result<marrow_domain::morphology::Differential, AppError> {
    Ok(replayed(state, count).await?.1.differential())
}

/// A stored key map (`key=class;key=class`) back as a [`KeyMap`]. Keys never contain `=` or
/// `;` unescaped: both are percent-encoded on the way in.
pub fn keymap_from_code(
    name: &str,
    code: &str,
) -> Result<marrow_domain::keymap::KeyMap, FieldError> {
    let mut pairs = Vec::new();
    for part in code.split(';').filter(|p| !p.is_empty()) {
        let (key, class) =
            part.split_once('=').ok_or_else(|| FieldError::new("bindings", "is not key=class"))?;
        pairs.push((unescape_key(key), class.to_owned()));
    }
    marrow_domain::keymap::KeyMap::parse(name, pairs.iter().map(|(k, c)| (k.as_str(), c.as_str())))
}

/// The stored form of a key map.
pub fn keymap_code(map: &marrow_domain::keymap::KeyMap) -> String {
    map.bindings()
        .iter()
        .map(|(k, c)| format!("{}={}", escape_key(k), c.code()))
        .collect::<Vec<_>>()
        .join(";")
}

fn escape_key(key: &str) -> String {
    key.replace('%', "%25").replace('=', "%3D").replace(';', "%3B")
}

fn unescape_key(key: &str) -> String {
    key.replace("%3B", ";").replace("%3D", "=").replace("%25", "%")
}
