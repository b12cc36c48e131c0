//! Provider embeddings against local stand-ins for the three cloud APIs. Each stand-in checks the
//! request the way the real service does (path, query, auth header, body fields, per-request
//! limits) and answers in the official shapes: OpenAI / Azure OpenAI `{"object": "list", "data":
//! [{"object": "embedding", "index", "embedding"}], "model", "usage"}` (returned out of order, so
//! the client must sort by `index`), Vertex AI `{"predictions": [{"embeddings": {"values",
//! "statistics": {"token_count", "truncated"}}}]}`, and the providers' error bodies
//! (`{"error": {"message", ..}}`). Only 127.0.0.1 is ever contacted.

mod common;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Response, Uri};
use axum::Router;
use serde_json::{json, Value};
use simba_core::engine::cache::types::{Lookup, Scope};
use simba_core::engine::embed::{
    CachedEmbedder, EmbedError, Embedder, MiniLmEmbedder, ProviderConfig, ProviderEmbedder, ProviderEndpoint,
    MINILM_MODEL_ID,
};
use simba_core::engine::{Backend, Engine, MODEL_DIR_NAME};
use simba_core::secret::Secret;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &str = "sk-test-7d1f0c2a9b8e4f5a";
const DEPLOYMENT: &str = "emb-dep";
const PROJECT: &str = "proj-1";
const LOCATION: &str = "europe-west4";

// ---- the stand-in server --------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Seen {
    path: String,
    query: String,
    authorization: Option<String>,
    api_key: Option<String>,
    body: Value,
}

struct Canned {
    status: u16,
    body: String,
    headers: Vec<(&'static str, &'static str)>,
}

struct Fake {
    /// Dimension of answers when the request asks for none.
    dims: AtomicUsize,
    log: Mutex<Vec<Seen>>,
    /// Answers given before any real processing, in order.
    script: Mutex<VecDeque<Canned>>,
    /// When set, vectors are MiniLM's own (scaled, so the client has to normalise them).
    minilm: Option<Arc<dyn Embedder>>,
}

impl Fake {
    fn requests(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }
    fn clear(&self) {
        self.log.lock().unwrap().clear();
    }
    fn push(&self, status: u16, body: impl Into<String>, headers: Vec<(&'static str, &'static str)>) {
        self.script.lock().unwrap().push_back(Canned { status, body: body.into(), headers });
    }
    /// Texts per request, probes included.
    fn batch_sizes(&self) -> Vec<usize> {
        self.requests()
            .iter()
            .map(|s| {
                s.body.get("input").or_else(|| s.body.get("instances")).and_then(Value::as_array).map_or(0, Vec::len)
            })
            .collect()
    }
    fn vector(&self, text: &str, dims: usize) -> Vec<f32> {
        match &self.minilm {
            Some(m) => m.embed(text).unwrap().into_iter().map(|x| x * 3.0).collect(),
            None => fake_vector(text, dims),
        }
    }
}

/// Deterministic, not normalised (norm about 3 * sqrt(dims)).
fn fake_vector(text: &str, dims: usize) -> Vec<f32> {
    (0..dims)
        .map(|j| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ (j as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            for b in text.bytes() {
                h ^= b as u64;
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            ((h >> 11) as f64 / (1u64 << 53) as f64 * 10.0 - 5.0) as f32
        })
        .collect()
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn assert_close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-5, "{x} vs {y}");
    }
}

