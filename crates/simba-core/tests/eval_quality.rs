//! The answer-safety target on the development pairs, through the real MiniLM model and the same
//! evaluation the `cache eval` command runs: at the default threshold (0.8) with the candidate
//! checks on, serve at least 65% of same-answer pairs and at most 2% of trap pairs.
//! (The hold-out set is for reporting only and is not asserted here.)

use simba_core::engine::cache::types::CacheSettings;
use simba_core::engine::embed::{Embedder, MiniLmEmbedder};
use simba_core::engine::eval::{evaluate, parse_pairs};

#[test]
fn dev_set_meets_the_target_at_the_default_threshold() {
    let dir = simba_core::paths::models_dir().join(simba_core::engine::MODEL_DIR_NAME);
    let model = MiniLmEmbedder::load(&dir).unwrap_or_else(|e| panic!("{e} (run `bash .ci/setup test`)"));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/eval_dev.jsonl");
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
    eprintln!("threshold {threshold}: same served {:.1}%, traps served {:.1}% ({})", same * 100.0, traps * 100.0, by_cat.join(", "));
    assert!(same >= 0.65, "same-answer pairs served {:.1}% < 65% ({})", same * 100.0, by_cat.join(", "));
    assert!(traps <= 0.02, "trap pairs served {:.1}% > 2% ({})", traps * 100.0, by_cat.join(", "));
}
