//! Two nodes (issue 9, point 7): two `marrow serve` processes on one PostgreSQL database, with
//! work arriving at both at once. Counter events sent to both (some sent to both twice) are all
//! stored exactly once; a report signed on both at the same moment is signed once and the other
//! is refused; an alert raised through one node is seen on the other.

#![cfg(feature = "postgres-tests")]

use marrow_testkit::app::{Api, Browser, hidden_value};
use serde_json::json;

use crate::support::{Server, run, workdir};

/// A token for `user`, created with the command line.
fn token(dir: &std::path::Path, url: &str, user: &str) -> String {
    let out = run(dir, &["--database", url, "token", "create", user], None);
    out.assert_success().stdout.trim().lines().last().expect("a token line").trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_lose_and_duplicate_nothing_sign_once_and_share_alerts() {
    let dir = workdir();
    let db = marrow_testkit::TestDb::postgres_from_env().await;
    let url = db.url();
    // Twelve synthetic cases, two at each step of the pathway, with their seed users.
    run(dir.path(), &["--database", &url, "seed-synthetic", "--cases", "12"], None)
        .assert_success();
    let a = Server::start(dir.path(), &["--database", &url]);
    let b = Server::start(dir.path(), &["--database", &url]);
    let (base_a, base_b) = (format!("http://{}", a.addr), format!("http://{}", b.addr));
    let tech = token(dir.path(), &url, "seed-technologist");
    let path = token(dir.path(), &url, "seed-pathologist");
    let (tech_a, tech_b) = (Api::with_token(&base_a, &tech), Api::with_token(&base_b, &tech));
    let (path_a, path_b) = (Api::with_token(&base_a, &path), Api::with_token(&base_b, &path));

    let in_lab = tech_a.get("/api/v1/cases?status=in_lab").await;
    let in_lab: Vec<i64> = in_lab.json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(in_lab.len(), 2, "two cases wait in the lab");

    // Counter events: 40 batches of 10 key presses, alternating between the nodes and sent
    // all at once; then 10 of the batches sent again to the other node, as a client resending
    // after a lost answer would.
    let count = tech_a.post(&format!("/api/v1/cases/{}/counts", in_lab[0]), &json!({})).await;
    assert!(matches!(count.status, 200 | 201), "{}", count.text);
    let count = count.json["count_id"].as_i64().unwrap();
    let batch = |i: usize| {
        let events: Vec<_> = (0..10)
            .map(|j| json!({"id": format!("n{i}-{j}"), "event": if j % 3 == 0 { "tally:blasts" } else { "tally:lymphocytes" }}))
            .collect();
        json!({ "events": events })
    };
    let events_path = format!("/api/v1/counts/{count}/events");
    let mut sends = Vec::new();
    for i in 0..40 {
        let node = if i % 2 == 0 { tech_a.clone() } else { tech_b.clone() };
        let (path, body) = (events_path.clone(), batch(i));
        sends.push(tokio::spawn(async move { node.post(&path, &body).await.status }));
    }
    for i in 0..10 {
        let node = if i % 2 == 0 { tech_b.clone() } else { tech_a.clone() };
        let (path, body) = (events_path.clone(), batch(i));
        sends.push(tokio::spawn(async move { node.post(&path, &body).await.status }));
    }
    for send in sends {
        assert_eq!(send.await.unwrap(), 200, "every batch is acknowledged");
    }
    for node in [&tech_a, &tech_b] {
        let stored = node.get(&events_path).await;
        let ids: Vec<&str> =
            stored.json.as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
        let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(ids.len(), 400, "no event lost or stored twice: {}", stored.text.len());
        assert_eq!(unique.len(), 400);
    }

    // Sign-out: the same report signed on both nodes at once is signed exactly once.
    let sign = format!("/api/v1/cases/{}/report/sign", in_lab[1]);
    let empty = json!({});
    let (one, other) = tokio::join!(path_a.post(&sign, &empty), path_b.post(&sign, &empty));
    let mut statuses = [one.status, other.status];
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 409],
        "one signs, the other is refused: {} / {}",
        one.text,
        other.text
    );
    let case = path_b.get(&format!("/api/v1/cases/{}", in_lab[1])).await;
    assert_eq!(case.json["report"]["versions"].as_array().map(Vec::len), Some(1), "{}", case.text);

    // Alerts: a patient's check-in through node A raises an alert the team sees on node B.
    let store = db.store();
    let performed = tech_a.get("/api/v1/cases?status=performed").await;
    let performed = performed.json["cases"][0]["id"].as_i64().unwrap();
    let link = marrow_server::auth::new_token();
    let nurse = store.user_for_login("seed-nurse").await.unwrap().unwrap().0.id;
    store
        .create_checkin_link(
            marrow_domain::ids::CaseId(performed),
            &marrow_server::auth::token_hash(&link),
            marrow_testkit::synthetic::now().plus_seconds(30 * 86_400),
            marrow_store::Stamp { by: nurse, at: marrow_testkit::synthetic::now() },
        )
        .await
        .unwrap();
    let mut phone = Browser::new(&base_a);
    let form = phone.get(&format!("/checkin/{link}")).await;
    assert_eq!(form.status, 200);
    let csrf = hidden_value(&form.html, "checkin_csrf").unwrap();
    let fields: Vec<(String, String)> = [
        ("checkin_csrf", csrf.as_str()),
        ("temperature", "38.9"),
        ("bleeding", "none"),
        ("pain", "mild"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let sent = phone.post_raw(&format!("/checkin/{link}"), &fields).await;
    assert_eq!(sent.status, 200, "{}", sent.html);
    let password = "a long enough password";
    run(
        dir.path(),
        &["--database", &url, "user", "add", "--role", "nurse", "ward-nurse"],
        Some(password),
    )
    .assert_success();
    for base in [&base_a, &base_b] {
        let mut ward = Browser::new(base);
        assert_eq!(ward.login("ward-nurse", password).await, 303);
        let alerts = ward.get("/alerts").await;
        assert!(alerts.html.contains("38.9"), "the alert is seen on {base}");
    }
    drop((a, b));
}
