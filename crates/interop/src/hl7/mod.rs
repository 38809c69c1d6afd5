//! HL7 v2.5.1 for the signed report: an ORU^R01 message per signed version, a reader for
//! round-trips and acknowledgements, and MLLP framing; and, inbound, blood counts from the
//! laboratory.
//!
//! Everything here is pure. The envelope (applications, facilities, message control ID and
//! creation time) is passed in, because this crate never reads the clock or makes up IDs; the
//! sender that holds the socket and the retry queue lives in the server.
//!
//! # Layout
//!
//! - [`oru_r01`] writes the message (`oru` module): MSH, PID, ORC, OBR, NTE, OBX (+ NTE), SPM.
//! - [`escape`], [`escape_text`] and [`unescape`] apply HL7's escape sequences.
//! - [`parse`] reads any ER7 message into [`Message`] → [`Segment`] → [`Field`] →
//!   [`Repetition`], unescaped.
//! - [`mllp_frame`] and [`MllpDecoder`] wrap and unwrap messages for a TCP stream; [`ack_code`]
//!   reads an acknowledgement and [`ack_for`] writes one.
//! - Inbound (`results` module): [`blood_count_from_oru`] reads the blood count a laboratory
//!   sends as ORU^R01, all or nothing, refusing with an [`IntakeError`] that names the segment
//!   and field; [`ack_with_error`] answers a refused message; [`split_batch`] cuts a file or
//!   batch of messages into single messages.
//!
//! # Example
//!
//! ```
//! use marrow_interop::hl7::{self, Envelope, ProcessingId};
//! use marrow_interop::sample::SampleCase;
//! use marrow_domain::time::Timestamp;
//!
//! let sample = SampleCase::new();
//! let envelope = Envelope {
//!     sending_application: "MARROW".into(),
//!     sending_facility: "SYNTHETIC-HOSPITAL".into(),
//!     receiving_application: "EPR".into(),
//!     receiving_facility: "SYNTHETIC-HOSPITAL".into(),
//!     message_control_id: "MRW-42-1".into(),
//!     created_at: Timestamp::parse("at", "2026-11-24T15:31:00Z").unwrap(),
//!     processing_id: ProcessingId::Production,
//! };
//! let message = hl7::oru_r01(&sample.report(1, 1), &envelope);
//! let parsed = hl7::parse(&message).unwrap();
//! assert_eq!(parsed.segment("OBR").unwrap().field(25), "F");
//! let frame = hl7::mllp_frame(&message);
//! let mut decoder = hl7::MllpDecoder::new();
//! assert_eq!(decoder.push(&frame), vec![Ok(message)]);
//! ```

mod escape;
mod mllp;
mod oru;
mod parse;
mod results;

pub use escape::{escape, escape_text, unescape};
pub use mllp::{AckCode, MllpDecoder, ack_code, ack_for, mllp_frame};
pub use oru::{Envelope, LOCAL_CODING_SYSTEM, ProcessingId, oru_r01};
pub use parse::{Field, Message, Repetition, Segment, parse};
pub use results::{IncomingCount, IntakeError, ack_with_error, blood_count_from_oru, split_batch};

/// Why an HL7 message or MLLP frame could not be read.
///
/// Messages name the segment, field or frame, never a value: values are patient data and
/// errors end up in logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Hl7Error {
    /// No segment at all.
    #[error("the HL7 message is empty")]
    Empty,
    /// The first segment is not MSH.
    #[error("an HL7 message must start with an MSH segment")]
    NotMsh,
    /// MSH-1 and MSH-2 do not declare five distinct delimiters.
    #[error(
        "MSH-1/MSH-2: the field separator and four encoding characters must be present, \
         distinct, and neither letters, digits nor control characters"
    )]
    BadEncodingCharacters,
    /// A segment does not start with a three-character ID.
    #[error(
        "segment {index}: does not start with a segment ID of three upper-case letters or digits"
    )]
    BadSegmentId {
        /// Position of the segment in the message, from 1.
        index: usize,
    },
    /// An escape character without its closing one.
    #[error("{segment}-{field} (segment {index}): escape sequence without its closing \\")]
    UnterminatedEscape {
        /// The segment ID.
        segment: String,
        /// Position of the segment in the message, from 1.
        index: usize,
        /// The field number.
        field: usize,
    },
    /// An MLLP frame grew past the decoder's limit; it was dropped.
    #[error("MLLP frame longer than {limit} bytes: dropped")]
    FrameTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// An MLLP frame was not valid UTF-8 (Marrow reads and writes UTF-8, MSH-18).
    #[error("MLLP frame is not valid UTF-8: dropped")]
    FrameNotUtf8,
    /// A start block arrived before the previous frame's end block; the unfinished frame was
    /// dropped.
    #[error("MLLP start block inside an unfinished frame: the unfinished frame was dropped")]
    FrameInterrupted,
}
