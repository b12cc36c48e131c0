//! A model that loads on first use and is dropped again after it has gone unused for a while.
//!
//! The desktop app keeps the engine open all day while the Overview only reads figures: holding
//! the embedding model and the judge (two MiniLM copies, about 90 MB each) and the chat model in
//! memory for a lookup that may never come is most of its resident memory. A [`Lazy`] loads on the
//! first [`Lazy::get`]; a background thread drops the value once nobody has asked for it for the
//! idle period, and the next `get` loads it again from the same files (same answers, the first
//! call after an unload pays the load again).
//!
//! A failed load is kept (and not retried): the files are not going to fix themselves while the
//! process runs, and retrying would re-read a large file on every use.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How long a model stays loaded unused, unless `SIMBA_MODEL_IDLE_SECONDS` says otherwise
/// (`0` keeps models loaded once they are).
pub const DEFAULT_IDLE: Duration = Duration::from_secs(300);

/// The idle period from `SIMBA_MODEL_IDLE_SECONDS`, else [`DEFAULT_IDLE`]; `None` never unloads.
pub fn configured_idle() -> Option<Duration> {
    match std::env::var("SIMBA_MODEL_IDLE_SECONDS").ok().and_then(|v| v.trim().parse::<u64>().ok()) {
        Some(0) => None,
        Some(s) => Some(Duration::from_secs(s)),
        None => Some(DEFAULT_IDLE),
    }
}

type Loader<T, E> = Box<dyn Fn() -> Result<Arc<T>, E> + Send + Sync>;

/// A value of type `T` loaded on demand; `E` is why a load failed.
pub struct Lazy<T: ?Sized + Send + Sync + 'static, E: Clone + std::fmt::Display + Send + 'static = String> {
    shared: Arc<Shared<T, E>>,
}

struct Shared<T: ?Sized, E> {
    /// Names the value in the log ("the embedding model").
    what: &'static str,
    load: Loader<T, E>,
    idle: Option<Duration>,
    state: Mutex<State<T, E>>,
    loads: AtomicU64,
}

struct State<T: ?Sized, E> {
    value: Option<Result<Arc<T>, E>>,
    last_used: Instant,
    /// Whether a thread is waiting to drop the value.
    watched: bool,
}

impl<T: ?Sized + Send + Sync + 'static, E: Clone + std::fmt::Display + Send + 'static> Lazy<T, E> {
    /// `load` runs (blocking) on the first [`Self::get`], and again after an unload.
    pub fn new(
        what: &'static str,
        idle: Option<Duration>,
        load: impl Fn() -> Result<Arc<T>, E> + Send + Sync + 'static,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                what,
                load: Box::new(load),
                idle,
                state: Mutex::new(State { value: None, last_used: Instant::now(), watched: false }),
                loads: AtomicU64::new(0),
            }),
        }
    }

    /// The value, loaded now if it is not. Blocking: call it off the async threads when it may load.
    /// Concurrent callers wait for the one load.
    pub fn get(&self) -> Result<Arc<T>, E> {
        let mut state = self.shared.state.lock();
        state.last_used = Instant::now();
        if let Some(value) = &state.value {
            return value.clone();
        }
        let started = Instant::now();
        let loaded = (self.shared.load)();
        self.shared.loads.fetch_add(1, Ordering::Relaxed);
        match &loaded {
            Ok(_) => {
                tracing::debug!("{} loaded in {:?}", self.shared.what, started.elapsed());
                if let (Some(idle), false) = (self.shared.idle, state.watched) {
                    state.watched = watch(Arc::downgrade(&self.shared), idle);
                }
            }
            Err(e) => tracing::debug!("{} failed to load: {e}", self.shared.what),
        }
        state.last_used = Instant::now();
        state.value = Some(loaded.clone());
        loaded
    }

    /// The value, or why it failed to load, when a load was already settled; `None` when a call
    /// to [`Self::get`] would load it now. Counts as a use when it answers.
    pub fn get_if_settled(&self) -> Option<Result<Arc<T>, E>> {
        let mut state = self.shared.state.lock();
        let value = state.value.clone()?;
        state.last_used = Instant::now();
        Some(value)
    }

    /// The value if it is loaded, without loading it or counting as a use.
    pub fn loaded(&self) -> Option<Arc<T>> {
        self.shared.state.lock().value.as_ref().and_then(|v| v.as_ref().ok().cloned())
    }

    /// Why the load failed, if it was tried and failed.
    pub fn failure(&self) -> Option<E> {
        self.shared.state.lock().value.as_ref().and_then(|v| v.as_ref().err().cloned())
    }

    /// How many times the value was loaded (or a load was tried).
    pub fn loads(&self) -> u64 {
        self.shared.loads.load(Ordering::Relaxed)
    }
}

