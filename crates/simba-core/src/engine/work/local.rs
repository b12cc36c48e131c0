//! In-process queues with the semantics the spec sets for the platform's Celery workers
//! (`task_acks_late`, `worker_prefetch_multiplier`, `worker_concurrency`, routing by kind):
//!
//! - Each queue has `workers` worker tasks, each running one job at a time, so at most `workers`
//!   jobs of a queue run at once.
//! - A worker reserves up to `prefetch` jobs (the one it runs included) and holds them unacked:
//!   a job leaves the queue's books only when it finished (acks late).
//! - A worker that dies (its job panicked, or the task was aborted) gives back what it held: its
//!   supervisor sees the death in its `JoinSet`, redelivers the reserved jobs at once and counts
//!   the running one's attempt as failed (a panic, retried with back-off) or redelivers it (an
//!   abort, which is no fault of the job); then it starts a new worker.
//! - A failed attempt is retried after `retry_base * 2^(n-1)`, capped at `retry_cap`, at most
//!   `max_retries` times; then the job fails with its last error. Errors that retrying cannot fix
//!   (bad input, a refused key, bad configuration) fail at once.
//!
//! The queues start on first use in the current tokio runtime, and start again if that runtime
//! ended (a job is never handed to workers that are gone).

use super::TaskKind;
use crate::error::{ApiError, ApiResult, ErrorCode};
use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{AbortHandle, JoinError, JoinHandle, JoinSet};
use ts_rs::TS;

/// One queue's limits and retry policy.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueConfig {
    /// Worker tasks: the most jobs of this queue that run at once.
    pub workers: u32,
    /// The most jobs one worker holds unacked, the running one included.
    pub prefetch: u32,
    pub max_retries: u32,
    pub retry_base: Duration,
    pub retry_cap: Duration,
}

impl QueueConfig {
    /// The spec's settings: model calls and embedding batches are memory-heavy (prefetch 1, as
    /// `worker_prefetch_multiplier = 1`); data work is light and plentiful.
    pub fn default_for(kind: TaskKind) -> Self {
        let (workers, prefetch) = match kind {
            TaskKind::Llm => (2, 1),
            TaskKind::Data => (4, 4),
            TaskKind::Vector => (2, 1),
        };
        Self {
            workers,
            prefetch,
            max_retries: 3,
            retry_base: Duration::from_millis(500),
            retry_cap: Duration::from_secs(30),
        }
    }

    /// The delay before retry `n` (1-based).
    pub fn backoff(&self, n: u32) -> Duration {
        self.retry_base.saturating_mul(1u32 << n.saturating_sub(1).min(20)).min(self.retry_cap)
    }

    fn validate(&self, queue: &str) -> ApiResult<()> {
        if !(1..=256).contains(&self.workers) {
            return Err(ApiError::new(
                ErrorCode::BadConfig,
                format!("{queue}: workers is {}; give 1 to 256", self.workers),
            ));
        }
        if !(1..=1000).contains(&self.prefetch) {
            return Err(ApiError::new(
                ErrorCode::BadConfig,
                format!("{queue}: prefetch is {}; give 1 to 1000", self.prefetch),
            ));
        }
        Ok(())
    }
}

/// How one job is retried.
#[derive(Debug, Clone, Default)]
pub struct JobOptions {
    /// The queue's `max_retries` when absent.
    pub max_retries: Option<u32>,
    /// Errors are final, only a worker's death is retried (for calls that retry on their own,
    /// such as the chat providers' clients).
    pub no_error_retries: bool,
}

/// One queue's figures since the app started.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueueStats {
    pub queue: String,
    pub workers: u32,
    pub prefetch: u32,
    /// Waiting for a worker.
    #[ts(type = "number")]
    pub depth: u64,
    /// Held by workers, unacked: running or reserved.
    #[ts(type = "number")]
    pub in_flight: u64,
    #[ts(type = "number")]
    pub running: u64,
    /// Waiting out a retry's back-off.
    #[ts(type = "number")]
    pub retry_waiting: u64,
    #[ts(type = "number")]
    pub done: u64,
    /// Failed for good (retries spent, or an error retrying cannot fix).
    #[ts(type = "number")]
    pub failed: u64,
    /// Retries scheduled after an error or a panicked worker.
    #[ts(type = "number")]
    pub retried: u64,
    /// Jobs given back by a worker that was stopped.
    #[ts(type = "number")]
    pub redelivered: u64,
    /// Workers that died and were replaced.
    #[ts(type = "number")]
    pub worker_restarts: u64,
}

