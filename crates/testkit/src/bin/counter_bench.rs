//! Benchmark (not a test) of the keyboard counter's event path: N simulated technologists
//! counting at once against one server on SQLite with full durability, and, in the same run, the
//! raw rate of single-row durable inserts into SQLite on the same disk as the reference.
//!
//! ```text
//! cargo run --release -p marrow-testkit --bin counter-bench -- [COUNTERS] [SECONDS] [DIR]
//! ```
//! Defaults: 200 counters, 20 seconds, a temporary folder under the current directory (so the
//! database is on the same disk as the working tree). See BENCHMARKS.md.

use std::time::{Duration, Instant};

use marrow_store::{DatabaseUrl, Store};
use marrow_testkit::synthetic::Staff;
use sqlx::{ConnectOptions, Connection, Executor};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let counters: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let base =
        args.get(3).map_or_else(|| std::env::current_dir().expect("cwd"), std::path::PathBuf::from);
    let dir = tempfile::tempdir_in(&base).expect("a temporary folder for the benchmark");
    println!(
        "counter-bench: {counters} counters, {seconds} s per phase, databases in {}",
        dir.path().display()
    );

    let raw = raw_insert_rate(&dir.path().join("raw.db"), Duration::from_secs(5)).await;
    println!("reference: single-row durable inserts (one fsync each): {raw:.0} rows/s");

    let url = DatabaseUrl::Sqlite(dir.path().join("marrow.db"));
    let (store, _) = Store::open(&url).await.expect("open the benchmark database");
    let staff = Staff::insert(&store, "!").await;
    let tokens: Vec<(String, i64)> =
        marrow_testkit::app::technologists_counting(&store, &staff, counters, 100_000, "bench")
            .await
            .into_iter()
            .map(|c| (c.token, c.count))
            .collect();

    let base_url = marrow_testkit::app::serve_until_exit(&store).await;

    // Phase 1: paced at 10.5 key presses per second per counter (a very fast technologist), so
    // 200 counters offer 2,100 events/s, just above the 2,000 the issue asks for. Phase 2: unpaced, each counter sends its next key
    // press as soon as the last is acknowledged: the most the server sustains.
    for (phase, pace) in [
        ("paced (10.5 events/s per counter)", Some(Duration::from_millis(95))),
        ("unpaced (as fast as acknowledged)", None),
    ] {
        let (acked, mut latencies, errors, elapsed) =
            run_phase(&base_url, &tokens, pace, Duration::from_secs(seconds), phase).await;
        latencies.sort_unstable();
        let pct = |p: f64| {
            latencies
                .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        println!(
            "{phase}: {acked} events acknowledged in {:.1} s = {:.0} events/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; errors {errors}",
            elapsed.as_secs_f64(),
            acked as f64 / elapsed.as_secs_f64(),
            pct(0.50).as_secs_f64() * 1000.0,
            pct(0.99).as_secs_f64() * 1000.0,
            latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        );
    }
    // Every acknowledged event is stored (and none twice).
    let mut stored = 0;
    for (_, count) in &tokens {
        stored += store.count_events(marrow_store::CountId(*count)).await.expect("events").len();
    }
    println!("stored events in the database: {stored}");
}

async fn run_phase(
    base_url: &str,
    tokens: &[(String, i64)],
    pace: Option<Duration>,
    duration: Duration,
    phase: &str,
) -> (usize, Vec<Duration>, usize, Duration) {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for (n, (token, count)) in tokens.iter().enumerate() {
        let client = reqwest::Client::new();
        let url = format!("{base_url}/api/v1/counts/{count}/events");
        let token = token.clone();
        let tag = format!("{}-{n}", phase.split(' ').next().unwrap_or("p"));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut seq = 0u64;
            // Spread the counters' first key presses over one pacing interval.
            if let Some(p) = pace {
                tokio::time::sleep(p * (n as u32 % 100) / 100).await;
            }
            let mut next = Instant::now();
            while Instant::now() < deadline {
                seq += 1;
                let body = serde_json::json!({"events": [{"id": format!("{tag}-{seq}"), "event": "tally:lymphocytes"}]});
                let sent = Instant::now();
                match client.post(&url).bearer_auth(&token).json(&body).send().await {
                    Ok(r) if r.status().is_success() => latencies.push(sent.elapsed()),
                    _ => errors += 1,
                }
                if let Some(p) = pace {
                    next += p;
                    let now = Instant::now();
                    if next > now {
                        tokio::time::sleep(next - now).await;
                    } else {
                        next = now;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("counter task");
        all.extend(l);
        errors += e;
    }
    (all.len(), all, errors, started.elapsed())
}

/// Single-row inserts, each its own transaction, WAL and synchronous = FULL: one fsync per row.
async fn raw_insert_rate(path: &std::path::Path, duration: Duration) -> f64 {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Full);
    let mut conn = options.connect().await.expect("open the reference database");
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)").await.expect("table");
    let started = Instant::now();
    let mut rows = 0u64;
    while started.elapsed() < duration {
        sqlx::query("INSERT INTO t (v) VALUES ($1)")
            .bind("tally:lymphocytes")
            .execute(&mut conn)
            .await
            .expect("insert");
        rows += 1;
    }
    let rate = rows as f64 / started.elapsed().as_secs_f64();
    conn.close().await.expect("close");
    rate
}
