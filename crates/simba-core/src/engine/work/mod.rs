//! Background work on the spec's three queues (`llm_queue`, `data_queue`, `vector_queue`), routed
//! by the kind of task. Two homes:
//! - [`local`]: in-process queues with Celery's semantics (acks late, a dead worker's jobs
//!   redelivered, retries with back-off, concurrency and prefetch limits); the default, and what
//!   the query path and embedding batches run on.
//! - [`celery`]: a job sent to the platform's own Celery workers through a profile's Redis broker.

pub mod celery;
pub mod local;

pub use celery::{task_message, CeleryClient, TaskResult};
pub use local::{JobHandle, JobOptions, LocalQueues, QueueConfig, QueueStats, WorkStats};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What a job does, which decides its queue (the spec's routing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum TaskKind {
    /// Model calls.
    Llm,
    /// Data-source queries and loads.
    Data,
    /// Embedding batches and index work.
    Vector,
}

impl TaskKind {
    pub const ALL: [TaskKind; 3] = [TaskKind::Llm, TaskKind::Data, TaskKind::Vector];

    pub fn queue(self) -> &'static str {
        match self {
            TaskKind::Llm => "llm_queue",
            TaskKind::Data => "data_queue",
            TaskKind::Vector => "vector_queue",
        }
    }

    fn index(self) -> usize {
        match self {
            TaskKind::Llm => 0,
            TaskKind::Data => 1,
            TaskKind::Vector => 2,
        }
    }
}