fn reply(status: u16, body: impl Into<String>, headers: &[(&str, &str)]) -> Response<Body> {
    let mut r = Response::builder().status(status).header("content-type", "application/json");
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.body(Body::from(body.into())).unwrap()
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

async fn handle(State(fake): State<Arc<Fake>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response<Body> {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().to_string();
    fake.log.lock().unwrap().push(Seen {
        path: path.clone(),
        query: uri.query().unwrap_or_default().to_string(),
        authorization: header(&headers, "authorization"),
        api_key: header(&headers, "api-key"),
        body: body.clone(),
    });
    let canned = fake.script.lock().unwrap().pop_front();
    if let Some(c) = canned {
        return reply(c.status, c.body, &c.headers);
    }
    if path == "/v1/embeddings" {
        openai(&fake, &headers, &body)
    } else if let Some(dep) = path.strip_prefix("/openai/deployments/").and_then(|r| r.strip_suffix("/embeddings")) {
        azure(&fake, &headers, &body, dep, uri.query().unwrap_or_default())
    } else if path.starts_with("/v1/projects/") && path.ends_with(":predict") {
        vertex(&fake, &headers, &body, &path)
    } else {
        reply(404, "Not Found", &[])
    }
}

fn openai_error(status: u16, message: String, code: &str) -> Response<Body> {
    let body = json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}});
    reply(status, body.to_string(), &[])
}

/// The embeddings list shape shared by OpenAI and Azure, `data` deliberately reversed.
fn list_answer(fake: &Fake, body: &Value, model: &str, max_inputs: usize) -> Response<Body> {
    let Some(input) = body["input"].as_array().filter(|a| a.iter().all(Value::is_string)) else {
        return openai_error(400, "'input' must be a string or an array of strings".into(), "invalid_type");
    };
    if input.is_empty() || input.len() > max_inputs {
        return openai_error(400, format!("'input' must have 1 to {max_inputs} items"), "invalid_value");
    }
    let dims = body["dimensions"].as_u64().map(|d| d as usize).unwrap_or_else(|| fake.dims.load(Ordering::SeqCst));
    let mut data: Vec<Value> = input
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": fake.vector(t.as_str().unwrap(), dims)}))
        .collect();
    data.reverse();
    let tokens: usize = input.iter().map(|t| t.as_str().unwrap().split_whitespace().count()).sum();
    let answer = json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}});
    reply(200, answer.to_string(), &[])
}

fn openai(fake: &Fake, headers: &HeaderMap, body: &Value) -> Response<Body> {
    let auth = header(headers, "authorization").unwrap_or_default();
    if auth != format!("Bearer {KEY}") {
        // OpenAI echoes the refused key back in its message.
        let given = auth.strip_prefix("Bearer ").unwrap_or(&auth);
        return openai_error(401, format!("Incorrect API key provided: {given}. You can find your API key at https://platform.openai.com/account/api-keys."), "invalid_api_key");
    }
    let Some(model) = body["model"].as_str() else {
        return openai_error(400, "you must provide a model parameter".into(), "missing_model");
    };
    if model == "missing-model" {
        return openai_error(
            404,
            format!("The model `{model}` does not exist or you do not have access to it."),
            "model_not_found",
        );
    }
    list_answer(fake, body, model, 2048)
}

fn azure(fake: &Fake, headers: &HeaderMap, body: &Value, deployment: &str, query: &str) -> Response<Body> {
    if !query.split('&').any(|p| p.starts_with("api-version=") && p.len() > "api-version=".len()) {
        return reply(404, json!({"error": {"code": "404", "message": "Resource not found"}}).to_string(), &[]);
    }
    if header(headers, "api-key").as_deref() != Some(KEY) {
        let message = "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.";
        return reply(401, json!({"error": {"code": "401", "message": message}}).to_string(), &[]);
    }
    if deployment != DEPLOYMENT {
        let message = "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.";
        return reply(404, json!({"error": {"code": "DeploymentNotFound", "message": message}}).to_string(), &[]);
    }
    list_answer(fake, body, "text-embedding-3-small", 2048)
}

fn vertex_error(status: u16, message: &str, code: &str) -> Response<Body> {
    reply(status, json!({"error": {"code": status, "message": message, "status": code}}).to_string(), &[])
}

