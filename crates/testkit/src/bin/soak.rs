//! Soak run (not a test; issue 9, point 8): the real `marrow serve` process on SQLite for a
//! long stretch at 2,100 counter events/s (200 technologists pressing 10.5 keys a second, one
//! event per request) plus page traffic (a clinician browsing the case list, case pages and a
//! patient timeline, 20 pages a second), on loopback. Every 10 s it prints the server's resident
//! memory (VmRSS from /proc), the events acknowledged, the pages served, the errors and the
//! window's p99 latency; at the end it checks the database holds every acknowledged event.
//!
//! ```text
//! cargo build --release -p marrow -p marrow-testkit
//! MARROW_BIN=target/release/marrow target/release/soak [SECONDS]   # default 600
//! ```
//! See RELIABILITY.md for the latest figures.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use marrow_domain::role::Role;
use marrow_store::{DatabaseUrl, Store};
use marrow_testkit::synthetic::{self, Staff};

const COUNTERS: usize = 200;
const PACE: Duration = Duration::from_millis(95);
const PAGE_PACE: Duration = Duration::from_millis(50);

#[derive(Default)]
struct Tally {
    events: AtomicU64,
    pages: AtomicU64,
    errors: AtomicU64,
    /// Latencies of the current window, in microseconds.
    window: std::sync::Mutex<Vec<u64>>,
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(600);
    let bin = std::env::var("MARROW_BIN").unwrap_or_else(|_| "target/release/marrow".into());
    let dir = tempfile::tempdir_in(std::env::current_dir().expect("cwd")).expect("a folder");
    let path = dir.path().join("soak.db");
    let url = DatabaseUrl::Sqlite(path.clone());
    let (store, _) = Store::open(&url).await.expect("open the soak database");
    let staff = Staff::insert(&store, "!").await;
    let setup =
        marrow_testkit::app::technologists_counting(&store, &staff, COUNTERS, 200_000, "soak")
            .await;
    let patients: Vec<(i64, i64)> = setup.iter().map(|c| (c.patient, c.case)).collect();
    let counters: Vec<(String, i64)> = setup.into_iter().map(|c| (c.token, c.count)).collect();
    let password = "soak clinician password";
    let hash = marrow_server::auth::hash_password(password).expect("hash");
    store
        .create_user(
            "soak-clinician",
            "Soak Clinician",
            Role::Clinician,
            &hash,
            None,
            synthetic::now(),
        )
        .await
        .expect("clinician");
    store.close().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a port")
        .local_addr()
        .expect("addr")
        .port();
    let mut server = std::process::Command::new(&bin)
        .args([
            "--database",
            &format!("sqlite://{}", path.display()),
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("MARROW_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "soak: {seconds} s, {COUNTERS} counters at {:.1} events/s each ({:.0} events/s offered) and {:.0} pages/s, server pid {}",
        1.0 / PACE.as_secs_f64(),
        COUNTERS as f64 / PACE.as_secs_f64(),
        1.0 / PAGE_PACE.as_secs_f64(),
        server.id()
    );

    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (n, (token, count)) in counters.iter().enumerate() {
        let (client, url, token, tally) = (
            reqwest::Client::new(),
            format!("{base}/api/v1/counts/{count}/events"),
            token.clone(),
            tally.clone(),
        );
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(PACE * (n as u32 % 100) / 100).await;
            let mut next = Instant::now();
            let mut seq = 0u64;
            while Instant::now() < deadline {
                seq += 1;
                let body = serde_json::json!({"events": [{"id": format!("s{n}-{seq}"), "event": "tally:lymphocytes"}]});
                let sent = Instant::now();
                match client.post(&url).bearer_auth(&token).json(&body).send().await {
                    Ok(r) if r.status().is_success() => {
                        tally.events.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut w) = tally.window.lock() {
                            w.push(sent.elapsed().as_micros() as u64);
                        }
                    }
                    _ => {
                        tally.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                next += PACE;
                let now = Instant::now();
                if next > now { tokio::time::sleep(next - now).await } else { next = now }
            }
        }));
    }
    // Page traffic: a logged-in clinician's browser.
    {
        let tally = tally.clone();
        let base = base.clone();
        let patients = patients.clone();
        tasks.push(tokio::spawn(async move {
            let mut browser = marrow_testkit::app::Browser::new(&base);
            assert_eq!(
                browser.login("soak-clinician", password).await,
                303,
                "the clinician logs in"
            );
            let mut i = 0usize;
            let mut next = Instant::now();
            while Instant::now() < deadline {
                let (patient, case) = patients[i % patients.len()];
                let path = match i % 3 {
                    0 => "/cases".to_owned(),
                    1 => format!("/cases/{case}"),
                    _ => format!("/patients/{patient}/timeline"),
                };
                let page = browser.get(&path).await;
                if page.status == 200 {
                    tally.pages.fetch_add(1, Ordering::Relaxed);
                } else {
                    tally.errors.fetch_add(1, Ordering::Relaxed);
                    eprintln!("page {path}: {}", page.status);
                }
                i += 1;
                next += PAGE_PACE;
                let now = Instant::now();
                if next > now { tokio::time::sleep(next - now).await } else { next = now }
            }
        }));
    }
    // Samples every 10 s.
    let pid = server.id();
    let mut last_events = 0;
    let mut samples = Vec::new();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let rss = rss_kib(pid);
        let events = tally.events.load(Ordering::Relaxed);
        let mut window =
            tally.window.lock().map(|mut w| std::mem::take(&mut *w)).unwrap_or_default();
        window.sort_unstable();
        let p99 = window.get(window.len() * 99 / 100).copied().unwrap_or_default();
        println!(
            "t={:>4} s  rss {:>7.1} MiB  events {:>8} (+{:>5}/s)  pages {:>6}  errors {}  p99 {:.1} ms",
            started.elapsed().as_secs(),
            rss as f64 / 1024.0,
            events,
            (events - last_events) / 10,
            tally.pages.load(Ordering::Relaxed),
            tally.errors.load(Ordering::Relaxed),
            p99 as f64 / 1000.0
        );
        samples.push(rss);
        last_events = events;
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let events = tally.events.load(Ordering::Relaxed);
    let errors = tally.errors.load(Ordering::Relaxed);
    let _ = server.kill();
    let _ = server.wait();
    let (store, _) = Store::open(&url).await.expect("reopen");
    let mut stored = 0u64;
    for (_, count) in &counters {
        stored +=
            store.count_events(marrow_store::CountId(*count)).await.expect("events").len() as u64;
    }
    let (first, peak, last) = (
        samples.first().copied().unwrap_or_default(),
        samples.iter().copied().max().unwrap_or_default(),
        samples.last().copied().unwrap_or_default(),
    );
    println!(
        "soak: {events} events acknowledged in {elapsed:.0} s = {:.0} events/s, {} pages, {errors} errors; stored events {stored}; rss first {:.1} MiB, peak {:.1} MiB, last {:.1} MiB",
        events as f64 / elapsed,
        tally.pages.load(Ordering::Relaxed),
        first as f64 / 1024.0,
        peak as f64 / 1024.0,
        last as f64 / 1024.0
    );
    assert_eq!(errors, 0, "zero errors");
    assert_eq!(stored, events, "every acknowledged event is stored");
}

/// The resident set of `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}
