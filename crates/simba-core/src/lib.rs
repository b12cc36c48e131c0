//! Simba Tuner's core library. Builds and tests without a window, terminal or HTTP server; the
//! desktop shell, the CLI and `serve` are thin surfaces over [`api::Service`].
//!
//! Data flows one way: sources → snapshots → (history, advisor) → findings → actions → audit.

pub mod advisor;
pub mod api;
pub mod charts;
pub mod clock;
pub mod engine;
pub mod error;
pub mod history;
pub mod keyring_store;
pub mod paths;
pub mod profiles;
pub mod secret;
pub mod sources;

pub use api::Service;
pub use error::{ApiError, ApiResult, ErrorCode};