/// The in-process queues' figures (the `work_stats` command).
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct WorkStats {
    pub queues: Vec<QueueStats>,
}

type Run = Arc<dyn Fn(u32) -> BoxFuture<'static, ApiResult<Deliver>> + Send + Sync>;
/// Hands a finished job's value to the waiter: called once the job is acked, so whoever sees
/// the value sees the queue's figures count it.
type Deliver = Box<dyn FnOnce() + Send>;
type Fail = Arc<dyn Fn(ApiError) + Send + Sync>;

struct Job {
    name: Arc<str>,
    /// Attempts that ended in an error or a panic.
    failures: u32,
    max_retries: u32,
    retry_errors: bool,
    /// Runs one attempt (1-based).
    run: Run,
    /// Hands the final error to the waiter.
    fail: Fail,
}

#[derive(Default)]
struct Counters {
    depth: AtomicU64,
    reserved: AtomicU64,
    running: AtomicU64,
    retry_waiting: AtomicU64,
    done: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    redelivered: AtomicU64,
    worker_restarts: AtomicU64,
}

fn inc(a: &AtomicU64) {
    a.fetch_add(1, Ordering::SeqCst);
}
fn dec(a: &AtomicU64) {
    a.fetch_sub(1, Ordering::SeqCst);
}

/// What one worker holds unacked.
#[derive(Default)]
struct Held {
    running: Option<Job>,
    reserved: VecDeque<Job>,
}

impl Held {
    fn count(&self) -> usize {
        self.reserved.len() + usize::from(self.running.is_some())
    }
}

struct Queue {
    kind: TaskKind,
    config: QueueConfig,
    tx: mpsc::UnboundedSender<Job>,
    rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Job>>,
    counters: Counters,
    /// The supervisor of this queue's workers, once started.
    supervisor: Mutex<Option<JoinHandle<()>>>,
    /// Each worker's abort handle by its index (tests stop workers as a crash would).
    #[cfg_attr(not(test), allow(dead_code))]
    workers: Mutex<Vec<Option<AbortHandle>>>,
}

impl Queue {
    fn new(kind: TaskKind, config: QueueConfig) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            kind,
            tx,
            rx: tokio::sync::Mutex::new(rx),
            counters: Counters::default(),
            supervisor: Mutex::new(None),
            workers: Mutex::new(vec![None; config.workers as usize]),
            config,
        }
    }

    fn push(&self, job: Job) {
        inc(&self.counters.depth);
        // The receiver lives as long as the queue, so this cannot fail.
        let _ = self.tx.send(job);
    }

    /// Starts the supervisor in the current runtime unless it runs already.
    fn ensure_running(self: &Arc<Self>) -> ApiResult<()> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| ApiError::internal("the work queues need a tokio runtime to run in"))?;
        let mut supervisor = self.supervisor.lock();
        if supervisor.as_ref().is_none_or(|h| h.is_finished()) {
            *supervisor = Some(handle.spawn(supervise(self.clone())));
        }
        Ok(())
    }

    /// An attempt failed: retry after the back-off, or report the final failure.
    fn failed_attempt(self: &Arc<Self>, mut job: Job, error: ApiError, panicked: bool) {
        job.failures += 1;
        let retryable = panicked || (job.retry_errors && retryable(&error));
        if retryable && job.failures <= job.max_retries {
            inc(&self.counters.retried);
            inc(&self.counters.retry_waiting);
            let delay = self.config.backoff(job.failures);
            tracing::warn!(
                queue = self.kind.queue(),
                job = %job.name,
                "attempt {} failed, retried in {} ms: {}",
                job.failures,
                delay.as_millis(),
                error.message
            );
            let queue = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                dec(&queue.counters.retry_waiting);
                queue.push(job);
            });
        } else {
            inc(&self.counters.failed);
            let error = if job.failures > 1 {
                ApiError::new(
                    error.code,
                    format!("{} failed after {} attempts; the last: {}", job.name, job.failures, error.message),
                )
            } else {
                error
            };
            (job.fail)(error);
        }
    }
}

