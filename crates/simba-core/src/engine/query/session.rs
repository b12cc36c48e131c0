//! The session cache: the exact question a user asked in the same chat a moment ago, answered
//! from memory without embedding anything. Bounded (least recently used goes first) and short-lived;
//! an expired answer is kept until evicted so that a query may, when it allows it, be answered
//! stale while the model is down.

use crate::engine::cache::types::Scope;
use crate::engine::llm::GenerationSettings;
use lru::LruCache;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

pub const DEFAULT_ENTRIES: usize = 2048;
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);

pub struct SessionCache {
    entries: Mutex<LruCache<[u8; 32], (String, Instant)>>,
    ttl: Duration,
}

impl Default for SessionCache {
    fn default() -> Self {
        Self::new(DEFAULT_ENTRIES, DEFAULT_TTL)
    }
}

impl SessionCache {
    pub fn new(entries: usize, ttl: Duration) -> Self {
        let cap = NonZeroUsize::new(entries.max(1)).expect("at least one entry");
        Self { entries: Mutex::new(LruCache::new(cap)), ttl }
    }

    /// The key: everything the answer depends on, exactly (user, item, chat, question, model and
    /// generation settings). Parts are length-prefixed so no two different tuples share a key.
    pub fn key(scope: &Scope, question: &str, model: &str, settings: &GenerationSettings) -> [u8; 32] {
        let mut h = Sha256::new();
        let mut part = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        part(&scope.tenant);
        part(&scope.user);
        part(scope.item.as_deref().unwrap_or("\u{0}none"));
        for m in &scope.conversation {
            part(&format!("{:?}", m.role));
            part(&m.content);
        }
        part("\u{0}question");
        part(question.trim());
        part(model);
        part(&format!("{}/{}/{}", settings.temperature, settings.max_tokens, settings.seed));
        h.finalize().into()
    }

    /// A fresh answer.
    pub fn get(&self, key: &[u8; 32]) -> Option<String> {
        let mut entries = self.entries.lock();
        let (answer, at) = entries.get(key)?;
        (at.elapsed() <= self.ttl).then(|| answer.clone())
    }

    /// An answer however old, for a query that allows a stale one.
    pub fn get_stale(&self, key: &[u8; 32]) -> Option<String> {
        self.entries.lock().get(key).map(|(answer, _)| answer.clone())
    }

    pub fn put(&self, key: [u8; 32], answer: String) {
        self.entries.lock().put(key, (answer, Instant::now()));
    }

    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_users_items_chats_and_settings() {
        let s = GenerationSettings::default();
        let a = Scope::user("alice");
        let k = SessionCache::key(&a, "q", "m", &s);
        assert_ne!(k, SessionCache::key(&Scope::user("bob"), "q", "m", &s));
        assert_ne!(k, SessionCache::key(&a.clone().with_item("i1"), "q", "m", &s));
        let chat = a.clone().with_conversation(vec![crate::engine::cache::conversation::Message::user("hi there")]);
        assert_ne!(k, SessionCache::key(&chat, "q", "m", &s));
        assert_ne!(k, SessionCache::key(&a, "q", "m2", &s));
        let hot = GenerationSettings { temperature: 0.7, ..s.clone() };
        assert_ne!(k, SessionCache::key(&a, "q", "m", &hot));
        assert_eq!(k, SessionCache::key(&a, " q ", "m", &s), "surrounding spaces do not matter");
    }

    #[test]
    fn expired_answers_are_only_served_stale_and_the_cap_holds() {
        let c = SessionCache::new(2, Duration::from_millis(30));
        let key = |n: u8| [n; 32];
        c.put(key(1), "one".into());
        assert_eq!(c.get(&key(1)).as_deref(), Some("one"));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get(&key(1)), None);
        assert_eq!(c.get_stale(&key(1)).as_deref(), Some("one"));
        c.put(key(2), "two".into());
        c.put(key(3), "three".into());
        assert_eq!(c.len(), 2);
        assert_eq!(c.get_stale(&key(1)), None, "the least recently used went first");
    }
}
