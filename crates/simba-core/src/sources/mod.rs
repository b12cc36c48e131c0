//! Collectors: one per monitored system. A collector only reads, never writes, and returns a
//! typed snapshot. Every network call has a timeout.

pub mod celery;
pub mod explain;
pub mod host;
pub mod http;
pub mod kubernetes;
pub mod panels;
pub mod postgres;
pub mod postgres_report;
pub mod prometheus;
pub mod quantity;
pub mod redis;
pub mod redis_report;
pub mod worker_watch;

use serde::{Deserialize, Serialize};
use std::time::Duration;
use ts_rs::TS;

use crate::error::{ApiError, ErrorCode};

/// How long a collector waits to connect, and for each answer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// A source's part of a report: its snapshot, why there is none, or that the profile names none.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
#[ts(export)]
pub enum SourceStatus<T> {
    Ok { data: T },
    Error { error: ApiError },
    NotConfigured,
}

impl<T> SourceStatus<T> {
    pub fn from_result(r: Result<T, ApiError>) -> Self {
        match r {
            Ok(data) => SourceStatus::Ok { data },
            Err(error) => SourceStatus::Error { error },
        }
    }
    pub fn data(&self) -> Option<&T> {
        match self {
            SourceStatus::Ok { data } => Some(data),
            _ => None,
        }
    }
}

/// Runs `fut` with a timeout that names the server in its message.
pub async fn with_timeout<T>(
    what: &str,
    limit: Duration,
    fut: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r,
        Err(_) => Err(ApiError::new(
            ErrorCode::Unreachable,
            format!("{what} did not answer within {} s; check the address, the port and any firewall", limit.as_secs()),
        )),
    }
}
