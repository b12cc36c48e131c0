//! The semantic cache with the real MiniLM model, on the embedded store and on Redis.

use simba_core::engine::cache::conversation::Message;
use simba_core::engine::cache::types::{CacheSettings, Lookup, Scope};
use simba_core::engine::cache::SemanticCache;
use simba_core::engine::embed::MAX_QUERY_BYTES;
use simba_core::engine::store::indexed::IndexedStore;
use simba_core::engine::store::redis::{follow, RedisPersistence};
use simba_core::engine::store::sqlite::SqlitePersistence;
use simba_core::engine::store::Invalidation;
use simba_core::profiles::{ResolvedProfile, Service};
use simba_core::ErrorCode;
use std::sync::{Arc, OnceLock};

mod common;
use common::model;

async fn embedded_cache(dir: &tempfile::TempDir) -> SemanticCache {
    let persist = SqlitePersistence::open(&dir.path().join("cache.db")).await.unwrap();
    let store = Arc::new(IndexedStore::open(persist, model().dims()).await.unwrap());
    SemanticCache::new(model(), store)
}

fn hit_response(l: &Lookup) -> Option<&str> {
    match l {
        Lookup::Hit { response, .. } => Some(response),
        _ => None,
    }
}

#[tokio::test]
async fn paraphrase_hits_and_trap_misses() {
    let dir = tempfile::tempdir().unwrap();
    let cache = embedded_cache(&dir).await;
    let alice = Scope::user("alice");
    cache.update_cache("What was our total revenue in 2023?", "R2023", &alice, None).await.unwrap();
    let hit = cache.check_get_cache("what was the total revenue for 2023", &alice).await.unwrap();
    assert_eq!(hit_response(&hit), Some("R2023"), "{hit:?}");
    if let Lookup::Hit { similarity, matched_query, entry_age_ms, .. } = &hit {
        assert!(*similarity >= 0.8);
        assert_eq!(matched_query, "What was our total revenue in 2023?");
        assert!(*entry_age_ms >= 0);
    }
    // A changed year is close in embedding space but must not be served.
    let trap = cache.check_get_cache("What was our total revenue in 2024?", &alice).await.unwrap();
    assert!(!trap.is_hit(), "{trap:?}");
    if let Lookup::Miss { reason, best_similarity, .. } = &trap {
        assert!(best_similarity.unwrap() > 0.8, "the trap should be close: {trap:?}");
        assert!(reason.contains("differ"), "{reason}");
    }
    let stats = cache.stats().await.unwrap();
    assert_eq!((stats.hits, stats.misses, stats.entries), (1, 1, 1));
    assert!(stats.lookup_latency.p99_us.is_some());
    // With several refused candidates, the miss explains the closest one.
    cache.update_cache("What was our total revenue in 2021?", "R2021", &alice, None).await.unwrap();
    let trap = cache.check_get_cache("What was our total revenue in 2024?", &alice).await.unwrap();
    if let Lookup::Miss { reason, best_similarity, .. } = &trap {
        assert!(reason.contains(&format!("({:.3})", best_similarity.unwrap())), "{reason} / {best_similarity:?}");
    } else {
        panic!("{trap:?}");
    }
}