/// Errors another attempt may fix: a server that did not answer, or an unexpected state.
fn retryable(e: &ApiError) -> bool {
    matches!(e.code, ErrorCode::Unreachable | ErrorCode::Internal)
}

fn panic_message(e: JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into()),
        Err(e) => e.to_string(),
    }
}

/// Each live worker's index and what it holds, by its task.
type Workers = HashMap<tokio::task::Id, (usize, Arc<Mutex<Held>>)>;

/// Keeps a queue's workers running: a worker that ended gives back what it held, and another
/// takes its place.
async fn supervise(queue: Arc<Queue>) {
    let mut set = JoinSet::new();
    let mut by_task: Workers = HashMap::new();
    let start = |set: &mut JoinSet<()>, by_task: &mut Workers, index: usize| {
        let held = Arc::new(Mutex::new(Held::default()));
        let abort = set.spawn(work(queue.clone(), held.clone()));
        by_task.insert(abort.id(), (index, held));
        queue.workers.lock()[index] = Some(abort);
    };
    for index in 0..queue.config.workers as usize {
        start(&mut set, &mut by_task, index);
    }
    while let Some(ended) = set.join_next_with_id().await {
        let (id, panicked) = match ended {
            Ok((id, ())) => (id, None),
            Err(e) if e.is_panic() => (e.id(), Some(panic_message(e))),
            Err(e) => (e.id(), None),
        };
        let Some((index, held)) = by_task.remove(&id) else { continue };
        let Held { running, reserved } = std::mem::take(&mut *held.lock());
        if let Some(job) = running {
            dec(&queue.counters.running);
            match &panicked {
                Some(why) => {
                    let error = ApiError::internal(format!("the worker running {} panicked: {why}", job.name));
                    queue.failed_attempt(job, error, true);
                }
                None => {
                    inc(&queue.counters.redelivered);
                    queue.push(job);
                }
            }
        }
        for job in reserved {
            dec(&queue.counters.reserved);
            inc(&queue.counters.redelivered);
            queue.push(job);
        }
        inc(&queue.counters.worker_restarts);
        start(&mut set, &mut by_task, index);
    }
}

/// One worker: runs its reserved jobs one at a time, acking each when it ends, and keeps
/// reserving more while it runs until it holds `prefetch` (as a Celery worker prefetches).
async fn work(queue: Arc<Queue>, held: Arc<Mutex<Held>>) {
    let prefetch = queue.config.prefetch as usize;
    // No await between receiving a job and holding it: an abort cannot lose it.
    let take = |job: Job| {
        dec(&queue.counters.depth);
        inc(&queue.counters.reserved);
        held.lock().reserved.push_back(job);
    };
    let receive = || async { queue.rx.lock().await.recv().await };
    loop {
        if held.lock().count() == 0 {
            match receive().await {
                Some(job) => take(job),
                None => return,
            }
        }
        let (run, attempt) = {
            let mut h = held.lock();
            let Some(job) = h.reserved.pop_front() else { continue };
            dec(&queue.counters.reserved);
            inc(&queue.counters.running);
            let started = (job.run.clone(), job.failures + 1);
            h.running = Some(job);
            started
        };
        let mut running = run(attempt);
        let outcome = loop {
            if held.lock().count() >= prefetch {
                break running.await;
            }
            // Both sides are cancel-safe: a receive cut short by the job's end takes nothing.
            tokio::select! {
                outcome = &mut running => break outcome,
                next = receive() => match next {
                    Some(job) => take(job),
                    None => break running.await,
                },
            }
        };
        let Some(job) = held.lock().running.take() else { continue };
        dec(&queue.counters.running);
        match outcome {
            Ok(deliver) => {
                inc(&queue.counters.done);
                deliver();
            }
            Err(e) => queue.failed_attempt(job, e, false),
        }
    }
}

