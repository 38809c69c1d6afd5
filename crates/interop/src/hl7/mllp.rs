//! MLLP framing and acknowledgements: the pure parts of sending over TCP.
//!
//! The Minimal Lower Layer Protocol (HL7 v2.5.1 Appendix C, "Lower layer protocols", MLLP
//! release 1) wraps each message as `<VT> message <FS><CR>`: 0x0B, the bytes, 0x1C 0x0D. The
//! receiver answers each message with an ACK whose MSA-1 says whether it was taken (Ch. 2
//! acknowledgement rules). The socket, timeouts and the persistent retry queue live in
//! the server; nothing here does I/O.

use marrow_domain::time::Timestamp;

use super::escape::escape;
use super::oru::ts;
use super::{Hl7Error, Repetition, parse};

/// Start block.
const VT: u8 = 0x0B;
/// End block, followed by a carriage return.
const FS: u8 = 0x1C;
const CR: u8 = 0x0D;

/// Wraps a message for MLLP: 0x0B, its UTF-8 bytes, 0x1C 0x0D.
///
/// The message must not contain 0x0B or 0x1C; [`oru_r01`](super::oru_r01) and
/// [`ack_for`] never write them (control characters in values are hex-escaped).
pub fn mllp_frame(msg: &str) -> Vec<u8> {
    let mut frame = Vec::with_capacity(msg.len() + 3);
    frame.push(VT);
    frame.extend_from_slice(msg.as_bytes());
    frame.extend_from_slice(&[FS, CR]);
    frame
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between frames: bytes other than a start block are noise.
    Idle,
    /// Inside a frame.
    InFrame,
    /// Inside a frame, just after its end block's 0x1C.
    SawEnd,
    /// Dropping an oversized frame until the next start block.
    Skipping,
}

/// Reassembles MLLP frames from a byte stream that arrives in pieces of any size.
///
/// Bytes outside a frame (line noise, a half frame from before a reconnect) are dropped and
/// counted. A frame that never ends is bounded by a size limit. The end block is 0x1C 0x0D; a
/// 0x1C followed by anything else still ends the frame (a message never contains 0x1C), so a
/// sender that leaves off the CR loses nothing.
#[derive(Debug, Clone)]
pub struct MllpDecoder {
    buffer: Vec<u8>,
    state: State,
    max_frame: usize,
    discarded: usize,
}

impl Default for MllpDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl MllpDecoder {
    /// The default frame limit, 16 MiB: far above any report, small enough to bound memory.
    pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

    /// A decoder with the default frame limit.
    pub fn new() -> Self {
        Self::with_max_frame(Self::DEFAULT_MAX_FRAME)
    }

    /// A decoder that drops frames longer than `max_frame` bytes.
    pub fn with_max_frame(max_frame: usize) -> Self {
        Self { buffer: Vec::new(), state: State::Idle, max_frame, discarded: 0 }
    }

    /// Feeds the bytes just read; returns every frame they complete, in order: the message, or
    /// why the frame was dropped (the caller may answer a dropped frame with nothing, since its
    /// MSH-10 is unknown, and log the error, which holds no message content).
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Result<String, Hl7Error>> {
        let mut out = Vec::new();
        for &b in bytes {
            match self.state {
                State::Idle | State::Skipping => {
                    if b == VT {
                        self.buffer.clear();
                        self.state = State::InFrame;
                    } else {
                        self.discarded += 1;
                    }
                }
                State::InFrame => match b {
                    FS => self.state = State::SawEnd,
                    VT => {
                        // The sender gave up on a frame and started another: the old
                        // frame's start block and contents are lost, this start block is not.
                        self.discarded += 1 + self.buffer.len();
                        self.buffer.clear();
                        out.push(Err(Hl7Error::FrameInterrupted));
                    }
                    _ if self.buffer.len() >= self.max_frame => {
                        // Its start block, what it held, and this byte.
                        self.discarded += 1 + self.buffer.len() + 1;
                        self.buffer = Vec::new();
                        self.state = State::Skipping;
                        out.push(Err(Hl7Error::FrameTooLong { limit: self.max_frame }));
                    }
                    _ => self.buffer.push(b),
                },
                State::SawEnd => {
                    let held = self.buffer.len();
                    let frame = self.finish();
                    if frame.is_err() {
                        self.discarded += 1 + held + 1 + usize::from(b == CR);
                    }
                    out.push(frame);
                    self.state = State::Idle;
                    if b == VT {
                        self.state = State::InFrame;
                    } else if b != CR {
                        self.discarded += 1;
                    }
                }
            }
        }
        out
    }

