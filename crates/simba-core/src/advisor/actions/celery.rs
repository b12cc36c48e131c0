//! Celery actions over the broker's remote-control channel (the pidbox, what `celery control`
//! sends): `rate_limit`, `pool_grow` / `pool_shrink` and `add_consumer` / `cancel_consumer`.
//! Before values come from the workers' own answers (`registered` with `rate_limit`, `stats`,
//! `active_queues`); after a command the same question is asked again until the value shows or
//! the wait runs out.
//!
//! A worker keeps these changes in memory only: a restart goes back to its configuration. Every
//! preview says so.

use super::{Plan, Prepared, Ran};
use crate::advisor::audit::{Outcome, ValueChange};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::profiles::Endpoint;
use crate::sources::celery::{control, db_of, Reach};
use crate::sources::redis::connect;
use redis::aio::MultiplexedConnection;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long a worker has to answer one control command.
const REPLY_WAIT: Duration = Duration::from_secs(3);
/// How long a change may take to show in the worker's answers (a pool spawns its processes).
const SETTLE_WAIT: Duration = Duration::from_secs(10);

const IN_MEMORY_NOTE: &str = "the worker keeps this in memory only: a restart of the worker returns to its \
                              configuration (set it in the worker's settings to keep it)";

/// A Celery rate limit: `10/s`, `100/m`, `5/h`, a bare number of tasks per second, or `none`.
pub(super) fn validate_rate(rate: &str) -> ApiResult<()> {
    if rate == "none" {
        return Ok(());
    }
    let (n, unit) = rate.split_once('/').unwrap_or((rate, "s"));
    let ok = n.parse::<f64>().is_ok_and(|n| n.is_finite() && n >= 0.0) && matches!(unit, "s" | "m" | "h");
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "'{rate}' is not a Celery rate limit: give tasks per second, minute or hour (10/s, 100/m, 5/h), or none"
        )))
    }
}

/// Hostnames as Celery names them: `celery@host`.
pub(super) fn validate_worker(worker: &str) -> ApiResult<()> {
    if worker.contains('@') && !worker.contains(char::is_whitespace) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "'{worker}' is not a worker's hostname; give it as the Queues page names it (celery@host)"
        )))
    }
}

/// A queue name kombu accepts on the Redis transport (no separator bytes, no spaces).
pub(super) fn validate_queue(queue: &str) -> ApiResult<()> {
    let ok = !queue.is_empty()
        && queue.len() <= 200
        && queue.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!("'{queue}' is not a queue name (letters, digits, _ - . : only)")))
    }
}

struct Broker {
    con: MultiplexedConnection,
    display: String,
    db: i64,
}

impl Broker {
    async fn open(endpoint: &Endpoint) -> ApiResult<Self> {
        Ok(Self { con: connect(endpoint).await?, display: endpoint.display.clone(), db: db_of(endpoint.url.expose()) })
    }

    /// One command to `workers`; every one of them must answer.
    async fn ask(&mut self, method: &str, args: &Json, workers: &[String]) -> ApiResult<BTreeMap<String, Json>> {
        let replies = control(
            &mut self.con,
            &self.display,
            self.db,
            method,
            args,
            Reach { destination: Some(workers), expected: workers.len(), timeout: REPLY_WAIT },
        )
        .await?;
        let silent: Vec<&str> = workers.iter().filter(|w| !replies.contains_key(*w)).map(String::as_str).collect();
        if !silent.is_empty() {
            return Err(ApiError::new(
                ErrorCode::Unreachable,
                format!(
                    "worker(s) {} did not answer '{method}' within {} s over the broker at {}: check that they run \
                     and reach this broker (the Queues page lists the live ones)",
                    silent.join(", "),
                    REPLY_WAIT.as_secs(),
                    self.display
                ),
            ));
        }
        Ok(replies)
    }

    /// Every live worker's hostname (those answering `ping`).
    async fn live_workers(&mut self) -> ApiResult<Vec<String>> {
        let replies = control(
            &mut self.con,
            &self.display,
            self.db,
            "ping",
            &json!({}),
            Reach { destination: None, expected: 0, timeout: Duration::from_secs(1) },
        )
        .await?;
        if replies.is_empty() {
            return Err(ApiError::new(
                ErrorCode::Unreachable,
                format!("no Celery worker answered over the broker at {}: nothing to change", self.display),
            ));
        }
        Ok(replies.into_keys().collect())
    }
}

