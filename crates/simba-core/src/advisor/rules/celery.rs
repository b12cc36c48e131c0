//! Celery rules, read from the broker's `QueuesReport` (depths, rates, in-flight messages,
//! heartbeats) and the workers' own answers to `inspect` (active_queues, stats, active).

use super::redis::try_check;
use super::{found, Check, Inputs, Rule};
use crate::advisor::thresholds::ThresholdDef;
use crate::advisor::{Evidence, Fix, Severity};
use crate::sources::celery::{QueuesReport, WorkerInfo};
use serde_json::Value as Json;

fn queues<'a>(i: &Inputs<'a>) -> Result<&'a QueuesReport, Check> {
    i.queues.ok_or_else(|| {
        Check::NotEnoughData("no Celery broker report (no broker URL in the profile, or it did not answer)".into())
    })
}

/// The workers' `inspect` answers by hostname, or why there are none.
fn inspected(
    q: &QueuesReport,
) -> Result<&std::collections::BTreeMap<String, std::collections::BTreeMap<String, Json>>, Check> {
    match &q.inspect {
        Some(ins) if !ins.replies.is_empty() => Ok(&ins.replies),
        Some(ins) => Err(Check::NotEnoughData(format!(
            "no worker answered inspect{}",
            ins.problem.as_deref().map(|p| format!(" ({p})")).unwrap_or_default()
        ))),
        None => Err(Check::NotEnoughData("the workers were not inspected".into())),
    }
}

fn live(q: &QueuesReport) -> impl Iterator<Item = &WorkerInfo> {
    q.workers.iter().filter(|w| w.alive)
}

/// Pool processes of a worker from its `stats` answer (prefork lists them).
pub(crate) fn pool_processes(stats: &Json) -> Option<u64> {
    stats["pool"]["processes"].as_array().map(|p| p.len() as u64)
}

/// `prefetch_count` / the pool's concurrency: the worker's prefetch multiplier.
fn prefetch_multiplier(stats: &Json) -> Option<f64> {
    let prefetch = stats["prefetch_count"].as_f64()?;
    let conc = stats["pool"]["max-concurrency"].as_f64().filter(|c| *c > 0.0)?;
    Some(prefetch / conc)
}

