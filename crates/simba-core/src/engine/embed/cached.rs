//! An exact-text cache in front of an embedder: the same text is never embedded twice.

use super::{EmbedError, Embedder};
use lru::LruCache;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use ts_rs::TS;

pub struct CachedEmbedder<E: Embedder> {
    inner: E,
    cache: Mutex<LruCache<String, Vec<f32>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct EmbedCacheStats {
    #[ts(type = "number")]
    pub hits: u64,
    #[ts(type = "number")]
    pub misses: u64,
    #[ts(type = "number")]
    pub entries: u64,
}

impl<E: Embedder> CachedEmbedder<E> {
    pub fn new(inner: E, capacity: usize) -> Self {
        Self {
            inner,
            cache: Mutex::new(LruCache::new(NonZeroUsize::new(capacity.max(1)).unwrap())),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn stats(&self) -> EmbedCacheStats {
        EmbedCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.cache.lock().len() as u64,
        }
    }
}

impl<E: Embedder> Embedder for CachedEmbedder<E> {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn dims(&self) -> usize {
        self.inner.dims()
    }
    fn overflow(&self, text: &str) -> Result<Option<super::Overflow>, EmbedError> {
        self.inner.overflow(text)
    }
    fn loaded(&self) -> bool {
        self.inner.loaded()
    }
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out: Vec<Option<Vec<f32>>> = Vec::with_capacity(texts.len());
        let mut missing: Vec<&str> = Vec::new();
        {
            let mut cache = self.cache.lock();
            for t in texts {
                match cache.get(*t) {
                    Some(v) => out.push(Some(v.clone())),
                    None => {
                        out.push(None);
                        missing.push(t);
                    }
                }
            }
        }
        self.hits.fetch_add((texts.len() - missing.len()) as u64, Ordering::Relaxed);
        self.misses.fetch_add(missing.len() as u64, Ordering::Relaxed);
        if !missing.is_empty() {
            let fresh = self.inner.embed_batch(&missing)?;
            let mut cache = self.cache.lock();
            let mut fresh_iter = missing.iter().zip(fresh);
            for slot in out.iter_mut().filter(|s| s.is_none()) {
                let (text, v) =
                    fresh_iter.next().ok_or_else(|| EmbedError::Backend("fewer vectors than texts".into()))?;
                cache.put(text.to_string(), v.clone());
                *slot = Some(v);
            }
        }
        Ok(out.into_iter().map(|v| v.expect("every slot filled")).collect())
    }
}
