//! The core's errors. Each says what went wrong *and what to do next*; secrets never appear in
//! them (URLs are shown through `profiles::redact_url`). Surfaces turn an [`ApiError`] into what a
//! person sees and match on [`ErrorCode`], never on message text.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A closed set of error kinds the UI and CLI can branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorCode {
    /// The request itself is wrong (bad URL, unknown profile, empty query, bad file).
    InvalidInput,
    /// A configuration file could not be read or parsed.
    BadConfig,
    /// A server did not answer (refused, timed out, DNS).
    Unreachable,
    /// The server answered but refused us (auth, permission, missing extension).
    Refused,
    /// The profile is read-only and the request would write.
    ReadOnly,
    /// What was previewed changed before it was applied (preview again), or a value was changed
    /// since an action, so rolling it back would overwrite that change.
    Conflict,
    /// Something was not found (profile, entry, namespace).
    NotFound,
    /// A local resource is missing (model files, PostgreSQL binaries).
    MissingResource,
    /// A bug or an unexpected state; the message has the detail.
    Internal,
}

/// The error every facade call returns. `message` is for a person; `code` is for code.
#[derive(Debug, Clone, Serialize, Deserialize, TS, thiserror::Error)]
#[error("{message}")]
#[ts(export)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
    pub fn service_read_only() -> Self {
        Self::new(
            ErrorCode::ReadOnly,
            "this Simba Tuner runs read-only (started with --read-only): nothing was changed; restart it without \
             the flag to allow changes",
        )
    }
    pub fn read_only(profile: &str) -> Self {
        Self::new(
            ErrorCode::ReadOnly,
            format!("profile '{profile}' is read-only: nothing was changed (clear its read-only flag to allow writes)"),
        )
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
