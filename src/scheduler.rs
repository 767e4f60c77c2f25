//! Work every replica runs in the background: the due-task sweep that publishes
//! `TASK_DUE` (issue 16).
//!
//! Every replica sweeps every `ANNEX_TASK_DUE_INTERVAL_SECS` (default 60; `0` turns the
//! sweep off on that replica). Replicas do not coordinate: each due task is claimed with a
//! conditional UPDATE (`due_notified_at IS NULL`) inside a tenant write transaction, and
//! only the replica whose UPDATE changed the row appends the `TASK_DUE` trail row and
//! publishes the event, in that same transaction (see `store::task::announce_due`). A
//! replica that dies mid-sweep leaves its claims uncommitted: the next sweep, on any
//! replica, takes them again. Works the same on SQLite and PostgreSQL.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::Caller;
use crate::store::tenancy::now;
use crate::store::{Actor, Gate};

/// The trail's actor for what the scheduler does.
pub const SCHEDULER_SUBJECT: &str = "annex:scheduler";
/// Tasks one sweep announces at most (the rest wait for the next tick).
pub const SWEEP_BATCH: u64 = 200;

/// Starts the sweep on this replica; `None` when `interval` is zero (off). Stops when
/// `stop` turns true (or its sender goes).
pub fn spawn(gate: Gate, interval: Duration, mut stop: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
    if interval.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            sweep(&gate).await;
        }
    }))
}

/// One sweep, as the scheduler (a platform-admin caller of its own).
pub async fn sweep(gate: &Gate) -> usize {
    let caller = Caller { subject: SCHEDULER_SUBJECT.into(), platform_admin: true, expires_at: None };
    let actor = Actor::new(caller, format!("scheduler-{}", uuid::Uuid::now_v7().simple()));
    match crate::store::task::announce_due(gate, &actor, now().date_naive(), SWEEP_BATCH).await {
        Ok(n) => {
            if n > 0 {
                tracing::info!(announced = n, "TASK_DUE published");
            }
            n
        }
        Err(e) => {
            tracing::warn!(error = %e.message(), "due-task sweep failed; the next tick retries");
            0
        }
    }
}
