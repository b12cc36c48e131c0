//! Process management for the desktop end-to-end test: a private X server (Xvfb) when there is no
//! display, and tauri-driver (which starts WebKitWebDriver, which starts the app). Every process
//! runs in its own process group and the guards SIGTERM the whole group on drop, also when the test
//! panics: tauri-driver's own SIGTERM handling leaves the app running, and a tauri-driver killed
//! alone leaves WebKitWebDriver holding the native port.

pub mod page;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SETUP_HINT: &str = "install the test tools with `bash .ci/setup test` \
     (apt packages xvfb, xauth, webkit2gtk-driver; `cargo install tauri-driver --locked --version '^2'`)";

/// A child process in its own process group; the group is ended on drop.
pub struct GroupGuard {
    name: &'static str,
    child: Child,
    log: Option<PathBuf>,
}

impl GroupGuard {
    fn spawn(name: &'static str, cmd: &mut Command, log: Option<PathBuf>) -> Self {
        cmd.process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}; {SETUP_HINT}"));
        Self { name, child, log }
    }

    fn signal_group(&self, signal: libc::c_int) {
        // The child is its group's leader (process_group(0)), so its pid is the group id.
        unsafe {
            libc::kill(-(self.child.id() as libc::pid_t), signal);
        }
    }

    /// The first line the process prints on its piped stdout (what it tells once it is ready: a
    /// display number, a bus address); panics after 20 s.
    fn first_line(&mut self, what: &str) -> String {
        let stdout = self.child.stdout.take().expect("stdout piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        rx.recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("{} did not print {what} within 20 s; {SETUP_HINT}", self.name))
    }

    /// Panics with the log's tail when the process has already exited.
    pub fn ensure_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited early ({status}); its output:\n{}", self.name, self.log_tail(60));
        }
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let Some(path) = &self.log else { return String::from("(not logged)") };
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if std::thread::panicking() && self.log.is_some() {
            eprintln!("---- last lines of {} (and the app it started) ----\n{}", self.name, self.log_tail(60));
        }
        self.signal_group(libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever of the group is still there (the app, WebKitWebDriver) goes now.
        std::thread::sleep(Duration::from_millis(200));
        self.signal_group(libc::SIGKILL);
        let _ = self.child.wait();
    }
}

/// An executable on PATH (or in cargo's bin folder), or a failure that says how to install it.
pub fn require_tool(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    if let Some(cargo_home) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(cargo_home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.iter()
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
        .unwrap_or_else(|| panic!("`{name}` not found on PATH: the desktop end-to-end test needs it; {SETUP_HINT}"))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// A loopback port nobody listens on right now (tauri-driver exits 0 on a port in use).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("no free loopback port").port()
}

/// The display to use: `$DISPLAY` when set, else a private Xvfb started here.
pub enum Display {
    Existing(String),
    Xvfb { display: String, _guard: GroupGuard },
}

impl Display {
    pub fn name(&self) -> &str {
        match self {
            Display::Existing(d) | Display::Xvfb { display: d, .. } => d,
        }
    }

    pub fn open() -> Self {
        if let Some(d) = std::env::var("DISPLAY").ok().filter(|d| !d.is_empty()) {
            return Display::Existing(d);
        }
        let xvfb = require_tool("Xvfb");
        let mut cmd = Command::new(xvfb);
        // -displayfd 1: Xvfb picks a free display number and writes it to stdout once it is ready.
        cmd.args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0", "1920x1080x24"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut guard = GroupGuard::spawn("Xvfb", &mut cmd, None);
        let line = guard.first_line("a display");
        let number = line.trim();
        assert!(
            !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()),
            "Xvfb failed to start (said {line:?}); {SETUP_HINT}"
        );
        Display::Xvfb { display: format!(":{number}"), _guard: guard }
    }
}

/// tauri-driver on free ports, its output (and the app's) in `log`.
pub struct TauriDriver {
    pub port: u16,
    guard: GroupGuard,
}

