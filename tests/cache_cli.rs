//! `simba-tuner cache …` and `bench cache` on the embedded default, through the real binary.

mod common;

use common::{serve, Cli};
use serde_json::{json, Value};

#[test]
fn store_lookup_stats_invalidate() {
    let cli = Cli::new();
    let out = cli.run(&["cache", "store", "What was our total revenue in 2023?", "42 million", "--user", "alice"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let hit = cli.json(&["cache", "lookup", "total revenue for 2023", "--user", "alice", "--json"]);
    assert_eq!(hit["outcome"], "hit", "{hit}");
    assert_eq!(hit["response"], "42 million");
    let other_user = cli.json(&["cache", "lookup", "total revenue for 2023", "--user", "bob", "--json"]);
    assert_eq!(other_user["outcome"], "miss");
    let trap = cli.json(&["cache", "lookup", "What was our total revenue in 2024?", "--user", "alice", "--json"]);
    assert_eq!(trap["outcome"], "miss", "{trap}");

    // The store is persistent: a new process sees the entry and counts its own lookups.
    let stats = cli.json(&["cache", "stats", "--json"]);
    assert_eq!(stats["backend"], "embedded");
    assert_eq!(stats["entries"], 1);
    let status = cli.json(&["status", "--json"]);
    assert_eq!(status["engine"]["entries"], 1);
    assert_eq!(status["engine"]["embedding_model_ready"], true);

    let out = cli.run(&["cache", "invalidate", "--user", "alice"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("deleted 1 entries"));
    let out = cli.run(&["cache", "lookup", "", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
}

#[test]
fn eval_reports_rates_per_category_and_a_chart() {
    let cli = Cli::new();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/eval_small.csv");
    let chart = cli.home.path().join("sweep.svg");
    let r = cli.json(&["cache", "eval", file, "--json", "--chart", chart.to_str().unwrap()]);
    assert_eq!(r["pairs"], 6);
    assert_eq!(r["overall"]["same_total"], 2);
    assert_eq!(r["overall"]["different_total"], 4);
    assert_eq!(r["overall"]["different_served"], 0, "{}", r["details"]);
    assert_eq!(r["by_category"]["antonym"]["different_total"], 1);
    assert_eq!(r["sweep"].as_array().unwrap().len(), 51);
    assert!(std::fs::read_to_string(&chart).unwrap().contains("<svg"));
    // Raw cosine alone serves traps this set contains.
    let raw = cli.json(&["cache", "eval", file, "--json", "--no-verify", "--threshold", "0.8"]);
    assert!(raw["overall"]["different_served"].as_u64().unwrap() >= 1, "{}", raw["details"]);

    let out = cli.run(&["cache", "eval", "/nonexistent.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn bench_cache_runs_small() {
    let cli = Cli::new();
    let r = cli.json(&["bench", "cache", "--sizes", "2000", "--queries", "200", "--texts", "64", "--json"]);
    let idx = &r["index"][0];
    assert_eq!(idx["entries"], 2000);
    assert_eq!(idx["kind"], "exact");
    assert_eq!(idx["recall_at_1"], 1.0);
    assert!(idx["p99_us"].as_f64().unwrap() > 0.0);
    assert!(r["embedding"]["batch32_sentences_per_second"].as_f64().unwrap() > 0.0);
}

#[test]
fn lookup_prints_control_characters_escaped() {
    let cli = Cli::new();
    let hostile = "\x1b[2J\x1b]0;owned\x07cleared\rfake\u{202e}txt.exe";
    let out = cli.run(&["cache", "store", "What is the refund policy?", hostile, "--user", "alice"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = cli.run(&["cache", "lookup", "What is the refund policy?", "--user", "alice"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("HIT"), "{text}");
    assert!(!text.contains('\x1b') && !text.contains('\r') && !text.contains('\x07'), "{text:?}");
    assert!(!text.contains('\u{202e}'), "{text:?}");
    assert!(text.contains(r"\x1b[2J") && text.contains(r"\u{202e}txt.exe"), "{text:?}");
    // JSON keeps the answer as it was stored (serde escapes it).
    let hit = cli.json(&["cache", "lookup", "What is the refund policy?", "--user", "alice", "--json"]);
    assert_eq!(hit["response"], hostile);
}

/// `action preview` then `action apply` with its token, on the embedded profile.
fn apply_action(cli: &Cli, action: &str, params: &[&str]) -> Value {
    let mut args = vec!["action", "preview", action, "--profile", "embedded", "--json"];
    for p in params {
        args.extend(["--param", p]);
    }
    let preview = cli.json(&args);
    args[1] = "apply";
    let token = preview["confirm_token"].as_str().unwrap().to_string();
    args.extend(["--confirm", &token]);
    cli.json(&args)
}

#[test]
fn cache_settings_tuned_from_findings_and_rolled_back() {
    let cli = Cli::new();
    // A threshold set far too loose, as a person might.
    let entry = apply_action(&cli, "cache.set_settings", &["similarity_threshold=0.6"]);
    assert_eq!(entry["outcome"], "applied", "{entry:#}");
    assert_eq!(entry["changes"][0]["name"], "similarity_threshold of the cache defaults");
    assert_eq!(
        (entry["changes"][0]["before"].clone(), entry["changes"][0]["after"].clone()),
        ("0.8".into(), "0.6".into())
    );
    assert_eq!(cli.json(&["cache", "stats", "--json"])["defaults"]["similarity_threshold"], 0.6);

    // The advisor flags it and its fix puts the default back; applied, then rolled back.
    let report = cli.json(&["advise", "--profile", "embedded", "--json"]);
    let finding = report["findings"].as_array().unwrap().iter().find(|f| f["id"] == "cache.threshold_range").cloned();
    let finding = finding.unwrap_or_else(|| panic!("no threshold finding in {report:#}"));
    assert_eq!(finding["severity"], "critical");
    assert_eq!(finding["fix"]["action"], "cache.set_settings");
    assert_eq!(finding["fix"]["params"]["similarity_threshold"], "0.8");
    let preview = cli.json(&["apply", "cache.threshold_range", "--profile", "embedded", "--dry-run", "--json"]);
    assert!(preview["statements"][0].as_str().unwrap().starts_with("cache_set_settings {"), "{preview:#}");
    assert!(preview["notes"].to_string().contains("holds across restarts"), "{preview:#}");
    let fixed = cli.json(&["apply", "cache.threshold_range", "--profile", "embedded", "--yes", "--json"]);
    assert_eq!(fixed["outcome"], "applied", "{fixed:#}");
    assert_eq!(cli.json(&["cache", "stats", "--json"])["defaults"]["similarity_threshold"], 0.8);
    let undone = cli.json(&["rollback", fixed["id"].as_str().unwrap(), "--yes", "--json"]);
    assert_eq!(undone["outcome"], "applied", "{undone:#}");
    assert_eq!(cli.json(&["cache", "stats", "--json"])["defaults"]["similarity_threshold"], 0.6);
    let undone = cli.json(&["rollback", entry["id"].as_str().unwrap(), "--yes", "--json"]);
    assert_eq!(undone["outcome"], "applied", "{undone:#}");
    assert_eq!(cli.json(&["cache", "stats", "--json"])["defaults"]["similarity_threshold"], 0.8);

    // A namespace capped at 2 entries evicts; the finding's fix raises its cap, for it alone.
    // Eviction counters live in the running engine, so this part talks to one `serve` process.
    let served = serve(&cli);
    let ok = |(status, answer): (u16, Value)| -> Value {
        assert_eq!(status, 200, "{answer:#}");
        answer
    };
    let store = |q: &str, a: &str| {
        ok(served.call("cache_store", json!({"scope": {"user": "carol"}, "query": q, "response": a})));
    };
    store("How many orders shipped in March?", "1,204");
    let ns = ok(served.call("cache_stats", json!({})))["namespaces"][0]["id"].as_str().unwrap().to_string();
    let action = |action: &str, params: Value| -> Value {
        let req = json!({"profile": "embedded", "action": action, "params": params});
        let preview = ok(served.call("action_preview", req.clone()));
        let mut req = req;
        req["confirm"] = preview["confirm_token"].clone();
        ok(served.call("action_apply", req))
    };
    let capped = action("cache.set_settings", json!({"namespace": ns, "max_entries": "2"}));
    assert_eq!(capped["outcome"], "applied", "{capped:#}");
    for (q, a) in [
        ("Which region had the most returns last quarter?", "North"),
        ("What is the average basket size on weekends?", "3.4 items"),
        ("List the suppliers with late deliveries in 2024", "Acme, Borealis"),
        ("How long does a refund take to process?", "5 days"),
    ] {
        store(q, a);
    }
    let namespace = |stats: &Value| {
        stats["namespaces"].as_array().unwrap().iter().find(|n| n["id"] == ns.as_str()).unwrap().clone()
    };
    let n = namespace(&ok(served.call("cache_stats", json!({}))));
    assert_eq!((n["entries"].clone(), n["evictions"].clone()), (2.into(), 3.into()), "{n:#}");
    let report = ok(served.call("advise", json!({"profile": "embedded"})));
    let id = format!("cache.early_evictions:{ns}");
    let finding = report["findings"].as_array().unwrap().iter().find(|f| f["id"] == id.as_str()).cloned();
    let finding = finding.unwrap_or_else(|| panic!("no {id} in {report:#}"));
    assert_eq!(finding["fix"]["params"]["max_entries"], "100", "(2 + 3 evicted) in whole hundreds: {finding:#}");
    let raised = action("cache.set_settings", finding["fix"]["params"].clone());
    assert_eq!(raised["outcome"], "applied", "{raised:#}");
    assert_eq!(raised["changes"][0]["name"], format!("max_entries of namespace {ns}"));
    assert_eq!(
        (raised["changes"][0]["before"].clone(), raised["changes"][0]["after"].clone()),
        ("2".into(), "100".into())
    );
    let stats = ok(served.call("cache_stats", json!({})));
    assert_eq!(namespace(&stats)["settings"]["max_entries"], 100);
    assert_eq!(stats["defaults"]["max_entries"], 10_000, "the defaults are untouched");
    let audit_id = raised["id"].as_str().unwrap();
    let back = ok(served.call("action_preview", json!({"profile": "embedded", "action": "", "rollback_of": audit_id})));
    let undone = ok(served.call(
        "action_rollback",
        json!({"profile": "embedded", "audit_id": audit_id, "confirm": back["confirm_token"]}),
    ));
    assert_eq!(undone["outcome"], "applied", "{undone:#}");
    assert_eq!(namespace(&ok(served.call("cache_stats", json!({}))))["settings"]["max_entries"], 2);

    // Flushing the namespace: previewed with its entry count, applied, nothing to roll back.
    let req = json!({"profile": "embedded", "action": "cache.flush_namespace", "params": {"namespace": ns}});
    let preview = ok(served.call("action_preview", req.clone()));
    assert_eq!(preview["statements"][0], format!("cache_invalidate {{\"namespace\":\"{ns}\"}}"));
    assert_eq!(
        (preview["changes"][0]["before"].clone(), preview["changes"][0]["after"].clone()),
        ("2".into(), "0".into())
    );
    assert!(preview["notes"][0].as_str().unwrap().starts_with("no rollback"), "{preview:#}");
    let flushed = action("cache.flush_namespace", json!({"namespace": ns}));
    assert_eq!(flushed["outcome"], "applied", "{flushed:#}");
    let left = ok(served.call("cache_stats", json!({})))["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == ns.as_str())
        .map(|n| n["entries"].clone());
    assert!(left.is_none() || left == Some(json!(0)), "{left:?}");
    let (status, answer) =
        served.call("action_preview", json!({"profile": "embedded", "action": "", "rollback_of": flushed["id"]}));
    assert_eq!(status, 400, "{answer}");
    assert!(answer.to_string().contains("cannot be put back"), "{answer}");
    drop(served);

    // Bad values and a profile that does not hold the cache: refused with the reason, nothing run.
    let out = cli.run(&[
        "action",
        "preview",
        "cache.set_settings",
        "--profile",
        "embedded",
        "--param",
        "similarity_threshold=0.2",
        "--json",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("from 0.5 to 1"), "{}", String::from_utf8_lossy(&out.stdout));
    let out = cli.run(&["profile", "add", "elsewhere", "--redis", "redis://127.0.0.1:1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = cli.run(&[
        "action",
        "preview",
        "cache.set_settings",
        "--profile",
        "elsewhere",
        "--param",
        "max_entries=5",
        "--json",
    ]);
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "invalid_input", "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("does not hold this app's semantic cache"), "{err}");
}

/// `cache explain` shows what the checks read: tokens, typed facts, the words left unmatched and
/// the rule that fired, for a person and as JSON.
#[test]
fn explain_shows_tokens_facts_unmatched_words_and_the_rule() {
    let cli = Cli::new();
    let swapped =
        cli.json(&["cache", "explain", "Flights from Paris to London", "Flights from London to Paris", "--json"]);
    assert_eq!(swapped["checks"]["rule"], "roles", "{swapped}");
    assert_eq!(swapped["pair"]["served"], false, "{swapped}");
    assert!(swapped["checks"]["query_tokens"].as_array().is_some_and(|t| t.len() >= 4), "{swapped}");

    let numbers = cli.json(&["cache", "explain", "Orders over $500 last week", "Orders over $50 last week", "--json"]);
    assert_eq!(numbers["checks"]["rule"], "numbers", "{numbers}");
    assert!(numbers["checks"]["query_facts"].as_str().unwrap().contains("Number(\"50\")"), "{numbers}");

    let added =
        cli.json(&["cache", "explain", "How many users do we have?", "How many paying users do we have?", "--json"]);
    assert_eq!(added["checks"]["query_unmatched"], json!(["paying"]), "{added}");
    assert_eq!(added["checks"]["candidate_unmatched"], json!([]), "{added}");

    let out = cli.run(&["cache", "explain", "How many users do we have?", "How many paying users do we have?"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("unmatched B: paying") && text.contains("rule added_word"), "{text}");
}