fn vertex(fake: &Fake, headers: &HeaderMap, body: &Value, path: &str) -> Response<Body> {
    if header(headers, "authorization").as_deref() != Some(&format!("Bearer {KEY}")) {
        return vertex_error(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.", "UNAUTHENTICATED");
    }
    let prefix = format!("/v1/projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/");
    let Some(model) = path.strip_prefix(&prefix).and_then(|m| m.strip_suffix(":predict")) else {
        return vertex_error(404, "Requested entity was not found.", "NOT_FOUND");
    };
    let limit = match model {
        "text-embedding-005" => 250,
        "gemini-embedding-001" => 1,
        _ => return vertex_error(404, &format!("Publisher Model `{prefix}{model}` not found."), "NOT_FOUND"),
    };
    let Some(instances) = body["instances"].as_array() else {
        return vertex_error(400, "Invalid JSON payload: missing instances.", "INVALID_ARGUMENT");
    };
    if instances.is_empty() || instances.len() > limit {
        return vertex_error(400, &format!("{} instances, the limit is {limit}.", instances.len()), "INVALID_ARGUMENT");
    }
    let dims = body["parameters"]["outputDimensionality"]
        .as_u64()
        .map(|d| d as usize)
        .unwrap_or_else(|| fake.dims.load(Ordering::SeqCst));
    let mut predictions = Vec::new();
    for inst in instances {
        let Some(content) = inst["content"].as_str() else {
            return vertex_error(400, "each instance needs a string 'content'.", "INVALID_ARGUMENT");
        };
        predictions.push(json!({"embeddings": {
            "values": fake.vector(content, dims),
            "statistics": {"token_count": content.split_whitespace().count(), "truncated": false}
        }}));
    }
    reply(200, json!({"predictions": predictions, "metadata": {"billableCharacterCount": 10}}).to_string(), &[])
}

/// Starts a stand-in on its own thread and runtime (the client blocks its caller while it waits,
/// so the server must never share the test's runtime). Returns it and its base URL.
fn serve(minilm: Option<Arc<dyn Embedder>>) -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake { dims: AtomicUsize::new(8), log: Mutex::default(), script: Mutex::default(), minilm });
    let url = common::serve_on_own_thread(Router::new().fallback(handle).with_state(fake.clone()));
    (fake, url)
}

fn quick(e: ProviderEndpoint) -> ProviderConfig {
    e.with_retries(2, Duration::from_millis(5)).with_timeout(Duration::from_secs(10)).into()
}
fn openai_config(url: &str) -> ProviderConfig {
    quick(ProviderEndpoint::openai(url, "text-embedding-3-small", Secret::new(KEY)))
}
fn azure_config(url: &str) -> ProviderConfig {
    quick(ProviderEndpoint::azure(url, DEPLOYMENT, "2024-10-21", Secret::new(KEY)))
}
fn vertex_config(url: &str, model: &str) -> ProviderConfig {
    quick(ProviderEndpoint::vertex(PROJECT, LOCATION, model, Secret::new(KEY)).with_url(url))
}

fn texts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("question number {i} about revenue")).collect()
}
fn refs(t: &[String]) -> Vec<&str> {
    t.iter().map(String::as_str).collect()
}

