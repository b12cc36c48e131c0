//! A streamed `query` through the facade, as the desktop shell and `serve` run it
//! (`dispatch_streaming`), answered by the local SmolLM2 in process.

use serde_json::json;
use simba_core::api::{dispatch, dispatch_streaming, QueryStreamEvent, Service};
use simba_core::engine::llm::local::default_model_path;
use simba_core::engine::query::{AnswerSource, QueryAnswer};
use simba_core::engine::{Backend, Engine, MODEL_DIR_NAME};
use simba_core::error::{ApiResult, ErrorCode};
use simba_core::profiles::ProfileStore;

fn service_in(dir: &std::path::Path) -> Service {
    assert!(default_model_path().exists(), "{} is missing: run `bash .ci/setup test`", default_model_path().display());
    let engine = Engine::new(
        simba_core::paths::models_dir().join(MODEL_DIR_NAME),
        Backend::Embedded { path: dir.join("data").join("cache.db") },
    );
    Service::open(ProfileStore::new(dir.join("cfg")), engine).unwrap()
}

async fn streamed(
    service: &Service,
    command: &str,
    args: serde_json::Value,
) -> (ApiResult<QueryAnswer>, Vec<QueryStreamEvent>) {
    let mut events = Vec::new();
    let outcome = dispatch_streaming(service, command, args, &mut |e| events.push(e)).await;
    (outcome, events)
}

/// The text the events show: what came after the last restart, joined.
fn shown(events: &[QueryStreamEvent]) -> String {
    let mut text = String::new();
    for e in events {
        match e {
            QueryStreamEvent::Text { text: piece } => text.push_str(piece),
            QueryStreamEvent::Restart => text.clear(),
            _ => {}
        }
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_query_comes_in_pieces_that_make_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let service = service_in(dir.path());
    let ask = json!({
        "scope": {"user": "alice"},
        "query": "What is the capital of France?",
        "settings": {"temperature": 0.0, "max_tokens": 48, "seed": 42},
    });

    let (outcome, events) = streamed(&service, "query", ask.clone()).await;
    let answer = outcome.unwrap();
    assert_eq!(answer.source, AnswerSource::Model, "{answer:?}");
    assert!(!answer.answer.trim().is_empty());
    let pieces = events.iter().filter(|e| matches!(e, QueryStreamEvent::Text { .. })).count();
    assert!(pieces > 1, "the model's answer should come in pieces, not {pieces}");
    assert_eq!(shown(&events), answer.answer, "the pieces join to exactly the answer");
    match events.last() {
        Some(QueryStreamEvent::Answer { answer: last }) => {
            assert_eq!(serde_json::to_value(last).unwrap(), serde_json::to_value(&answer).unwrap())
        }
        other => panic!("the last event should be the answer: {other:?}"),
    }
    assert_eq!(
        events.iter().filter(|e| matches!(e, QueryStreamEvent::Answer { .. } | QueryStreamEvent::Error { .. })).count(),
        1
    );
    assert!(answer.cached, "a whole streamed answer is cached: {:?}", answer.not_cached_reason);

    // Asked again: the session cache's answer comes as one piece, and `call` gives the same.
    let (again, events) = streamed(&service, "query", ask.clone()).await;
    let again = again.unwrap();
    assert_eq!(again.source, AnswerSource::SessionCache);
    assert_eq!(again.answer, answer.answer);
    assert!(
        matches!(events.as_slice(), [QueryStreamEvent::Text { text }, QueryStreamEvent::Answer { .. }] if *text == answer.answer),
        "{events:?}"
    );
    let called = dispatch(&service, "query", ask.clone()).await.unwrap();
    assert_eq!(called["answer"], answer.answer);

    // A command that does not stream, and an empty question: one error event, nothing else.
    let (refused, events) = streamed(&service, "cache_stats", json!({})).await;
    let err = refused.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("does not stream") && err.message.contains("query"), "{err}");
    assert!(matches!(events.as_slice(), [QueryStreamEvent::Error { .. }]), "{events:?}");
    let (empty, events) = streamed(&service, "query", json!({"scope": {"user": "alice"}, "query": "  "})).await;
    assert_eq!(empty.unwrap_err().code, ErrorCode::InvalidInput);
    assert!(matches!(events.as_slice(), [QueryStreamEvent::Error { .. }]), "{events:?}");

    // Read-only: refused before the engine runs, as `call` refuses it.
    let before = service.query_stats().await.unwrap().queries;
    service.make_read_only();
    let (refused, events) = streamed(&service, "query", ask.clone()).await;
    let err = refused.unwrap_err();
    assert_eq!(err.code, ErrorCode::ReadOnly);
    assert_eq!(err.message, dispatch(&service, "query", ask).await.unwrap_err().message);
    assert!(matches!(events.as_slice(), [QueryStreamEvent::Error { error }] if error.code == ErrorCode::ReadOnly));
    assert_eq!(service.query_stats().await.unwrap().queries, before, "the refused query ran");
}
