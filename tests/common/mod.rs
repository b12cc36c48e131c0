//! Helpers shared by the whole-system tests: run the real `simba-tuner` binary in a private
//! config/data folder.
//!
//! Every password and token these tests give the binary holds [`CANARY`]. Each test's folder
//! (config, data, and every run's stdout and stderr) is kept under [`artifacts_dir`], and
//! `.ci/tools/secret_scan.sh`, run after `cargo test`, fails if the marker is anywhere there but
//! in a `secrets.toml`.

#![allow(dead_code)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The marker every test secret holds (see the module comment).
pub const CANARY: &str = "S3CRET-CANARY";

/// A test password or token: `S3CRET-CANARY-<name>`.
pub fn test_secret(name: &str) -> String {
    format!("{CANARY}-{name}")
}

/// Where the tests leave what the binary wrote and printed: `$SIMBA_TEST_ARTIFACTS`, else
/// `target/test-artifacts` in the repository.
pub fn artifacts_dir() -> PathBuf {
    std::env::var_os("SIMBA_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts"))
}

/// One numeric field of a Redis INFO reply, as the server itself reports it.
pub fn info_field(info: &str, name: &str) -> u64 {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("{name} not in INFO"))
        .trim()
        .parse()
        .unwrap()
}

pub struct Cli {
    pub home: tempfile::TempDir,
    runs: AtomicUsize,
}

impl Cli {
    pub fn new() -> Self {
        let root = artifacts_dir();
        std::fs::create_dir_all(&root).unwrap();
        let mut home = tempfile::Builder::new().prefix("cli-").tempdir_in(&root).unwrap();
        // Kept for the secret scan after the suite; the scan empties the folder when it passes.
        home.disable_cleanup(true);
        Self { home, runs: AtomicUsize::new(0) }
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
            .env_remove("SIMBA_SERVE_TOKEN")
            .env_remove("SIMBA_PROMETHEUS_URL")
            .env_remove("SIMBA_KUBERNETES_URL")
            .env_remove("SIMBA_KUBERNETES_TOKEN")
            // Never the machine's own cluster: a kubeconfig that does not exist unless a test writes it.
            .env("KUBECONFIG", self.home.path().join("kubeconfig"))
            // The secret file, whatever keyring the machine has: the secret scan reads it.
            .env("SIMBA_SECRET_STORE", "file");
        cmd
    }

    /// Runs the binary; its stdout and stderr are also kept under `runs/` for the secret scan.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    /// [`Cli::run`] with extra environment variables (a token the binary reads from one).
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let out = self.command().args(args).envs(env.iter().copied()).output().expect("run simba-tuner");
        let n = self.runs.fetch_add(1, Ordering::Relaxed);
        let runs = self.home.path().join("runs");
        std::fs::create_dir_all(&runs).unwrap();
        // Not the arguments: they hold the test secrets on purpose.
        let name = format!("{n:03}-{}", args.first().copied().unwrap_or("none"));
        std::fs::write(runs.join(format!("{name}.stdout")), &out.stdout).unwrap();
        std::fs::write(runs.join(format!("{name}.stderr")), &out.stderr).unwrap();
        out
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

/// The `action apply …` form of the `action preview …` arguments `preview_args`, confirmed with
/// the token of `preview` (what that preview printed).
pub fn apply_args<'a>(preview_args: &[&'a str], preview: &'a serde_json::Value) -> Vec<&'a str> {
    let mut args = preview_args.to_vec();
    assert_eq!(args[..2], ["action", "preview"], "not an action preview: {args:?}");
    args[1] = "apply";
    args.extend(["--confirm", preview["confirm_token"].as_str().expect("a preview with a confirm_token")]);
    args
}

/// `action preview ACTION --profile P --param …` refused with `invalid_input` before anything
/// runs; the refusal's message.
pub fn refused_preview(cli: &Cli, action: &str, profile: &str, params: &[&str]) -> String {
    let mut args = vec!["action", "preview", action, "--profile", profile, "--json"];
    for p in params {
        args.extend(["--param", p]);
    }
    let out = cli.run(&args);
    let err: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("no JSON answer: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(err["error"]["code"], "invalid_input", "{action} {params:?}: {err}");
    err["error"]["message"].as_str().unwrap().to_string()
}

/// The finding `id` of an `advise` report (panics with the findings when it is not there).
pub fn finding<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no finding {id} in {:#}", report["findings"]))
}

/// A running `simba-tuner serve` on a free port, stopped when dropped.
pub struct Served {
    pub child: Child,
    pub base: String,
    pub token: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// POST /api/call/COMMAND with a JSON body: the status and the JSON answer (a blocking client,
    /// for tests without a runtime).
    #[allow(dead_code)]
    pub fn call(&self, command: &str, args: serde_json::Value) -> (u16, serde_json::Value) {
        use std::io::{Read, Write};
        let host = self.base.trim_start_matches("http://");
        let body = args.to_string();
        let mut s = std::net::TcpStream::connect(host).unwrap();
        write!(
            s,
            "POST /api/call/{command} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.token,
            body.len()
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let status = raw.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let json = raw
            .split_once("\r\n\r\n")
            .and_then(|(_, b)| serde_json::from_str(b).ok())
            .unwrap_or(serde_json::Value::Null);
        (status, json)
    }
}

pub fn serve(cli: &Cli) -> Served {
    serve_with(cli, &[])
}

pub fn serve_with(cli: &Cli, extra: &[&str]) -> Served {
    serve_command(cli.command(), cli, extra)
}

/// Runs `serve` on a free port with `cmd` (from [`Cli::command`], with its own environment or
/// flags) and waits for the address it prints.
pub fn serve_command(mut cmd: Command, cli: &Cli, extra: &[&str]) -> Served {
    std::fs::create_dir_all(cli.home.path().join("ui")).unwrap();
    std::fs::write(cli.home.path().join("ui/index.html"), "<html><body>ui-index</body></html>").unwrap();
    let mut child = cmd
        .args(["serve", "--port", "0"])
        .args(extra)
        .env("SIMBA_UI_DIR", cli.home.path().join("ui"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    // "Simba Tuner is serving on http://127.0.0.1:PORT/?token=TOKEN"
    let url =
        line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("no URL in {line:?}"));
    let (base, token) = url.split_once("/?token=").unwrap();
    Served { child, base: base.to_string(), token: token.to_string() }
}