/// A submitted job's result.
pub struct JobHandle<T> {
    rx: oneshot::Receiver<ApiResult<T>>,
}

impl<T> JobHandle<T> {
    /// The job's value, or its final error.
    pub async fn wait(self) -> ApiResult<T> {
        self.rx.await.unwrap_or_else(|_| Err(ApiError::internal("the work queues stopped before the job finished")))
    }
}

/// The three queues.
pub struct LocalQueues {
    queues: [Arc<Queue>; 3],
}

impl Default for LocalQueues {
    fn default() -> Self {
        Self::new(TaskKind::ALL.map(QueueConfig::default_for)).expect("the default queue settings are valid")
    }
}

impl LocalQueues {
    /// Queues with these settings (for llm, data, vector). Nothing runs until the first job.
    pub fn new(configs: [QueueConfig; 3]) -> ApiResult<Self> {
        let mut i = 0;
        let queues = configs.map(|config| {
            let q = Arc::new(Queue::new(TaskKind::ALL[i], config));
            i += 1;
            q
        });
        for q in &queues {
            q.config.validate(q.kind.queue())?;
        }
        Ok(Self { queues })
    }

    /// The defaults, with `SIMBA_WORKER_CONCURRENCY` and `SIMBA_WORKER_PREFETCH` (Celery's
    /// `worker_concurrency`, and the prefetch per worker) applied to every queue when set.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> ApiResult<Self> {
        let number = |name: &str| -> ApiResult<Option<u32>> {
            match get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => v
                    .parse::<u32>()
                    .map(Some)
                    .map_err(|_| ApiError::new(ErrorCode::BadConfig, format!("{name} is '{v}'; give a whole number"))),
            }
        };
        let (workers, prefetch) = (number("SIMBA_WORKER_CONCURRENCY")?, number("SIMBA_WORKER_PREFETCH")?);
        Self::new(TaskKind::ALL.map(|kind| {
            let mut c = QueueConfig::default_for(kind);
            c.workers = workers.unwrap_or(c.workers);
            c.prefetch = prefetch.unwrap_or(c.prefetch);
            c
        }))
    }

    fn queue(&self, kind: TaskKind) -> &Arc<Queue> {
        &self.queues[kind.index()]
    }

    pub fn config(&self, kind: TaskKind) -> &QueueConfig {
        &self.queue(kind).config
    }

    /// Queues `f` on its kind's queue. `f` gets the attempt number (1 for the first) and may be
    /// called again after a failure or a worker's death.
    pub fn submit<T, F, Fut>(&self, kind: TaskKind, name: &str, options: JobOptions, f: F) -> JobHandle<T>
    where
        T: Send + 'static,
        F: Fn(u32) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ApiResult<T>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let waiter = Arc::new(Mutex::new(Some(tx)));
        let queue = self.queue(kind);
        if let Err(e) = queue.ensure_running() {
            let _ = waiter.lock().take().map(|tx| tx.send(Err(e)));
            return JobHandle { rx };
        }
        let f = Arc::new(f);
        let on_success = waiter.clone();
        let run: Run = Arc::new(move |attempt| {
            let (f, waiter) = (f.clone(), on_success.clone());
            Box::pin(async move {
                let value = f(attempt).await?;
                let deliver: Deliver = Box::new(move || {
                    if let Some(tx) = waiter.lock().take() {
                        // The waiter may have gone (the caller gave up): the job is done all the same.
                        let _ = tx.send(Ok(value));
                    }
                });
                Ok(deliver)
            })
        });
        let fail: Fail = Arc::new(move |e| {
            if let Some(tx) = waiter.lock().take() {
                let _ = tx.send(Err(e));
            }
        });
        queue.push(Job {
            name: name.into(),
            failures: 0,
            max_retries: options.max_retries.unwrap_or(queue.config.max_retries),
            retry_errors: !options.no_error_retries,
            run,
            fail,
        });
        JobHandle { rx }
    }

    /// [`Self::submit`], then waits for the result.
    pub async fn run<T, F, Fut>(&self, kind: TaskKind, name: &str, options: JobOptions, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: Fn(u32) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ApiResult<T>> + Send + 'static,
    {
        self.submit(kind, name, options, f).wait().await
    }

    pub fn stats(&self) -> WorkStats {
        let queues = self
            .queues
            .iter()
            .map(|q| {
                let c = &q.counters;
                let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
                let running = get(&c.running);
                QueueStats {
                    queue: q.kind.queue().into(),
                    workers: q.config.workers,
                    prefetch: q.config.prefetch,
                    depth: get(&c.depth),
                    in_flight: running + get(&c.reserved),
                    running,
                    retry_waiting: get(&c.retry_waiting),
                    done: get(&c.done),
                    failed: get(&c.failed),
                    retried: get(&c.retried),
                    redelivered: get(&c.redelivered),
                    worker_restarts: get(&c.worker_restarts),
                }
            })
            .collect();
        WorkStats { queues }
    }

    pub fn stats_of(&self, kind: TaskKind) -> QueueStats {
        self.stats().queues.swap_remove(kind.index())
    }

    /// Stops a worker as a crash would (tests).
    #[cfg(test)]
    fn abort_worker(&self, kind: TaskKind, index: usize) {
        if let Some(h) = &self.queue(kind).workers.lock()[index] {
            h.abort();
        }
    }
}