#[tokio::test]
async fn partitions_never_cross() {
    let dir = tempfile::tempdir().unwrap();
    let cache = embedded_cache(&dir).await;
    let q = "How many active customers do we have?";
    let a = Scope::user("alice");
    cache.update_cache(q, "alice-global", &a, None).await.unwrap();
    cache.update_cache(q, "alice-crm", &a.clone().with_item("crm"), None).await.unwrap();
    for scope in [
        Scope::user("bob"),
        Scope::user("alice").with_item("erp"),
        Scope { tenant: "other".into(), ..Scope::user("alice") },
    ] {
        assert!(!cache.check_get_cache(q, &scope).await.unwrap().is_hit(), "{scope:?}");
    }
    assert_eq!(hit_response(&cache.check_get_cache(q, &a).await.unwrap()), Some("alice-global"));
    assert_eq!(hit_response(&cache.check_get_cache(q, &a.clone().with_item("crm")).await.unwrap()), Some("alice-crm"));
    // A follow-up never hits an answer given in another conversation.
    let conv1 = a.clone().with_conversation(vec![Message::user("Show me sales in Germany")]);
    let conv2 = a.clone().with_conversation(vec![Message::user("Show me sales in France")]);
    cache.update_cache("and last month?", "germany-last-month", &conv1, None).await.unwrap();
    assert_eq!(
        hit_response(&cache.check_get_cache("and last month?", &conv1).await.unwrap()),
        Some("germany-last-month")
    );
    assert!(!cache.check_get_cache("and last month?", &conv2).await.unwrap().is_hit());
    assert!(!cache.check_get_cache("and last month?", &a).await.unwrap().is_hit());
    // A new template version is a new namespace.
    cache.set_template_version("v2");
    assert!(!cache.check_get_cache(q, &a).await.unwrap().is_hit());
    cache.set_template_version("v1");
    // Bumping the item's version invalidates its entries for every user.
    assert_eq!(cache.bump_item_version("default", "crm").await.unwrap(), 1);
    assert!(!cache.check_get_cache(q, &a.clone().with_item("crm")).await.unwrap().is_hit());
    assert!(cache.check_get_cache(q, &a).await.unwrap().is_hit());
}

#[tokio::test]
async fn cap_ttl_shadow_and_settings_at_run_time() {
    let dir = tempfile::tempdir().unwrap();
    let cache = embedded_cache(&dir).await;
    let u = Scope::user("u");
    let ns = cache.partition(&u).namespace.id();
    cache
        .set_settings(Some(&ns), CacheSettings { max_entries: 3, ttl_seconds: 3600, ..CacheSettings::default() })
        .await
        .unwrap();
    let topics = [
        "inventory levels in the Berlin warehouse",
        "open support tickets by priority",
        "monthly active users trend",
        "employee headcount by department",
        "average shipping time to customers",
    ];
    for t in topics {
        cache.update_cache(t, t, &u, None).await.unwrap();
    }
    let stats = cache.stats().await.unwrap();
    let n = stats.namespaces.iter().find(|n| n.id == ns).unwrap();
    assert_eq!(n.entries, 3, "the cap holds with TTLs set");
    assert_eq!(n.evictions, 2);
    assert!(!cache.check_get_cache(topics[0], &u).await.unwrap().is_hit(), "least recently used evicted first");
    assert!(cache.check_get_cache(topics[4], &u).await.unwrap().is_hit());

    // Per-entry TTL: an entry that expired is never served, and cleanup removes it.
    cache.update_cache("number of refunds issued", "refunds", &u, Some(1)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(!cache.check_get_cache("number of refunds issued", &u).await.unwrap().is_hit());
    assert!(cache.cleanup().await.unwrap().expired_removed >= 1);

    // Shadow mode records the would-be hit without serving it.
    cache
        .set_settings(Some(&ns), CacheSettings { shadow_mode: true, max_entries: 3, ..CacheSettings::default() })
        .await
        .unwrap();
    let l = cache.check_get_cache(topics[4], &u).await.unwrap();
    match &l {
        Lookup::Miss { shadow_hit: Some(q), best_similarity: Some(s), .. } => {
            assert_eq!(q, topics[4]);
            assert!(*s > 0.99);
        }
        other => panic!("{other:?}"),
    }
    let stats = cache.stats().await.unwrap();
    let n = stats.namespaces.iter().find(|n| n.id == ns).unwrap();
    assert_eq!(n.shadow_hits, 1);
    assert!(n.score_histogram.iter().sum::<u64>() >= 3);
    assert_eq!(n.score_histogram[19], n.score_histogram.iter().skip(19).sum::<u64>());

    // Invalid settings are refused with a reason.
    let err = cache
        .set_settings(None, CacheSettings { similarity_threshold: 1.5, ..CacheSettings::default() })
        .await
        .unwrap_err();
    assert!(err.message.contains("similarity_threshold"));
    // A threshold raised at run time applies at once.
    cache
        .set_settings(
            Some(&ns),
            CacheSettings { similarity_threshold: 0.999, max_entries: 3, ..CacheSettings::default() },
        )
        .await
        .unwrap();
    assert!(!cache.check_get_cache("avg shipping time to our customers", &u).await.unwrap().is_hit());
}

#[tokio::test]
async fn bad_input_is_a_clear_error_never_a_hit() {
    let dir = tempfile::tempdir().unwrap();
    let cache = embedded_cache(&dir).await;
    let u = Scope::user("u");
    cache.update_cache("revenue by region", "r", &u, None).await.unwrap();
    for q in ["", "   ", "\0revenue"] {
        let e = cache.check_get_cache(q, &u).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput, "{q:?}");
    }
    let huge = "revenue ".repeat(MAX_QUERY_BYTES / 4);
    let e = cache.check_get_cache(&huge, &u).await.unwrap_err();
    assert!(e.message.contains("at most"), "{}", e.message);
    // Hostile text is just text.
    let hostile = "'; DROP TABLE cache_entries; -- \u{202e}\u{7}";
    assert!(!cache.check_get_cache(hostile, &u).await.unwrap().is_hit());
    cache.update_cache(hostile, "x", &u, None).await.unwrap();
    assert!(cache.check_get_cache(hostile, &u).await.unwrap().is_hit());
    assert!(cache.update_cache("q", "", &u, None).await.is_err());
    assert_eq!(cache.invalidate(&Invalidation::All).await.unwrap(), 2);
}

