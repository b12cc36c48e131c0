//! Saved secrets in a real OS keyring: GNOME Keyring's Secret Service on a private D-Bus session
//! bus that this test starts (and stops), so nothing of the user's own keyring is touched.

use simba_core::keyring_store::{self, SecretStore};
use simba_core::profiles::{ProfileInput, ProfileStore, Service};
use simba_core::ErrorCode;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bus and the keyring, stopped on drop (also when starting them fails half way).
#[derive(Default)]
struct Session {
    children: Vec<Child>,
    dir: Option<tempfile::TempDir>,
}

impl Drop for Session {
    fn drop(&mut self) {
        for child in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A session bus and an unlocked GNOME Keyring on it, with the bus address in this process's
/// environment. libdbus reads that address once per process, so it is set before any keyring call.
fn start_session() -> Session {
    let mut session = Session { dir: Some(tempfile::tempdir().unwrap()), children: Vec::new() };
    let dir = session.dir.as_ref().unwrap().path().to_path_buf();
    // A bus without service activation: the standard session bus would start the system's own
    // gnome-keyring-daemon (locked, with the user's HOME) on the first probe, ahead of ours.
    let config = dir.join("bus.conf");
    std::fs::write(
        &config,
        format!(
            "<busconfig><type>session</type><listen>unix:path={}</listen>\
             <policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>\
             <allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>",
            dir.join("bus").display()
        ),
    )
    .unwrap();
    let mut bus = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", config.display()))
        .args(["--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("dbus-daemon (Debian package dbus; .ci/setup installs it)");
    let stdout = bus.stdout.take().unwrap();
    session.children.push(bus);
    let mut address = String::new();
    BufReader::new(stdout).read_line(&mut address).unwrap();
    let address = address.trim().to_string();
    assert!(address.starts_with("unix:"), "{address}");
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &address);
    let mut keyring = Command::new("gnome-keyring-daemon")
        .args(["--unlock", "--components=secrets", "--foreground"])
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .env("HOME", &dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_RUNTIME_DIR", &dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gnome-keyring-daemon (Debian package gnome-keyring; .ci/setup installs it)");
    let stdin = keyring.stdin.take();
    session.children.push(keyring);
    // The login keyring's password, then end of input: the keyring is created and unlocked.
    stdin.unwrap().write_all(b"test-login-password").unwrap();
    let started = Instant::now();
    while !keyring_store::keyring_answers() {
        assert!(started.elapsed() < Duration::from_secs(15), "GNOME Keyring did not answer on the private bus");
        std::thread::sleep(Duration::from_millis(100));
    }
    session
}

/// Run in a child process of this test binary, with a bus address where nothing listens.
#[test]
fn without_a_keyring_the_choice_says_so() {
    if std::env::var_os("SIMBA_TEST_NO_KEYRING").is_none() {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "without_a_keyring_the_choice_says_so", "--nocapture"])
            .env("SIMBA_TEST_NO_KEYRING", "1")
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/simba-test-bus")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
        return;
    }
    assert!(!keyring_store::keyring_answers());
    std::env::set_var("SIMBA_SECRET_STORE", "keyring");
    let err = SecretStore::from_env().unwrap_err();
    assert_eq!(err.code, ErrorCode::Unreachable);
    assert!(err.message.contains("SIMBA_SECRET_STORE=file"), "{}", err.message);
    std::env::set_var("SIMBA_SECRET_STORE", "auto");
    assert_eq!(SecretStore::from_env().unwrap(), SecretStore::File);
}

#[test]
fn profile_secrets_live_in_the_os_keyring() {
    if std::env::var_os("SIMBA_TEST_NO_KEYRING").is_some() {
        return;
    }
    let _session = start_session();
    std::env::remove_var("SIMBA_SECRET_STORE");
    assert_eq!(SecretStore::from_env().unwrap(), SecretStore::Keyring);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cfg");

    // A profile first saved to the file (as before the keyring was there) ...
    let file_store = ProfileStore::new(&cfg);
    let input = ProfileInput {
        name: "prod".into(),
        redis_url: Some("redis://:kr-S3CRET-redis@127.0.0.1:6380/0".into()),
        ..Default::default()
    };
    file_store.save(&input).unwrap();
    let secrets_file = std::fs::read_to_string(cfg.join("secrets.toml")).unwrap();
    assert!(secrets_file.contains("kr-S3CRET-redis"));

    // ... moves to the keyring when saved again as shown, and leaves the file.
    let store = ProfileStore::for_user(&cfg).unwrap();
    assert_eq!(store.secret_store(), SecretStore::Keyring);
    let shown = store.list().unwrap().into_iter().find(|p| p.name == "prod").unwrap();
    let view = store
        .save(&ProfileInput {
            redis_url: Some(shown.endpoints[0].url.clone()),
            postgres_url: Some("postgres://app:kr-S3CRET-pg@127.0.0.1:5432/db?sslpassword=kr-S3CRET-ssl".into()),
            kubernetes_url: Some("https://127.0.0.1:6443".into()),
            kubernetes_token: Some("kr-S3CRET-token".into()),
            ..input.clone()
        })
        .unwrap();
    assert!(view.endpoints.iter().all(|e| e.has_secret), "{view:?}");
    for file in ["secrets.toml", "profiles.toml"] {
        let text = std::fs::read_to_string(cfg.join(file)).unwrap_or_default();
        assert!(!text.contains("S3CRET"), "{file} still holds a secret: {text}");
    }
    assert!(std::fs::read_to_string(cfg.join("profiles.toml")).unwrap().contains("secrets_in = \"keyring\""));
    let in_keyring = keyring_store::get("prod").unwrap().unwrap();
    assert_eq!(in_keyring.get("redis").map(String::as_str), Some("kr-S3CRET-redis"));

    // Read back from the keyring, by a store that would itself save to the file.
    let resolved = ProfileStore::new(&cfg).resolve("prod").unwrap();
    assert_eq!(resolved.endpoint(Service::Redis).unwrap().url.expose(), "redis://:kr-S3CRET-redis@127.0.0.1:6380/0");
    assert!(resolved.endpoint(Service::Postgres).unwrap().url.expose().contains("sslpassword=kr-S3CRET-ssl"));
    assert_eq!(resolved.endpoint(Service::Kubernetes).unwrap().token.as_ref().unwrap().expose(), "kr-S3CRET-token");

    // The rule on other servers holds for keyring secrets too.
    let err = store
        .save(&ProfileInput { redis_url: Some("redis://:***@10.0.0.9:6380/0".into()), ..input.clone() })
        .unwrap_err();
    assert!(err.message.contains("enter the password"), "{}", err.message);

    // Deleting the profile removes its keyring entry.
    store.delete("prod").unwrap();
    assert_eq!(keyring_store::get("prod").unwrap(), None);
}
