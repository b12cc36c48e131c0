//! `simba-tuner serve`: the desktop app's API over HTTP on loopback, plus the built UI, so the
//! app can be used in a browser and on a headless server. Same facade, same commands:
//! `POST /api/call/{command}` with the JSON arguments and `Authorization: Bearer <token>`, and
//! `POST /api/stream/{command}` for an answer as server-sent events while it is made.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use simba_core::api::QueryStreamEvent;
use simba_core::{ApiError, ErrorCode, Service};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{watch, Semaphore};

mod static_files;

pub struct ServeOptions {
    pub addr: SocketAddr,
    /// The built UI (`ui/dist`); None serves the API alone with a page that says how to build it.
    pub ui_dir: Option<PathBuf>,
    /// Bearer token every API call must carry (see [`check_token`]).
    pub token: String,
    pub limits: Limits,
    /// Host header values accepted besides this machine's own names for the bound address:
    /// `name` (on the bound port) or `name:port`, e.g. for an SSH tunnel or a reverse proxy.
    pub allowed_hosts: Vec<String>,
}

/// What one client may hold: every wait on the client is bounded, and so is the number of clients.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections served at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// Time for a request head to arrive in full, counted from the connection's start or from its
    /// previous answer, so it is also how long an idle keep-alive connection stays open.
    pub header_timeout: Duration,
    /// Time for a request body to arrive in full (read only once the token was accepted).
    pub body_timeout: Duration,
    pub max_body_bytes: usize,
    /// After this, a connection is closed once its answer in progress is sent, so no client keeps
    /// one connection (and its slot) forever by sending a request now and then.
    pub max_connection_age: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_body_bytes: 2 * 1024 * 1024,
            max_connection_age: Duration::from_secs(600),
        }
    }
}

#[derive(Clone)]
struct AppState {
    service: Service,
}

/// What every request passes before a route sees it.
struct Guard {
    token: String,
    hosts: HostPolicy,
    body_timeout: Duration,
    max_body_bytes: usize,
}

/// A random 128-bit token, hex-encoded.
pub fn new_token() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

/// Fewest characters a token may have: 32 hex digits are the 128 bits of [`new_token`].
pub const MIN_TOKEN_LEN: usize = 32;

/// A token given by the user must be as hard to guess as a generated one, and fit a header.
pub fn check_token(token: &str) -> Result<(), String> {
    if token.len() < MIN_TOKEN_LEN {
        return Err(format!(
            "the serve token is {} characters; it must have at least {MIN_TOKEN_LEN} (128 bits as hex, e.g. \
             `openssl rand -hex 16`), or leave SIMBA_SERVE_TOKEN unset for a random one",
            token.len()
        ));
    }
    // RFC 6750's token68 characters: what a Bearer header can carry as is.
    if let Some(c) = token.chars().find(|c| !(c.is_ascii_alphanumeric() || "-._~+/=".contains(*c))) {
        return Err(format!("the serve token may hold only letters, digits and - . _ ~ + / = (found {:?})", c));
    }
    Ok(())
}

/// The UI folder to serve: `$SIMBA_UI_DIR`, else the repository's `ui/dist` when it was built.
pub fn default_ui_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SIMBA_UI_DIR") {
        return Some(PathBuf::from(dir));
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/dist");
    repo.join("index.html").is_file().then_some(repo)
}

/// Which Host headers are this server's own names. A page from another site that got its domain
/// to resolve to this address (DNS rebinding) sends its own name, and is refused.
#[derive(Clone, Debug)]
pub struct HostPolicy {
    bound: SocketAddr,
    extra: Vec<String>,
}

impl HostPolicy {
    pub fn new(bound: SocketAddr, extra: &[String]) -> Self {
        Self { bound, extra: extra.iter().map(|h| h.trim().to_ascii_lowercase()).collect() }
    }

    pub fn allows(&self, authority: &str) -> bool {
        let authority = authority.trim().to_ascii_lowercase();
        let Some((host, port)) = split_authority(&authority) else {
            return false;
        };
        let port_ok = port.unwrap_or(80) == self.bound.port();
        if self.extra.iter().any(|e| *e == authority || (port_ok && *e == host)) {
            return true;
        }
        if !port_ok {
            return false;
        }
        if host == "localhost" {
            return true;
        }
        // An address typed as digits cannot be rebound; a name other than localhost can.
        match host.parse::<IpAddr>() {
            Ok(ip) => ip == self.bound.ip() || ip.is_loopback() || self.bound.ip().is_unspecified(),
            Err(_) => false,
        }
    }
}

