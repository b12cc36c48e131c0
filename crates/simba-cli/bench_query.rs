//! `simba-tuner bench query`: the local model's speed (both weight formats, beside llama.cpp on
//! the same file when its Python package is there), a cached answer end to end, and replay
//! throughput. Figures go to docs/BENCHMARKS.md.

use clap::Args;
use simba_core::engine::llm::local::default_model_path;
use simba_core::engine::query::bench::{cached_answer_bench, model_bench, replay_bench, write_workloads, STORY_PROMPT};
use simba_core::Service;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct QueryBenchArgs {
    /// Tokens generated for the model's speed (0 skips the model).
    #[arg(long, default_value_t = 128)]
    tokens: u32,
    /// Entries in the store for the cached-answer measurement (0 skips it), and probes asked.
    #[arg(long, default_value_t = 10_000)]
    entries: usize,
    #[arg(long, default_value_t = 300)]
    probes: usize,
    /// Rows of the replay measurement (0 skips it), drawn from this many distinct questions.
    #[arg(long, default_value_t = 20_000)]
    replay_rows: usize,
    #[arg(long, default_value_t = 2_000)]
    replay_distinct: usize,
    /// The venv with llama-cpp-python, for the peer measurement (skipped when missing).
    #[arg(long, env = "SIMBA_LLAMA_VENV")]
    llama_venv: Option<PathBuf>,
    /// Also write the cached-answer and replay workloads as JSON lines into this folder, for the
    /// Python peer (.ci/tools/peer_query_bench.py) to run the same ones.
    #[arg(long)]
    workload_out: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

const PEER: &str = r#"
import json, sys, time
from llama_cpp import Llama
path, prompt, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = time.perf_counter(); m = Llama(path, n_ctx=2048, n_threads=2, verbose=False, seed=42); load = time.perf_counter() - t
ask = lambda k: m.create_chat_completion(messages=[{"role": "user", "content": prompt}], temperature=0, max_tokens=k, repeat_penalty=1.1)
ask(1)
t = time.perf_counter(); first = ask(1); pre = time.perf_counter() - t
m.reset()
t = time.perf_counter(); r = ask(n); total = time.perf_counter() - t
gen = r["usage"]["completion_tokens"]
print(json.dumps({"weights": "Q4_1 (llama.cpp, llama-cpp-python 0.3.36)", "load_seconds": load, "prompt_tokens": first["usage"]["prompt_tokens"], "prompt_seconds": pre, "generated_tokens": gen, "tokens_per_second": max(gen - 1, 1) / max(total - pre, 1e-9)}))
"#;

pub async fn run(service: &Service, args: QueryBenchArgs) -> anyhow::Result<ExitCode> {
    let mut report = serde_json::Map::new();
    if let Some(dir) = &args.workload_out {
        if let Err(e) = write_workloads(dir, args.entries, args.probes, args.replay_rows, args.replay_distinct) {
            return Ok(crate::report(&e, args.json));
        }
    }
    if args.tokens > 0 {
        let path = default_model_path();
        let mut rows = Vec::new();
        for requantize in [true, false] {
            let (p, n) = (path.clone(), args.tokens);
            match tokio::task::spawn_blocking(move || model_bench(&p, requantize, n)).await? {
                Ok(r) => rows.push(serde_json::to_value(r)?),
                Err(e) => return Ok(crate::report(&e, args.json)),
            }
        }
        let venv = args.llama_venv.clone().unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/simba-tuner/llama-venv-x86-64-v3")
        });
        let peer = std::process::Command::new(venv.join("bin/python"))
            .args(["-c", PEER])
            .arg(&path)
            .arg(STORY_PROMPT)
            .arg(args.tokens.to_string())
            .output();
        match peer {
            Ok(out) if out.status.success() => rows.push(serde_json::from_slice(&out.stdout)?),
            Ok(out) => eprintln!(
                "the llama.cpp peer failed: {}",
                String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
            ),
            Err(e) => eprintln!("the llama.cpp peer was skipped ({}: {e})", venv.display()),
        }
        if !args.json {
            for r in &rows {
                println!(
                    "model {:<45} load {:>5.2} s, prompt {} tokens in {:>6.3} s, {:>6.1} tokens/s over {} tokens",
                    r["weights"].as_str().unwrap_or(""),
                    r["load_seconds"].as_f64().unwrap_or(0.0),
                    r["prompt_tokens"],
                    r["prompt_seconds"].as_f64().unwrap_or(0.0),
                    r["tokens_per_second"].as_f64().unwrap_or(0.0),
                    r["generated_tokens"]
                );
            }
        }
        report.insert("model".into(), serde_json::Value::Array(rows));
    }
    let model_dir = service.engine().model_dir().to_path_buf();
    if args.entries > 0 {
        match cached_answer_bench(&model_dir, args.entries, args.probes).await {
            Ok(r) => {
                if !args.json {
                    println!(
                        "cached answer end to end at {} entries: {} of {} probes hit, p50 {:.2} ms p99 {:.2} ms (judge asked on {})",
                        r.entries, r.hits, r.probes, r.hit_p50_ms, r.hit_p99_ms, r.judge_asked
                    );
                }
                report.insert("cached_answer".into(), serde_json::to_value(r)?);
            }
            Err(e) => return Ok(crate::report(&e, args.json)),
        }
    }
    if args.replay_rows > 0 {
        match replay_bench(&model_dir, args.replay_rows, args.replay_distinct).await {
            Ok(r) => {
                if !args.json {
                    println!(
                        "replay {} rows ({} distinct questions, misses answered from the log): {:.1} s, {:.0} queries/s, hit rate {:.1}% ({:.1}% of hits false), p50 {:.2} ms p99 {:.2} ms",
                        r.rows,
                        r.distinct_questions,
                        r.seconds,
                        r.queries_per_second,
                        r.hit_rate.unwrap_or(0.0) * 100.0,
                        r.false_hit_rate.unwrap_or(0.0) * 100.0,
                        r.p50_ms.unwrap_or(0.0),
                        r.p99_ms.unwrap_or(0.0)
                    );
                }
                report.insert("replay".into(), serde_json::to_value(r)?);
            }
            Err(e) => return Ok(crate::report(&e, args.json)),
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}
