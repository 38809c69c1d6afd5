//! Faults (issue 9, point 5): PostgreSQL going away while requests arrive. A TCP relay stands
//! between Marrow and the database server, so "the database is down" can be switched on and
//! off for this test alone (stopping the real server would stop every other test too): each
//! connection is cut and new ones are refused, as when PostgreSQL stops. `.ci/run` also stops
//! the real server under a running Marrow (ci/faults.sh).

#![cfg(feature = "postgres-tests")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use marrow_domain::role::Role;
use marrow_store::{DatabaseUrl, Store};
use marrow_testkit::TestDb;
use marrow_testkit::app::Api;
use marrow_testkit::synthetic;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A relay to `upstream` that can be taken down (every connection cut, new ones refused) and
/// brought back. Returns its address.
async fn relay(upstream: String, down: Arc<AtomicBool>, cut: watch::Receiver<u64>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else { return };
            if down.load(Ordering::SeqCst) {
                drop(client);
                continue;
            }
            let upstream = upstream.clone();
            let mut cut = cut.clone();
            // Only a cut after this connection opened ends it.
            cut.borrow_and_update();
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    _ = cut.changed() => {}
                }
            });
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_fail_fast_with_503_while_postgres_is_away_and_work_again_when_it_is_back() {
    let db = TestDb::postgres_from_env().await;
    // The same database, reached through the relay.
    let url = db.url();
    let authority_start = url.find("://").unwrap() + 3;
    let at = url[authority_start..].find('@').map_or(authority_start, |i| authority_start + i + 1);
    let end = url[at..].find('/').map_or(url.len(), |i| at + i);
    let upstream = url[at..end].to_owned();
    let down = Arc::new(AtomicBool::new(false));
    let (cutter, cut) = watch::channel(0_u64);
    let relayed = relay(upstream, down.clone(), cut).await;
    let through = format!("{}{relayed}{}", &url[..at], &url[end..]);
    let (store, _) = Store::open(&DatabaseUrl::parse(&through).unwrap()).await.unwrap();

    let base = marrow_testkit::app::serve_until_exit(&store).await;
    let user = store
        .create_user(
            "faults-clinician",
            "Synthetic Clinician",
            Role::Clinician,
            "!",
            None,
            synthetic::now(),
        )
        .await
        .unwrap();
    let api = Api::with_token(&base, &marrow_testkit::app::api_token(&store, user).await);
    assert_eq!(api.get("/api/v1/cases").await.status, 200);

    // PostgreSQL goes away: every connection is cut, new ones are refused.
    down.store(true, Ordering::SeqCst);
    cutter.send(1).unwrap();
    for _ in 0..3 {
        let started = Instant::now();
        let reply = api.get("/api/v1/cases").await;
        let took = started.elapsed();
        assert_eq!(reply.status, 503, "{}", reply.text);
        assert_eq!(reply.json["error"], "the database is unavailable; try again shortly");
        assert!(took < Duration::from_secs(5), "failed fast: {took:?}");
    }
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 503);

    // It comes back: the same Marrow, not restarted, answers again within seconds.
    down.store(false, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let reply = api.get("/api/v1/cases").await;
        if reply.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "still {} after the database came back", reply.status);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let created = api
        .post(
            "/api/v1/patients",
            &serde_json::json!({"mrn": "SYN-FAULT-1", "family_name": "Testpatient", "given_name": "Alex", "date_of_birth": "1970-01-01", "sex": "female"}),
        )
        .await;
    assert_eq!(created.status, 201, "a write works again: {}", created.text);
    assert!(store.patient_by_mrn("SYN-FAULT-1").await.unwrap().is_some());
    assert_eq!(reqwest::get(format!("{base}/healthz")).await.unwrap().status(), 200);
}