/// `host[:port]` or `[v6][:port]`; None when it is neither.
fn split_authority(a: &str) -> Option<(&str, Option<u16>)> {
    let (host, rest) = if let Some(v6) = a.strip_prefix('[') {
        let (host, rest) = v6.split_once(']')?;
        (host, rest)
    } else {
        let host_end = a.find(':').unwrap_or(a.len());
        (&a[..host_end], &a[host_end..])
    };
    let port = match rest {
        "" => None,
        p => Some(p.strip_prefix(':')?.parse().ok()?),
    };
    (!host.is_empty()).then_some((host, port))
}

fn router(service: Service, token: String, ui_dir: Option<PathBuf>, hosts: HostPolicy, limits: &Limits) -> Router {
    let state = AppState { service };
    let guard =
        Arc::new(Guard { token, hosts, body_timeout: limits.body_timeout, max_body_bytes: limits.max_body_bytes });
    let api = Router::new()
        .route("/api/call/{command}", post(call))
        .route("/api/stream/{command}", post(stream))
        .route("/api/commands", get(commands))
        .route(HEALTHZ, get(healthz))
        .route(READY, get(ready))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .with_state(state);
    let app = match ui_dir {
        Some(dir) => api.fallback(move |req: Request| static_files::serve(dir.clone(), req)),
        None => api.fallback(get(no_ui)),
    };
    app.layer(middleware::from_fn_with_state(guard, guard_request))
}

/// Host check for everything; for the API, the token, then the body read under a deadline and a
/// size limit. Run before any extractor, so a client without the token never gets its body read.
async fn guard_request(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let host_ok = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).is_some_and(|h| guard.hosts.allows(h))
        && req.uri().authority().is_none_or(|a| guard.hosts.allows(a.as_str()));
    if !host_ok {
        return closing(error_response(
            StatusCode::MISDIRECTED_REQUEST,
            ApiError::new(
                ErrorCode::Refused,
                "this server answers only to its own address (localhost, 127.0.0.1 or the address it was started on); \
                 `simba-tuner serve --allow-host NAME` adds a name",
            ),
        ));
    }
    let path = req.uri().path();
    // Probes call these without a token; they reveal no secret, URL or data.
    if path == HEALTHZ || path == READY {
        return next.run(req).await;
    }
    // Prometheus sends the token as a bearer credential (`authorization` in its scrape config).
    if path == "/metrics" && !authorized(req.headers(), &guard.token) {
        return closing(unauthorized());
    }
    if !(path == "/api" || path.starts_with("/api/")) {
        return next.run(req).await;
    }
    if !authorized(req.headers(), &guard.token) {
        return closing(unauthorized());
    }
    let announced = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > guard.max_body_bytes as u64) {
        return closing(too_large(guard.max_body_bytes));
    }
    let (parts, body) = req.into_parts();
    let bytes = match tokio::time::timeout(guard.body_timeout, axum::body::to_bytes(body, guard.max_body_bytes)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) if is_length_limit(&e) => return closing(too_large(guard.max_body_bytes)),
        Ok(Err(e)) => {
            return closing(error_response(
                StatusCode::BAD_REQUEST,
                ApiError::invalid(format!("the request body could not be read: {e}")),
            ))
        }
        Err(_) => {
            return closing(error_response(
                StatusCode::REQUEST_TIMEOUT,
                ApiError::invalid(format!(
                    "the request body did not arrive within {} s",
                    guard.body_timeout.as_secs_f64()
                )),
            ))
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

fn too_large(limit: usize) -> Response {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        ApiError::invalid(format!("the request body is larger than {limit} bytes")),
    )
}

