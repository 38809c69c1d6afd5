//! Incoming blood counts: HL7 v2 ORU^R01 messages (over MLLP, or a file of them) and CSV files.
//!
//! A message is stored whole or not at all. One that cannot be stored (an unknown unit, code or
//! patient; a preliminary result) is kept in `held_messages` with the reason, for the laboratory
//! to review, and the sender gets an AE acknowledgement saying why. A message sent again (same
//! MSH-4 and MSH-10) is acknowledged and not stored twice. Logs name ids only, never a patient
//! or a value.

use std::net::SocketAddr;
use std::time::Duration;

use marrow_domain::FieldError;
use marrow_domain::ids::UserId;
use marrow_domain::time::Timestamp;
pub use marrow_interop::hl7::split_batch;
use marrow_interop::hl7::{
    AckCode, MllpDecoder, ack_for, ack_with_error, blood_count_from_oru, mllp_frame,
};
use marrow_store::{CountSource, NewBloodCount, PatientRecord, Store, StoreError, Stored};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::AppState;
use crate::error::AppError;

/// What became of one HL7 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hl7Outcome {
    /// Stored as a new count.
    Stored {
        /// The count's id.
        count_id: i64,
    },
    /// The same message was stored before.
    AlreadyStored {
        /// The earlier count's id.
        count_id: i64,
    },
    /// Refused and kept for review.
    Held {
        /// The held message's id.
        held_id: i64,
        /// Why, as shown to the reviewer and sent back in the acknowledgement.
        error: String,
    },
}

/// Reads one ORU^R01 message and stores its count, or holds it for review.
pub async fn receive_hl7(
    store: &Store,
    message: &str,
    channel: &str,
    now: Timestamp,
) -> Result<Hl7Outcome, StoreError> {
    let hold = |error: String| async move {
        let held_id = store.hold_message(channel, message, &error, now).await?;
        tracing::warn!(held_id, channel, "incoming result held for review");
        Ok(Hl7Outcome::Held { held_id, error })
    };
    let incoming = match blood_count_from_oru(message, now) {
        Ok(incoming) => incoming,
        Err(e) => return hold(e.to_string()).await,
    };
    let Some(patient) = store.patient_by_mrn(&incoming.mrn).await? else {
        return hold("PID-3: no patient is registered with this MRN".to_owned()).await;
    };
    let source = CountSource::Hl7 {
        reference: format!("{}|{}", incoming.sending_facility, incoming.control_id),
    };
    let new = [NewBloodCount { patient: patient.id, count: &incoming.count, raw: &incoming.raw() }];
    let outcome = match store.add_blood_counts(&new, &source, None, now).await?.first() {
        Some(Stored::New(count_id)) => Hl7Outcome::Stored { count_id: *count_id },
        Some(Stored::AlreadyStored(count_id)) => Hl7Outcome::AlreadyStored { count_id: *count_id },
        None => return Err(StoreError::Corrupt("a stored count was not reported".into())),
    };
    tracing::info!(patient_id = patient.id.0, channel, "blood count received");
    Ok(outcome)
}

/// The acknowledgement of `message` after `outcome`: AA when stored (or stored before), AE
/// with the reason when held.
pub fn acknowledgement(message: &str, outcome: &Hl7Outcome, at: Timestamp) -> String {
    let id = format!("MRWACK{}", at.unix());
    match outcome {
        Hl7Outcome::Stored { .. } | Hl7Outcome::AlreadyStored { .. } => {
            ack_for(message, AckCode::ApplicationAccept, &id, at)
        }
        Hl7Outcome::Held { error, .. } => {
            ack_with_error(message, AckCode::ApplicationError, &id, at, error)
        }
    }
}

/// Binds the MLLP listener for incoming results and serves it until the process ends.
/// Binding happens before this returns, so a port in use is reported at start.
pub async fn listen(state: AppState, addr: &str) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((socket, _)) => {
                    let state = state.clone();
                    tokio::spawn(async move { serve_connection(state, socket).await });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "mllp accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(local)
}

/// An idle sender is disconnected after this long.
const IDLE: Duration = Duration::from_secs(300);

async fn serve_connection(state: AppState, mut socket: tokio::net::TcpStream) {
    let mut decoder = MllpDecoder::new();
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match tokio::time::timeout(IDLE, socket.read(&mut buffer)).await {
            Ok(Ok(0)) | Err(_) => return,
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "mllp read failed");
                return;
            }
        };
        for frame in decoder.push(&buffer[..read]) {
            let message = match frame {
                Ok(message) => message,
                Err(e) => {
                    // Without a readable MSH-10 there is nothing to acknowledge.
                    tracing::warn!(error = %e, "mllp frame dropped");
                    continue;
                }
            };
            let now = state.clock.now();
            let ack = match receive_hl7(&state.store, &message, "mllp", now).await {
                Ok(outcome) => acknowledgement(&message, &outcome, now),
                Err(e) => {
                    // Nothing was stored or held (the database is down): AR asks the sender to
                    // send it again later.
                    tracing::error!(error = %e, "incoming result not stored");
                    ack_with_error(
                        &message,
                        AckCode::ApplicationReject,
                        &format!("MRWACK{}", now.unix()),
                        now,
                        "Marrow could not store the result just now; send it again",
                    )
                }
            };
            if socket.write_all(&mllp_frame(&ack)).await.is_err() {
                return;
            }
        }
    }
}

/// Imports a CSV file of counts: every count or, on any error, none. The error names the row
/// and column.
pub async fn import_csv(
    store: &Store,
    text: &str,
    by: UserId,
    now: Timestamp,
) -> Result<Vec<(PatientRecord, i64)>, AppError> {
    let parsed = marrow_interop::csv_counts::parse_csv(text, now)
        .map_err(|e| AppError::Input(FieldError::new("file", e.to_string())))?;
    let mut patients = Vec::with_capacity(parsed.len());
    for row in &parsed {
        match store.patient_by_mrn(&row.mrn).await? {
            Some(p) => patients.push(p),
            None => {
                return Err(AppError::Input(FieldError::new(
                    "file",
                    format!(
                        "row {}, column mrn: no patient is registered with this MRN",
                        row.first_row
                    ),
                )));
            }
        }
    }
    let raws: Vec<_> = parsed.iter().map(|r| r.raw()).collect();
    let new: Vec<NewBloodCount<'_>> = parsed
        .iter()
        .zip(&patients)
        .zip(&raws)
        .map(|((row, patient), raw)| NewBloodCount { patient: patient.id, count: &row.count, raw })
        .collect();
    let stored = store.add_blood_counts(&new, &CountSource::Csv, Some(by), now).await?;
    Ok(patients
        .into_iter()
        .zip(stored)
        .map(|(p, s)| match s {
            Stored::New(id) | Stored::AlreadyStored(id) => (p, id),
        })
        .collect())
}