/// Starts the thread that drops the value once it has gone `idle` unused; false if it could not
/// start (the value then stays loaded, as before there was unloading).
fn watch<T: ?Sized + Send + Sync + 'static, E: Send + 'static>(shared: Weak<Shared<T, E>>, idle: Duration) -> bool {
    let spawned = std::thread::Builder::new().name("simba-model-idle".into()).stack_size(64 * 1024).spawn(move || {
        loop {
            let wait = {
                let Some(shared) = shared.upgrade() else { return };
                let mut state = shared.state.lock();
                let unused = state.last_used.elapsed();
                // A caller still holding the value is using it (a long batch): keep it.
                let held = matches!(&state.value, Some(Ok(v)) if Arc::strong_count(v) > 1);
                if unused < idle {
                    idle - unused
                } else if held {
                    idle
                } else {
                    state.watched = false;
                    if matches!(state.value, Some(Ok(_))) {
                        state.value = None;
                        drop(state);
                        tracing::info!("{} unloaded after {:?} unused", shared.what, unused);
                        release_freed_memory();
                    }
                    return;
                }
            };
            std::thread::sleep(wait);
        }
    });
    spawned.is_ok()
}

/// Hands the freed pages back to the system: glibc keeps freed heap memory for reuse, so a dropped
/// model would still count in the process's resident memory. A caller still holding the model
/// keeps it alive; the trim only returns what is free.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::os::raw::c_int;
        }
        // SAFETY: malloc_trim only walks glibc's own free lists; it takes no pointers from us.
        unsafe {
            malloc_trim(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_until(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "{what} did not happen within 10 s");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn loads_on_first_use_and_again_after_going_idle() {
        let lazy: Lazy<Vec<u8>> =
            Lazy::new("a test value", Some(Duration::from_millis(50)), || Ok(Arc::new(vec![1u8, 2, 3])));
        assert!(lazy.loaded().is_none());
        assert_eq!(lazy.loads(), 0);
        assert!(lazy.get_if_settled().is_none(), "only `get` loads");
        assert_eq!(*lazy.get().unwrap(), [1, 2, 3]);
        assert_eq!(*lazy.get_if_settled().unwrap().unwrap(), [1, 2, 3]);
        assert_eq!(*lazy.get().unwrap(), [1, 2, 3]);
        assert_eq!(lazy.loads(), 1);
        wait_until("the unload", || lazy.loaded().is_none());
        assert_eq!(*lazy.get().unwrap(), [1, 2, 3]);
        assert_eq!(lazy.loads(), 2);
    }

    #[test]
    fn a_value_in_use_is_kept_until_it_goes_idle() {
        let lazy: Lazy<u32> = Lazy::new("a test value", Some(Duration::from_millis(300)), || Ok(Arc::new(7u32)));
        // Used more often than the idle period: never unloaded.
        for _ in 0..6 {
            std::thread::sleep(Duration::from_millis(100));
            assert_eq!(*lazy.get().unwrap(), 7);
        }
        assert_eq!(lazy.loads(), 1);
        // Held by a caller (a long batch) past the idle period: kept until it is let go.
        let held = lazy.get().unwrap();
        std::thread::sleep(Duration::from_millis(700));
        assert!(lazy.loaded().is_some(), "unloaded while in use");
        drop(held);
        wait_until("the unload", || lazy.loaded().is_none());
        assert_eq!(lazy.loads(), 1);
    }

    #[test]
    fn without_an_idle_period_it_stays_loaded_and_a_failure_is_kept() {
        let lazy: Lazy<&str> = Lazy::new("a test value", None, || Ok(Arc::new("kept")));
        lazy.get().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(lazy.loaded().is_some());

        let failing: Lazy<u8> = Lazy::new("a missing value", Some(Duration::from_millis(10)), || Err("no file".into()));
        assert_eq!(failing.get().unwrap_err(), "no file");
        assert_eq!(failing.get().unwrap_err(), "no file");
        assert_eq!(failing.loads(), 1);
        assert_eq!(failing.failure().as_deref(), Some("no file"));
        assert!(failing.loaded().is_none());
    }
}
