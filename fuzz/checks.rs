//! What each fuzz target does with one input. Shared by the cargo-fuzz targets (fuzz_targets/,
//! nightly) and the corpus replay test (crates/simba-core/tests/fuzz_corpus.rs, stable), so CI
//! runs every committed corpus file through exactly the code the fuzzer ran.

// Each fuzz target uses one of these.
#![allow(dead_code)]

use simba_core::profiles::{redact_url, split_secret, ProfileStore, Service};

/// A target's name (its folder under fuzz/corpus/) and what it does with one input.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: [Target; 5] = [
    ("profiles", profiles),
    ("urls", urls),
    ("eval_pairs", eval_pairs),
    ("redis_info", redis_info),
    ("verify_text", verify_text),
];

/// profiles.toml and secrets.toml as the user (or anyone with write access to the folder) left
/// them: the input up to its first NUL is profiles.toml, the rest secrets.toml. Listing and
/// resolving every profile must return errors, never panic.
pub fn profiles(data: &[u8]) {
    let (profiles, secrets) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("profiles.toml"), profiles).expect("write profiles.toml");
    if let Some(secrets) = secrets {
        std::fs::write(dir.path().join("secrets.toml"), secrets).expect("write secrets.toml");
    }
    let store = ProfileStore::new(dir.path());
    if let Ok(list) = store.list() {
        for view in list {
            let _ = store.resolve(&view.name);
        }
    }
    let _ = store.resolve("x");
}

/// A URL typed into a profile: split from its password for every service, and redacted.
pub fn urls(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else { return };
    let _ = redact_url(raw);
    for service in Service::ALL {
        if let Ok((url, _secret)) = split_secret(service, raw) {
            // What goes to profiles.toml must never hold a password.
            let stored = url::Url::parse(&url).expect("split_secret returned a URL that does not parse");
            assert!(stored.password().is_none(), "split_secret left a password in {url:?}");
            let _ = redact_url(&url);
        }
    }
}

/// An eval file (JSONL or CSV).
pub fn eval_pairs(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = simba_core::engine::eval::parse_pairs(text);
}

/// The text of a Redis server's INFO reply (the server is outside input too).
pub fn redis_info(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = simba_core::sources::redis::parse_info(text);
}

/// The cache's text checks on a hostile query and candidate (split at the first newline).
pub fn verify_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (query, candidate) = text.split_once('\n').unwrap_or((text, text));
    if simba_core::engine::cache::validate_text("query", query).is_err() {
        return;
    }
    let _ = simba_core::engine::cache::verify::objection(query, candidate);
}