/// Redis dies between a store and a lookup: the lookup is a miss that says why (never a hit it
/// cannot confirm), and a store is a clear "unreachable" error.
#[tokio::test]
async fn redis_going_away_is_a_miss_not_a_crash() {
    let mut server = simba_testkit::RedisServer::start().unwrap();
    let profile = ResolvedProfile::ad_hoc(&[(Service::Redis, server.url().as_str())]).unwrap();
    let persist = RedisPersistence::open(profile.endpoint(Service::Redis).unwrap(), "simba:sc:").await.unwrap();
    let store = Arc::new(IndexedStore::open(persist, model().dims()).await.unwrap());
    follow(&store);
    let cache = SemanticCache::new(model(), store);
    let u = Scope::user("u");
    cache.update_cache("top selling products this quarter", "p", &u, None).await.unwrap();
    assert_eq!(hit_response(&cache.check_get_cache("top selling products this quarter", &u).await.unwrap()), Some("p"));
    server.kill();
    match cache.check_get_cache("top selling products this quarter", &u).await.unwrap() {
        Lookup::Miss { reason, .. } => assert!(reason.contains("unavailable") || reason.contains("Redis"), "{reason}"),
        other => panic!("served a hit that could not be confirmed: {other:?}"),
    }
    let e = cache.update_cache("another question", "a", &u, None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unreachable, "{}", e.message);
}

fn judge() -> Arc<simba_core::engine::judge::Judge> {
    static JUDGE: OnceLock<Arc<simba_core::engine::judge::Judge>> = OnceLock::new();
    JUDGE
        .get_or_init(|| {
            let dir = simba_core::paths::models_dir().join(simba_core::engine::MODEL_DIR_NAME);
            Arc::new(
                simba_core::engine::judge::Judge::load(&dir)
                    .unwrap_or_else(|e| panic!("{e} (run `bash .ci/setup test`)")),
            )
        })
        .clone()
}

