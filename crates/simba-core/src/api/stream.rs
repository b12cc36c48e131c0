//! Commands whose answer can be shown as it is made (today only `query`). The desktop shell's
//! `call_stream` and `serve`'s `POST /api/stream/{command}` route through [`dispatch_streaming`];
//! the checks before a command runs are [`super::dispatch`]'s own.

use super::dispatch::{checked_args, COMMANDS};
use super::Service;
use crate::engine::query::{QueryAnswer, QueryRequest, StreamEvent};
use crate::error::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The commands [`dispatch_streaming`] runs; every other one answers through `dispatch` only.
pub const STREAMING_COMMANDS: &[&str] = &["query"];

/// One event of a streamed answer. The last is always `answer` or `error`; nothing follows it.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum QueryStreamEvent {
    /// The next piece of the answer's text.
    Text { text: String },
    /// The text so far is void and the answer starts again (the model call was run again, or the
    /// model failed and the session cache's stale answer follows).
    Restart,
    /// The whole answer with its trace, as the command answers without streaming.
    Answer { answer: Box<QueryAnswer> },
    /// The command failed, before or after some text, as it fails without streaming.
    Error { error: ApiError },
}

/// Receives a streamed command's events.
pub type OnQueryEvent<'a> = &'a mut (dyn FnMut(QueryStreamEvent) + Send);

/// Runs a command that streams, handing its events to `on_event`: pieces of text as they come,
/// then the outcome (also returned). The same checks as [`super::dispatch`] run first, so a
/// refusal (unknown command, read-only, bad arguments) is an `error` event before any text.
pub async fn dispatch_streaming(
    service: &Service,
    command: &str,
    args: serde_json::Value,
    on_event: OnQueryEvent<'_>,
) -> ApiResult<QueryAnswer> {
    let outcome = run(service, command, args, on_event).await;
    on_event(match &outcome {
        Ok(answer) => QueryStreamEvent::Answer { answer: Box::new(answer.clone()) },
        Err(error) => QueryStreamEvent::Error { error: error.clone() },
    });
    outcome
}

async fn run(
    service: &Service,
    command: &str,
    args: serde_json::Value,
    on_event: OnQueryEvent<'_>,
) -> ApiResult<QueryAnswer> {
    let sig = COMMANDS
        .iter()
        .find(|c| c.name == command)
        .ok_or_else(|| ApiError::not_found(format!("unknown command '{command}'")))?;
    match sig.name {
        "query" => {
            let req: QueryRequest = checked_args(service, sig.target, sig.name, args)?;
            let mut relay = |event: StreamEvent<'_>| {
                on_event(match event {
                    StreamEvent::Text(text) => QueryStreamEvent::Text { text: text.to_string() },
                    StreamEvent::Restart => QueryStreamEvent::Restart,
                })
            };
            service.query_streaming(req, &mut relay).await
        }
        other => Err(ApiError::invalid(format!(
            "'{other}' does not stream its answer; the commands that do: {} (call '{other}' without streaming)",
            STREAMING_COMMANDS.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn service(dir: &std::path::Path) -> Service {
        let profiles = crate::profiles::ProfileStore::new(dir.join("cfg"));
        let engine = crate::engine::Engine::new(
            dir.join("no-model"),
            crate::engine::Backend::Embedded { path: dir.join("data").join("cache.db") },
        );
        Service::open(profiles, engine).unwrap()
    }

    async fn refused(service: &Service, command: &str, args: serde_json::Value) -> ApiError {
        let mut events = Vec::new();
        let err = dispatch_streaming(service, command, args, &mut |e| events.push(e)).await.unwrap_err();
        match events.as_slice() {
            [QueryStreamEvent::Error { error }] => assert_eq!((error.code, &error.message), (err.code, &err.message)),
            other => panic!("{command}: one error event expected, got {other:?}"),
        }
        err
    }

    #[test]
    fn every_streaming_command_is_declared_with_the_types_it_streams() {
        for name in STREAMING_COMMANDS {
            let sig = COMMANDS.iter().find(|c| c.name == *name).unwrap_or_else(|| panic!("{name} is no command"));
            assert_eq!((sig.request, sig.response), ("QueryRequest", "QueryAnswer"), "{name}");
        }
    }

    #[tokio::test]
    async fn only_a_streaming_command_runs_and_the_checks_are_dispatchs() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(dir.path());
        let err = refused(&service, "status", serde_json::json!({})).await;
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.message.contains("'status' does not stream") && err.message.contains("query"), "{err}");
        let err = refused(&service, "no_such_command", serde_json::json!({})).await;
        assert_eq!(err.code, ErrorCode::NotFound);
        assert_eq!(
            err.message,
            crate::api::dispatch(&service, "no_such_command", serde_json::json!({})).await.unwrap_err().message
        );
        let bad = serde_json::json!({"scope": 5, "query": "hi"});
        let err = refused(&service, "query", bad.clone()).await;
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert_eq!(err.message, crate::api::dispatch(&service, "query", bad).await.unwrap_err().message);

        service.make_read_only();
        let ask = serde_json::json!({"scope": {"user": "alice"}, "query": "What is the capital of France?"});
        let err = refused(&service, "query", ask).await;
        assert_eq!(err.code, ErrorCode::ReadOnly, "{err}");
        // Refused before it ran: no cache was opened.
        assert!(!dir.path().join("data").exists());
    }
}
