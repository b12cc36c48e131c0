//! Background work on the platform's Celery queues: the engine sends a job as Celery does (message
//! protocol 2 in kombu's Redis envelope, on `llm_queue`, `data_queue` or `vector_queue` by the
//! kind of task), so the Queues page shows it exactly as it shows the platform's, and a real
//! Celery worker runs it; the result is read back from Celery's Redis result backend.
//!
//! Envelope, as kombu 5 writes it for the Redis transport (and as `sources::celery` decodes it):
//! `{"body": base64(json([args, kwargs, {"callbacks", "errbacks", "chain", "chord"}])),
//! "content-encoding": "utf-8", "content-type": "application/json", "headers": {"lang": "py",
//! "task", "id", "root_id", "parent_id", "group", "retries", "timelimit", "argsrepr",
//! "kwargsrepr", "origin", ...}, "properties": {"correlation_id", "reply_to", "delivery_mode": 2,
//! "delivery_info": {"exchange": "", "routing_key": QUEUE}, "priority", "body_encoding":
//! "base64", "delivery_tag"}}`, pushed with LPUSH on the queue's key (a priority above 0 goes to
//! its bucket `QUEUE\x06\x16N`). Results: `celery-task-meta-ID`, JSON with `status`, `result`,
//! `traceback`.

use super::TaskKind;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::profiles::Endpoint;
use crate::sources::celery::bucket_key;
use crate::sources::redis::{connect, redis_error};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use ts_rs::TS;

/// A job's state as Celery's result backend holds it.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TaskResult {
    pub task_id: String,
    /// `PENDING` (no result yet), `STARTED`, `RETRY`, `SUCCESS`, `FAILURE`, `REVOKED`.
    pub status: String,
    pub result: Option<Value>,
    pub traceback: Option<String>,
}

/// A version 4 UUID, as Celery names tasks.
fn uuid4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// The kombu envelope of one protocol 2 task message, and the task's id.
pub fn task_message(
    task: &str,
    args: &[Value],
    kwargs: &serde_json::Map<String, Value>,
    queue: &str,
    priority: u8,
) -> (String, String) {
    let id = uuid4();
    let body = json!([args, kwargs, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]);
    let body = base64::engine::general_purpose::STANDARD.encode(body.to_string());
    let repr = |v: &Value| {
        let s = v.to_string();
        s.chars().take(1024).collect::<String>()
    };
    let host = sysinfo::System::host_name().unwrap_or_else(|| "localhost".into());
    let envelope = json!({
        "body": body,
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py",
            "task": task,
            "id": id,
            "shadow": null,
            "eta": null,
            "expires": null,
            "group": null,
            "group_index": null,
            "retries": 0,
            "timelimit": [null, null],
            "root_id": id,
            "parent_id": null,
            "argsrepr": repr(&Value::Array(args.to_vec())),
            "kwargsrepr": repr(&Value::Object(kwargs.clone())),
            "origin": format!("simba-tuner@{host}"),
            "ignore_result": false,
        },
        "properties": {
            "correlation_id": id,
            "reply_to": uuid4(),
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": priority,
            "body_encoding": "base64",
            "delivery_tag": uuid4(),
        },
    });
    (envelope.to_string(), id)
}

/// Sends jobs to a Celery broker on Redis and reads their results from the Redis result backend.
pub struct CeleryClient {
    endpoint: Endpoint,
}

impl CeleryClient {
    pub fn new(endpoint: Endpoint) -> Self {
        Self { endpoint }
    }

    /// Queues `task` on its kind's queue; returns the task id.
    pub async fn send(
        &self,
        task: &str,
        kind: TaskKind,
        args: &[Value],
        kwargs: &serde_json::Map<String, Value>,
    ) -> ApiResult<String> {
        if task.trim().is_empty() || task.len() > 256 || task.chars().any(char::is_control) {
            return Err(ApiError::invalid("the task name must be 1 to 256 characters without control characters"));
        }
        let queue = kind.queue();
        let (message, id) = task_message(task, args, kwargs, queue, 0);
        let mut con = connect(&self.endpoint).await?;
        let display = self.endpoint.display.clone();
        redis::cmd("LPUSH")
            .arg(bucket_key(queue, 0))
            .arg(message)
            .query_async::<i64>(&mut con)
            .await
            .map_err(|e| redis_error(&display, &e))?;
        Ok(id)
    }

    /// The task's result, waiting up to `wait` for it to leave PENDING.
    pub async fn result(&self, task_id: &str, wait: Duration) -> ApiResult<TaskResult> {
        let mut con = connect(&self.endpoint).await?;
        let display = self.endpoint.display.clone();
        let deadline = Instant::now() + wait;
        loop {
            let raw: Option<String> = redis::cmd("GET")
                .arg(format!("celery-task-meta-{task_id}"))
                .query_async(&mut con)
                .await
                .map_err(|e| redis_error(&display, &e))?;
            if let Some(raw) = raw {
                let v: Value = serde_json::from_str(&raw).map_err(|e| {
                    ApiError::new(
                        ErrorCode::Internal,
                        format!("the result of task {task_id} is not Celery's JSON: {e}"),
                    )
                })?;
                let status = v["status"].as_str().unwrap_or("UNKNOWN").to_string();
                if status != "PENDING" && status != "STARTED" && status != "RETRY" || Instant::now() >= deadline {
                    return Ok(TaskResult {
                        task_id: task_id.to_string(),
                        status,
                        result: v.get("result").cloned().filter(|r| !r.is_null()),
                        traceback: v["traceback"].as_str().map(str::to_string),
                    });
                }
            }
            if Instant::now() >= deadline {
                return Ok(TaskResult {
                    task_id: task_id.to_string(),
                    status: "PENDING".into(),
                    result: None,
                    traceback: None,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_decode_as_celery_protocol_2() {
        let mut kwargs = serde_json::Map::new();
        kwargs.insert("k".into(), json!("v"));
        let (message, id) = task_message("simba.add", &[json!(2), json!(3)], &kwargs, "llm_queue", 0);
        let decoded = crate::sources::celery::decode_message(message.as_bytes()).unwrap();
        assert_eq!(decoded.task.as_deref(), Some("simba.add"));
        assert_eq!(decoded.id.as_deref(), Some(id.as_str()));
        assert_eq!(decoded.body.unwrap()[0], json!([2, 3]));
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4", "a version 4 UUID");
        assert_eq!(TaskKind::Vector.queue(), "vector_queue");
    }
}
