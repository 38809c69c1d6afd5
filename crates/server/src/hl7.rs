//! Sending signed reports as HL7 v2.5.1 ORU^R01 over MLLP to the one configured destination.
//!
//! Delivery is at least once and survives restarts: every signed version is queued in the
//! database's outbox (a scan finds any version not yet queued, so a crash between signing and
//! queueing loses nothing), and a message leaves the queue only when the destination answers
//! with an accepting acknowledgement (AA or CA) naming its control id. Every failure keeps the
//! message queued with its error, visible on the interfaces page, and retries with backoff.
//! Logs name the case id and control id only, never the patient.

use std::time::Duration;

use marrow_domain::ids::CaseId;
use marrow_domain::time::Timestamp;
use marrow_interop::hl7::{AckCode, Envelope, MllpDecoder, ProcessingId, mllp_frame, oru_r01};
use marrow_store::{CaseRecord, OutboxItem, StoreError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::AppState;
use crate::report::ReportParts;

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct Hl7Config {
    /// `host:port` of the receiving MLLP listener.
    pub destination: String,
    /// MSH-4, this hospital's facility name.
    pub sending_facility: String,
    /// MSH-5.
    pub receiving_application: String,
    /// MSH-6.
    pub receiving_facility: String,
    /// How often the outbox is scanned.
    pub poll: Duration,
    /// Connect and acknowledgement timeout for one try.
    pub timeout: Duration,
    /// The first retry's delay; it doubles per failed try, up to five minutes.
    pub retry_base: Duration,
}

impl Hl7Config {
    /// Defaults for `destination`.
    pub fn to(destination: &str) -> Self {
        Self {
            destination: destination.to_owned(),
            sending_facility: "MARROW".to_owned(),
            receiving_application: "LIS".to_owned(),
            receiving_facility: "HOSPITAL".to_owned(),
            poll: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(5),
        }
    }
}

/// MSH-10 for a version: stable, so a re-sent message keeps its id and the receiver can drop
/// a duplicate. Within the 20 characters HL7 v2.5.1 allows for MSH-10.
pub fn control_id(case: CaseId, version: i64) -> String {
    format!("MRW{}V{version}", case.0)
}

/// The ORU^R01 message of `version` of `record`, created at `at`.
pub fn message(
    record: &CaseRecord,
    version: i64,
    envelope_of: &Hl7Config,
    at: Timestamp,
) -> Result<String, crate::error::AppError> {
    let found = crate::report::signed_or_refuse(record, Some(version))?;
    let parts = ReportParts::of(record);
    let envelope = Envelope {
        sending_application: "MARROW".to_owned(),
        sending_facility: envelope_of.sending_facility.clone(),
        receiving_application: envelope_of.receiving_application.clone(),
        receiving_facility: envelope_of.receiving_facility.clone(),
        message_control_id: control_id(record.id, version),
        created_at: at,
        processing_id: ProcessingId::Production,
    };
    Ok(oru_r01(&parts.report(record, found), &envelope))
}

/// Starts the sender; it runs until the process ends.
pub fn spawn(state: AppState, config: Hl7Config) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = pass(&state, &config).await {
                tracing::warn!(error = %e, "hl7 outbox pass failed; retrying");
            }
            tokio::time::sleep(config.poll).await;
        }
    })
}

/// One pass: queue what is not queued yet, then try every due message once.
pub async fn pass(state: &AppState, config: &Hl7Config) -> Result<(), StoreError> {
    let now = state.clock.now();
    for (case, version) in state.store.versions_awaiting_hl7(&config.destination, 100).await? {
        let record = state.store.case(case).await?;
        match message(&record, version, config, now) {
            Ok(text) => {
                let id = control_id(case, version);
                state
                    .store
                    .enqueue_hl7(case, version, &config.destination, &id, &text, now)
                    .await?;
            }
            Err(e) => {
                tracing::error!(case_id = case.0, version, error = %e, "hl7 message not built")
            }
        }
    }
    for item in state.store.due_hl7(&config.destination, now, 50).await? {
        let hold = i64::try_from(config.timeout.as_secs() * 2 + 1).unwrap_or(60);
        if !state.store.claim_hl7(&item, now.plus_seconds(hold)).await? {
            continue; // another node is sending it
        }
        match send(&config.destination, &item, config.timeout).await {
            Ok(()) => {
                state.store.hl7_delivered(item.id, state.clock.now()).await?;
                tracing::info!(case_id = item.case_id.0, control_id = %item.control_id, "hl7 delivered");
            }
            Err(reason) => {
                let delay = retry_delay(config.retry_base, item.attempts);
                let retry_at = state.clock.now().plus_seconds(delay);
                state.store.hl7_failed(item.id, &reason, retry_at).await?;
                tracing::warn!(case_id = item.case_id.0, control_id = %item.control_id, attempts = item.attempts + 1, %reason, "hl7 not delivered; kept queued");
            }
        }
    }
    Ok(())
}

/// Seconds before the next try after `attempts` failures: doubling from `base`, at most five
/// minutes, so a long outage costs one try every five minutes per message.
fn retry_delay(base: Duration, attempts: i64) -> i64 {
    let base = i64::try_from(base.as_secs()).unwrap_or(300);
    let factor = 1_i64 << attempts.clamp(0, 10);
    (base.saturating_mul(factor)).min(300)
}

/// One try: connect, send the framed message, wait for the acknowledgement.
async fn send(destination: &str, item: &OutboxItem, timeout: Duration) -> Result<(), String> {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(destination)
            .await
            .map_err(|e| format!("cannot connect to {destination}: {e}"))?;
        stream
            .write_all(&mllp_frame(&item.message))
            .await
            .map_err(|e| format!("sending failed: {e}"))?;
        let mut decoder = MllpDecoder::new();
        let mut buffer = [0_u8; 4096];
        loop {
            let n = stream.read(&mut buffer).await.map_err(|e| format!("reading the ACK: {e}"))?;
            if n == 0 {
                return Err("the destination closed the connection without an ACK".to_owned());
            }
            if let Some(ack) = decoder.push(&buffer[..n]).into_iter().next() {
                let ack = ack.map_err(|e| format!("unreadable ACK frame: {e}"))?;
                return judge(&ack, &item.control_id);
            }
        }
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("no ACK within {} s", timeout.as_secs())))
}

/// Accepts AA/CA naming our control id; anything else is a failure with the reason.
fn judge(ack: &str, control_id: &str) -> Result<(), String> {
    let parsed = marrow_interop::hl7::parse(ack).map_err(|e| format!("unreadable ACK: {e}"))?;
    let msa = parsed.segment("MSA");
    let acknowledged = msa.map_or("", |s| s.field(2));
    if acknowledged != control_id {
        return Err(format!("ACK names {acknowledged:?}, not {control_id:?}"));
    }
    match msa.and_then(|s| AckCode::from_code(s.field(1))) {
        Some(code) if code.is_accept() => Ok(()),
        Some(code) => Err(format!("the destination refused the message ({})", code.code())),
        None => Err("the ACK has no MSA-1 code".to_owned()),
    }
}
