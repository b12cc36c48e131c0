//! After kill -9, every update the embedded store acknowledged is there on restart.
//! The test runs itself as the writer process (SIMBA_CRASH_WRITER_DB set), kills it mid-stream
//! with SIGKILL, reopens the store and checks every acknowledged id.

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
            context: String::new(),
        },
        query: format!("q{id}"),
        response: format!("r{id}"),
        embedding,
        created_at_ms: 0,
        expires_at_ms: None,
        last_hit_at_ms: id as i64,
        hits: 0,
    }
}

fn writer(path: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = IndexedStore::open(SqlitePersistence::open(path.as_ref()).await.unwrap(), DIMS).await.unwrap();
        let mut out = std::io::stdout().lock();
        for id in 1.. {
            store.insert(entry(id)).await.unwrap();
            writeln!(out, "ACK {id}").unwrap();
            out.flush().unwrap();
        }
    });
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    if let Ok(path) = std::env::var("SIMBA_CRASH_WRITER_DB") {
        writer(&path);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "acknowledged_writes_survive_kill_9", "--nocapture", "--test-threads=1"])
        .env("SIMBA_CRASH_WRITER_DB", &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = vec![];
    while acked.len() < 200 {
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
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = IndexedStore::open(SqlitePersistence::open(&path).await.unwrap(), DIMS).await.unwrap();
        for id in &acked {
            let e =
                store.get(*id).await.unwrap().unwrap_or_else(|| panic!("acknowledged entry {id} lost after kill -9"));
            assert_eq!(e.response, format!("r{id}"));
        }
        assert!(store.len() >= acked.len());
    });
}
