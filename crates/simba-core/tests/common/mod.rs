//! Helpers shared by simba-core's integration tests.

// Each test binary uses some of these.
#![allow(dead_code)]

use simba_core::engine::embed::{Embedder, MiniLmEmbedder};
use std::sync::{Arc, OnceLock};

/// The local MiniLM model, loaded once per test binary.
pub fn model() -> Arc<dyn Embedder> {
    static MODEL: OnceLock<Arc<dyn Embedder>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let dir = simba_core::paths::models_dir().join(simba_core::engine::MODEL_DIR_NAME);
            Arc::new(MiniLmEmbedder::load(&dir).unwrap_or_else(|e| panic!("{e} (run `bash .ci/setup test`)")))
        })
        .clone()
}

/// A deterministic pseudo-random unit vector (xorshift), one per seed.
pub fn unit_vector(seed: u64, dims: usize) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    let mut v: Vec<f32> = (0..dims)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
        })
        .collect();
    let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
    v.iter_mut().for_each(|a| *a /= n);
    v
}

/// Serves `app` on a free loopback port from a thread with its own runtime (a provider client may
/// block its caller while it waits, so the server never shares the test's runtime). Returns the
/// base URL.
pub fn serve_on_own_thread(app: axum::Router) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(
            async move { axum::serve(tokio::net::TcpListener::from_std(listener).unwrap(), app).await.unwrap() },
        );
    });
    url
}
