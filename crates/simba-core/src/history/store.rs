//! The local history file: one SQLite table of raw samples (WAL mode, this user only), pruned to
//! the retention by the sampler.

use super::Source;
use crate::error::{ApiError, ApiResult, ErrorCode};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What one successful sample read: named raw figures (counters and gauges, see
/// [`super::series`]) and, for PostgreSQL, the slowest statements.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RawValues {
    pub values: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<StatementMark>,
}

/// A statement from pg_stat_statements with at least the minimum calls, as sampled.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatementMark {
    pub queryid: String,
    /// Mean planning + execution time, ms.
    pub mean_ms: f64,
    pub calls: i64,
    /// The normalised text (constants are `$n`), shortened.
    pub query: String,
}

/// One stored sample: what was read, or why nothing was (already redacted).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub t_ms: i64,
    /// The sampler's interval when it was taken: how far apart samples are meant to be.
    pub interval_ms: i64,
    pub outcome: Result<RawValues, String>,
}

impl Sample {
    pub fn ok(&self) -> Option<&RawValues> {
        self.outcome.as_ref().ok()
    }
}

pub struct HistoryStore {
    pool: SqlitePool,
    path: PathBuf,
}

fn store_error(path: &Path, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, format!("the history file {} failed: {e}", path.display()))
}

impl HistoryStore {
    /// Opens (or creates) the history file, private to this user with its WAL companions.
    pub async fn open(path: &Path) -> ApiResult<Self> {
        let io = |e: std::io::Error| {
            ApiError::new(ErrorCode::BadConfig, format!("cannot create the history file {}: {e}", path.display()))
        };
        if let Some(dir) = path.parent() {
            crate::paths::create_private_dir(dir).map_err(io)?;
        }
        crate::paths::make_private_file(path).map_err(io)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // History may lose the last sample in a power cut; it must not slow the sampler down.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .map_err(|e| store_error(path, e))?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS samples (
                profile TEXT NOT NULL, source TEXT NOT NULL, t_ms INTEGER NOT NULL,
                interval_ms INTEGER NOT NULL, raw TEXT, error TEXT)",
        )
        .execute(&pool)
        .await
        .map_err(|e| store_error(path, e))?;
        sqlx::query("CREATE INDEX IF NOT EXISTS samples_by_time ON samples (profile, source, t_ms)")
            .execute(&pool)
            .await
            .map_err(|e| store_error(path, e))?;
        sqlx::query("CREATE INDEX IF NOT EXISTS samples_t ON samples (t_ms)")
            .execute(&pool)
            .await
            .map_err(|e| store_error(path, e))?;
        Ok(Self { pool, path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub async fn insert(&self, profile: &str, source: Source, sample: &Sample) -> ApiResult<()> {
        let (raw, error) = match &sample.outcome {
            Ok(v) => (Some(serde_json::to_string(v).map_err(|e| ApiError::internal(e.to_string()))?), None),
            Err(reason) => (None, Some(reason.clone())),
        };
        sqlx::query("INSERT INTO samples (profile, source, t_ms, interval_ms, raw, error) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(profile)
            .bind(source.name())
            .bind(sample.t_ms)
            .bind(sample.interval_ms)
            .bind(raw)
            .bind(error)
            .execute(&self.pool)
            .await
            .map_err(|e| store_error(&self.path, e))?;
        Ok(())
    }

    /// Samples of one profile and source with `from_ms <= t_ms <= to_ms`, oldest first.
    pub async fn range(&self, profile: &str, source: Source, from_ms: i64, to_ms: i64) -> ApiResult<Vec<Sample>> {
        let rows = sqlx::query(
            "SELECT t_ms, interval_ms, raw, error FROM samples \
              WHERE profile = ? AND source = ? AND t_ms >= ? AND t_ms <= ? ORDER BY t_ms",
        )
        .bind(profile)
        .bind(source.name())
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| store_error(&self.path, e))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let raw: Option<String> = r.get(2);
                let error: Option<String> = r.get(3);
                let outcome = match (raw, error) {
                    (Some(raw), None) => serde_json::from_str(&raw)
                        .map_err(|_| "this sample could not be read back from the history file".to_string()),
                    (_, Some(error)) => Err(error),
                    (None, None) => Err("empty sample".into()),
                };
                Sample { t_ms: r.get(0), interval_ms: r.get(1), outcome }
            })
            .collect())
    }

    /// How many samples a profile has (all sources).
    pub async fn count(&self, profile: &str) -> ApiResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM samples WHERE profile = ?")
            .bind(profile)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| store_error(&self.path, e))?;
        Ok(n.max(0) as u64)
    }

    /// Deletes every sample older than `before_ms`; returns how many.
    pub async fn prune(&self, before_ms: i64) -> ApiResult<u64> {
        let done = sqlx::query("DELETE FROM samples WHERE t_ms < ?")
            .bind(before_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| store_error(&self.path, e))?;
        Ok(done.rows_affected())
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t_ms: i64, hits: f64) -> Sample {
        let mut values = BTreeMap::new();
        values.insert("keyspace_hits".to_string(), hits);
        Sample { t_ms, interval_ms: 10_000, outcome: Ok(RawValues { values, statements: vec![] }) }
    }

    #[tokio::test]
    async fn samples_survive_reopening_and_old_ones_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("history.db");
        let store = HistoryStore::open(&path).await.unwrap();
        store.insert("p", Source::Redis, &sample(1_000, 1.0)).await.unwrap();
        store.insert("p", Source::Redis, &sample(2_000, 2.0)).await.unwrap();
        let gap = Sample { t_ms: 3_000, interval_ms: 10_000, outcome: Err("down".into()) };
        store.insert("p", Source::Redis, &gap).await.unwrap();
        store.insert("p", Source::Postgres, &sample(2_500, 9.0)).await.unwrap();
        store.close().await;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }

        let store = HistoryStore::open(&path).await.unwrap();
        let back = store.range("p", Source::Redis, 0, 10_000).await.unwrap();
        assert_eq!(back, vec![sample(1_000, 1.0), sample(2_000, 2.0), gap.clone()]);
        assert_eq!(store.count("p").await.unwrap(), 4);
        assert_eq!(store.prune(2_000).await.unwrap(), 1);
        let back = store.range("p", Source::Redis, 0, 10_000).await.unwrap();
        assert_eq!(back.iter().map(|s| s.t_ms).collect::<Vec<_>>(), vec![2_000, 3_000]);
        assert_eq!(store.count("q").await.unwrap(), 0);
    }
}