impl TauriDriver {
    /// Starts tauri-driver with `env` added to this process's environment and waits until its
    /// `/status` answers.
    pub fn start(display: &str, env: &[(&str, &Path)], log: PathBuf) -> Self {
        let driver = require_tool("tauri-driver");
        let native = require_tool("WebKitWebDriver");
        let (port, native_port) = loop {
            let (a, b) = (free_port(), free_port());
            if a != b {
                break (a, b);
            }
        };
        let out = File::create(&log).expect("create the driver log");
        let mut cmd = Command::new(driver);
        cmd.args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .arg("--native-driver")
            .arg(&native)
            .env("DISPLAY", display)
            .env("NO_AT_BRIDGE", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut guard = GroupGuard::spawn("tauri-driver", &mut cmd, Some(log));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            guard.ensure_running();
            if http_status_ok(port) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not answer on port {port} within 20 s:\n{}",
                guard.log_tail(40)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { port, guard }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log_tail(&self, lines: usize) -> String {
        self.guard.log_tail(lines)
    }
}

/// Whether `GET /status` on the port answers 200.
fn http_status_ok(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").as_bytes())
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 16];
    let n = s.read(&mut head).unwrap_or(0);
    let head = String::from_utf8_lossy(&head[..n]);
    head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200")
}

/// Throwaway XDG data, config and cache folders for the app under test (its audit log, history
/// and profiles land there), and the real models folder, found before the XDG variables move it.
pub struct Folders {
    pub tmp: tempfile::TempDir,
    pub data: PathBuf,
    pub config: PathBuf,
    pub cache: PathBuf,
    pub models: PathBuf,
}

impl Folders {
    pub fn new() -> Self {
        let models = simba_core::paths::models_dir();
        let tmp = tempfile::tempdir().expect("temp dir");
        let (data, config, cache) = (tmp.path().join("data"), tmp.path().join("config"), tmp.path().join("cache"));
        for d in [&data, &config, &cache] {
            std::fs::create_dir_all(d).unwrap();
        }
        Self { tmp, data, config, cache, models }
    }

    /// Simba Tuner's own data folder inside them.
    pub fn simba_data(&self) -> PathBuf {
        self.data.join("simba-tuner")
    }

    pub fn simba_config(&self) -> PathBuf {
        self.config.join("simba-tuner")
    }
}

/// The app running under tauri-driver with a WebDriver session on it. Dropped in field order: the
/// session's client first, then the driver (and the app), then the display.
pub struct Session {
    pub client: fantoccini::Client,
    pub driver: TauriDriver,
    _display: Display,
}

impl Session {
    /// Starts `app` on `folders` with `env` added (profiles' URLs, engine choices), and opens a
    /// WebDriver session on it; panics with the driver's log when none opens within 60 s.
    pub async fn launch(app: &str, folders: &Folders, env: &[(&str, &Path)]) -> Self {
        let display = Display::open();
        let (simba_config, simba_data) = (folders.simba_config(), folders.simba_data());
        let mut all: Vec<(&str, &Path)> = vec![
            ("XDG_DATA_HOME", &folders.data),
            ("XDG_CONFIG_HOME", &folders.config),
            ("XDG_CACHE_HOME", &folders.cache),
            ("SIMBA_CONFIG_DIR", &simba_config),
            ("SIMBA_DATA_DIR", &simba_data),
            ("SIMBA_MODELS_DIR", &folders.models),
        ];
        all.extend_from_slice(env);
        let driver = TauriDriver::start(display.name(), &all, folders.tmp.path().join("tauri-driver.log"));
        let mut caps = serde_json::Map::new();
        caps.insert("tauri:options".into(), serde_json::json!({ "application": app }));
        let client = tokio::time::timeout(
            Duration::from_secs(60),
            fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps)
                .connect(&driver.url()),
        )
        .await
        .unwrap_or_else(|_| panic!("no WebDriver session within 60 s; driver log:\n{}", driver.log_tail(40)))
        .unwrap_or_else(|e| {
            panic!("cannot open a WebDriver session on {app}: {e}; driver log:\n{}", driver.log_tail(40))
        });
        Self { client, driver, _display: display }
    }
}

/// A private D-Bus session bus (dbus-daemon) and a dbus-monitor on it writing what it sees to a
/// file: the app's notifications land here instead of a desktop.
pub struct SessionBus {
    pub address: String,
    monitor_log: PathBuf,
    _monitor: GroupGuard,
    _daemon: GroupGuard,
}

impl SessionBus {
    pub fn start(dir: &Path) -> Self {
        let socket = dir.join("bus");
        let mut daemon = Command::new(require_tool("dbus-daemon"));
        daemon
            .args(["--session", "--nofork", "--print-address=1"])
            .arg(format!("--address=unix:path={}", socket.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut daemon = GroupGuard::spawn("dbus-daemon", &mut daemon, None);
        let address = daemon.first_line("its address").trim().to_string();
        assert!(address.starts_with("unix:"), "dbus-daemon printed {address:?}");
        let monitor_log = dir.join("dbus-monitor.log");
        let out = File::create(&monitor_log).expect("monitor log");
        let mut monitor = Command::new(require_tool("dbus-monitor"));
        monitor
            .args(["--address", &address, "interface='org.freedesktop.Notifications'"])
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out);
        let monitor = GroupGuard::spawn("dbus-monitor", &mut monitor, Some(monitor_log.clone()));
        // The monitor is ready once it has said hello to the bus (its NameAcquired signal).
        let deadline = Instant::now() + Duration::from_secs(10);
        while !std::fs::read_to_string(&monitor_log).unwrap_or_default().contains("NameAcquired") {
            assert!(Instant::now() < deadline, "dbus-monitor did not start within 10 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { address, monitor_log, _monitor: monitor, _daemon: daemon }
    }

    /// Everything the monitor has seen so far.
    pub fn seen(&self) -> String {
        std::fs::read_to_string(&self.monitor_log).unwrap_or_default()
    }
}
