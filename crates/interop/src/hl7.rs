//! TEMPORARY STUB (replaced by the HL7 work before commit).
#![allow(missing_docs)]
use crate::SignedReport;
use marrow_domain::time::Timestamp;
pub struct Envelope {
    pub sending_application: String,
    pub sending_facility: String,
    pub receiving_application: String,
    pub receiving_facility: String,
    pub message_control_id: String,
    pub created_at: Timestamp,
    pub processing_id: char,
}
pub fn oru_r01(r: &SignedReport<'_>, e: &Envelope) -> String {
    format!(
        "MSH|^~\\&|{}|||||||{}\rPID|||{}",
        e.sending_application, e.message_control_id, r.case_id
    )
}
pub fn mllp_frame(m: &str) -> Vec<u8> {
    let mut v = vec![0x0b];
    v.extend(m.as_bytes());
    v.extend([0x1c, 0x0d]);
    v
}
#[derive(Default)]
pub struct MllpDecoder {
    buf: Vec<u8>,
}
impl MllpDecoder {
    pub fn push(&mut self, b: &[u8]) -> Vec<String> {
        self.buf.extend(b);
        Vec::new()
    }
}
#[derive(Debug, Clone, Copy)]
pub enum AckCode {
    AA,
    AE,
    AR,
    CA,
    CE,
    CR,
}
pub fn ack_code(_m: &str) -> Option<AckCode> {
    None
}
pub struct Message;
pub struct Segment;
impl Message {
    pub fn segment(&self, _id: &str) -> Option<&Segment> {
        None
    }
}
impl Segment {
    pub fn field(&self, _n: usize) -> &str {
        ""
    }
}
pub fn parse(_m: &str) -> Result<Message, String> {
    Ok(Message)
}
