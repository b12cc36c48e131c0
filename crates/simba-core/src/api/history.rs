//! History on the facade: the sampler (`start_sampler`, `sample_round`), the series, charts and
//! alerts computed from what it stored, and its status.

use super::Service;
use crate::error::{ApiError, ApiResult};
use crate::history::alerts::{self, AlertRules, AlertsReport, AlertsRequest, RuleStore};
use crate::history::chart::{self, ChartExport, ChartRequest};
use crate::history::store::{HistoryStore, Sample};
use crate::history::{self, collect, series, HistoryReport, HistoryRequest, SampledProfile, SamplerStatus, Source};
use crate::profiles::{Endpoint, ResolvedProfile};
use crate::sources::worker_watch::WorkerWatch;
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The sampler's state inside the service.
pub(crate) struct HistoryState {
    path: PathBuf,
    store: tokio::sync::OnceCell<Arc<HistoryStore>>,
    interval: Mutex<Duration>,
    retention_days: u32,
    /// Profiles the service was asked about: sampled with the saved ones while the sampler runs.
    watched: Mutex<BTreeSet<String>>,
    /// Whether a sampler loop runs in this process (`serve`, the desktop app).
    sampling: std::sync::atomic::AtomicBool,
    runs: Mutex<BTreeMap<String, Run>>,
    /// (profile, rule) of the alerts firing at the last look, to tell the ones that start.
    firing: Mutex<BTreeSet<(String, String)>>,
    /// Told of each alert that starts firing (the desktop app's notifications); else it is logged.
    on_alert: Mutex<Option<AlertHook>>,
    /// A heartbeat listener per Celery broker sampled, by broker URL (in memory only), with when
    /// it was last read: one that no round reads for [`WATCH_IDLE`] is stopped.
    worker_watches: Mutex<BTreeMap<String, (Arc<WorkerWatch>, Instant)>>,
}

/// How long a broker's heartbeat listener outlives the last round that sampled the broker.
const WATCH_IDLE: Duration = Duration::from_secs(600);

/// What the sampler calls when an alert starts firing: the profile and the alert.
pub type AlertHook = Arc<dyn Fn(&str, &alerts::AlertState) + Send + Sync>;

/// What the last sample of one profile did.
#[derive(Debug, Clone, Default)]
struct Run {
    sources: Vec<String>,
    last_sample_ms: Option<i64>,
    last_error: Option<String>,
}

impl HistoryState {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            store: tokio::sync::OnceCell::new(),
            interval: Mutex::new(Duration::from_secs(history::DEFAULT_INTERVAL_SECONDS)),
            retention_days: history::DEFAULT_RETENTION_DAYS,
            watched: Mutex::new(BTreeSet::new()),
            sampling: std::sync::atomic::AtomicBool::new(false),
            runs: Mutex::new(BTreeMap::new()),
            firing: Mutex::new(BTreeSet::new()),
            on_alert: Mutex::new(None),
            worker_watches: Mutex::new(BTreeMap::new()),
        }
    }
}

/// The history file's default place.
pub(crate) fn default_history_path() -> PathBuf {
    crate::paths::data_dir().join("history.db")
}

/// How long one source's sample may take.
fn sample_timeout(interval: Duration) -> Duration {
    interval.clamp(Duration::from_secs(2), Duration::from_secs(5))
}

fn sources_of(profile: &ResolvedProfile) -> Vec<Source> {
    Source::ALL.into_iter().filter(|s| profile.endpoint(s.service()).is_some()).collect()
}

impl Service {
    /// The heartbeat listener of the broker at `endpoint`, started on first use.
    fn worker_watch(&self, endpoint: &Endpoint) -> Arc<WorkerWatch> {
        let mut watches = self.inner.history.worker_watches.lock();
        watches.retain(|_, (_, used)| used.elapsed() < WATCH_IDLE);
        let slot = watches
            .entry(endpoint.url.expose().to_string())
            .or_insert_with(|| (Arc::new(WorkerWatch::start(endpoint)), Instant::now()));
        slot.1 = Instant::now();
        slot.0.clone()
    }

    /// The history file, opened on first use.
    pub async fn history_store(&self) -> ApiResult<Arc<HistoryStore>> {
        let state = &self.inner.history;
        state.store.get_or_try_init(|| async { HistoryStore::open(&state.path).await.map(Arc::new) }).await.cloned()
    }

