//! The one service facade every surface calls (Tauri commands, the CLI, `serve`). Requests and
//! answers are typed; [`dispatch`] maps a command name and JSON arguments onto the typed methods so
//! that the desktop shell and the HTTP server each need a single generic route.

pub mod cache;
mod dispatch;
pub mod monitor;
mod status;

pub use dispatch::{command_map_ts, dispatch, CommandSig, COMMANDS};
pub use status::{EngineSnapshot, StatusReport, StatusRequest};

use crate::error::{ApiError, ApiResult};
use crate::profiles::{ProfileInput, ProfileStore, ProfileView, ResolvedProfile};
use crate::sources::host::HostCollector;
use crate::sources::redis::RedisSnapshot;
use std::collections::HashMap;
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
}

impl Service {
    /// A service over the user's config folder and the local engine in the data folder.
    /// The user's profiles, and the cache store chosen by `SIMBA_CACHE_STORE` (embedded when unset).
    pub fn open_default() -> ApiResult<Self> {
        Self::open_with_store(std::env::var("SIMBA_CACHE_STORE").ok().as_deref())
    }

    /// As [`Service::open_default`], with the cache store given (see [`crate::engine::Backend::parse`]).
    pub fn open_with_store(store: Option<&str>) -> ApiResult<Self> {
        let profiles = ProfileStore::new(crate::paths::config_dir());
        let engine = match store.filter(|s| !s.trim().is_empty()) {
            Some(choice) => crate::engine::Engine::with_backend(crate::engine::Backend::parse(choice, &profiles)?),
            None => crate::engine::Engine::open_default()?,
        };
        Self::open(profiles, engine)
    }

    pub fn open(profiles: ProfileStore, engine: crate::engine::Engine) -> ApiResult<Self> {
        Ok(Self {
            inner: Arc::new(Inner {
                profiles,
                host: Mutex::new(HostCollector::new()),
                last_redis: Mutex::new(HashMap::new()),
                last_redis_counters: Mutex::new(HashMap::new()),
                engine,
                jobs: Arc::new(cache::Jobs::default()),
            }),
        })
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

    /// Refuses with a typed error when `profile` may not write. Every writing path calls this.
    pub fn ensure_writable(profile: &ResolvedProfile) -> ApiResult<()> {
        if profile.read_only {
            Err(ApiError::read_only(&profile.name))
        } else {
            Ok(())
        }
    }
}