/// The longest-running task a worker reports in `active` (seconds, against this machine's clock).
fn longest_active(active: &Json, now: f64) -> Option<(f64, String)> {
    active
        .as_array()?
        .iter()
        .filter_map(|t| Some((now - t["time_start"].as_f64()?, t["name"].as_str().unwrap_or("?").to_string())))
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

pub const BACKLOG_GROWING: Rule = Rule {
    id: "celery.backlog_growing",
    title: "A queue's backlog is growing",
    reads: "per queue: depth, net rate between two readings, wait estimate; the live workers consuming it",
    thresholds: &[
        ThresholdDef { name: "celery.backlog_growing.min_depth", default: 100.0, unit: "messages" },
        ThresholdDef { name: "celery.backlog_growing.min_rate", default: 0.0, unit: "messages/s net growth" },
    ],
    source: "Flower and the Celery monitoring guide (queue length and its trend); performance-tuning.md \
             (Background Task Processing)",
    check: |rule, i, t| {
        let q = try_check!(queues(i));
        let min_depth = rule.threshold(t, "min_depth");
        let min_rate = rule.threshold(t, "min_rate");
        let findings = q
            .queues
            .iter()
            .filter(|x| x.depth as f64 >= min_depth && x.net_rate_per_s.is_some_and(|r| r > min_rate))
            .map(|x| {
                let rate = x.net_rate_per_s.unwrap_or(0.0);
                let consumer = live(q).find(|w| w.queues.contains(&x.name)).map(|w| w.hostname.clone());
                let stats = consumer
                    .as_ref()
                    .and_then(|h| q.inspect.as_ref()?.replies.get(h)?.get("stats"))
                    .and_then(pool_processes);
                let fix = match (&consumer, stats) {
                    (Some(worker), Some(now)) => {
                        let more = (now + (now / 2).max(1)).to_string();
                        Fix::action(
                            "celery.pool_resize",
                            &[("worker", worker), ("processes", &more)],
                            format!("grow {worker}'s pool from {now} to {more} processes (pool_grow)"),
                        )
                    }
                    _ => Fix::advice(format!(
                        "add workers consuming '{}' (more replicas, or a larger pool with -c), or find why its tasks \
                         got slower",
                        x.name
                    )),
                };
                rule.finding(
                    Some(&x.name),
                    Severity::Warning,
                    format!("Queue '{}' holds {} messages and grows by {rate:.1}/s", x.name, x.depth),
                    vec![
                        Evidence::new("depth", x.depth, Some("messages")),
                        Evidence::new("net rate", format!("{rate:.2}"), Some("messages/s")),
                        Evidence::new(
                            "wait estimate",
                            x.wait_estimate_seconds.map(|s| format!("{s:.0}")).unwrap_or_else(|| "unknown".into()),
                            Some("s"),
                        ),
                        Evidence::new("consumed by", consumer.unwrap_or_else(|| "no live worker".into()), None),
                    ],
                    "Work arrives faster than the workers finish it: waits grow until the queue is drained or \
                     Redis runs out of memory.",
                    fix,
                )
            })
            .collect();
        found(findings)
    },
};

pub const UNCONSUMED_QUEUE: Rule = Rule {
    id: "celery.unconsumed_queue",
    title: "Messages wait in a queue no live worker consumes",
    reads: "per queue: depth, task names; each live worker's active_queues (inspect)",
    thresholds: &[],
    source: "KNOWN-TRAPS #9 (task_routes keyed by exact names send module-style names to the default 'celery' \
             queue); Celery routing guide",
    check: |rule, i, _| {
        let q = try_check!(queues(i));
        let replies = try_check!(inspected(q));
        let consumed: std::collections::BTreeSet<&str> =
            live(q).flat_map(|w| w.queues.iter().map(String::as_str)).collect();
        let worker = replies.keys().next().cloned();
        let findings = q
            .queues
            .iter()
            .filter(|x| x.depth > 0 && !consumed.contains(x.name.as_str()))
            .map(|x| {
                let tasks: Vec<String> =
                    x.task_names.iter().take(5).map(|t| format!("{} ({})", t.task, t.count)).collect();
                let module_style = x.task_names.iter().any(|t| t.task.matches('.').count() >= 2);
                let why = if x.name == "celery" && module_style {
                    "These tasks fell into the default 'celery' queue: task_routes keyed by exact names miss \
                     module-style task names, and no worker consumes 'celery'. They never run."
                } else {
                    "No live worker reads this queue: its tasks never run and the queue only grows."
                };
                let fix = match &worker {
                    Some(w) => Fix::action(
                        "celery.add_consumer",
                        &[("worker", w), ("queue", &x.name)],
                        format!(
                            "let {w} consume '{}' now (add_consumer); then route by pattern in task_routes \
                             ('*.llm_tasks.*') or add the queue to the workers' -Q",
                            x.name
                        ),
                    ),
                    None => Fix::advice(format!("start a worker with -Q {}", x.name)),
                };
                rule.finding(
                    Some(&x.name),
                    Severity::Critical,
                    format!("{} messages wait in '{}', which no live worker consumes", x.depth, x.name),
                    vec![
                        Evidence::new("depth", x.depth, Some("messages")),
                        Evidence::new(
                            "task names",
                            if tasks.is_empty() { "none decoded".into() } else { tasks.join(", ") },
                            None,
                        ),
                        Evidence::new("queues consumed", consumed.iter().copied().collect::<Vec<_>>().join(", "), None),
                    ],
                    why,
                    fix,
                )
            })
            .collect();
        found(findings)
    },
};

pub const VISIBILITY_TIMEOUT: Rule = Rule {
    id: "celery.visibility_timeout",
    title: "Tasks run longer than the broker's visibility_timeout",
    reads: "in-flight messages (unacked_index ages), visibility_timeout",
    thresholds: &[ThresholdDef {
        name: "celery.visibility_timeout.share",
        default: 0.8,
        unit: "age / visibility_timeout",
    }],
    source: "KNOWN-TRAPS #10; Celery docs, 'Redis: visibility timeout' (with acks_late, a task running past it is \
             redelivered and runs twice)",
    check: |rule, i, t| {
        let q = try_check!(queues(i));
        let vt = q.in_flight.visibility_timeout_seconds;
        let Some(oldest) = q.in_flight.oldest_age_seconds else {
            return Check::Ok;
        };
        if oldest < vt * rule.threshold(t, "share") {
            return Check::Ok;
        }
        found(vec![rule.finding(
            None,
            Severity::Critical,
            format!("An unacknowledged task has been running {oldest:.0} s against a visibility_timeout of {vt:.0} s"),
            vec![
                Evidence::new("oldest in-flight age", format!("{oldest:.0}"), Some("s")),
                Evidence::new("visibility_timeout", format!("{vt:.0}"), Some("s")),
                Evidence::new("in flight", q.in_flight.count, Some("messages")),
                Evidence::new("past the timeout", q.in_flight.past_visibility_timeout, Some("messages")),
            ],
            "With acks_late, Redis hands a message to another worker once the visibility_timeout passes: the task \
             runs twice.",
            Fix::advice(format!(
                "raise broker_transport_options={{'visibility_timeout': {}}} (above the longest task and ETA) on the \
                 workers and clients, or split the long task; the timeout is client configuration, not a server \
                 setting",
                ((oldest * 2.0).max(vt * 2.0) / 60.0).ceil() as u64 * 60
            )),
        )])
    },
};

pub const PREFETCH_LONG_TASKS: Rule = Rule {
    id: "celery.prefetch_long_tasks",
    title: "Workers prefetch more than one task while running long ones",
    reads: "per worker: stats prefetch_count and pool max-concurrency (inspect), active tasks' runtimes",
    thresholds: &[ThresholdDef { name: "celery.prefetch_long_tasks.long_task", default: 60.0, unit: "s" }],
    source: "Celery docs, 'Optimizing: prefetch limits' (long tasks: worker_prefetch_multiplier = 1 with acks_late)",
    check: |rule, i, t| {
        let q = try_check!(queues(i));
        let replies = try_check!(inspected(q));
        let long = rule.threshold(t, "long_task");
        let now = crate::clock::now_secs();
        let findings = replies
            .iter()
            .filter_map(|(host, r)| {
                let mult = prefetch_multiplier(r.get("stats")?)?;
                let (runtime, task) = r.get("active").and_then(|a| longest_active(a, now))?;
                (mult > 1.0 && runtime >= long).then(|| {
                    rule.finding(
                        Some(host),
                        Severity::Warning,
                        format!("{host} prefetches {mult:.0} tasks per process while '{task}' runs {runtime:.0} s"),
                        vec![
                            Evidence::new("prefetch multiplier", format!("{mult:.0}"), None),
                            Evidence::new("longest active task", format!("{task}: {runtime:.0}"), Some("s")),
                        ],
                        "Messages a busy process prefetched wait behind its long task while other workers idle.",
                        Fix::advice(
                            "set worker_prefetch_multiplier = 1 (and task_acks_late = True) for workers of long tasks, \
                             and start them with -O fair",
                        ),
                    )
                })
            })
            .collect();
        found(findings)
    },
};