    /// Samples every source of `profile` once and stores the result (a failure as a gap with its
    /// redacted reason). Returns the profile's status after it.
    pub async fn sample_profile(&self, profile: &ResolvedProfile) -> ApiResult<SampledProfile> {
        let store = self.history_store().await?;
        let interval = *self.inner.history.interval.lock();
        let limit = sample_timeout(interval);
        let t_ms = history::now_ms();
        let sources = sources_of(profile);
        let reads = futures::future::join_all(sources.iter().map(|source| async move {
            let endpoint = profile.endpoint(source.service()).expect("filtered on the endpoint");
            let read = match source {
                Source::Redis => collect::redis(endpoint, limit).await,
                Source::Postgres => collect::postgres(endpoint, limit).await,
                Source::Celery => {
                    let watch = self.worker_watch(endpoint);
                    collect::celery(endpoint, limit, Some(&watch)).await
                }
                Source::Kubernetes => collect::kubernetes(endpoint, &profile.name, limit).await,
            };
            (*source, read.map_err(|e| collect::redacted_reason(&e, endpoint)))
        }))
        .await;
        let mut errors = vec![];
        for (source, outcome) in reads {
            if let Err(reason) = &outcome {
                errors.push(format!("{}: {reason}", source.name()));
            }
            let sample = Sample { t_ms, interval_ms: interval.as_millis() as i64, outcome };
            store.insert(&profile.name, source, &sample).await?;
        }
        let run = Run {
            sources: sources.iter().map(|s| s.name().to_string()).collect(),
            last_sample_ms: Some(t_ms),
            last_error: (!errors.is_empty()).then(|| errors.join("; ")),
        };
        self.inner.history.runs.lock().insert(profile.name.clone(), run.clone());
        Ok(SampledProfile {
            profile: profile.name.clone(),
            sources: run.sources,
            last_sample_ms: run.last_sample_ms,
            last_error: run.last_error,
            samples: store.count(&profile.name).await?,
        })
    }

    /// The profiles the sampler reads: `names` when given, else every saved profile with Redis or
    /// PostgreSQL and every profile the service was asked about.
    fn profiles_to_sample(&self, names: Option<&[String]>) -> ApiResult<Vec<String>> {
        if let Some(names) = names.filter(|n| !n.is_empty()) {
            return Ok(names.to_vec());
        }
        let mut out: BTreeSet<String> = self
            .list_profiles()?
            .into_iter()
            .filter(|p| p.origin == "file")
            .filter(|p| p.endpoints.iter().any(|e| Source::ALL.iter().any(|s| s.service() == e.service)))
            .map(|p| p.name)
            .collect();
        out.extend(self.inner.history.watched.lock().iter().cloned());
        Ok(out.into_iter().collect())
    }

    /// One sampling round over [`Self::profiles_to_sample`]; each profile's outcome (a profile that
    /// cannot be resolved is reported, not sampled).
    pub async fn sample_round(&self, names: Option<&[String]>) -> ApiResult<Vec<SampledProfile>> {
        let names = self.profiles_to_sample(names)?;
        let rounds = futures::future::join_all(names.iter().map(|name| async move {
            let sampled = match self.resolve_profile(name) {
                Ok(profile) if sources_of(&profile).is_empty() => Err(ApiError::invalid(format!(
                    "profile '{name}' has no Redis, PostgreSQL, Celery broker or Kubernetes URL: nothing to sample"
                ))),
                Ok(profile) => self.sample_profile(&profile).await,
                Err(e) => Err(e),
            };
            sampled.unwrap_or_else(|e| {
                let run =
                    Run { last_sample_ms: Some(history::now_ms()), last_error: Some(e.message), ..Run::default() };
                self.inner.history.runs.lock().insert(name.clone(), run.clone());
                SampledProfile {
                    profile: name.clone(),
                    sources: vec![],
                    last_sample_ms: run.last_sample_ms,
                    last_error: run.last_error,
                    samples: 0,
                }
            })
        }))
        .await;
        Ok(rounds)
    }

    /// Who is told when an alert starts firing while the sampler runs (the desktop app sends a
    /// notification); without one, the sampler logs it.
    pub fn on_alert(&self, hook: AlertHook) {
        *self.inner.history.on_alert.lock() = Some(hook);
    }

    /// The alerts of `profiles` that fire now and did not at the previous look (all that fire, the
    /// first time), with their profile. An alert that stops and fires again is new again.
    pub async fn newly_firing(&self, profiles: &[String]) -> Vec<(String, alerts::AlertState)> {
        let mut now_firing = BTreeSet::new();
        let mut news = vec![];
        for name in profiles {
            let Ok(profile) = self.resolve_profile(name) else { continue };
            let Ok(report) = self.alerts_of(&profile).await else { continue };
            for alert in report.alerts.into_iter().filter(|a| a.state == "firing") {
                let key = (name.clone(), alert.rule.clone());
                if !self.inner.history.firing.lock().contains(&key) {
                    news.push((name.clone(), alert));
                }
                now_firing.insert(key);
            }
        }
        let mut firing = self.inner.history.firing.lock();
        firing.retain(|(p, _)| !profiles.contains(p));
        firing.extend(now_firing);
        news
    }