/// The judge serves a rewording that cosine puts under the threshold, may overrule an objection
/// about wording, and never one about a fact, whatever its minimum score.
#[tokio::test]
async fn the_judge_decides_wording_never_facts() {
    let dir = tempfile::tempdir().unwrap();
    let persist = SqlitePersistence::open(&dir.path().join("cache.db")).await.unwrap();
    let store = Arc::new(IndexedStore::open(persist, model().dims()).await.unwrap());
    let cache = SemanticCache::new(model(), store).with_judge(Some(judge()));
    let alice = Scope::user("alice");
    cache.update_cache("List customers who churned last quarter", "CHURN", &alice, None).await.unwrap();
    cache.update_cache("What was our total revenue in 2023?", "R2023", &alice, None).await.unwrap();

    // Cosine about 0.64, under the 0.8 threshold: served because the judge vouches for it.
    let reworded = "Which customers cancelled last quarter?";
    let hit = cache.check_get_cache(reworded, &alice).await.unwrap();
    assert_eq!(hit_response(&hit), Some("CHURN"), "{hit:?}");
    if let Lookup::Hit { similarity, .. } = &hit {
        assert!(*similarity < 0.8, "the example should sit under the threshold: {similarity}");
    }
    // With the judge off, the same lookup is a miss.
    let off = CacheSettings { judge_min_score: 2.0, ..CacheSettings::default() };
    cache.set_settings(None, off).await.unwrap();
    let miss = cache.check_get_cache(reworded, &alice).await.unwrap();
    assert!(!miss.is_hit(), "{miss:?}");

    // A judge that would accept anything still cannot overrule a fact (the year)...
    let lax = CacheSettings { judge_min_score: 0.0, ..CacheSettings::default() };
    cache.set_settings(None, lax.clone()).await.unwrap();
    let year = cache.check_get_cache("What was our total revenue in 2024?", &alice).await.unwrap();
    assert!(!year.is_hit(), "{year:?}");
    if let Lookup::Miss { reason, .. } = &year {
        assert!(reason.contains("differ"), "{reason}");
    }
    // ...but does decide an objection about wording (which is why its default score is high).
    let word = cache.check_get_cache("What was our total profit in 2023?", &alice).await.unwrap();
    assert_eq!(hit_response(&word), Some("R2023"), "{word:?}");
    cache.set_settings(None, CacheSettings::default()).await.unwrap();
    let word = cache.check_get_cache("What was our total profit in 2023?", &alice).await.unwrap();
    assert!(!word.is_hit(), "{word:?}");
    // Below the judge's floor nothing is read.
    let far = cache.check_get_cache("Which warehouses ran out of pallets?", &alice).await.unwrap();
    assert!(!far.is_hit(), "{far:?}");
}

fn chat(turns: &[(&str, &str)]) -> Vec<Message> {
    turns
        .iter()
        .map(|(role, content)| match *role {
            "user" => Message::user(*content),
            "assistant" => Message::assistant(*content),
            other => panic!("role {other}"),
        })
        .collect()
}

