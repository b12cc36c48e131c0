//! The checks on a candidate before a semantic hit is served (the `simba-verify` crate), with the
//! WordNet they read: loaded on first use from `SIMBA_WORDNET_DIR` (else /usr/share/wordnet) and
//! dropped after going unused, like the models it works beside (see `engine::lazy`): it is tens of
//! MB. Missing files leave the checks without WordNet (one warning in the log).

use crate::engine::lazy::{configured_idle, Lazy};
use simba_verify::Knowledge;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

pub use simba_verify::{rules, Explanation, Objection};

/// What the checks know, loaded now if it is not.
pub fn knowledge() -> Arc<Knowledge> {
    static KNOWLEDGE: LazyLock<Lazy<Knowledge>> =
        LazyLock::new(|| Lazy::new("WordNet", configured_idle(), || Ok(Arc::new(read()))));
    KNOWLEDGE.get().unwrap_or_else(|never: String| unreachable!("reading WordNet cannot fail: {never}"))
}

fn read() -> Knowledge {
    let dir =
        std::env::var_os("SIMBA_WORDNET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/share/wordnet"));
    let started = std::time::Instant::now();
    match Knowledge::load(&dir) {
        Ok(k) => {
            tracing::debug!("WordNet loaded from {} in {:?}", dir.display(), started.elapsed());
            k
        }
        Err(e) => {
            tracing::warn!(
                "WordNet not available ({}: {e}); cache hit checks fall back to stems and exact words (install Debian's wordnet-base)",
                dir.display()
            );
            Knowledge::without_wordnet()
        }
    }
}

/// Loads what the checks read now rather than on the first lookup.
pub fn warm_up() {
    knowledge();
}

/// Why `candidate` must not answer `query`, or None when no check disagrees.
pub fn objection(query: &str, candidate: &str) -> Option<Objection> {
    simba_verify::objection(&knowledge(), query, candidate)
}

/// What the checks read in a pair and what they say: for `cache explain`.
pub fn explain(query: &str, candidate: &str) -> Explanation {
    simba_verify::explain(&knowledge(), query, candidate)
}

/// Where two chats' earlier turns name different details (amounts, dates, names): see
/// `simba_verify::details_differ`.
pub fn details_differ(a: &str, b: &str) -> Option<Objection> {
    simba_verify::details_differ(&knowledge(), a, b)
}