    async fn tell_new_alerts(&self, profiles: &[String]) {
        let news = self.newly_firing(profiles).await;
        let hook = self.inner.history.on_alert.lock().clone();
        for (profile, alert) in news {
            match &hook {
                Some(tell) => tell(&profile, &alert),
                None => {
                    tracing::warn!(profile = %profile, rule = %alert.rule, "alert firing: {} ({})", alert.title, alert.detail)
                }
            }
        }
    }

    /// Deletes samples older than the retention.
    pub async fn prune_history(&self) -> ApiResult<u64> {
        let keep_ms = self.inner.history.retention_days as i64 * 86_400_000;
        self.history_store().await?.prune(history::now_ms() - keep_ms).await
    }

    /// Runs the sampler every `interval` until the task is aborted (`serve`, the desktop app):
    /// one tokio task; a profile whose server is down is recorded as a gap and tried again next
    /// round. Prunes at start and every hour.
    pub fn start_sampler(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move { service.run_sampler(interval, None, false).await })
    }

    /// The sampler's loop (the CLI's `sample` runs it in the foreground); `once` stops after one round.
    pub async fn run_sampler(&self, interval: Duration, names: Option<Vec<String>>, once: bool) {
        let interval = interval.max(Duration::from_secs(1));
        *self.inner.history.interval.lock() = interval;
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let prune_every = (3600 / interval.as_secs().max(1)).max(1);
        if !once {
            self.inner.history.sampling.store(true, std::sync::atomic::Ordering::Relaxed);
            tracing::info!("history: sampling every {} s", interval.as_secs());
        }
        let mut round: u64 = 0;
        loop {
            ticker.tick().await;
            if round.is_multiple_of(prune_every) {
                if let Err(e) = self.prune_history().await {
                    tracing::warn!("history: pruning failed: {}", e.message);
                }
            }
            round += 1;
            match self.sample_round(names.as_deref()).await {
                Ok(done) => {
                    for p in done.iter().filter(|p| p.last_error.is_some()) {
                        tracing::info!(profile = %p.profile, "history: sample failed: {}", p.last_error.as_deref().unwrap_or(""));
                    }
                    if !once {
                        let profiles: Vec<String> = done.iter().map(|p| p.profile.clone()).collect();
                        self.tell_new_alerts(&profiles).await;
                    }
                }
                Err(e) => tracing::warn!("history: cannot list the profiles to sample: {}", e.message),
            }
            if once {
                return;
            }
        }
    }

    /// Remembers a profile the service was asked about, so the running sampler reads it too. A
    /// profile new to a running sampler is sampled at once: a page opened on it shows its first
    /// point and the sampler's count now, not a round later.
    async fn watch(&self, profile: &ResolvedProfile) {
        if sources_of(profile).is_empty() || profile.name == crate::profiles::EMBEDDED {
            return;
        }
        let state = &self.inner.history;
        let new = state.watched.lock().insert(profile.name.clone());
        if new && state.sampling.load(std::sync::atomic::Ordering::Relaxed) {
            if let Err(e) = self.sample_profile(profile).await {
                tracing::info!(profile = %profile.name, "history: first sample failed: {}", e.message);
            }
        }
    }

    pub async fn sampler_status(&self) -> ApiResult<SamplerStatus> {
        let state = &self.inner.history;
        let runs = state.runs.lock().clone();
        // Counts only from a history file that exists: asking must not create one.
        let store = match state.store.get() {
            Some(s) => Some(s.clone()),
            None if state.path.exists() => Some(self.history_store().await?),
            None => None,
        };
        let mut profiles = vec![];
        for (name, run) in runs {
            let samples = match &store {
                Some(s) => s.count(&name).await?,
                None => 0,
            };
            profiles.push(SampledProfile {
                profile: name,
                sources: run.sources,
                last_sample_ms: run.last_sample_ms,
                last_error: run.last_error,
                samples,
            });
        }
        Ok(SamplerStatus {
            interval_seconds: state.interval.lock().as_secs(),
            retention_days: state.retention_days,
            profiles,
        })
    }

    pub async fn history_series(&self, req: HistoryRequest) -> ApiResult<HistoryReport> {
        let source = Source::parse(&req.source)?;
        let metrics = series::select(source, req.metrics.as_deref())?;
        let profile = self.resolve_profile(req.profile.as_deref().unwrap_or(crate::profiles::EMBEDDED))?;
        self.history_of(&profile, source, history::clamp_range(req.range_seconds), &metrics).await
    }

    /// The series of `metrics` over the last `range_seconds`, with the gaps in that range.
    pub async fn history_of(
        &self,
        profile: &ResolvedProfile,
        source: Source,
        range_seconds: u64,
        metrics: &[series::Metric],
    ) -> ApiResult<HistoryReport> {
        if profile.endpoint(source.service()).is_none() {
            return Err(ApiError::invalid(format!(
                "profile '{}' has no {} URL, so it has no {} history: add one with `simba-tuner profile add {} --{} URL`",
                profile.name,
                source.service().label(),
                source.name(),
                profile.name,
                source.name()
            )));
        }
        self.watch(profile).await;
        let to_ms = history::now_ms();
        let from_ms = to_ms - range_seconds as i64 * 1000;
        let store = self.history_store().await?;
        // From a little before the range: the sample before it gives the first point's rate.
        let samples = store.range(&profile.name, source, from_ms - 60_000, to_ms).await?;
        let interval_ms =
            samples.last().map(|s| s.interval_ms).unwrap_or(history::DEFAULT_INTERVAL_SECONDS as i64 * 1000);
        let bucket_ms = series::bucket_ms(from_ms, to_ms, interval_ms);
        let in_range: Vec<Sample> = samples.iter().filter(|s| s.t_ms >= from_ms).cloned().collect();
        Ok(HistoryReport {
            profile: profile.name.clone(),
            source: source.name().to_string(),
            from_ms,
            to_ms,
            interval_seconds: (bucket_ms / 1000).max(1) as u64,
            series: series::build(&samples, metrics, from_ms, to_ms, bucket_ms),
            gaps: series::gaps(&in_range),
        })
    }

    pub async fn history_chart(&self, req: ChartRequest) -> ApiResult<ChartExport> {
        let source = Source::parse(&req.source)?;
        let format = chart::Format::parse(&req.format)?;
        if req.metrics.is_empty() {
            return Err(ApiError::invalid("name at least one metric to chart"));
        }
        let metrics = series::select(source, Some(&req.metrics))?;
        let profile = self.resolve_profile(req.profile.as_deref().unwrap_or(crate::profiles::EMBEDDED))?;
        let report = self.history_of(&profile, source, history::clamp_range(req.range_seconds), &metrics).await?;
        chart::export(&report, format, chart::size_of(&req))
    }

    fn rule_store(&self) -> RuleStore {
        RuleStore::new(self.inner.profiles.dir())
    }

    /// A profile's alert rules (defaults with its saved changes).
    pub fn alert_rules(&self, profile: Option<&str>) -> ApiResult<AlertRules> {
        let profile = self.resolve_profile(profile.unwrap_or(crate::profiles::EMBEDDED))?;
        self.rule_store().rules(&profile.name)
    }

    /// Saves a profile's rule changes (only the rules given; the others keep theirs).
    pub fn alert_rules_set(&self, rules: AlertRules) -> ApiResult<AlertRules> {
        self.resolve_profile(&rules.profile)?;
        self.rule_store().save(&rules)
    }

    pub async fn alerts(&self, req: AlertsRequest) -> ApiResult<AlertsReport> {
        let profile = self.resolve_profile(req.profile.as_deref().unwrap_or(crate::profiles::EMBEDDED))?;
        self.alerts_of(&profile).await
    }

    /// Every enabled rule of the profile's sources, evaluated over the stored history now.
    pub async fn alerts_of(&self, profile: &ResolvedProfile) -> ApiResult<AlertsReport> {
        let rules = self.rule_store().rules(&profile.name)?.rules;
        let now = history::now_ms();
        let mut out = vec![];
        let sources = sources_of(profile);
        if !sources.is_empty() {
            self.watch(profile).await;
            let store = self.history_store().await?;
            let from = now - alerts::lookback_ms(&rules);
            for source in sources {
                let samples = store.range(&profile.name, source, from, now).await?;
                for rule in rules.iter().filter(|r| r.enabled && r.source == source.name()) {
                    out.push(alerts::evaluate(rule, &samples, now));
                }
            }
        }
        Ok(AlertsReport { profile: profile.name.clone(), evaluated_ms: now, alerts: out })
    }
}
