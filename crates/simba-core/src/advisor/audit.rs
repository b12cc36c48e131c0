//! The audit log: one JSON line per applied action or rollback in `audit.jsonl` in the data
//! folder, readable by this user only. Entries hold statements and values, never a URL or secret.

use crate::error::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use ts_rs::TS;

/// One value an action changes, before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ValueChange {
    /// The setting or object (`maxmemory`, `work_mem`, `index public.events_kind_b`).
    pub name: String,
    /// Read live from the server.
    pub before: String,
    /// In a preview: what it will be; in an audit entry: read back after the change.
    pub after: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Outcome {
    /// Ran, and the value read back is the one intended.
    Applied,
    /// Ran, but the value read back is not the one intended (see `message`).
    Unverified,
    /// Did not run or failed; `message` says what is left.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AuditEntry {
    pub id: String,
    /// RFC 3339.
    pub at: String,
    pub profile: String,
    pub action: String,
    pub params: BTreeMap<String, String>,
    /// The server, as shown with its password redacted.
    pub target: String,
    /// Exactly what ran.
    pub statements: Vec<String>,
    pub changes: Vec<ValueChange>,
    pub outcome: Outcome,
    pub message: Option<String>,
    /// For a rollback: the entry it undid.
    pub rollback_of: Option<String>,
    /// Filled in when listed: the rollback that undid this entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_by: Option<String>,
}

pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// `audit.jsonl` in the data folder.
    pub fn default_location() -> Self {
        Self::new(crate::paths::data_dir().join("audit.jsonl"))
    }

    pub fn new_id() -> String {
        format!("{}-{:04x}", chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"), rand::random::<u16>())
    }

    /// Appends one entry as one line (one write, so concurrent writers do not interleave).
    pub fn append(&self, entry: &AuditEntry) -> ApiResult<()> {
        let fail = |e: std::io::Error| {
            ApiError::internal(format!("cannot write the audit log {}: {e}; check its folder", self.path.display()))
        };
        if let Some(dir) = self.path.parent() {
            crate::paths::create_private_dir(dir).map_err(fail)?;
        }
        crate::paths::make_private_file(&self.path).map_err(fail)?;
        let mut line = serde_json::to_string(entry).map_err(|e| ApiError::internal(e.to_string()))?;
        line.push('\n');
        let mut file = std::fs::OpenOptions::new().append(true).open(&self.path).map_err(fail)?;
        file.write_all(line.as_bytes()).map_err(fail)
    }

    /// Every entry, oldest first, each with the rollback that undid it.
    pub fn list(&self) -> ApiResult<Vec<AuditEntry>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(ApiError::internal(format!("cannot read {}: {e}", self.path.display()))),
        };
        let mut entries: Vec<AuditEntry> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(n, l)| {
                serde_json::from_str(l).map_err(|e| {
                    ApiError::new(
                        crate::ErrorCode::BadConfig,
                        format!("{} line {} is not an audit entry: {e}", self.path.display(), n + 1),
                    )
                })
            })
            .collect::<ApiResult<_>>()?;
        let undone: Vec<(String, String)> = entries
            .iter()
            .filter(|e| e.outcome != Outcome::Failed)
            .filter_map(|e| e.rollback_of.clone().map(|of| (of, e.id.clone())))
            .collect();
        for e in &mut entries {
            e.rolled_back_by = undone.iter().find(|(of, _)| *of == e.id).map(|(_, by)| by.clone());
        }
        Ok(entries)
    }

    pub fn find(&self, id: &str) -> ApiResult<AuditEntry> {
        self.list()?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| ApiError::not_found(format!("no audit entry '{id}'; list them with `simba-tuner audit`")))
    }
}
