//! `simba-tuner serve`: the desktop app's API over HTTP on loopback, plus the built UI, so the
//! app can be used in a browser and on a headless server. Same facade, same commands:
//! `POST /api/call/{command}` with the JSON arguments and `Authorization: Bearer <token>`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use simba_core::{ApiError, ErrorCode, Service};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub struct ServeOptions {
    pub addr: SocketAddr,
    /// The built UI (`ui/dist`); None serves the API alone with a page that says how to build it.
    pub ui_dir: Option<PathBuf>,
    /// Bearer token every API call must carry.
    pub token: String,
}

#[derive(Clone)]
struct AppState {
    service: Service,
    token: Arc<String>,
}

/// A random 128-bit token, hex-encoded.
pub fn new_token() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

/// The UI folder to serve: `$SIMBA_UI_DIR`, else the repository's `ui/dist` when it was built.
pub fn default_ui_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SIMBA_UI_DIR") {
        return Some(PathBuf::from(dir));
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/dist");
    repo.join("index.html").is_file().then_some(repo)
}

pub fn router(service: Service, token: String, ui_dir: Option<PathBuf>) -> Router {
    let state = AppState { service, token: Arc::new(token) };
    let api =
        Router::new().route("/api/call/{command}", post(call)).route("/api/commands", get(commands)).with_state(state);
    match ui_dir {
        Some(dir) => {
            let index = dir.join("index.html");
            api.fallback_service(
                tower_http::services::ServeDir::new(&dir).fallback(tower_http::services::ServeFile::new(index)),
            )
        }
        None => api.fallback(get(no_ui)),
    }
}

/// Binds and serves until Ctrl-C. Returns the bound address through `on_ready` first.
pub async fn serve(service: Service, options: ServeOptions, on_ready: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.addr).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {}: {e} (is the port in use? try --port 0)", options.addr),
        )
    })?;
    on_ready(listener.local_addr()?);
    axum::serve(listener, router(service, options.token, options.ui_dir))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorCode::BadConfig => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::ReadOnly => StatusCode::FORBIDDEN,
        ErrorCode::Unreachable | ErrorCode::Refused => StatusCode::BAD_GATEWAY,
        ErrorCode::MissingResource => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn error_response(status: StatusCode, error: ApiError) -> Response {
    (status, Json(error)).into_response()
}

/// Constant-time comparison of the presented bearer token.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(presented) =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    presented.len() == token.len() && presented.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn unauthorized() -> Response {
    error_response(
        StatusCode::UNAUTHORIZED,
        ApiError::new(
            ErrorCode::Refused,
            "missing or wrong token: open the address `simba-tuner serve` printed (it ends in ?token=…)",
        ),
    )
}

async fn call(
    State(state): State<AppState>,
    Path(command): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&headers, &state.token) {
        return unauthorized();
    }
    let args = if body.is_empty() {
        serde_json::Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    ApiError::invalid(format!("the request body is not JSON: {e}")),
                )
            }
        }
    };
    match simba_core::api::dispatch(&state.service, &command, args).await {
        Ok(value) => Json(value).into_response(),
        Err(e) => error_response(status_of(e.code), e),
    }
}

async fn commands(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !authorized(&headers, &state.token) {
        return unauthorized();
    }
    let list: Vec<_> = simba_core::api::COMMANDS
        .iter()
        .map(|c| serde_json::json!({"name": c.name, "request": c.request, "response": c.response, "writes": c.writes}))
        .collect();
    Json(list).into_response()
}

async fn no_ui() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Html("<h1>Simba Tuner</h1><p>The UI is not built. Run <code>cd ui &amp;&amp; npm ci &amp;&amp; npm run build</code>, or pass <code>--ui-dir</code>. The API is at <code>/api/call/&lt;command&gt;</code>.</p>"),
    )
}