/// `rate_limit=10/m` out of a `registered` line (`tasks.add [rate_limit=10/m]`); `none` unset.
fn rate_of(reply: &Json, task: &str) -> Option<String> {
    let line = reply.as_array()?.iter().filter_map(Json::as_str).find(|l| l.split(' ').next() == Some(task))?;
    let rate = line.split_once("rate_limit=").map(|(_, r)| r.trim_end_matches(']').split(' ').next().unwrap_or(""));
    Some(match rate {
        None | Some("") | Some("None") | Some("0") => "none".to_string(),
        Some(r) => r.to_string(),
    })
}

async fn rates(b: &mut Broker, task: &str, workers: &[String]) -> ApiResult<BTreeMap<String, String>> {
    let replies = b.ask("registered", &json!({"taskinfoitems": ["rate_limit"]}), workers).await?;
    replies
        .into_iter()
        .map(|(w, r)| {
            let rate = rate_of(&r, task).ok_or_else(|| {
                ApiError::invalid(format!(
                    "worker {w} has no task '{task}' registered: check the task's full name (the Queues page shows \
                     the names seen in the queues)"
                ))
            })?;
            Ok((w, rate))
        })
        .collect()
}

/// Pool processes of one worker, from `stats` (prefork lists their pids).
async fn pool_size(b: &mut Broker, worker: &str) -> ApiResult<(u64, Json)> {
    let replies = b.ask("stats", &json!({}), &[worker.to_string()]).await?;
    let pool = replies.get(worker).map(|s| s["pool"].clone()).unwrap_or_default();
    if pool.get("autoscaler").is_some_and(|a| !a.is_null()) {
        return Err(ApiError::invalid(format!(
            "worker {worker} runs with --autoscale: Celery refuses pool_grow/pool_shrink there; change its autoscale \
             range instead"
        )));
    }
    let n = pool["processes"].as_array().map(|p| p.len() as u64);
    n.map(|n| (n, pool.clone())).ok_or_else(|| {
        ApiError::invalid(format!(
            "worker {worker}'s pool ({}) does not list processes: only a prefork pool can grow or shrink from here",
            pool["implementation"].as_str().unwrap_or("unknown")
        ))
    })
}