fn err_text(r: Result<impl std::fmt::Debug, EmbedError>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

// ---- request and answer shapes --------------------------------------------------------------

#[test]
fn openai_request_shape_order_and_normalisation() {
    let (fake, url) = serve(None);
    let e = ProviderEmbedder::connect(openai_config(&url)).unwrap();
    // The dimension was learned from one probe request.
    assert_eq!(e.dims(), 8);
    assert_eq!(e.model_id(), "openai:text-embedding-3-small@8");
    assert_eq!(fake.requests().len(), 1);
    fake.clear();
    let t = texts(5);
    let vectors = e.embed_batch(&refs(&t)).unwrap();
    let seen = fake.requests();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.path, "/v1/embeddings");
    assert_eq!(r.authorization.as_deref(), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(r.api_key, None);
    assert_eq!(r.body, json!({"model": "text-embedding-3-small", "input": t}));
    // The answer came back reversed; vectors are in input order, and unit length.
    for (text, v) in t.iter().zip(&vectors) {
        assert_close(v, &unit(fake_vector(text, 8)));
    }

    // Asked dimensions are sent, and no probe is needed.
    fake.clear();
    let e = ProviderEmbedder::connect(openai_config(&format!("{url}/v1")).with_dimensions(16)).unwrap();
    assert!(fake.requests().is_empty());
    assert_eq!(e.model_id(), "openai:text-embedding-3-small@16");
    let v = e.embed("hello there").unwrap();
    assert_close(&v, &unit(fake_vector("hello there", 16)));
    assert_eq!(
        fake.requests()[0].body,
        json!({"model": "text-embedding-3-small", "input": ["hello there"], "dimensions": 16})
    );
    assert_eq!(fake.requests()[0].path, "/v1/embeddings");
}

#[test]
fn azure_request_shape() {
    let (fake, url) = serve(None);
    let e = ProviderEmbedder::connect(quick(
        ProviderEndpoint::azure(&url, DEPLOYMENT, "2024-10-21", Secret::new(KEY)).with_model("text-embedding-3-small"),
    ))
    .unwrap();
    assert_eq!(e.model_id(), "azure:text-embedding-3-small@8");
    fake.clear();
    let t = texts(3);
    let vectors = e.embed_batch(&refs(&t)).unwrap();
    let r = &fake.requests()[0];
    assert_eq!(r.path, format!("/openai/deployments/{DEPLOYMENT}/embeddings"));
    assert_eq!(r.query, "api-version=2024-10-21");
    assert_eq!(r.api_key.as_deref(), Some(KEY), "the key goes in the api-key header");
    assert_eq!(r.authorization, None);
    assert_eq!(r.body, json!({"input": t}));
    for (text, v) in t.iter().zip(&vectors) {
        assert_close(v, &unit(fake_vector(text, 8)));
    }
    // Without a model name the deployment names the namespace.
    assert_eq!(ProviderEmbedder::connect(azure_config(&url)).unwrap().model_id(), format!("azure:{DEPLOYMENT}@8"));
    // A deployment that does not exist says which variable to fix.
    let wrong = ProviderEndpoint::azure(&url, "nope", "2024-10-21", Secret::new(KEY));
    let msg = err_text(ProviderEmbedder::connect(quick(wrong)));
    assert!(
        msg.contains("no deployment 'nope'") && msg.contains("SIMBA_EMBEDDINGS_DEPLOYMENT") && msg.contains("404"),
        "{msg}"
    );
}

#[test]
fn vertex_request_shape() {
    let (fake, url) = serve(None);
    let e = ProviderEmbedder::connect(vertex_config(&url, "text-embedding-005").with_dimensions(12)).unwrap();
    assert_eq!(e.model_id(), "vertex:text-embedding-005@12");
    let t = texts(4);
    let vectors = e.embed_batch(&refs(&t)).unwrap();
    let r = &fake.requests()[0];
    assert_eq!(
        r.path,
        format!("/v1/projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/text-embedding-005:predict")
    );
    assert_eq!(r.authorization.as_deref(), Some(format!("Bearer {KEY}").as_str()));
    let instances: Vec<Value> = t.iter().map(|s| json!({"content": s})).collect();
    assert_eq!(
        r.body,
        json!({"instances": instances, "parameters": {"autoTruncate": false, "outputDimensionality": 12}})
    );
    for (text, v) in t.iter().zip(&vectors) {
        assert_close(v, &unit(fake_vector(text, 12)));
    }
    // An unknown model is a 404 that names the variables to check.
    let msg = err_text(ProviderEmbedder::connect(vertex_config(&url, "text-embedding-999")));
    assert!(msg.contains("no model 'text-embedding-999'") && msg.contains("SIMBA_EMBEDDINGS_PROJECT"), "{msg}");
}

#[test]
fn batching_splits_large_inputs() {
    let (fake, url) = serve(None);
    // OpenAI takes at most 2048 inputs per request (the stand-in refuses more).
    let e = ProviderEmbedder::connect(openai_config(&url).with_dimensions(4)).unwrap();
    let t = texts(2100);
    let vectors = e.embed_batch(&refs(&t)).unwrap();
    assert_eq!(fake.batch_sizes(), vec![2048, 52]);
    for i in [0, 2047, 2048, 2099] {
        assert_close(&vectors[i], &unit(fake_vector(&t[i], 4)));
    }
    // Vertex text-embedding models: 250 per request; gemini-embedding-001: one.
    fake.clear();
    let e = ProviderEmbedder::connect(vertex_config(&url, "text-embedding-005").with_dimensions(4)).unwrap();
    let t = texts(300);
    let vectors = e.embed_batch(&refs(&t)).unwrap();
    assert_eq!(fake.batch_sizes(), vec![250, 50]);
    assert_close(&vectors[299], &unit(fake_vector(&t[299], 4)));
    fake.clear();
    let e = ProviderEmbedder::connect(vertex_config(&url, "gemini-embedding-001").with_dimensions(4)).unwrap();
    e.embed_batch(&refs(&texts(3))).unwrap();
    assert_eq!(fake.batch_sizes(), vec![1, 1, 1]);
    // A configured batch size wins.
    fake.clear();
    let e = ProviderEmbedder::connect(azure_config(&url).with_dimensions(4).with_max_batch(3)).unwrap();
    let t = texts(7);
    let vectors = e.embed_batch(&refs(&t)).unwrap();
    assert_eq!(fake.batch_sizes(), vec![3, 3, 1]);
    assert_close(&vectors[6], &unit(fake_vector(&t[6], 4)));
}

// ---- failures -------------------------------------------------------------------------------

#[test]
fn refused_key_is_actionable_and_never_shown() {
    let (fake, url) = serve(None);
    let wrong = "sk-wrong-5e9a1c3b7d2f4e6a";
    let cases = [
        (ProviderEndpoint::openai(&url, "text-embedding-3-small", Secret::new(wrong)), "refused the API key"),
        (ProviderEndpoint::azure(&url, DEPLOYMENT, "2024-10-21", Secret::new(wrong)), "refused the API key"),
        (
            ProviderEndpoint::vertex(PROJECT, LOCATION, "text-embedding-005", Secret::new(wrong)).with_url(&url),
            "refused the access token",
        ),
    ];
    for (config, expect) in cases {
        assert!(!format!("{config:?}").contains(wrong), "Debug shows the key");
        fake.clear();
        let e = ProviderEmbedder::connect(quick(config.clone()).with_dimensions(8)).unwrap();
        assert!(!format!("{e:?}").contains(wrong));
        let msg = err_text(e.embed("how many customers?"));
        assert!(msg.contains(expect) && msg.contains("SIMBA_EMBEDDINGS_KEY") && msg.contains("401"), "{msg}");
        assert!(!msg.contains(wrong) && !msg.contains("sk-wrong"), "the key leaked: {msg}");
        assert_eq!(fake.requests().len(), 1, "a refused key is not retried");
        // The probe at connect time fails the same way.
        let msg = err_text(ProviderEmbedder::connect(quick(config)));
        assert!(msg.contains(expect) && !msg.contains(wrong), "{msg}");
    }
}

#[test]
fn a_redirect_never_carries_the_key_to_another_host() {
    let (first, url) = serve(None);
    let (elsewhere, other_url) = serve(None);
    for config in [azure_config(&url), openai_config(&url)] {
        let e = ProviderEmbedder::connect(config.with_dimensions(8)).unwrap();
        let location: &'static str = Box::leak(format!("{other_url}/v1/embeddings").into_boxed_str());
        first.push(307, String::new(), vec![("location", location)]);
        let msg = err_text(e.embed("how many customers?"));
        assert!(msg.contains("redirect") && msg.contains("SIMBA_EMBEDDINGS_URL"), "{msg}");
        assert!(!msg.contains(KEY), "{msg}");
    }
    assert!(elsewhere.requests().is_empty(), "the redirect was followed: {:?}", elsewhere.requests());
}

#[test]
fn plain_http_is_refused_for_other_machines() {
    for url in ["http://api.example.com", "http://10.1.2.3:8080/v1"] {
        let msg = err_text(ProviderEmbedder::connect(openai_config(url).with_dimensions(8)));
        assert!(msg.contains("plain http") && msg.contains("https://"), "{msg}");
        assert!(!msg.contains(KEY), "{msg}");
    }
    // Loopback stays allowed over http (local servers such as llama.cpp or vLLM).
    let (_fake, url) = serve(None);
    assert!(ProviderEmbedder::connect(openai_config(&url.replace("127.0.0.1", "localhost")).with_dimensions(8)).is_ok());
}

#[test]
fn rate_limit_then_success_is_retried_and_retries_are_bounded() {
    let (fake, url) = serve(None);
    let e = ProviderEmbedder::connect(openai_config(&url).with_dimensions(8)).unwrap();
    let limited = json!({"error": {"message": "Rate limit reached for text-embedding-3-small", "type": "requests", "code": "rate_limit_exceeded"}});
    fake.push(429, limited.to_string(), vec![("retry-after-ms", "20")]);
    let started = Instant::now();
    let v = e.embed("what is our churn?").unwrap();
    assert!(started.elapsed() >= Duration::from_millis(20), "Retry-After was not honoured");
    assert_close(&v, &unit(fake_vector("what is our churn?", 8)));
    assert_eq!(fake.requests().len(), 2);

    // 503 forever: 1 try + 2 retries, then a clear error.
    fake.clear();
    for _ in 0..3 {
        fake.push(503, json!({"error": {"message": "The server is overloaded"}}).to_string(), vec![]);
    }
    let msg = err_text(e.embed("what is our churn in May?"));
    assert!(msg.contains("HTTP 503") && msg.contains("after 2 retries") && msg.contains("overloaded"), "{msg}");
    assert_eq!(fake.requests().len(), 3);
    // 429 forever says what to do about it.
    fake.clear();
    for _ in 0..3 {
        fake.push(429, limited.to_string(), vec![("retry-after", "0")]);
    }
    let msg = err_text(e.embed("what is our churn in June?"));
    assert!(msg.contains("rate-limiting") && msg.contains("quota"), "{msg}");
}

#[test]
fn a_dimension_change_is_refused() {
    let (fake, url) = serve(None);
    let e = ProviderEmbedder::connect(openai_config(&url)).unwrap();
    assert_eq!(e.dims(), 8);
    e.embed("first").unwrap();
    fake.dims.store(12, Ordering::SeqCst);
    let msg = err_text(e.embed("second"));
    assert!(msg.contains("12-dimension") && msg.contains("uses 8") && msg.contains("never mixes"), "{msg}");
    // Behind the exact-text cache nothing of the wrong size is kept either.
    let cached = CachedEmbedder::new(e, 100);
    assert!(cached.embed("third").is_err());
    assert_eq!(cached.stats().entries, 0);
    // Configured dimensions the provider does not honour are refused too.
    let e = ProviderEmbedder::connect(azure_config(&url).with_max_batch(1)).unwrap();
    assert_eq!(e.dims(), 12);
    let e16 = ProviderEmbedder::connect(vertex_config(&url, "text-embedding-005").with_dimensions(16)).unwrap();
    e16.embed("ok").unwrap();
    fake.push(200, json!({"predictions": [{"embeddings": {"values": [0.5, 0.5, 0.5], "statistics": {"token_count": 1, "truncated": false}}}]}).to_string(), vec![]);
    let msg = err_text(e16.embed("short answer"));
    assert!(msg.contains("3-dimension") && msg.contains("uses 16"), "{msg}");
}

#[test]
fn a_dead_port_fails_fast_and_clearly() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let msg = err_text(ProviderEmbedder::connect(openai_config(&url)));
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert!(
        msg.contains("could not connect")
            && msg.contains(&format!("127.0.0.1:{port}"))
            && msg.contains("SIMBA_EMBEDDINGS_URL"),
        "{msg}"
    );
    // With the dimension configured there is no probe; the first query says the same.
    let e = ProviderEmbedder::connect(openai_config(&url).with_dimensions(8)).unwrap();
    let started = Instant::now();
    let msg = err_text(e.embed("anyone there?"));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(msg.contains("could not connect"), "{msg}");
    // Not a URL at all.
    let msg = err_text(ProviderEmbedder::connect(openai_config("127.0.0.1:9")));
    assert!(msg.contains("SIMBA_EMBEDDINGS_URL"), "{msg}");
}

