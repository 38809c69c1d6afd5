//! No patient data in logs (issue 9, point 9): the whole story, through the API and through the
//! pages, plus blood counts received over MLLP and one held for review, runs with every log
//! event at every level captured; none may name the patient or hold the MRN.

use std::io::Write;
use std::sync::{Arc, Mutex};

use marrow_interop::hl7::mllp_frame;
use marrow_server::{AppState, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::sqlite_app;

/// A log sink shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_story_logs_no_patient_name_or_mrn_at_any_level() {
    let captured = Captured::default();
    let sink = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .init();

    let app = sqlite_app().await;
    crate::story::api_story(&app).await;
    crate::story::pages_story(&app).await;

    // Blood counts for the API story's patient over MLLP: one stored, one held for review.
    let state = AppState::new(app.store.clone(), Config::default());
    let address = marrow_server::intake::listen(state, "127.0.0.1:0").await.unwrap();
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    for (control, unit) in [("LOG1", "g/dL"), ("LOG2", "mmol/L")] {
        let message = [
            format!("MSH|^~\\&|LAB|LAB|MARROW|HOSP|20261120083000||ORU^R01|{control}|P|2.5.1"),
            "PID|1||SYN-API-1^^^HOSP^MR||STORYPATIENT^API||19620412|F".to_owned(),
            "OBR|1||X|58410-2^CBC^LN|||20261120081500".to_owned(),
            format!("OBX|1|NM|718-7^Hemoglobin^LN||10.4|{unit}|||||F"),
        ]
        .join("\r");
        socket.write_all(&mllp_frame(&message)).await.unwrap();
        let mut buffer = [0_u8; 4096];
        let n = socket.read(&mut buffer).await.unwrap();
        assert!(n > 0, "acknowledged");
    }

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.lines().count() > 50, "the logs were captured: {} lines", logs.lines().count());
    assert!(logs.contains("incoming result held for review"), "the intake logged its work");
    for secret in [
        "Storypatient",
        "STORYPATIENT",
        "SYN-API-1",
        "syn-api-1",
        "SYN-WEB-1",
        "1962-04-12",
        "19620412",
    ] {
        let hit = logs.lines().find(|l| l.contains(secret));
        assert!(hit.is_none(), "the logs hold {secret:?}: {}", hit.unwrap_or_default());
    }
}
