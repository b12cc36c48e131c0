//! `simba-tuner cache …` and `bench cache` on the embedded default, through the real binary.

mod common;

use common::Cli;

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
