//! Benchmark (not a test) of the report exports on SQLite: the FHIR R4 bundle of one case
//! (built in process, and fetched over HTTP), and the bulk NDJSON export of every signed
//! report through the real server.
//!
//! ```text
//! cargo run --release -p marrow-testkit --bin export-bench -- [REPORTS] [DIR]
//! ```
//! Defaults: 10,000 signed reports, a temporary folder under the current directory. The
//! reports are synthetic normal marrows signed through the store, as the server would. See
//! BENCHMARKS.md.

use std::time::{Duration, Instant};

use marrow_domain::case::CaseStatus;
use marrow_domain::ids::CaseId;
use marrow_domain::role::Role;
use marrow_store::{DatabaseUrl, Store};
use marrow_testkit::synthetic::{self, Staff, case_at};

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let reports: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let base =
        args.get(2).map_or_else(|| std::env::current_dir().expect("cwd"), std::path::PathBuf::from);
    let dir = tempfile::tempdir_in(&base).expect("a temporary folder for the benchmark");
    println!("export-bench: {reports} signed reports, database in {}", dir.path().display());

    let url = DatabaseUrl::Sqlite(dir.path().join("marrow.db"));
    let (store, _) = Store::open(&url).await.expect("open the benchmark database");
    let staff = Staff::insert(&store, "!").await;
    let started = Instant::now();
    // Eight writers at once: SQLite serialises the writes, the rest overlaps.
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8_u32 {
        let store = store.clone();
        tasks.spawn(async move {
            let mut n = worker;
            while n < reports {
                case_at(&store, &staff, n + 1, CaseStatus::Reported).await;
                n += 8;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    println!(
        "seeded {reports} signed reports in {:.1} s (not part of the figures)",
        started.elapsed().as_secs_f64()
    );

    let user = store
        .create_user(
            "bench-pathologist",
            "Bench Pathologist",
            Role::Pathologist,
            "!",
            None,
            synthetic::now(),
        )
        .await
        .expect("user");
    let token = marrow_testkit::app::api_token(&store, user).await;
    let base_url = marrow_testkit::app::serve_until_exit(&store).await;
    let client = reqwest::Client::new();

    // One case's bundle, built in process from a loaded record (no HTTP, no database).
    let record = store.case(CaseId(1)).await.expect("case 1");
    let rounds = 2_000;
    let started = Instant::now();
    let mut bytes = 0;
    for _ in 0..rounds {
        bytes += marrow_server::fhir_bundle(
            &record,
            None,
            marrow_server::FhirLayout::Compact,
            None,
            &marrow_server::Config::default().mrn_system,
        )
        .expect("bundle")
        .len();
    }
    let per = started.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds);
    println!(
        "fhir bundle, in process (with its PDF): {per:.3} ms per bundle, {} bytes",
        bytes / rounds as usize
    );

    // The same over HTTP: GET /api/v1/cases/{id}/fhir, one request at a time.
    let mut latencies = Vec::new();
    for i in 0..500_u32 {
        let case = 1 + (i * 7919) % reports;
        let started = Instant::now();
        let response = client
            .get(format!("{base_url}/api/v1/cases/{case}/fhir"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        response.bytes().await.expect("body");
        latencies.push(started.elapsed());
    }
    latencies.sort();
    println!(
        "GET /api/v1/cases/{{id}}/fhir: p50 {:.2} ms, p99 {:.2} ms over {} requests",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.len()
    );

    // Bulk export of every signed report.
    for run in 1..=3 {
        let started = Instant::now();
        let response = client
            .get(format!("{base_url}/api/v1/fhir/export?_since=2000-01-01"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        let body = response.bytes().await.expect("body");
        let seconds = started.elapsed().as_secs_f64();
        let lines = body.iter().filter(|b| **b == b'\n').count();
        assert_eq!(lines, reports as usize, "one line per signed report");
        println!(
            "bulk export run {run}: {lines} reports, {:.1} MB in {seconds:.2} s = {:.0} reports/s",
            body.len() as f64 / 1e6,
            lines as f64 / seconds
        );
    }
}
