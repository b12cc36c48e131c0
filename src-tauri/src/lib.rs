//! Simba Tuner's desktop shell. No logic lives here: one Tauri command, [`call`], forwards a command
//! name and JSON arguments to the core's facade ([`simba_core::api::dispatch`]), which is the same
//! route `simba-tuner serve` takes over HTTP; [`call_stream`] does the same for the commands that
//! stream their answer ([`simba_core::api::dispatch_streaming`]).

use simba_core::api::QueryStreamEvent;
use simba_core::engine::query::QueryAnswer;
use simba_core::{ApiError, Service};

/// The facade, or the error it failed to open with: the window still opens then, and every
/// `call` answers with that error so the front end can show it.
pub struct AppState(Result<Service, ApiError>);

impl AppState {
    pub fn open() -> Self {
        let service = Service::open_default();
        if let Err(e) = &service {
            tracing::error!(code = ?e.code, "the Simba Tuner service failed to open: {}", e.message);
        }
        Self(service)
    }
}

/// The one command: `invoke("call", { command, args })`.
#[tauri::command]
async fn call(
    state: tauri::State<'_, AppState>,
    command: String,
    args: serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    let service = state.0.as_ref().map_err(Clone::clone)?;
    simba_core::api::dispatch(service, &command, args).await
}

/// A streamed command: `invoke("call_stream", { command, args, onEvent: new Channel(...) })`. The
/// events go over the channel, the last being the outcome, which is also what the call returns.
#[tauri::command]
async fn call_stream(
    state: tauri::State<'_, AppState>,
    command: String,
    args: serde_json::Value,
    on_event: tauri::ipc::Channel<QueryStreamEvent>,
) -> Result<QueryAnswer, ApiError> {
    let service = state.0.as_ref().map_err(Clone::clone)?;
    // A window closed meanwhile only loses the events; the command still finishes.
    simba_core::api::dispatch_streaming(service, &command, args, &mut |event| {
        let _ = on_event.send(event);
    })
    .await
}

/// Logs to stderr; `RUST_LOG` filters (default: info for Simba Tuner, warn for the rest).
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,simba_core=info,simba_tuner_app=info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// One alert as a desktop notification: the profile and what fires, the detail below.
fn notify(app: &tauri::AppHandle, profile: &str, alert: &simba_core::history::alerts::AlertState) {
    use tauri_plugin_notification::NotificationExt;
    let shown = app.notification().builder().title(format!("{profile}: {}", alert.title)).body(&alert.detail).show();
    match shown {
        Ok(()) => tracing::info!(profile, rule = %alert.rule, "alert firing, notified: {}", alert.title),
        Err(e) => tracing::warn!(profile, rule = %alert.rule, "alert firing: {} (no notification: {e})", alert.title),
    }
}

/// Opens the window and runs until it closes.
pub fn run() {
    init_logging();
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "starting Simba Tuner");
    tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .manage(AppState::open())
        .setup(|app| {
            // History for the Redis and Database pages: the sampler runs as long as the app does.
            use tauri::Manager;
            if let Ok(service) = &app.state::<AppState>().0 {
                let service = service.clone();
                // An alert that starts firing is a desktop notification (the page shows it too).
                let handle = app.handle().clone();
                service.on_alert(std::sync::Arc::new(move |profile, alert| notify(&handle, profile, alert)));
                let interval = std::time::Duration::from_secs(simba_core::history::DEFAULT_INTERVAL_SECONDS);
                tauri::async_runtime::spawn(async move { service.run_sampler(interval, None, false).await });
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![call, call_stream])
        // The config lives at the repository's top level (see build.rs).
        .run(tauri::generate_context!("../tauri.conf.json"))
        .unwrap_or_else(|e| {
            tracing::error!("the desktop shell stopped: {e}");
            std::process::exit(1);
        });
}
