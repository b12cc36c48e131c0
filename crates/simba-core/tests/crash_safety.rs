//! Crash drill: after kill -9, every update the embedded store acknowledged is there on restart,
//! and the store opens every time. The test runs itself as the writer process
//! (SIMBA_CRASH_WRITER_DB set), kills it mid-stream with SIGKILL, reopens the store and checks
//! every acknowledged id, for SIMBA_DRILL_CYCLES cycles on the same store (10 by default; the long
//! run is `SIMBA_DRILL_CYCLES=200 cargo test -p simba-core --test crash_safety -- --nocapture`).

use simba_core::engine::cache::types::{CacheEntry, Namespace, Partition};
use simba_core::engine::store::indexed::IndexedStore;
use simba_core::engine::store::sqlite::SqlitePersistence;
use simba_core::engine::store::CacheStore;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const DIMS: usize = 384;

fn entry(id: u64) -> CacheEntry {
    let mut embedding = vec![0.0f32; DIMS];
    embedding[(id as usize) % DIMS] = 1.0;
    CacheEntry {
        id,
        partition: Partition {
            namespace: Namespace {
                tenant: "t".into(),
                user: "u".into(),
                item: None,
                model: "m".into(),
                template_version: "v1".into(),
            },
        },
        context: vec![],
        background: vec![],
        query: format!("q{id}"),
        response: format!("r{id}"),
        embedding,
        created_at_ms: 0,
        expires_at_ms: None,
        last_hit_at_ms: id as i64,
        hits: 0,
    }
}

fn writer(path: &str, first_id: u64) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = IndexedStore::open(SqlitePersistence::open(path.as_ref()).await.unwrap(), DIMS).await.unwrap();
        let mut out = std::io::stdout().lock();
        for id in first_id.. {
            store.insert(entry(id)).await.unwrap();
            writeln!(out, "ACK {id}").unwrap();
            out.flush().unwrap();
        }
    });
}

/// Cycles of the drill: SIMBA_DRILL_CYCLES, or a short run in CI (the long run is 200 cycles, see
/// docs/reliability/drills.md).
fn cycles() -> usize {
    std::env::var("SIMBA_DRILL_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(10)
}

/// Starts a writer on `path` whose ids start at `first_id`, lets it acknowledge `wait_for`
/// writes, kills it with SIGKILL mid-stream and returns every id it acknowledged.
fn write_then_kill(path: &std::path::Path, first_id: u64, wait_for: usize) -> Vec<u64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "acknowledged_writes_survive_kill_9", "--nocapture", "--test-threads=1"])
        .env("SIMBA_CRASH_WRITER_DB", path)
        .env("SIMBA_CRASH_WRITER_FIRST_ID", first_id.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = vec![];
    while acked.len() < wait_for {
        let line = lines.next().expect("writer ended early").unwrap();
        if let Some(id) = line.strip_prefix("ACK ") {
            acked.push(id.parse::<u64>().unwrap());
        }
    }
    child.kill().unwrap(); // SIGKILL, mid-write
    child.wait().unwrap();
    // Lines already written before the kill were acknowledged too.
    for line in lines.map_while(Result::ok) {
        if let Some(id) = line.strip_prefix("ACK ") {
            acked.push(id.parse().unwrap());
        }
    }
    acked
}

/// Every cycle: a writer process inserts into the same store and is killed with SIGKILL after a
/// varying number of acknowledged writes; then the store must open, and every id acknowledged in
/// this or any earlier cycle must be there with its answer.
#[test]
fn acknowledged_writes_survive_kill_9() {
    if let Ok(path) = std::env::var("SIMBA_CRASH_WRITER_DB") {
        let first_id = std::env::var("SIMBA_CRASH_WRITER_FIRST_ID").map_or(1, |v| v.parse().unwrap());
        writer(&path, first_id);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cycles = cycles();
    let started = std::time::Instant::now();
    let mut acked: Vec<u64> = vec![];
    for cycle in 0..cycles {
        // Ids never repeat across cycles; the kill point moves so it lands in different phases of a write.
        let first_id = cycle as u64 * 1_000_000 + 1;
        let wait_for = 1 + (cycle * 37) % 150;
        acked.extend(write_then_kill(&path, first_id, wait_for));
        rt.block_on(async {
            let persistence = SqlitePersistence::open(&path)
                .await
                .unwrap_or_else(|e| panic!("cycle {cycle}: the store does not open after kill -9: {e}"));
            let store = IndexedStore::open(persistence, DIMS)
                .await
                .unwrap_or_else(|e| panic!("cycle {cycle}: the store does not load after kill -9: {e}"));
            for id in &acked {
                let e = store
                    .get(*id)
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("cycle {cycle}: acknowledged entry {id} lost after kill -9"));
                assert_eq!(e.response, format!("r{id}"), "cycle {cycle}: entry {id}");
            }
            assert!(store.len() >= acked.len(), "cycle {cycle}: {} entries, {} acknowledged", store.len(), acked.len());
        });
    }
    eprintln!(
        "crash drill: {cycles} kill -9 cycles, {} acknowledged writes all present, {:.1?}",
        acked.len(),
        started.elapsed()
    );
}
