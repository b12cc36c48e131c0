//! The answer-safety target, through the real MiniLM model, the real judge and the same evaluation
//! the `cache eval` command runs, at the default settings (threshold 0.8, candidate checks on, the
//! judge at its default minimum score and floor): serve at least 65% of same-answer pairs and at
//! most 2% of trap pairs.
//!
//! Six labelled sets of 360 pairs, none of which the judge trained on (`judge_pairs_stay_apart`):
//! - `eval_dev`, `eval_holdout`, `eval_fresh`, `eval_blind`: read pair by pair in sessions 1–7
//!   while writing the checks, and used in session 8 to choose the judge's minimum score and floor;
//! - `eval_blind2` (written in session 7) and `eval_blind3` (session 8): never read; only their
//!   overall figures were looked at, once the judge's settings were chosen. They are the honest
//!   measure of what held-out questions get.
//!
//! Sets that meet the target must keep meeting it; a set that does not yet is held to a floor just
//! under its figure, so no change loses ground unnoticed.
//!
//! `SIMBA_EVAL_DUMP=<file>` writes every pair of the development set with its similarity, the
//! checks' objection and the judge's score, one JSON object a line, for inspection.

use simba_core::engine::cache::types::CacheSettings;
use simba_core::engine::embed::{Embedder, MiniLmEmbedder};
use simba_core::engine::eval::{evaluate, parse_pairs, EvalReport};
use simba_core::engine::judge::Judge;
use std::sync::OnceLock;

const SAME_TARGET: f64 = 0.65;
const TRAP_TARGET: f64 = 0.02;

fn models() -> &'static (MiniLmEmbedder, Judge) {
    static MODELS: OnceLock<(MiniLmEmbedder, Judge)> = OnceLock::new();
    MODELS.get_or_init(|| {
        let dir = simba_core::paths::models_dir().join(simba_core::engine::MODEL_DIR_NAME);
        let model = MiniLmEmbedder::load(&dir).unwrap_or_else(|e| panic!("{e} (run `bash .ci/setup test`)"));
        (model, Judge::load(&dir).unwrap())
    })
}

fn run(file: &str) -> (EvalReport, f64, f64, String) {
    let (model, judge) = models();
    let path = format!("{}/../../tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    let pairs = parse_pairs(&std::fs::read_to_string(path).unwrap()).unwrap();
    let defaults = CacheSettings::default();
    assert!(defaults.verify_candidates);
    let report = evaluate(model as &dyn Embedder, Some(judge), &pairs, &defaults).unwrap();
    assert_eq!(report.judge_min_score, Some(defaults.judge_min_score), "the judge took no part");
    let same = report.overall.same_served_rate.unwrap();
    let traps = report.overall.false_hit_rate.unwrap();
    let by_cat: Vec<String> = report
        .by_category
        .iter()
        .map(|(k, v)| format!("{k}: {:.0}%", 100.0 * v.same_served_rate.or(v.false_hit_rate).unwrap_or(0.0)))
        .collect();
    let by_cat = by_cat.join(", ");
    eprintln!(
        "{file} at the default settings: same served {:.1}%, traps served {:.1}% ({by_cat})",
        same * 100.0,
        traps * 100.0
    );
    (report, same as f64, traps as f64, by_cat)
}

/// Served share of same-answer pairs at least `min_same`, of traps at most `max_traps`.
fn floor(file: &str, min_same: f64, max_traps: f64) {
    let (_, same, traps, by_cat) = run(file);
    assert!(
        same >= min_same,
        "{file}: same-answer pairs served {:.1}% < {:.0}% ({by_cat})",
        same * 100.0,
        min_same * 100.0
    );
    assert!(
        traps <= max_traps,
        "{file}: trap pairs served {:.1}% > {:.1}% ({by_cat})",
        traps * 100.0,
        max_traps * 100.0
    );
}

#[test]
fn dev_set_meets_the_target() {
    let (report, same, traps, by_cat) = run("eval_dev.jsonl");
    if let Ok(out) = std::env::var("SIMBA_EVAL_DUMP") {
        let lines: Vec<String> = report.details.iter().map(|d| serde_json::to_string(d).unwrap()).collect();
        std::fs::write(out, lines.join("\n") + "\n").unwrap();
    }
    assert!(same >= SAME_TARGET, "same-answer pairs served {:.1}% < 65% ({by_cat})", same * 100.0);
    assert!(traps <= TRAP_TARGET, "trap pairs served {:.1}% > 2% ({by_cat})", traps * 100.0);
}

#[test]
fn sets_read_while_tuning_meet_the_target() {
    for file in ["eval_holdout.jsonl", "eval_fresh.jsonl", "eval_blind.jsonl"] {
        floor(file, SAME_TARGET, TRAP_TARGET);
    }
}

/// Session 8, at the default settings: blind3 73.5% / 0.5%, blind2 66.0% / 0.5%. Blind2 is one
/// pair above 65%; its floor leaves room for a score that sits on the judge's minimum to round the
/// other way on another CPU.
#[test]
fn unread_sets_meet_the_target() {
    floor("eval_blind3.jsonl", SAME_TARGET, TRAP_TARGET);
    floor("eval_blind2.jsonl", 0.64, TRAP_TARGET);
}

/// The judge never trained on a question of the sets that measure it (see
/// `.ci/tools/judge_pairs_apart.py`, which drops such pairs).
/// Chats (issue 20): the development set written for this session (`chat_dev`, 400 pairs) holds
/// the figures measured when it was built, 50.0% served at 6.0% traps; the target (80% / 5%) is
/// not met yet. `chat_blind1`–`3` are measured in docs/NOTES.md, never asserted on.
#[test]
fn chat_dev_set_holds_its_floor() {
    floor("chat_dev.jsonl", 0.45, 0.07);
}

#[test]
fn judge_pairs_stay_apart() {
    let norm = |t: &str| {
        t.to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let texts = |dir: &str, prefix: &str| -> Vec<(String, String)> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(format!("{}/{dir}", env!("CARGO_MANIFEST_DIR"))).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with(prefix) && name.ends_with(".jsonl") {
                for p in parse_pairs(&std::fs::read_to_string(&path).unwrap()).unwrap() {
                    for side in [&p.a, &p.b] {
                        out.push((name.clone(), norm(&side.asked().unwrap().text)));
                    }
                }
            }
        }
        out
    };
    let held: std::collections::HashSet<String> =
        texts("../../tests/fixtures", "eval_").into_iter().map(|(_, t)| t).collect();
    assert!(held.len() > 3000, "the evaluation sets are missing ({} texts)", held.len());
    let training = texts("judge/pairs", "");
    assert!(training.len() > 8000, "the judge's training pairs are missing ({} texts)", training.len());
    let shared: Vec<&(String, String)> = training.iter().filter(|(_, t)| held.contains(t)).collect();
    assert!(shared.is_empty(), "{} training texts also in an evaluation set, first in {}", shared.len(), shared[0].0);
}