/// A refusal ends the connection: whatever body the client still sends is not read.
fn closing(mut response: Response) -> Response {
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Binds and serves until Ctrl-C. Returns the bound address through `on_ready` first.
/// The history sampler runs beside it (every saved profile, at the default interval).
pub async fn serve(service: Service, options: ServeOptions, on_ready: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let sampler = service.start_sampler(Duration::from_secs(simba_core::history::DEFAULT_INTERVAL_SECONDS));
    let served = serve_until(service, options, on_ready, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    sampler.abort();
    served
}

/// As [`serve`], until `shutdown` completes; connections then finish the answer in progress.
pub async fn serve_until(
    service: Service,
    options: ServeOptions,
    on_ready: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    check_token(&options.token).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let listener = tokio::net::TcpListener::bind(options.addr).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {}: {e} (is the port in use? try --port 0)", options.addr),
        )
    })?;
    let bound = listener.local_addr()?;
    let limits = options.limits;
    let app = router(service, options.token, options.ui_dir, HostPolicy::new(bound, &options.allowed_hosts), &limits);
    on_ready(bound);

    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        // Headers past this are refused (431): an unauthenticated client holds at most this much.
        .max_buf_size(64 * 1024);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse_busy(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = http.serve_connection(
            hyper_util::rt::TokioIo::new(stream),
            hyper_util::service::TowerToHyperService::new(app.clone()),
        );
        let mut stop = stop_rx.clone();
        let max_age = limits.max_connection_age;
        tokio::spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            let age = tokio::time::sleep(max_age);
            tokio::pin!(age);
            let mut closing = false;
            loop {
                tokio::select! {
                    r = connection.as_mut() => {
                        if let Err(e) = r {
                            tracing::debug!("connection ended: {e}");
                        }
                        break;
                    }
                    _ = &mut age, if !closing => {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                    _ = stop.changed(), if !closing => {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Answers in progress get a moment to finish; then the process may end under them.
    let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(10), slots.acquire_many(all)).await;
    Ok(())
}

/// Past the connection limit: say so, and close without waiting on the client.
async fn refuse_busy(mut stream: tokio::net::TcpStream) {
    let answer = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: 37\r\n\r\ntoo many connections; try again soon\n";
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(answer).await?;
        stream.shutdown().await?;
        // Read what the client sent before closing, so the kernel does not reset the
        // connection (and lose the answer) over unread bytes.
        let mut sink = [0u8; 4096];
        let mut total = 0;
        while total < 64 * 1024 {
            match stream.read(&mut sink).await? {
                0 => break,
                n => total += n,
            }
        }
        std::io::Result::Ok(())
    })
    .await;
}

fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorCode::BadConfig => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::ReadOnly => StatusCode::FORBIDDEN,
        ErrorCode::Conflict => StatusCode::CONFLICT,
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

/// A command's JSON arguments (none for an empty body).
fn json_args(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    if body.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("the request body is not JSON: {e}")))
}

/// The token, host and body limits were checked by [`guard_request`].
async fn call(State(state): State<AppState>, Path(command): Path<String>, body: axum::body::Bytes) -> Response {
    let args = match json_args(&body) {
        Ok(args) => args,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, e),
    };
    match simba_core::api::dispatch(&state.service, &command, args).await {
        Ok(value) => Json(value).into_response(),
        Err(e) => error_response(status_of(e.code), e),
    }
}

/// A streamed command as server-sent events, one per event (`text`, `restart`, then `answer` or
/// `error`; the data is the event as JSON). A failure before any text is answered as `/api/call`
/// answers it (status and JSON error), so a refusal is told from a stream by its status.
async fn stream(State(state): State<AppState>, Path(command): Path<String>, body: axum::body::Bytes) -> Response {
    let args = match json_args(&body) {
        Ok(args) => args,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, e),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let service = state.service.clone();
    // Its own task: a client that goes away only loses the events; the command finishes (an
    // answer is cached whole or not at all).
    tokio::spawn(async move {
        let mut send = |event| {
            let _ = tx.send(event);
        };
        let _ = simba_core::api::dispatch_streaming(&service, &command, args, &mut send).await;
    });
    let first = match rx.recv().await {
        Some(QueryStreamEvent::Error { error }) => return error_response(status_of(error.code), error),
        Some(event) => event,
        None => {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                ApiError::internal("the command stopped before its outcome (see the server's log)"),
            )
        }
    };
    let events = futures_util::stream::unfold((Some(first), rx), |(first, mut rx)| async move {
        let event = match first {
            Some(event) => event,
            None => rx.recv().await?,
        };
        Some((sse_event(&event), (None, rx)))
    });
    // Proxies (nginx) would otherwise hold the events back until the answer is whole.
    ([(header::HeaderName::from_static("x-accel-buffering"), "no")], Sse::new(events).keep_alive(KeepAlive::default()))
        .into_response()
}