/// A chat is decided on what its last message asks: reworded turns and small talk still hit, a
/// follow-up in another context does not, and a stand-alone question hits in and out of chats.
#[tokio::test]
async fn chats_are_decided_on_what_they_ask() {
    use simba_core::api::cache::question_in_scope;
    let dir = tempfile::tempdir().unwrap();
    let cache = embedded_cache(&dir).await;
    let ask = |messages: Vec<Message>| question_in_scope(String::new(), Some(messages), Scope::user("alice")).unwrap();

    let (q, scope) = ask(chat(&[
        ("user", "I'm on the Pro plan and thinking about adding seats."),
        ("assistant", "Happy to help with seats on Pro."),
        ("user", "How much does each extra seat cost?"),
    ]));
    cache.update_cache(&q, "Pro seats are $20 a month.", &scope, None).await.unwrap();
    let stored = cache.entries(&cache.partition(&scope).namespace.id(), 0, 10).await.unwrap();
    assert_eq!(stored[0].context, vec![Message::user("I'm on the Pro plan and thinking about adding seats.")]);

    let (q, scope) = ask(chat(&[
        ("user", "hi!"),
        ("assistant", "Hello, how can I help?"),
        ("user", "I'm on the Pro plan and thinking about adding seats."),
        ("assistant", "Sure, seats on Pro."),
        ("user", "How much does each extra seat cost?"),
    ]));
    let hit = cache.check_get_cache(&q, &scope).await.unwrap();
    assert_eq!(hit_response(&hit), Some("Pro seats are $20 a month."), "{hit:?}");

    let (q, scope) = ask(chat(&[
        ("user", "I'm on the Basic plan and thinking about adding seats."),
        ("assistant", "Happy to help with seats on Basic."),
        ("user", "How much does each extra seat cost?"),
    ]));
    let miss = cache.check_get_cache(&q, &scope).await.unwrap();
    assert!(!miss.is_hit(), "another plan in the context: {miss:?}");

    // A stand-alone question in a chat hits the same question asked on its own, both ways.
    let (q, scope) = ask(chat(&[
        ("user", "Can I get an itemised invoice?"),
        ("assistant", "Yes, under Billing."),
        ("user", "How do I turn on single sign-on with Okta?"),
    ]));
    cache.update_cache(&q, "Settings → Security → SSO.", &scope, None).await.unwrap();
    let alone =
        cache.check_get_cache("How do I turn on single sign-on with Okta?", &Scope::user("alice")).await.unwrap();
    assert_eq!(hit_response(&alone), Some("Settings → Security → SSO."), "{alone:?}");
}

/// Bad chats get a clear error or a miss with the reason, never a wrong hit.
#[tokio::test]
async fn bad_chats_are_clear_errors_or_misses() {
    use simba_core::api::cache::question_in_scope;
    use simba_core::engine::cache::conversation::{parse_chat, READ_MESSAGES};
    let alice = || Scope::user("alice");
    let err = |messages: Vec<Message>| question_in_scope(String::new(), Some(messages), alice()).unwrap_err().message;
    assert!(err(vec![]).contains("no messages"));
    assert!(err(chat(&[("user", "hi"), ("assistant", "hello")])).contains("from the assistant"));
    let both = question_in_scope("q".into(), Some(chat(&[("user", "hi")])), alice()).unwrap_err().message;
    assert!(both.contains("not both"), "{both}");
    assert!(parse_chat(r#"[{"role":"robot","content":"hi"}]"#).unwrap_err().contains("unknown variant `robot`"));

    let dir = tempfile::tempdir().unwrap();
    let cache = embedded_cache(&dir).await;
    let many = Scope::user("alice").with_conversation(vec![Message::user("and?"); 10_000]);
    let e = cache.check_get_cache("and then?", &many).await.unwrap_err();
    assert!(e.message.contains("at most 1000"), "{e:?}");
    let huge = Scope::user("alice").with_conversation(vec![Message::user("x".repeat(1 << 20))]);
    let e = cache.check_get_cache("and then?", &huge).await.unwrap_err();
    assert!(e.message.contains("bytes a turn"), "{e:?}");

    // A follow-up whose chain of references runs past what the cache reads: stored never, a miss.
    let mut long = vec![Message::user("Tell me about the Gold plan.")];
    for _ in 0..READ_MESSAGES {
        long.extend(chat(&[("user", "and its price?"), ("assistant", "It is 10.")]));
    }
    let scope = Scope::user("alice").with_conversation(long);
    let e = cache.update_cache("and that?", "answer", &scope, None).await.unwrap_err();
    assert!(e.message.contains("depends on more earlier turns"), "{e:?}");
    match cache.check_get_cache("and that?", &scope).await.unwrap() {
        Lookup::Miss { reason, .. } => assert!(reason.contains("depends on more earlier turns"), "{reason}"),
        hit => panic!("{hit:?}"),
    }
}
