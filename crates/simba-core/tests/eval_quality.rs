//! The answer-safety target, through the real MiniLM model and the same evaluation the `cache eval`
//! command runs: at the default threshold (0.8) with the candidate checks on, serve at least 65% of
//! same-answer pairs and at most 2% of trap pairs.
//! - the development pairs (`eval_dev.jsonl`) must meet it;
//! - the hold-out pairs (`eval_holdout.jsonl`, other domains) and the fresh pairs (`eval_fresh.jsonl`,
//!   written by a helper that never saw the checks) do not meet it yet: they are held to floors just
//!   under what they score now (hold-out 71.6% served / 1.5% traps, fresh 60.5% / 0.0%), so a change
//!   to the checks cannot lose ground unnoticed. Set `HOLDOUT_ASSERTED` once they meet the target.
//!   Both sets have been read while improving the checks (session 6), so they are no longer blind;
//!   the measure of generality is the next set written without looking at the checks.
//! - two more sets written blind in session 7: `eval_blind.jsonl` (read after its first
//!   measurement to find error classes) and `eval_blind2.jsonl` (never read; measured once at the
//!   end of session 7: 43.8% / 0.5%), held to floors the same way.
//!
//! `SIMBA_EVAL_DUMP=<file>` writes every pair of the development set with its similarity and the
//! checks' objection, one JSON object a line, for inspection.

use simba_core::engine::cache::types::CacheSettings;
use simba_core::engine::embed::{Embedder, MiniLmEmbedder};
use simba_core::engine::eval::{evaluate, parse_pairs, EvalReport};

const SAME_TARGET: f64 = 0.65;
const TRAP_TARGET: f64 = 0.02;
/// Whether the hold-out figures are asserted (true once the checks generalise to them; not yet).
const HOLDOUT_ASSERTED: bool = false;

fn run(file: &str) -> (EvalReport, f64, f64, String) {
    let dir = simba_core::paths::models_dir().join(simba_core::engine::MODEL_DIR_NAME);
    let model = MiniLmEmbedder::load(&dir).unwrap_or_else(|e| panic!("{e} (run `bash .ci/setup test`)"));
    let path = format!("{}/../../tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    let pairs = parse_pairs(&std::fs::read_to_string(path).unwrap()).unwrap();
    let defaults = CacheSettings::default();
    assert!(defaults.verify_candidates);
    let threshold = defaults.similarity_threshold;
    let report = evaluate(&model as &dyn Embedder, &pairs, threshold, true).unwrap();
    let same = report.overall.same_served_rate.unwrap();
    let traps = report.overall.false_hit_rate.unwrap();
    let by_cat: Vec<String> = report
        .by_category
        .iter()
        .map(|(k, v)| format!("{k}: {:.0}%", 100.0 * v.same_served_rate.or(v.false_hit_rate).unwrap_or(0.0)))
        .collect();
    let by_cat = by_cat.join(", ");
    eprintln!("{file} at threshold {threshold}: same served {:.1}%, traps served {:.1}% ({by_cat})", same * 100.0, traps * 100.0);
    (report, same as f64, traps as f64, by_cat)
}

#[test]
fn dev_set_meets_the_target_at_the_default_threshold() {
    let (report, same, traps, by_cat) = run("eval_dev.jsonl");
    if let Ok(out) = std::env::var("SIMBA_EVAL_DUMP") {
        let lines: Vec<String> = report.details.iter().map(|d| serde_json::to_string(d).unwrap()).collect();
        std::fs::write(out, lines.join("\n") + "\n").unwrap();
    }
    assert!(same >= SAME_TARGET, "same-answer pairs served {:.1}% < 65% ({by_cat})", same * 100.0);
    assert!(traps <= TRAP_TARGET, "trap pairs served {:.1}% > 2% ({by_cat})", traps * 100.0);
}

/// Served share of same-answer pairs at least `min_same`, of traps at most `max_traps`.
fn floor(file: &str, min_same: f64, max_traps: f64) {
    let (_, same, traps, by_cat) = run(file);
    let (min_same, max_traps) = if HOLDOUT_ASSERTED { (SAME_TARGET, TRAP_TARGET) } else { (min_same, max_traps) };
    assert!(same >= min_same, "{file}: same-answer pairs served {:.1}% < {:.0}% ({by_cat})", same * 100.0, min_same * 100.0);
    assert!(traps <= max_traps, "{file}: trap pairs served {:.1}% > {:.0}% ({by_cat})", traps * 100.0, max_traps * 100.0);
}

#[test]
fn holdout_set_keeps_its_ground() {
    floor("eval_holdout.jsonl", 0.70, 0.03);
}

#[test]
fn fresh_set_keeps_its_ground() {
    floor("eval_fresh.jsonl", 0.59, 0.01);
}

#[test]
fn blind_sets_keep_their_ground() {
    floor("eval_blind.jsonl", 0.48, 0.015);
    floor("eval_blind2.jsonl", 0.42, 0.015);
}
