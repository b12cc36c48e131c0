//! The one service facade every surface calls (Tauri commands, the CLI, `serve`). Requests and
//! answers are typed; [`dispatch`] maps a command name and JSON arguments onto the typed methods so
//! that the desktop shell and the HTTP server each need a single generic route.

pub mod advisor;
pub mod cache;
pub mod cluster;
mod dispatch;
pub mod health;
pub mod history;
pub mod monitor;
pub mod query;
mod status;
mod stream;

pub use dispatch::{command_map_ts, dispatch, CommandSig, ProfileRef, WriteTarget, COMMANDS};
pub use status::{EngineSnapshot, StatusReport, StatusRequest};
pub use stream::{dispatch_streaming, OnQueryEvent, QueryStreamEvent, STREAMING_COMMANDS};

use crate::error::{ApiError, ApiResult};
use crate::profiles::{ProfileInput, ProfileStore, ProfileView, ResolvedProfile};
use crate::sources::host::HostCollector;
use crate::sources::redis::RedisSnapshot;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Mutex;

/// Shared state behind every surface. Cheap to clone.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    profiles: ProfileStore,
    host: Mutex<HostCollector>,
    /// The previous Redis sample per profile, for the hit rate over the refresh interval.
    last_redis: Mutex<HashMap<String, RedisSnapshot>>,
    /// What the previous Redis report per profile and server left, for its interval rates.
    last_redis_counters: Mutex<HashMap<String, crate::sources::redis_report::RedisCounters>>,
    engine: crate::engine::Engine,
    jobs: Arc<cache::Jobs>,
    /// The saved profile whose server holds the cache (`redis@NAME`, `postgres@NAME`), if any.
    store_profile: Option<String>,
    /// Refuses every write, whatever the profiles say (`serve --read-only`). Only ever set, never cleared.
    read_only: AtomicBool,
    /// The sampler and its history file.
    history: history::HistoryState,
}

impl Service {
    /// A service over the user's config folder and the local engine in the data folder.
    /// The user's profiles, and the cache store chosen by `SIMBA_CACHE_STORE` (embedded when unset).
    pub fn open_default() -> ApiResult<Self> {
        Self::open_with_store(std::env::var("SIMBA_CACHE_STORE").ok().as_deref())
    }

    /// As [`Service::open_default`], with the cache store given (see [`crate::engine::Backend::parse`]).
    pub fn open_with_store(store: Option<&str>) -> ApiResult<Self> {
        let profiles = ProfileStore::for_user(crate::paths::config_dir())?;
        Self::open_with_store_in(profiles, store)
    }

    /// As [`Service::open_with_store`], over the profiles in `profiles`.
    pub fn open_with_store_in(profiles: ProfileStore, store: Option<&str>) -> ApiResult<Self> {
        let choice = store.map(str::trim).filter(|s| !s.is_empty());
        let engine = match choice {
            Some(choice) => crate::engine::Engine::with_backend(crate::engine::Backend::parse(choice, &profiles)?),
            None => crate::engine::Engine::open_default()?,
        };
        let store_profile = choice.and_then(crate::engine::Backend::profile_named);
        Self::build(profiles, engine, store_profile.map(str::to_string), history::default_history_path())
    }

    pub fn open(profiles: ProfileStore, engine: crate::engine::Engine) -> ApiResult<Self> {
        Self::build(profiles, engine, None, history::default_history_path())
    }

    /// As [`Service::open`], with the history file at `history_path` (tests, portable installs).
    pub fn open_with_history(
        profiles: ProfileStore,
        engine: crate::engine::Engine,
        history_path: std::path::PathBuf,
    ) -> ApiResult<Self> {
        Self::build(profiles, engine, None, history_path)
    }

    fn build(
        profiles: ProfileStore,
        engine: crate::engine::Engine,
        store_profile: Option<String>,
        history_path: std::path::PathBuf,
    ) -> ApiResult<Self> {
        Ok(Self {
            inner: Arc::new(Inner {
                profiles,
                host: Mutex::new(HostCollector::new()),
                last_redis: Mutex::new(HashMap::new()),
                last_redis_counters: Mutex::new(HashMap::new()),
                engine,
                jobs: Arc::new(cache::Jobs::default()),
                store_profile,
                read_only: AtomicBool::new(false),
                history: history::HistoryState::new(history_path),
            }),
        })
    }

    /// From now on, refuses every write (profiles, caches, monitored systems); nothing lifts it
    /// short of a restart.
    pub fn make_read_only(&self) {
        self.inner.read_only.store(true, Ordering::SeqCst);
    }

    pub fn is_read_only(&self) -> bool {
        self.inner.read_only.load(Ordering::SeqCst)
    }

    pub fn engine(&self) -> &crate::engine::Engine {
        &self.inner.engine
    }

    pub fn jobs(&self) -> &Arc<cache::Jobs> {
        &self.inner.jobs
    }

    pub fn list_profiles(&self) -> ApiResult<Vec<ProfileView>> {
        self.inner.profiles.list()
    }

    pub fn save_profile(&self, input: ProfileInput) -> ApiResult<ProfileView> {
        self.inner.profiles.save(&input)
    }

    pub fn delete_profile(&self, name: &str) -> ApiResult<()> {
        self.inner.profiles.delete(name)
    }

    pub fn resolve_profile(&self, name: &str) -> ApiResult<ResolvedProfile> {
        self.inner.profiles.resolve(name)
    }

    /// Refuses with a typed error when `profile` may not write.
    pub fn ensure_writable(&self, profile: &ResolvedProfile) -> ApiResult<()> {
        if self.is_read_only() {
            Err(ApiError::service_read_only())
        } else if profile.read_only {
            Err(ApiError::read_only(&profile.name))
        } else {
            Ok(())
        }
    }

    /// The check [`dispatch`] runs before every command that writes. The profile is read again
    /// each time, so a profile made read-only while the app runs is read-only at once.
    pub fn ensure_may_write(&self, target: WriteTarget, args: &serde_json::Value) -> ApiResult<()> {
        if target == WriteTarget::Nothing {
            return Ok(());
        }
        if self.is_read_only() {
            return Err(ApiError::service_read_only());
        }
        match target {
            WriteTarget::Nothing | WriteTarget::AppConfig => Ok(()),
            WriteTarget::Cache => match &self.inner.store_profile {
                Some(name) => self.ensure_writable(&self.resolve_profile(name)?),
                None => Ok(()),
            },
            WriteTarget::Profile => {
                let name = args.get("profile").and_then(|v| v.as_str()).ok_or_else(|| {
                    ApiError::invalid("this command changes a monitored system and needs the `profile` it applies to")
                })?;
                self.ensure_writable(&self.resolve_profile(name)?)
            }
        }
    }
}