async fn queues_of(b: &mut Broker, worker: &str) -> ApiResult<Vec<String>> {
    let replies = b.ask("active_queues", &json!({}), &[worker.to_string()]).await?;
    let mut qs: Vec<String> = replies
        .get(worker)
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(|q| q["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    qs.sort();
    Ok(qs)
}

fn with_queue(queues: &[String], queue: &str, add: bool) -> String {
    let mut out: Vec<&str> = queues.iter().map(String::as_str).filter(|q| *q != queue).collect();
    if add {
        out.push(queue);
    }
    out.sort();
    out.join(",")
}

/// The control command a plan sends, and to whom.
fn command(plan: &Plan, before: &[ValueChange]) -> Vec<(String, Json, Vec<String>)> {
    match plan {
        Plan::CeleryRateLimit { task, rate, .. } => {
            let workers =
                before.iter().filter_map(|c| c.name.rsplit_once(" on ").map(|(_, w)| w.to_string())).collect();
            // null puts the task back as it was declared (no limit); "" would leave `rate_limit=` behind.
            let rate = if rate == "none" { Json::Null } else { json!(rate) };
            vec![("rate_limit".into(), json!({"task_name": task, "rate_limit": rate}), workers)]
        }
        Plan::CeleryPoolResize { worker, processes } => {
            let now: u64 = before.first().and_then(|c| c.before.parse().ok()).unwrap_or(*processes);
            let (method, n) =
                if *processes >= now { ("pool_grow", processes - now) } else { ("pool_shrink", now - processes) };
            if n == 0 {
                return vec![];
            }
            vec![(method.into(), json!({"n": n}), vec![worker.clone()])]
        }
        Plan::CeleryConsumer { worker, queue, add: true } => {
            vec![("add_consumer".into(), json!({"queue": queue}), vec![worker.clone()])]
        }
        Plan::CeleryConsumer { worker, queue, add: false } => {
            vec![("cancel_consumer".into(), json!({"queue": queue}), vec![worker.clone()])]
        }
        _ => vec![],
    }
}

fn describe(db: i64, (method, args, to): &(String, Json, Vec<String>)) -> String {
    format!("pidbox /{db}.celery.pidbox: {method} {args} → {}", to.join(", "))
}

pub(super) async fn prepare(endpoint: &Endpoint, plan: &Plan) -> ApiResult<Prepared> {
    let mut b = Broker::open(endpoint).await?;
    let mut notes = vec![IN_MEMORY_NOTE.to_string()];
    let changes = match plan {
        Plan::CeleryRateLimit { task, rate, workers } => {
            let workers = match workers {
                Some(w) => w.clone(),
                None => b.live_workers().await?,
            };
            rates(&mut b, task, &workers)
                .await?
                .into_iter()
                .map(|(w, now)| ValueChange {
                    name: format!("rate_limit of {task} on {w}"),
                    before: now,
                    after: rate.clone(),
                })
                .collect()
        }
        Plan::CeleryPoolResize { worker, processes } => {
            let (now, pool) = pool_size(&mut b, worker).await?;
            if *processes < now {
                notes.push(
                    "pool_shrink stops idle processes only: a busy pool shrinks when its tasks finish".to_string(),
                );
            }
            if let Some(max) = pool["max-concurrency"].as_u64() {
                notes.push(format!("the worker started with a concurrency of {max}; prefetch follows the new size"));
            }
            vec![ValueChange {
                name: format!("pool processes on {worker}"),
                before: now.to_string(),
                after: processes.to_string(),
            }]
        }
        Plan::CeleryConsumer { worker, queue, add } => {
            let qs = queues_of(&mut b, worker).await?;
            if *add && qs.contains(queue) {
                return Err(ApiError::invalid(format!("{worker} already consumes '{queue}': nothing to add")));
            }
            if !*add && !qs.contains(queue) {
                return Err(ApiError::invalid(format!("{worker} does not consume '{queue}': nothing to cancel")));
            }
            if !*add && qs.len() == 1 {
                notes.push(format!("'{queue}' is the only queue {worker} consumes: it will take no work after this"));
            }
            vec![ValueChange {
                name: format!("queues consumed by {worker}"),
                before: qs.join(","),
                after: with_queue(&qs, queue, *add),
            }]
        }
        _ => unreachable!("not a Celery plan"),
    };
    let statements = command(plan, &changes).iter().map(|c| describe(b.db, c)).collect();
    Ok(Prepared { statements, changes, notes })
}

/// What the workers answer now, for each change of `planned`.
async fn read_back(b: &mut Broker, plan: &Plan, planned: &[ValueChange]) -> ApiResult<Vec<ValueChange>> {
    let now: Vec<String> = match plan {
        Plan::CeleryRateLimit { task, .. } => {
            let workers: Vec<String> =
                planned.iter().filter_map(|c| c.name.rsplit_once(" on ").map(|(_, w)| w.to_string())).collect();
            let r = rates(b, task, &workers).await?;
            workers.iter().map(|w| r.get(w).cloned().unwrap_or_default()).collect()
        }
        Plan::CeleryPoolResize { worker, .. } => vec![pool_size(b, worker).await?.0.to_string()],
        Plan::CeleryConsumer { worker, .. } => vec![queues_of(b, worker).await?.join(",")],
        _ => unreachable!("not a Celery plan"),
    };
    Ok(planned
        .iter()
        .zip(now)
        .map(|(c, now)| ValueChange { name: c.name.clone(), before: c.before.clone(), after: now })
        .collect())
}

pub(super) async fn run(endpoint: &Endpoint, plan: &Plan, planned: &[ValueChange]) -> Ran {
    let mut b = match Broker::open(endpoint).await {
        Ok(b) => b,
        Err(e) => return Ran::not_run(planned, format!("nothing was sent: {}", e.message)),
    };
    // A refusal or a silent worker is kept and reported beside what the workers answer after.
    let mut problem = None;
    for (method, args, to) in command(plan, planned) {
        match b.ask(&method, &args, &to).await {
            Ok(replies) => {
                let refused: Vec<String> = replies
                    .iter()
                    .filter_map(|(w, r)| r.get("error").and_then(Json::as_str).map(|e| format!("{w}: {e}")))
                    .collect();
                if !refused.is_empty() {
                    problem = Some(format!("{method} refused by {}", refused.join("; ")));
                }
            }
            Err(e) => problem = Some(format!("{method} was sent, but not every worker confirmed it: {}", e.message)),
        }
    }
    // A pool spawns or stops its processes after answering: ask until the values show.
    let deadline = Instant::now() + if problem.is_some() { Duration::ZERO } else { SETTLE_WAIT };
    loop {
        let read = read_back(&mut b, plan, planned).await;
        let done = read.as_ref().is_ok_and(|now| now.iter().zip(planned).all(|(n, want)| n.after == want.after));
        if done || Instant::now() >= deadline {
            return match read {
                Ok(changes) => {
                    let unchanged = changes.iter().all(|c| c.after == c.before);
                    let now =
                        changes.iter().map(|c| format!("{} = {}", c.name, c.after)).collect::<Vec<_>>().join(", ");
                    let (outcome, message) = match (&problem, done) {
                        (None, true) => (Outcome::Applied, None),
                        (Some(p), _) if unchanged => (Outcome::Failed, Some(format!("{p}; nothing changed ({now})"))),
                        (Some(p), _) => (Outcome::Unverified, Some(format!("{p}; the workers now answer {now}"))),
                        (None, false) => (
                            Outcome::Unverified,
                            Some(format!("sent, but after {} s the workers answer {now}", SETTLE_WAIT.as_secs())),
                        ),
                    };
                    Ran { changes, outcome, message }
                }
                Err(e) => Ran {
                    changes: planned.to_vec(),
                    outcome: Outcome::Unverified,
                    message: Some(format!(
                        "{}the values could not be read back: {}; check them on the Queues page",
                        problem.map(|p| format!("{p}; ")).unwrap_or_default(),
                        e.message
                    )),
                },
            };
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_read_from_registered_lines() {
        let r = json!(["tasks.add [rate_limit=10/m]", "tasks.mul", "tasks.sub [rate_limit=None]"]);
        assert_eq!(rate_of(&r, "tasks.add").as_deref(), Some("10/m"));
        assert_eq!(rate_of(&r, "tasks.mul").as_deref(), Some("none"));
        assert_eq!(rate_of(&r, "tasks.sub").as_deref(), Some("none"));
        assert_eq!(rate_of(&r, "tasks.div"), None);
        assert!(validate_rate("10/m").is_ok() && validate_rate("2.5").is_ok() && validate_rate("none").is_ok());
        assert!(validate_rate("10/d").is_err() && validate_rate("fast").is_err() && validate_rate("-1/s").is_err());
        assert!(validate_worker("celery@box").is_ok() && validate_worker("box").is_err());
        assert!(validate_queue("llm_queue").is_ok() && validate_queue("a b").is_err());
    }

    #[test]
    fn a_resize_sends_the_difference() {
        let plan = Plan::CeleryPoolResize { worker: "celery@w".into(), processes: 5 };
        let before =
            vec![ValueChange { name: "pool processes on celery@w".into(), before: "2".into(), after: "5".into() }];
        let c = command(&plan, &before);
        assert_eq!(c[0].0, "pool_grow");
        assert_eq!(c[0].1, json!({"n": 3}));
        let plan = Plan::CeleryPoolResize { worker: "celery@w".into(), processes: 1 };
        assert_eq!(
            command(&plan, &before)[0],
            ("pool_shrink".to_string(), json!({"n": 1}), vec!["celery@w".to_string()])
        );
        assert_eq!(with_queue(&["b".into(), "a".into()], "c", true), "a,b,c");
        assert_eq!(with_queue(&["a".into(), "c".into()], "c", false), "a");
    }
}