    fn finish(&mut self) -> Result<String, Hl7Error> {
        let bytes = std::mem::take(&mut self.buffer);
        String::from_utf8(bytes).map_err(|_| Hl7Error::FrameNotUtf8)
    }

    /// Bytes dropped so far: noise between frames, and dropped frames with their framing.
    pub fn discarded_bytes(&self) -> usize {
        self.discarded
    }

    /// Whether a frame has started and not yet ended (a connection closing now cuts it off).
    pub fn is_mid_frame(&self) -> bool {
        matches!(self.state, State::InFrame | State::SawEnd)
    }
}

/// MSA-1, the acknowledgement code (HL7 table 0008).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    /// `AA`: application accept; the message was processed.
    ApplicationAccept,
    /// `AE`: application error; resending the same message will fail the same way.
    ApplicationError,
    /// `AR`: application reject; refused for a reason unrelated to its content (e.g. the
    /// receiver is down or does not handle this type), so it may succeed later.
    ApplicationReject,
    /// `CA`: commit accept (enhanced mode); the message is safely stored.
    CommitAccept,
    /// `CE`: commit error (enhanced mode).
    CommitError,
    /// `CR`: commit reject (enhanced mode).
    CommitReject,
}

impl AckCode {
    /// Every code.
    pub const ALL: [Self; 6] = [
        Self::ApplicationAccept,
        Self::ApplicationError,
        Self::ApplicationReject,
        Self::CommitAccept,
        Self::CommitError,
        Self::CommitReject,
    ];

    /// The two-letter code.
    pub fn code(self) -> &'static str {
        match self {
            Self::ApplicationAccept => "AA",
            Self::ApplicationError => "AE",
            Self::ApplicationReject => "AR",
            Self::CommitAccept => "CA",
            Self::CommitError => "CE",
            Self::CommitReject => "CR",
        }
    }

    /// Reads a two-letter code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Whether the receiver took the message (`AA` or `CA`): the sender may forget it.
    pub fn is_accept(self) -> bool {
        matches!(self, Self::ApplicationAccept | Self::CommitAccept)
    }
}

impl std::fmt::Display for AckCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The acknowledgement code in an ACK's MSA-1; `None` when the text is not a message with an
/// MSA segment or the code is not one of table 0008.
pub fn ack_code(msg: &str) -> Option<AckCode> {
    let message = parse(msg).ok()?;
    AckCode::from_code(message.segment("MSA")?.field(1))
}

/// The ACK a receiver sends for `message` (HL7 v2.5.1 Ch. 2, ACK general acknowledgement):
/// sender and receiver swapped from the original MSH, MSH-9 `ACK^<trigger>^ACK`, MSH-10
/// `control_id`, MSH-11 and MSH-12 copied, and MSA-2 quoting the original MSH-10.
///
/// Fields the original lacks (or all of them, if it is not a message) are left empty, so a
/// receiver can still answer `AR` to something it cannot read.
pub fn ack_for(message: &str, code: AckCode, control_id: &str, at: Timestamp) -> String {
    let (msh, original_id) = ack_header(message, control_id, at);
    format!("{msh}\rMSA|{}|{original_id}\r", code.code())
}

