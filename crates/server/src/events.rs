//! The group-commit writer for counter events.
//!
//! Every keystroke of every technologist is an event that must be on disk before it is
//! acknowledged. One fsync per event caps a SQLite server at the disk's fsync rate; instead one
//! task owns event writing: it takes the first waiting request, gathers every other request that
//! arrived meanwhile, writes them all in one transaction (one fsync), and only then answers each.
//! Under load, batches grow by themselves; when idle, a lone event is written at once.

use std::sync::Arc;

use marrow_store::{CountId, EventRefusal, NewEvent, Store};
use tokio::sync::{mpsc, oneshot};

use crate::Clock;
use crate::error::AppError;

/// The most requests gathered into one transaction.
const MAX_BATCH: usize = 1024;

struct Job {
    count: CountId,
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Result<Result<(), EventRefusal>, AppError>>,
}

/// A handle on the writer task; cheap to clone.
#[derive(Clone)]
pub struct EventWriter {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for EventWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventWriter")
    }
}

impl EventWriter {
    /// Starts the writer task on the current tokio runtime.
    pub fn spawn(store: Store, clock: Arc<dyn Clock>) -> Self {
        let (jobs, rx) = mpsc::channel(8192);
        tokio::spawn(run(store, clock, rx));
        Self { jobs }
    }

    /// Stores `events` for `count`; returns once they are durable, or why the count refused them.
    pub async fn submit(
        &self,
        count: CountId,
        events: Vec<NewEvent>,
    ) -> Result<Result<(), EventRefusal>, AppError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { count, events, reply })
            .await
            .map_err(|_| AppError::Internal("the event writer has stopped".into()))?;
        answer.await.map_err(|_| AppError::Internal("the event writer dropped a request".into()))?
    }
}

async fn run(store: Store, clock: Arc<dyn Clock>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let batches: Vec<(CountId, Vec<NewEvent>)> =
            jobs.iter_mut().map(|j| (j.count, std::mem::take(&mut j.events))).collect();
        match store.append_events(&batches, clock.now()).await {
            Ok(outcomes) => {
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                let unavailable = e.is_unavailable();
                tracing::error!(error = ?e, events = batches.len(), "storing counter events failed");
                for job in jobs {
                    let error = if unavailable {
                        AppError::Unavailable
                    } else {
                        AppError::Internal("storing counter events failed".into())
                    };
                    let _ = job.reply.send(Err(error));
                }
            }
        }
    }
}
