//! Killing the server with SIGKILL in the middle of a count loses no acknowledged event.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{Server, run, try_json, workdir};

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[test]
fn sigkill_in_the_middle_of_a_count_loses_no_acknowledged_event() {
    let dir = workdir();
    let server = Server::start(dir.path(), &["--demo"]);
    let token = run(dir.path(), &["token", "create", "technologist"], None)
        .assert_success()
        .stdout
        .trim()
        .to_owned();
    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str())];
    let cases = server.http("GET", "/api/v1/cases?status=in_lab", &auth, None);
    assert_eq!(cases.status, 200, "{cases:?}");
    let case = json(&cases.body)["cases"][0]["id"].as_i64().expect("a demo case in the lab");
    let started = try_json(
        server.addr,
        "POST",
        &format!("/api/v1/cases/{case}/counts"),
        &auth,
        r#"{"target": 500}"#,
    )
    .expect("start a count");
    assert_eq!(started.status, 201, "{started:?}");
    let count = json(&started.body)["count_id"].as_i64().expect("count id");

    // Four technologists' worth of traffic: batches of three key presses, as fast as acknowledged.
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let sent = Arc::new(Mutex::new(HashSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let addr = server.addr;
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (acked, sent, stop, bearer) =
                (acked.clone(), sent.clone(), stop.clone(), bearer.clone());
            std::thread::spawn(move || {
                let mut seq = 0;
                while !stop.load(Ordering::Relaxed) {
                    let ids: Vec<String> = (0..3).map(|i| format!("kill-{t}-{seq}-{i}")).collect();
                    seq += 1;
                    let events: Vec<String> = ids
                        .iter()
                        .map(|id| format!(r#"{{"id": "{id}", "event": "tally:lymphocytes"}}"#))
                        .collect();
                    let body = format!(r#"{{"events": [{}]}}"#, events.join(", "));
                    sent.lock().expect("lock").extend(ids.iter().cloned());
                    match try_json(
                        addr,
                        "POST",
                        &format!("/api/v1/counts/{count}/events"),
                        &[("Authorization", &bearer)],
                        &body,
                    ) {
                        Ok(r) if r.status == 200 => acked.lock().expect("lock").extend(ids),
                        _ => break, // the server is gone
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    server.kill();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("client thread");
    }
    let acked = acked.lock().expect("lock").clone();
    let sent = sent.lock().expect("lock").clone();
    assert!(acked.len() >= 30, "traffic was flowing before the kill: {} acknowledged", acked.len());

    let server = Server::start(dir.path(), &[]);
    let stored = server.http("GET", &format!("/api/v1/counts/{count}/events"), &auth, None);
    assert_eq!(stored.status, 200, "{stored:?}");
    let stored: HashSet<String> = json(&stored.body)
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_owned())
        .collect();
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events were lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    assert!(stored.is_subset(&sent), "nothing is stored that was never sent");
    let stats = server.http("GET", &format!("/api/v1/counts/{count}"), &auth, None);
    assert_eq!(json(&stats.body)["events_stored"].as_u64(), Some(stored.len() as u64));
    let check = run(dir.path(), &["audit", "verify"], None);
    check.assert_success();
}
