//! Desktop notifications of alerts, through the real app: it runs on a private D-Bus session bus
//! (dbus-daemon) that dbus-monitor watches, with a saved profile whose Redis is over its memory
//! alert from the first sample (the profile's rule lowered to 1% of maxmemory). The app's sampler
//! sees the alert start firing and sends `org.freedesktop.Notifications.Notify` with the profile and
//! the alert's title, once: the next rounds, still firing, send nothing more.
//!
//! Needs Xvfb (without a display), WebKitWebDriver, tauri-driver, redis-server, dbus-daemon and
//! dbus-monitor: `bash .ci/setup test`.

// Each window test uses a part of support/.
#[allow(dead_code)]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::{Folders, Session, SessionBus};

const APP: &str = env!("CARGO_BIN_EXE_simba-tuner-app");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_that_starts_firing_is_one_desktop_notification() {
    let folders = Folders::new();
    let redis = simba_testkit::RedisServer::start_with(&["--maxmemory", "64mb"]).expect("private Redis");
    // A saved profile (the sampler reads saved profiles from the start) whose memory alert fires at
    // 1% of maxmemory: an empty Redis uses about 1 MiB of its 64.
    let store = simba_core::profiles::ProfileStore::new(folders.simba_config());
    let input =
        simba_core::profiles::ProfileInput { name: "cache".into(), redis_url: Some(redis.url()), ..Default::default() };
    store.save(&input).expect("save the profile");
    std::fs::write(folders.simba_config().join("alert_rules.toml"), "[cache.redis_memory_high]\nthreshold = 1.0\n")
        .expect("alert rules");

    let bus = SessionBus::start(folders.tmp.path());
    let session = Session::launch(
        APP,
        &folders,
        &[
            ("DBUS_SESSION_BUS_ADDRESS", Path::new(&bus.address)),
            // Only the saved profile: no `env` one from this shell.
            ("SIMBA_REDIS_URL", Path::new("")),
            ("SIMBA_POSTGRES_URL", Path::new("")),
            ("SIMBA_CELERY_BROKER_URL", Path::new("")),
        ],
    )
    .await;

    let title = "cache: Redis memory above 1% of maxmemory";
    let deadline = Instant::now() + Duration::from_secs(60);
    let seen = loop {
        let seen = bus.seen();
        if seen.contains("member=Notify") && seen.contains(title) {
            break seen;
        }
        if Instant::now() > deadline {
            let _ = session.client.clone().close().await;
            panic!(
                "no Notify with {title:?} on the session bus within 60 s; dbus-monitor saw:\n{seen}\ndriver log:\n{}",
                session.driver.log_tail(40)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(seen.contains("% of maxmemory"), "the detail is the body: {seen}");
    // Two more sampling rounds (every 10 s): still firing, so no second notification.
    tokio::time::sleep(Duration::from_secs(21)).await;
    let notifies = bus.seen().matches("member=Notify").count();
    let _ = session.client.clone().close().await;
    assert_eq!(notifies, 1, "one notification per alert that starts firing:\n{}", bus.seen());
}