#[test]
fn bad_answers_are_clear_errors() {
    let (fake, url) = serve(None);
    let e = ProviderEmbedder::connect(openai_config(&url).with_dimensions(2)).unwrap();
    let cases: [(&str, &str); 5] = [
        ("<html><body>Welcome to nginx</body></html>", "not an embeddings answer"),
        (r#"{"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [NaN, 0.1]}]}"#, "NaN"),
        (
            r#"{"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [1e39, 0.1]}]}"#,
            "NaN or infinite",
        ),
        (r#"{"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.0, 0.0]}]}"#, "zero"),
        (
            r#"{"object": "list", "data": [], "model": "m", "usage": {"prompt_tokens": 0, "total_tokens": 0}}"#,
            "0 vectors for 1 texts",
        ),
    ];
    for (body, expect) in cases {
        fake.push(200, body, vec![]);
        let msg = err_text(e.embed("a question"));
        assert!(msg.contains(expect), "{body}: {msg}");
    }
    fake.push(200, r#"{"object": "list", "data": [{"object": "embedding", "index": 1, "embedding": [0.3, 0.1]}, {"object": "embedding", "index": 1, "embedding": [0.3, 0.1]}]}"#, vec![]);
    assert!(err_text(e.embed_batch(&["a", "b"])).contains("repeated index"));
    // A model the provider does not have.
    let msg =
        err_text(ProviderEmbedder::connect(quick(ProviderEndpoint::openai(&url, "missing-model", Secret::new(KEY)))));
    assert!(
        msg.contains("no model 'missing-model'")
            && msg.contains("SIMBA_EMBEDDINGS_MODEL")
            && msg.contains("does not exist"),
        "{msg}"
    );
    // A base URL that is not an embeddings API.
    let msg = err_text(ProviderEmbedder::connect(openai_config(&format!("{url}/somewhere/else"))));
    assert!(msg.contains("HTTP 404") && msg.contains("SIMBA_EMBEDDINGS_URL"), "{msg}");
    // Bad input never reaches the provider.
    fake.clear();
    assert!(e.embed("   ").is_err());
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn embedding_from_async_code_does_not_panic() {
    // The cache calls `embed` straight from async fns; on a current-thread runtime too.
    let (_fake, url) = serve(None);
    let e = ProviderEmbedder::connect(openai_config(&url)).unwrap();
    assert_eq!(e.embed("from a current-thread runtime").unwrap().len(), 8);
    let e = Arc::new(e);
    let handle = tokio::task::spawn_blocking({
        let e = e.clone();
        move || e.embed("from the blocking pool").unwrap().len()
    });
    assert_eq!(handle.await.unwrap(), 8);
}

// ---- the engine -----------------------------------------------------------------------------

fn minilm() -> Arc<dyn Embedder> {
    let dir = simba_core::paths::models_dir().join(MODEL_DIR_NAME);
    Arc::new(MiniLmEmbedder::load(&dir).unwrap_or_else(|e| panic!("{e} (run `bash .ci/setup test`)")))
}

fn answer(l: &Lookup) -> Option<&str> {
    match l {
        Lookup::Hit { response, .. } => Some(response),
        _ => None,
    }
}

/// The only test here that touches the process environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_uses_the_provider_and_namespaces_never_mix_models() {
    // The stand-in answers with MiniLM's own vectors (scaled): the same text gets the same vector
    // from both models, so only the model in the namespace can keep them apart.
    let (fake, url) = serve(Some(minilm()));
    let dir = tempfile::tempdir().unwrap();
    let engine = || {
        Engine::new(
            simba_core::paths::models_dir().join(MODEL_DIR_NAME),
            Backend::Embedded { path: dir.path().join("cache.db") },
        )
    };
    let vars = [
        ("SIMBA_EMBEDDINGS", "openai"),
        ("SIMBA_EMBEDDINGS_URL", url.as_str()),
        ("SIMBA_EMBEDDINGS_MODEL", "fake-minilm"),
        ("SIMBA_EMBEDDINGS_KEY", KEY),
    ];
    let set_provider = |on: bool| {
        for (k, v) in vars {
            if on {
                std::env::set_var(k, v)
            } else {
                std::env::remove_var(k)
            }
        }
    };
    let q = "What was our total revenue in 2023?";
    let alice = Scope::user("alice");

    // 1. The default is the local model.
    set_provider(false);
    let local = engine().cache().await.unwrap();
    assert_eq!(local.embedder().model_id(), MINILM_MODEL_ID);
    local.update_cache(q, "from-minilm", &alice, None).await.unwrap();
    drop(local);

    // 2. Configured for a provider, the same store: the MiniLM entry is not served.
    set_provider(true);
    let online = engine().cache().await;
    set_provider(false);
    let online = online.unwrap();
    assert_eq!(online.embedder().model_id(), "openai:fake-minilm@384");
    let miss = online.check_get_cache(q, &alice).await.unwrap();
    assert!(!miss.is_hit(), "a MiniLM entry was served for the provider model: {miss:?}");
    online.update_cache(q, "from-provider", &alice, None).await.unwrap();
    let hit = online.check_get_cache("what was the total revenue for 2023", &alice).await.unwrap();
    assert_eq!(answer(&hit), Some("from-provider"), "{hit:?}");
    let seen = fake.requests();
    assert!(seen.len() >= 3, "the provider was not used: {seen:?}");
    assert!(seen.iter().all(|s| s.path == "/v1/embeddings" && s.body["model"] == "fake-minilm"));
    let stats = online.stats().await.unwrap();
    assert_eq!(stats.embedding_model, "openai:fake-minilm@384");
    let mut models: Vec<String> = stats.namespaces.iter().map(|n| n.namespace.model.clone()).collect();
    models.sort();
    assert_eq!(models, vec!["openai:fake-minilm@384".to_string(), MINILM_MODEL_ID.to_string()]);
    drop(online);

    // 3. Back on MiniLM: its own entry, never the provider's.
    let local = engine().cache().await.unwrap();
    assert_eq!(answer(&local.check_get_cache(q, &alice).await.unwrap()), Some("from-minilm"));

    // 4. A misconfigured provider is a clear configuration error, not a silent fallback.
    std::env::set_var("SIMBA_EMBEDDINGS", "vertex");
    let err = engine().embedder().await.err();
    std::env::remove_var("SIMBA_EMBEDDINGS");
    let err = err.expect("an incomplete provider configuration must fail");
    assert_eq!(err.code, simba_core::ErrorCode::BadConfig);
    assert!(err.message.contains("SIMBA_EMBEDDINGS_"), "{}", err.message);
}
