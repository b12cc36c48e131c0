//! Replays every committed fuzz corpus file (fuzz/corpus/<target>/) through the same functions the
//! cargo-fuzz targets call (fuzz/checks.rs), so CI runs the corpus on stable without libFuzzer.
//! The fuzzing itself is `bash fuzz/run.sh [seconds]` (nightly; docs/reliability/drills.md).

#[path = "../../../fuzz/checks.rs"]
mod checks;

use std::path::PathBuf;

#[test]
fn every_fuzz_corpus_file_replays_without_panic() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut total = 0;
    for (name, check) in checks::TARGETS {
        let dir = root.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no corpus for fuzz target {name} in {}", dir.display());
        for file in &files {
            let data = std::fs::read(file).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "fuzz target {name} panics on {}", file.display());
        }
        total += files.len();
    }
    eprintln!("{total} fuzz corpus files replayed");
}
