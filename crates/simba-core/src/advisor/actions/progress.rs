//! What a running action is doing now. Every apply and rollback is listed while it runs; an index
//! build adds PostgreSQL's own account of it (`pg_stat_progress_create_index`: phase, blocks,
//! tuples, lockers waited for), read on a second connection while the build blocks the first. The
//! list lives in this process: the app and `serve` answer `action_progress` from it while their
//! apply call runs, and the CLI prints it.

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Instant;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ActionProgress {
    pub profile: String,
    pub action: String,
    pub target: String,
    /// `running`, or the server's own phase (`building index: loading tuples in tree`, …).
    pub phase: String,
    /// Work done and to do in this phase, in `unit` (`blocks`, `tuples`, `lockers`, `partitions`).
    #[ts(type = "number | null")]
    pub done: Option<u64>,
    #[ts(type = "number | null")]
    pub total: Option<u64>,
    pub unit: Option<String>,
    /// done / total × 100 when the phase counts something.
    pub percent: Option<f64>,
    pub started_at: String,
    pub elapsed_seconds: f64,
}

struct Running {
    progress: ActionProgress,
    started: Instant,
}

static RUNNING: LazyLock<Mutex<BTreeMap<u64, Running>>> = LazyLock::new(|| Mutex::new(BTreeMap::new()));
static NEXT: AtomicU64 = AtomicU64::new(1);

/// The actions running now in this process (of one profile, or all), oldest first.
pub fn running(profile: Option<&str>) -> Vec<ActionProgress> {
    RUNNING
        .lock()
        .values()
        .filter(|r| profile.is_none_or(|p| r.progress.profile == p))
        .map(|r| ActionProgress { elapsed_seconds: r.started.elapsed().as_secs_f64(), ..r.progress.clone() })
        .collect()
}

/// One running action's entry in the list; it leaves the list when dropped (the action ended,
/// however it ended).
pub struct Tracker(u64);

impl Tracker {
    pub fn start(profile: &str, action: &str, target: &str) -> Self {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let progress = ActionProgress {
            profile: profile.into(),
            action: action.into(),
            target: target.into(),
            phase: "running".into(),
            done: None,
            total: None,
            unit: None,
            percent: None,
            started_at: chrono::Utc::now().to_rfc3339(),
            elapsed_seconds: 0.0,
        };
        RUNNING.lock().insert(id, Running { progress, started: Instant::now() });
        Self(id)
    }

    /// The phase now, with what it counts when it counts something.
    pub fn update(&self, phase: &str, counted: Option<(u64, u64, &str)>) {
        if let Some(r) = RUNNING.lock().get_mut(&self.0) {
            let p = &mut r.progress;
            p.phase = phase.to_string();
            (p.done, p.total, p.unit, p.percent) = match counted {
                Some((done, total, unit)) if total > 0 => (
                    Some(done),
                    Some(total),
                    Some(unit.to_string()),
                    Some((done as f64 / total as f64 * 100.0).min(100.0)),
                ),
                _ => (None, None, None, None),
            };
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        RUNNING.lock().remove(&self.0);
    }
}

/// What a row of `pg_stat_progress_create_index` counts in its phase: waiting phases count
/// lockers, the table scan counts blocks, sorting and loading count tuples.
pub fn index_build_count(
    phase: &str,
    blocks: (i64, i64),
    tuples: (i64, i64),
    lockers: (i64, i64),
) -> Option<(u64, u64, &'static str)> {
    let pick = |(done, total): (i64, i64), unit| (total > 0).then(|| (done.max(0) as u64, total as u64, unit));
    if phase.starts_with("waiting") {
        pick(lockers, "lockers")
    } else if phase.contains("scanning table") || phase.contains("scanning index") {
        pick(blocks, "blocks").or_else(|| pick(tuples, "tuples"))
    } else {
        pick(tuples, "tuples").or_else(|| pick(blocks, "blocks"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_is_listed_while_it_runs_with_its_phase() {
        let profile = "progress-test-profile";
        assert!(running(Some(profile)).is_empty());
        let t = Tracker::start(profile, "pg.create_vector_index", "postgres://db");
        assert_eq!(running(Some(profile))[0].phase, "running");
        t.update("building index: loading tuples in tree", Some((250, 1000, "tuples")));
        let now = &running(Some(profile))[0];
        assert_eq!(
            (now.done, now.total, now.unit.as_deref(), now.percent),
            (Some(250), Some(1000), Some("tuples"), Some(25.0))
        );
        t.update("waiting for old snapshots", None);
        assert_eq!(running(Some(profile))[0].percent, None);
        drop(t);
        assert!(running(Some(profile)).is_empty());
    }

    #[test]
    fn each_phase_counts_what_it_works_through() {
        assert_eq!(
            index_build_count("building index: scanning table", (5, 10), (0, 0), (0, 0)),
            Some((5, 10, "blocks"))
        );
        assert_eq!(
            index_build_count("building index: loading tuples in tree", (10, 10), (300, 1000), (0, 0)),
            Some((300, 1000, "tuples"))
        );
        assert_eq!(
            index_build_count("waiting for writers before build", (0, 0), (0, 0), (1, 2)),
            Some((1, 2, "lockers"))
        );
        assert_eq!(index_build_count("initializing", (0, 0), (0, 0), (0, 0)), None);
    }
}