fn sse_event(event: &QueryStreamEvent) -> Result<Event, axum::Error> {
    let kind = match event {
        QueryStreamEvent::Text { .. } => "text",
        QueryStreamEvent::Restart => "restart",
        QueryStreamEvent::Answer { .. } => "answer",
        QueryStreamEvent::Error { .. } => "error",
    };
    Event::default().event(kind).json_data(event)
}

/// Liveness and readiness, as Kubernetes probes call them (no token).
pub const HEALTHZ: &str = "/api/v1/healthz";
pub const READY: &str = "/api/v1/ready";

/// 200 when no configured check is down, else 503; each check's state and latency either way.
async fn healthz(State(state): State<AppState>) -> Response {
    let report = state.service.health().await;
    let status = if report.healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(report)).into_response()
}

/// 200 when queries can be answered, else 503.
async fn ready(State(state): State<AppState>) -> Response {
    let ready = state.service.ready().await;
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(serde_json::json!({ "ready": ready }))).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    let body = state.service.metrics_text().await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

async fn commands() -> Response {
    let list: Vec<_> = simba_core::api::COMMANDS
        .iter()
        .map(|c| {
            let streams = simba_core::api::STREAMING_COMMANDS.contains(&c.name);
            serde_json::json!({"name": c.name, "request": c.request, "response": c.response, "writes": c.writes, "streams": streams})
        })
        .collect();
    Json(list).into_response()
}

async fn no_ui() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Html("<h1>Simba Tuner</h1><p>The UI is not built. Run <code>cd ui &amp;&amp; npm ci &amp;&amp; npm run build</code>, or pass <code>--ui-dir</code>. The API is at <code>/api/call/&lt;command&gt;</code>.</p>"),
    )
}

#[cfg(test)]
mod tests {
    use super::{check_token, new_token, HostPolicy};
    use std::net::SocketAddr;

    #[test]
    fn tokens_shorter_than_128_bits_are_refused() {
        assert!(check_token(&new_token()).is_ok());
        assert!(check_token(&"a1".repeat(16)).is_ok());
        let short = check_token("0123456789abcdef0123456789abcde").unwrap_err();
        assert!(short.contains("at least 32"), "{short}");
        assert!(check_token("").is_err());
        assert!(check_token(&format!("{} x", "a".repeat(32))).is_err(), "a space cannot travel in the header");
    }

    #[test]
    fn only_this_machines_names_for_the_bound_address_are_hosts() {
        let loopback = HostPolicy::new("127.0.0.1:8650".parse::<SocketAddr>().unwrap(), &[]);
        for ok in ["127.0.0.1:8650", "localhost:8650", "LOCALHOST:8650", "[::1]:8650"] {
            assert!(loopback.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example:8650",
            "localhost.evil.example:8650",
            "127.0.0.1",
            "127.0.0.1:80",
            "localhost:1",
            "192.168.1.9:8650",
            "",
            "[::1",
            "::1:8650",
            "127.0.0.1:8650:1",
        ] {
            assert!(!loopback.allows(refused), "{refused}");
        }
        let lan = HostPolicy::new("192.168.1.9:8650".parse::<SocketAddr>().unwrap(), &["tuner.lan".into()]);
        assert!(lan.allows("192.168.1.9:8650"));
        assert!(lan.allows("tuner.lan:8650"));
        assert!(!lan.allows("tuner.lan:9000"));
        assert!(!lan.allows("192.168.1.10:8650"));
        let any = HostPolicy::new("0.0.0.0:80".parse::<SocketAddr>().unwrap(), &["proxy.example:443".into()]);
        assert!(any.allows("10.0.0.5"), "an address typed as digits, on the default port");
        assert!(any.allows("proxy.example:443"));
        assert!(!any.allows("proxy.example"));
        assert!(!any.allows("rebound.example"));
    }
}
