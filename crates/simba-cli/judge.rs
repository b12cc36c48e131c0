//! `simba-tuner judge …`: train the judge's adapter on labelled pairs, and score pairs with it.

use crate::output::term;
use clap::Subcommand;
use simba_core::engine::judge::{train, BaseModel, Judge};
use simba_core::engine::MODEL_DIR_NAME;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum JudgeCommand {
    /// Train a new adapter on every .jsonl file in a folder (a, b, same_answer).
    Train {
        /// Folder of labelled pairs (the built-in judge: crates/simba-core/judge/pairs).
        #[arg(long)]
        pairs: PathBuf,
        /// Where to write the adapter (safetensors).
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 3)]
        epochs: usize,
        #[arg(long, default_value_t = 5e-4)]
        lr: f64,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Adapter rank.
        #[arg(long, default_value_t = simba_core::engine::judge::RANK)]
        rank: usize,
        #[arg(long)]
        json: bool,
    },
    /// Score labelled pairs (a file as `cache eval` reads) with the judge; prints one line per pair.
    Score {
        file: PathBuf,
        /// An adapter file instead of the built-in one.
        #[arg(long)]
        adapter: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

fn model_dir() -> PathBuf {
    simba_core::paths::models_dir().join(MODEL_DIR_NAME)
}

pub fn run(cmd: JudgeCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        JudgeCommand::Train { pairs, out, epochs, lr, seed, rank, json } => {
            let base = BaseModel::load(&model_dir())?;
            let data = train::read_pairs_dir(&pairs)?;
            eprintln!("training on {} pairs from {}", data.len(), pairs.display());
            let opts = train::TrainOptions { epochs, learning_rate: lr, seed, rank, ..Default::default() };
            let (model, report) =
                train::train(&base, &data, &opts, |step, total, loss| eprintln!("step {step}/{total} loss {loss:.4}"))?;
            model.save_adapter(&out)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "trained on {} pairs in {} steps ({:.0} s): loss {:.4} → {:.4}; adapter written to {}",
                    report.pairs,
                    report.steps,
                    report.seconds,
                    report.first_loss,
                    report.last_loss,
                    out.display()
                );
            }
        }
        JudgeCommand::Score { file, adapter, json } => {
            let text = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let pairs = simba_core::engine::eval::parse_pairs(&text)?;
            let judge = match adapter {
                Some(p) => Judge::with_adapter(
                    &model_dir(),
                    &std::fs::read(&p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
                )?,
                None => Judge::load(&model_dir())?,
            };
            let texts: Vec<(String, String)> = pairs
                .iter()
                .map(|p| Ok((p.a.asked()?.text, p.b.asked()?.text)))
                .collect::<Result<_, String>>()
                .map_err(anyhow::Error::msg)?;
            let refs: Vec<(&str, &str)> = texts.iter().map(|(a, b)| (b.as_str(), a.as_str())).collect();
            let scores = judge.score(&refs)?;
            if json {
                let rows: Vec<_> = pairs.iter().zip(&scores).map(|(p, s)| serde_json::json!({"a": p.a, "b": p.b, "same_answer": p.same_answer, "category": p.category, "judge": s})).collect();
                println!("{}", serde_json::to_string(&rows)?);
            } else {
                // Written in one piece so a closed pipe (`| head`) ends the output quietly.
                let table: String = pairs
                    .iter()
                    .zip(&scores)
                    .zip(&texts)
                    .map(|((p, s), (a, b))| format!("{s:.3}\t{}\t{}\t{}\n", p.same_answer, term(a), term(b)))
                    .collect();
                let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), table.as_bytes());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
