//! Helpers shared by the whole-system tests: run the real `simba-tuner` binary in a private
//! config/data folder.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub struct Cli {
    pub home: tempfile::TempDir,
}

impl Cli {
    pub fn new() -> Self {
        Self { home: tempfile::tempdir().unwrap() }
    }

    pub fn command(&self) -> Command {
        // SIMBA_TUNER_BIN runs these tests against another build (an old one, to see a new test fail, or a
        // private copy while a shared target folder may be rebuilt from another checkout).
        let bin = std::env::var_os("SIMBA_TUNER_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_simba-tuner").into());
        let mut cmd = Command::new(bin);
        cmd.env("SIMBA_CONFIG_DIR", self.home.path().join("config"))
            .env("SIMBA_DATA_DIR", self.home.path().join("data"))
            // The model files stay where .ci/setup put them.
            .env("SIMBA_MODELS_DIR", simba_core::paths::models_dir())
            .env_remove("SIMBA_REDIS_URL")
            .env_remove("SIMBA_POSTGRES_URL")
            .env_remove("SIMBA_SERVE_TOKEN");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run simba-tuner")
    }

    /// Runs with `--json` expected to succeed; returns the parsed answer.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "simba-tuner {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }

    pub fn config_dir(&self) -> std::path::PathBuf {
        self.home.path().join("config")
    }
}

/// Every file under `dir`, concatenated (to check that no secret was written where it should not be).
pub fn all_text_under(dir: &Path) -> String {
    let mut out = String::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.push_str(&all_text_under(&p));
            } else if let Ok(t) = std::fs::read_to_string(&p) {
                out.push_str(&t);
            }
        }
    }
    out
}