/// The MSH segment of an ACK for `message` (without its `\r`) and the original MSH-10, escaped,
/// for MSA-2; shared by [`ack_for`] and [`ack_with_error`](super::ack_with_error).
pub(super) fn ack_header(message: &str, control_id: &str, at: Timestamp) -> (String, String) {
    let parsed = parse(message).ok();
    let msh = parsed.as_ref().and_then(|m| m.segment("MSH"));
    // One field of the original MSH, re-encoded with the standard delimiters.
    let copy = |n: usize| -> String {
        msh.and_then(|s| s.get(n))
            .and_then(|f| f.first())
            .map(Repetition::encode)
            .unwrap_or_default()
    };
    let trigger = msh.map_or("", |s| s.component(9, 2));
    let version = msh.map(|s| s.component(12, 1)).filter(|v| !v.is_empty()).unwrap_or("2.5.1");
    let original_id = msh.map_or("", |s| s.field(10));
    let msh_fields = [
        "MSH".to_owned(),
        "^~\\&".to_owned(),
        copy(5),
        copy(6),
        copy(3),
        copy(4),
        ts(at),
        String::new(),
        if trigger.is_empty() { "ACK".to_owned() } else { format!("ACK^{}^ACK", escape(trigger)) },
        escape(control_id),
        copy(11),
        escape(version),
    ];
    (msh_fields.join("|"), escape(original_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_start_block_message_end_block() {
        assert_eq!(mllp_frame("MSH|x\r"), b"\x0bMSH|x\r\x1c\x0d".to_vec());
    }

    #[test]
    fn frames_split_anywhere_come_back_whole() {
        let frames = [mllp_frame("MSH|^~\\&|one\r"), mllp_frame("MSH|^~\\&|twö\r")].concat();
        for cut in 0..=frames.len() {
            let mut decoder = MllpDecoder::new();
            let mut got = decoder.push(&frames[..cut]);
            got.extend(decoder.push(&frames[cut..]));
            assert_eq!(
                got,
                vec![Ok("MSH|^~\\&|one\r".to_owned()), Ok("MSH|^~\\&|twö\r".to_owned())],
                "cut at {cut}"
            );
            assert_eq!(decoder.discarded_bytes(), 0);
            assert!(!decoder.is_mid_frame());
        }
    }

    #[test]
    fn noise_interrupted_frames_and_oversized_frames_are_dropped() {
        let mut decoder = MllpDecoder::with_max_frame(8);
        let mut input = b"noise".to_vec();
        input.extend_from_slice(b"\x0bhalf");
        input.extend(mllp_frame("ok"));
        input.extend(mllp_frame("far too long"));
        input.extend(b"\x0bno-cr\x1c");
        input.extend(b"\x0b\xff\xfe\x1c\x0d");
        input.extend(mllp_frame("last"));
        assert_eq!(
            decoder.push(&input),
            vec![
                Err(Hl7Error::FrameInterrupted),
                Ok("ok".to_owned()),
                Err(Hl7Error::FrameTooLong { limit: 8 }),
                Ok("no-cr".to_owned()),
                Err(Hl7Error::FrameNotUtf8),
                Ok("last".to_owned()),
            ]
        );
        // Noise 5; the interrupted frame 1 + 4; the long one 1 + 12 + 2; the non-UTF-8 one 5.
        assert_eq!(decoder.discarded_bytes(), 5 + 5 + 15 + 5);
    }

    #[test]
    fn ack_codes_read_from_msa_1() {
        for code in AckCode::ALL {
            let ack = format!("MSH|^~\\&|A\rMSA|{code}|X1\r");
            assert_eq!(ack_code(&ack), Some(code));
        }
        assert_eq!(ack_code("MSH|^~\\&|A\rMSA|ZZ|X1\r"), None);
        assert_eq!(ack_code("MSH|^~\\&|A\r"), None);
        assert_eq!(ack_code("garbage"), None);
        assert!(AckCode::CommitAccept.is_accept() && !AckCode::ApplicationReject.is_accept());
    }

    #[test]
    fn an_ack_answers_the_original_sender_about_its_control_id() {
        let original = "MSH|^~\\&|MARROW|HOSP^1.2&3^ISO|EPR|HOSP|20261124153000+0000||ORU^R01^ORU_R01|C\\F\\1|P|2.5.1\r";
        let at = Timestamp::parse("at", "2026-11-24T15:30:05Z").unwrap();
        let ack = ack_for(original, AckCode::ApplicationAccept, "ACK-1", at);
        assert_eq!(
            ack,
            "MSH|^~\\&|EPR|HOSP|MARROW|HOSP^1.2&3^ISO|20261124153005+0000||ACK^R01^ACK|ACK-1|P|2.5.1\r\
             MSA|AA|C\\F\\1\r"
        );
        assert_eq!(ack_code(&ack), Some(AckCode::ApplicationAccept));
        let blind = ack_for("not hl7", AckCode::ApplicationReject, "ACK-2", at);
        assert_eq!(blind, "MSH|^~\\&|||||20261124153005+0000||ACK|ACK-2||2.5.1\rMSA|AR|\r");
    }
}