impl Drop for LocalQueues {
    fn drop(&mut self) {
        // Aborting a supervisor drops its JoinSet, which aborts the workers.
        for q in &self.queues {
            if let Some(h) = q.supervisor.lock().take() {
                h.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, AtomicUsize};
    use std::time::Instant;

    fn config(workers: u32, prefetch: u32, max_retries: u32) -> QueueConfig {
        QueueConfig {
            workers,
            prefetch,
            max_retries,
            retry_base: Duration::from_millis(20),
            retry_cap: Duration::from_millis(200),
        }
    }

    fn queues(c: QueueConfig) -> LocalQueues {
        LocalQueues::new([c.clone(), c.clone(), c]).unwrap()
    }

    /// Polls until `done` holds (the stats move as workers take, run and ack jobs).
    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < deadline, "never happened: {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_whose_worker_panics_is_retried_and_completes() {
        let q = queues(config(1, 1, 3));
        let attempts = Arc::new(AtomicU32::new(0));
        let a = attempts.clone();
        let value = q
            .run(TaskKind::Data, "flaky", JobOptions::default(), move |attempt| {
                a.fetch_add(1, Ordering::SeqCst);
                async move {
                    if attempt == 1 {
                        panic!("the first attempt dies");
                    }
                    Ok(attempt * 10)
                }
            })
            .await
            .unwrap();
        assert_eq!(value, 20, "the second attempt's value");
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
        let s = q.stats_of(TaskKind::Data);
        assert_eq!((s.done, s.failed, s.retried, s.worker_restarts), (1, 0, 1, 1), "{s:?}");
        // The replacement worker serves the next job.
        assert_eq!(q.run(TaskKind::Data, "next", JobOptions::default(), |_| async { Ok(7) }).await.unwrap(), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_held_by_an_aborted_worker_are_redelivered_never_lost() {
        let q = Arc::new(queues(config(1, 3, 0)));
        let release = Arc::new(tokio::sync::Notify::new());
        let runs = Arc::new(AtomicU32::new(0));
        let handles: Vec<_> = (0..3)
            .map(|i| {
                let (release, runs) = (release.clone(), runs.clone());
                q.submit(TaskKind::Vector, "held", JobOptions::default(), move |_| {
                    let (release, runs) = (release.clone(), runs.clone());
                    async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        if i == 0 {
                            release.notified().await;
                        }
                        Ok(i)
                    }
                })
            })
            .collect();
        // One running, two reserved by the single worker, none left in the queue.
        until("the worker holds all three", || {
            let s = q.stats_of(TaskKind::Vector);
            s.running == 1 && s.in_flight == 3 && s.depth == 0
        })
        .await;
        q.abort_worker(TaskKind::Vector, 0);
        until("a new worker runs the first job again", || runs.load(Ordering::SeqCst) >= 2).await;
        release.notify_one();
        let mut results = Vec::new();
        for h in handles {
            results.push(h.wait().await.unwrap());
        }
        assert_eq!(results, [0, 1, 2]);
        let s = q.stats_of(TaskKind::Vector);
        assert_eq!((s.done, s.failed, s.redelivered, s.worker_restarts), (3, 0, 3, 1), "{s:?}");
        assert_eq!(s.in_flight + s.depth, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_that_keeps_failing_ends_failed_after_its_retries_with_growing_back_off() {
        let q = queues(config(2, 1, 3));
        let times = Arc::new(Mutex::new(Vec::new()));
        let t = times.clone();
        let e = q
            .run(TaskKind::Llm, "always-down", JobOptions::default(), move |attempt| {
                t.lock().push(Instant::now());
                async move { Err::<(), _>(ApiError::new(ErrorCode::Unreachable, format!("down on attempt {attempt}"))) }
            })
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Unreachable);
        assert!(e.message.contains("after 4 attempts") && e.message.contains("down on attempt 4"), "{e}");
        let times = times.lock().clone();
        assert_eq!(times.len(), 4, "one attempt and three retries");
        let c = config(2, 1, 3);
        for (n, pair) in times.windows(2).enumerate() {
            let gap = pair[1] - pair[0];
            // A sleep never ends early: each gap is at least its back-off (20, 40, 80 ms).
            assert!(gap >= c.backoff(n as u32 + 1), "gap {n} was {gap:?}");
        }
        assert!(c.backoff(1) < c.backoff(2) && c.backoff(2) < c.backoff(3));
        assert_eq!(c.backoff(10), c.retry_cap, "capped");
        let s = q.stats_of(TaskKind::Llm);
        assert_eq!((s.done, s.failed, s.retried), (0, 1, 3), "{s:?}");

        // Bad input is not retried; with no_error_retries an error is final, its message as it was.
        let tries = Arc::new(AtomicU32::new(0));
        let n = tries.clone();
        let e = q
            .run(TaskKind::Llm, "bad", JobOptions::default(), move |_| {
                n.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(ApiError::invalid("the question is empty")) }
            })
            .await
            .unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (ErrorCode::InvalidInput, "the question is empty"));
        let options = JobOptions { no_error_retries: true, ..Default::default() };
        let n = tries.clone();
        q.run(TaskKind::Llm, "once", options, move |_| {
            n.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(ApiError::new(ErrorCode::Unreachable, "provider down")) }
        })
        .await
        .unwrap_err();
        assert_eq!(tries.load(Ordering::SeqCst), 2, "each ran once");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrency_never_exceeds_the_workers_and_prefetch_bounds_held_jobs() {
        let (workers, prefetch) = (3u32, 2u32);
        let q = Arc::new(queues(config(workers, prefetch, 0)));
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let handles: Vec<_> = (0..40)
            .map(|i| {
                let (now, most, gate) = (now.clone(), most.clone(), gate.clone());
                q.submit(TaskKind::Data, "count", JobOptions::default(), move |_| {
                    let (now, most, gate) = (now.clone(), most.clone(), gate.clone());
                    async move {
                        let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(running, Ordering::SeqCst);
                        gate.acquire().await.unwrap().forget();
                        now.fetch_sub(1, Ordering::SeqCst);
                        Ok(i)
                    }
                })
            })
            .collect();
        // Every worker is busy and has reserved up to its prefetch; the rest wait in the queue.
        let held = (workers * prefetch) as u64;
        until("the workers hold their prefetch", || {
            let s = q.stats_of(TaskKind::Data);
            s.in_flight == held && s.running == workers as u64
        })
        .await;
        let s = q.stats_of(TaskKind::Data);
        assert_eq!(s.depth, 40 - held, "{s:?}");
        // Let the jobs through a few at a time; the bounds hold at every step.
        for _ in 0..20 {
            gate.add_permits(2);
            tokio::time::sleep(Duration::from_millis(2)).await;
            let s = q.stats_of(TaskKind::Data);
            assert!(s.in_flight <= held && s.running <= workers as u64, "{s:?}");
        }
        gate.add_permits(1000);
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.wait().await.unwrap(), i);
        }
        assert_eq!(most.load(Ordering::SeqCst), workers as usize, "as many ran at once as there are workers");
        assert_eq!(q.stats_of(TaskKind::Data).done, 40);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_thousand_jobs_all_complete_exactly_once_on_the_queue_of_their_kind() {
        let q = Arc::new(queues(config(4, 3, 2)));
        let runs: Arc<Vec<AtomicU32>> = Arc::new((0..1000).map(|_| AtomicU32::new(0)).collect());
        let mut handles = Vec::new();
        for i in 0..1000usize {
            let runs = runs.clone();
            handles.push(q.submit(TaskKind::ALL[i % 3], "one", JobOptions::default(), move |_| {
                let runs = runs.clone();
                async move {
                    runs[i].fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    Ok(i)
                }
            }));
        }
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.wait().await.unwrap(), i);
        }
        assert!(runs.iter().all(|r| r.load(Ordering::SeqCst) == 1), "every job ran exactly once");
        let stats = q.stats();
        let done: Vec<u64> = stats.queues.iter().map(|s| s.done).collect();
        assert_eq!(done, [334, 333, 333], "routed by kind: {stats:?}");
        let names: Vec<&str> = stats.queues.iter().map(|s| s.queue.as_str()).collect();
        assert_eq!(names, ["llm_queue", "data_queue", "vector_queue"]);
        assert!(stats.queues.iter().all(|s| s.failed == 0 && s.depth == 0 && s.in_flight == 0));
    }

    #[tokio::test]
    async fn routing_puts_each_kind_on_its_own_queue() {
        let q = queues(config(1, 1, 0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let g = gate.clone();
        let held = q.submit(TaskKind::Vector, "embed", JobOptions::default(), move |_| {
            let g = g.clone();
            async move {
                g.notified().await;
                Ok(())
            }
        });
        until("the vector job runs", || q.stats_of(TaskKind::Vector).running == 1).await;
        assert_eq!(q.stats_of(TaskKind::Llm).running + q.stats_of(TaskKind::Data).running, 0);
        // A busy vector queue does not hold up model calls.
        assert_eq!(
            q.run(TaskKind::Llm, "chat", JobOptions::default(), |_| async { Ok("answer") }).await.unwrap(),
            "answer"
        );
        gate.notify_one();
        held.wait().await.unwrap();
    }

    #[test]
    fn settings_are_read_and_bad_ones_named() {
        let q = LocalQueues::from_vars(|n| (n == "SIMBA_WORKER_CONCURRENCY").then(|| "6".to_string())).unwrap();
        assert_eq!(q.config(TaskKind::Llm).workers, 6);
        assert_eq!(q.config(TaskKind::Data).prefetch, 4);
        let e = LocalQueues::from_vars(|n| (n == "SIMBA_WORKER_PREFETCH").then(|| "many".to_string())).err().unwrap();
        assert!(e.message.contains("SIMBA_WORKER_PREFETCH"), "{e}");
        let e = LocalQueues::from_vars(|n| (n == "SIMBA_WORKER_CONCURRENCY").then(|| "0".to_string())).err().unwrap();
        assert_eq!(e.code, ErrorCode::BadConfig);
        // No runtime: a clear error, not a panic.
        let q = LocalQueues::default();
        let h = q.submit(TaskKind::Data, "x", JobOptions::default(), |_| async { Ok(()) });
        let e = futures::executor::block_on(h.wait()).unwrap_err();
        assert!(e.message.contains("tokio runtime"), "{e}");
    }
}
