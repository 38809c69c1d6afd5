//! The HL7 sender against a real MLLP listener on loopback: a destination that is down keeps
//! the message queued and visible, a restart loses nothing, a refusal (AE) is retried, and an
//! amendment goes out as a correction.

use std::time::Duration;

use marrow_domain::case::CaseStatus;
use marrow_domain::report::ReportContent;
use marrow_domain::role::Role;
use marrow_interop::hl7::{AckCode, MllpDecoder, ack_for, mllp_frame, parse};
use marrow_server::Config;
use marrow_server::hl7::Hl7Config;
use marrow_testkit::app::spawn_app_with;
use marrow_testkit::synthetic::{self, Staff, case_at};
use marrow_testkit::{TestApp, TestDb};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn config(destination: &str) -> Config {
    Config {
        hl7: Some(Hl7Config {
            poll: Duration::from_millis(50),
            timeout: Duration::from_secs(2),
            retry_base: Duration::ZERO,
            ..Hl7Config::to(destination)
        }),
        ..Config::default()
    }
}

/// A free loopback port with nothing listening on it.
async fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    address
}

/// An MLLP receiver on `address` that answers every message with `code` and hands the
/// messages to the test.
async fn receiver(address: &str, code: AckCode) -> mpsc::UnboundedReceiver<String> {
    let listener = TcpListener::bind(address).await.unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut decoder = MllpDecoder::new();
                let mut buffer = [0_u8; 8192];
                loop {
                    let n = match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    for message in decoder.push(&buffer[..n]) {
                        let message = message.unwrap();
                        let ack = ack_for(&message, code, "ACK1", synthetic::now());
                        let _ = tx.send(message);
                        socket.write_all(&mllp_frame(&ack)).await.unwrap();
                    }
                }
            });
        }
    });
    rx
}

async fn wait_for<F: Fn(&[marrow_store::OutboxItem]) -> bool>(app: &TestApp, what: &str, done: F) {
    for _ in 0..200 {
        let items = app.store.hl7_outbox(100).await.unwrap();
        if done(&items) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting until {what}: {:?}", app.store.hl7_outbox(100).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_destination_keeps_messages_queued_across_a_restart_until_acknowledged() {
    let destination = closed_port().await;
    let db = TestDb::sqlite().await;
    let store = db.store();
    let staff = Staff::insert(&store, "!").await;
    let (_, case) = case_at(&store, &staff, 1, CaseStatus::Reported).await;

    // Nothing listens: the signed version is queued, tried, and kept with the reason.
    let app = spawn_app_with(db, config(&destination)).await;
    wait_for(&app, "a failed try is recorded", |items| {
        items.len() == 1 && items[0].attempts >= 2 && !items[0].sent
    })
    .await;
    let item = &app.store.hl7_outbox(10).await.unwrap()[0];
    assert_eq!((item.case_id, item.version), (case, 1));
    assert!(item.last_error.as_deref().unwrap().contains("cannot connect"), "{item:?}");
    // Visible to people, not only in logs: the API and the interfaces page.
    let api = app.api_as(Role::Clinician).await;
    let listed = api.get("/api/v1/hl7/outbox").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json[0]["status"], "queued");
    assert!(listed.json[0]["last_error"].as_str().unwrap().contains("cannot connect"));
    let mut browser = app.browser_as(Role::Pathologist).await;
    let page = browser.get("/interfaces/hl7").await;
    assert!(page.html.contains("Queued") && page.html.contains("cannot connect"), "{}", page.html);

    // Marrow restarts; the destination comes up. The queued message is delivered once, with
    // the control id the outbox recorded, as a final result.
    let db = app.restart_later().await;
    let mut received = receiver(&destination, AckCode::ApplicationAccept).await;
    let app = spawn_app_with(db, config(&destination)).await;
    wait_for(&app, "the message is acknowledged", |items| items.iter().all(|i| i.sent)).await;
    let message = received.recv().await.unwrap();
    let parsed = parse(&message).unwrap();
    assert_eq!(parsed.segment("MSH").unwrap().field(10), item.control_id);
    assert_eq!(parsed.segment("PID").unwrap().component(3, 1), synthetic::mrn(1));
    assert_eq!(parsed.segment("OBR").unwrap().field(25), "F");

    // An amendment is queued and sent as a correction.
    let amended = ReportContent {
        comment: Some("Trephine concordant. (Synthetic amendment.)".into()),
        ..synthetic::report_content()
    };
    app.store
        .amend_report(case, &amended, "Trephine added.", None, synthetic::stamp(staff.pathologist))
        .await
        .unwrap();
    wait_for(&app, "the amendment is acknowledged", |items| {
        items.len() == 2 && items.iter().all(|i| i.sent)
    })
    .await;
    let correction = parse(&received.recv().await.unwrap()).unwrap();
    assert_eq!(correction.segment("OBR").unwrap().field(25), "C");
    assert!(correction.segments("OBX").all(|obx| obx.field(11) == "C"));
    assert!(received.try_recv().is_err(), "each version is sent once");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_destination_leaves_the_message_queued_with_the_refusal() {
    let destination = closed_port().await;
    let mut received = receiver(&destination, AckCode::ApplicationError).await;
    let db = TestDb::sqlite().await;
    let store = db.store();
    let staff = Staff::insert(&store, "!").await;
    case_at(&store, &staff, 1, CaseStatus::Reported).await;
    let app = spawn_app_with(db, config(&destination)).await;
    wait_for(&app, "two refused tries", |items| items.len() == 1 && items[0].attempts >= 2).await;
    let item = &app.store.hl7_outbox(10).await.unwrap()[0];
    assert!(!item.sent);
    assert!(item.last_error.as_deref().unwrap().contains("refused"), "{item:?}");
    assert!(received.recv().await.is_some(), "the destination did receive it");
    app.stop().await;
}
