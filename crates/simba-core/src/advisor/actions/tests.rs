//! Every action against a real server: preview → apply → the server's own value changed → audit
//! entry with before/after → rollback → the original value back; stale previews refused.

use super::*;
use crate::profiles::{ResolvedProfile, Service as Svc};
use simba_testkit::{PostgresServer, RedisServer};

/// The profile's servers only (no semantic cache).
fn at(profile: &ResolvedProfile) -> Scope<'_> {
    Scope { profile, cache: None }
}

fn params(p: &[(&str, &str)]) -> BTreeMap<String, String> {
    p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn audit_in(dir: &tempfile::TempDir) -> AuditLog {
    AuditLog::new(dir.path().join("audit.jsonl"))
}

async fn config_get(url: &str, name: &str) -> String {
    let client = ::redis::Client::open(url).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let v: Vec<String> = ::redis::cmd("CONFIG").arg("GET").arg(name).query_async(&mut c).await.unwrap();
    v[1].clone()
}

async fn config_set(url: &str, name: &str, value: &str) {
    let client = ::redis::Client::open(url).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = ::redis::cmd("CONFIG").arg("SET").arg(name).arg(value).query_async(&mut c).await.unwrap();
}

#[tokio::test]
async fn redis_config_set_previews_applies_audits_and_rolls_back() {
    let server = RedisServer::start_with(&["--requirepass", "audit-pw-7f3a"]).unwrap();
    let profile = ResolvedProfile::ad_hoc(&[(Svc::Redis, server.url().as_str())]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let audit = audit_in(&dir);
    let p = params(&[("name", "maxmemory"), ("value", "64mb")]);

    let preview = preview(&at(&profile), "redis.config_set", &p).await.unwrap();
    assert_eq!(preview.statements, ["CONFIG SET maxmemory 67108864"]);
    assert_eq!(
        preview.changes,
        [ValueChange { name: "maxmemory".into(), before: "0".into(), after: "67108864".into() }]
    );
    assert!(preview.notes[0].contains("CONFIG REWRITE"), "{:?}", preview.notes);
    assert_eq!(config_get(&server.url(), "maxmemory").await, "0", "a preview changes nothing");

    // A wrong token runs nothing.
    let err = apply(&at(&profile), "redis.config_set", &p, "0000", &audit).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert_eq!(config_get(&server.url(), "maxmemory").await, "0");

    let entry = apply(&at(&profile), "redis.config_set", &p, &preview.confirm_token, &audit).await.unwrap();
    assert_eq!(entry.outcome, Outcome::Applied);
    assert_eq!(config_get(&server.url(), "maxmemory").await, "67108864");
    assert_eq!((entry.changes[0].before.as_str(), entry.changes[0].after.as_str()), ("0", "67108864"));
    assert_eq!(audit.list().unwrap(), std::slice::from_ref(&entry));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("audit.jsonl")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(!text.contains("audit-pw-7f3a") && text.contains(&profile.endpoints[0].display), "{text}");

    // The same token again is stale now: the before value changed.
    let err = apply(&at(&profile), "redis.config_set", &p, &preview.confirm_token, &audit).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "{}", err.message);

    let back = preview_rollback(&at(&profile), &entry).await.unwrap();
    assert_eq!(back.statements, ["CONFIG SET maxmemory 0"]);
    let undone = rollback(&at(&profile), &entry, &back.confirm_token, &audit).await.unwrap();
    assert_eq!(undone.rollback_of.as_deref(), Some(entry.id.as_str()));
    assert_eq!(config_get(&server.url(), "maxmemory").await, "0");
    let listed = audit.list().unwrap();
    assert_eq!(listed[0].rolled_back_by.as_deref(), Some(undone.id.as_str()));
    // Rolled back once is enough.
    assert!(preview_rollback(&at(&profile), &listed[0]).await.is_err());
}

#[tokio::test]
async fn a_change_made_since_the_preview_or_since_the_apply_is_never_overwritten() {
    let server = RedisServer::start().unwrap();
    let profile = ResolvedProfile::ad_hoc(&[(Svc::Redis, server.url().as_str())]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let audit = audit_in(&dir);
    let p = params(&[("name", "timeout"), ("value", "300")]);
    let first = preview(&at(&profile), "redis.config_set", &p).await.unwrap();
    config_set(&server.url(), "timeout", "42").await; // someone else, meanwhile
    let err = apply(&at(&profile), "redis.config_set", &p, &first.confirm_token, &audit).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(err.message.contains("timeout = 42"), "{}", err.message);
    assert_eq!(config_get(&server.url(), "timeout").await, "42");
    assert!(audit.list().unwrap().is_empty());

    let again = preview(&at(&profile), "redis.config_set", &p).await.unwrap();
    let entry = apply(&at(&profile), "redis.config_set", &p, &again.confirm_token, &audit).await.unwrap();
    assert_eq!(config_get(&server.url(), "timeout").await, "300");
    config_set(&server.url(), "timeout", "7").await;
    let err = preview_rollback(&at(&profile), &entry).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "{}", err.message);
    assert_eq!(config_get(&server.url(), "timeout").await, "7");
}

#[tokio::test]
async fn traps_are_refused_before_anything_runs() {
    let server = RedisServer::start().unwrap();
    // KNOWN-TRAPS #3: the profile's broker is this Redis (db 1), so allkeys-* is refused.
    let profile =
        ResolvedProfile::ad_hoc(&[(Svc::Redis, server.url().as_str()), (Svc::CeleryBroker, server.url_db(1).as_str())])
            .unwrap();
    let err =
        preview(&at(&profile), "redis.config_set", &params(&[("name", "maxmemory-policy"), ("value", "allkeys-lru")]))
            .await
            .unwrap_err();
    assert!(err.message.contains("Celery broker"), "{}", err.message);
    // KNOWN-TRAPS #2: more than this machine has.
    let err = preview(&at(&profile), "redis.config_set", &params(&[("name", "maxmemory"), ("value", "100000gb")]))
        .await
        .unwrap_err();
    assert!(err.message.contains("memory limit"), "{}", err.message);
    let err =
        preview(&at(&profile), "redis.config_set", &params(&[("name", "save"), ("value", "")])).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert_eq!(config_get(&server.url(), "maxmemory-policy").await, "noeviction");
}

#[tokio::test]
async fn postgres_alter_system_drop_and_create_index_round_trip() {
    let pg = PostgresServer::start().unwrap();
    pg.psql(
        "CREATE TABLE events(id int, kind text);
         INSERT INTO events SELECT g, 'k' || (g % 5) FROM generate_series(1, 1000) g;
         CREATE INDEX events_kind_b ON events(kind);
         CREATE TABLE docs(id int PRIMARY KEY, embedding vector(3));
         INSERT INTO docs SELECT g, ARRAY[g, 1, 2]::real[]::vector FROM generate_series(1, 200) g;",
    )
    .unwrap();
    let profile = ResolvedProfile::ad_hoc(&[(Svc::Postgres, pg.url().as_str())]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let audit = audit_in(&dir);
    let show = |name: &str| pg.psql(&format!("SHOW {name}")).unwrap();

    // ALTER SYSTEM + reload; KNOWN-TRAPS #5 refused.
    let p = params(&[("name", "log_min_duration_statement"), ("value", "250")]);
    let pre = preview(&at(&profile), "pg.alter_system", &p).await.unwrap();
    assert!(pre.statements.contains(&"ALTER SYSTEM SET log_min_duration_statement = '250'".to_string()));
    assert!(pre.statements.contains(&"SET statement_timeout = '30s'".to_string()));
    assert_eq!(pre.changes[0].before, "-1");
    let entry = apply(&at(&profile), "pg.alter_system", &p, &pre.confirm_token, &audit).await.unwrap();
    assert_eq!(entry.outcome, Outcome::Applied, "{:?}", entry.message);
    assert_eq!(entry.changes[0].after, "250ms");
    assert!(show("log_min_duration_statement").contains("250ms"));
    let back = preview_rollback(&at(&profile), &entry).await.unwrap();
    rollback(&at(&profile), &entry, &back.confirm_token, &audit).await.unwrap();
    assert!(show("log_min_duration_statement").contains("-1"));
    let pre = preview(&at(&profile), "pg.alter_system", &params(&[("name", "shared_buffers"), ("value", "64MB")]))
        .await
        .unwrap();
    assert!(pre.notes[0].contains("restart"), "{:?}", pre.notes);

    // DROP INDEX CONCURRENTLY, then recreated from the recorded definition.
    let p = params(&[("index", "public.events_kind_b")]);
    let pre = preview(&at(&profile), "pg.drop_index", &p).await.unwrap();
    assert!(pre.statements.contains(&"DROP INDEX CONCURRENTLY public.events_kind_b".to_string()));
    let definition = pre.changes[0].before.clone();
    assert_eq!(definition, "CREATE INDEX events_kind_b ON public.events USING btree (kind)");
    let dropped = apply(&at(&profile), "pg.drop_index", &p, &pre.confirm_token, &audit).await.unwrap();
    assert_eq!(dropped.outcome, Outcome::Applied, "{:?}", dropped.message);
    let count = |sql: &str| pg.psql(sql).unwrap().trim().to_string();
    assert_eq!(count("SELECT count(*) FROM pg_indexes WHERE indexname = 'events_kind_b'"), "0");
    let back = preview_rollback(&at(&profile), &dropped).await.unwrap();
    assert!(back.statements.last().unwrap().starts_with("CREATE INDEX CONCURRENTLY events_kind_b"));
    rollback(&at(&profile), &dropped, &back.confirm_token, &audit).await.unwrap();
    assert!(pg
        .psql("SELECT indexdef FROM pg_indexes WHERE indexname = 'events_kind_b'")
        .unwrap()
        .contains(&definition));

    // A unique index is never dropped.
    pg.psql("CREATE UNIQUE INDEX events_id ON events(id)").unwrap();
    assert!(preview(&at(&profile), "pg.drop_index", &params(&[("index", "events_id")])).await.is_err());

    // HNSW on a vector column, rolled back by dropping it.
    let p = params(&[("table", "public.docs"), ("column", "embedding"), ("ops", "vector_cosine_ops")]);
    let pre = preview(&at(&profile), "pg.create_vector_index", &p).await.unwrap();
    assert!(pre.statements.iter().any(|s| {
        s == "CREATE INDEX CONCURRENTLY docs_embedding_hnsw_idx ON public.docs USING hnsw (embedding vector_cosine_ops)"
    }));
    let built = apply(&at(&profile), "pg.create_vector_index", &p, &pre.confirm_token, &audit).await.unwrap();
    assert_eq!(built.outcome, Outcome::Applied, "{:?}", built.message);
    assert!(pg
        .psql("SELECT indexdef FROM pg_indexes WHERE indexname = 'docs_embedding_hnsw_idx'")
        .unwrap()
        .contains("USING hnsw (embedding vector_cosine_ops)"));
    let err = preview(&at(&profile), "pg.create_vector_index", &p).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    let back = preview_rollback(&at(&profile), &built).await.unwrap();
    rollback(&at(&profile), &built, &back.confirm_token, &audit).await.unwrap();
    assert_eq!(count("SELECT count(*) FROM pg_indexes WHERE indexname = 'docs_embedding_hnsw_idx'"), "0");
    assert_eq!(audit.list().unwrap().len(), 6);
}
