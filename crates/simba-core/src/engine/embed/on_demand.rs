//! MiniLM loaded on the first text it embeds and dropped after going unused (see
//! [`crate::engine::lazy`]). Its id and dimension are known without the weights (config.json), so
//! a cache can open, and report its figures, with the model still on disk.

use super::minilm::{MiniLmEmbedder, MINILM_MODEL_ID};
use super::{EmbedError, Embedder, Overflow};
use crate::engine::lazy::Lazy;
use std::path::Path;
use std::time::Duration;

pub struct OnDemandMiniLm {
    dims: usize,
    model: Lazy<MiniLmEmbedder>,
}

impl OnDemandMiniLm {
    /// Checks the model's files are there and reads its dimension; loads nothing else. The hit
    /// checks' WordNet loads with the model, so it is ready before the first lookup's checks.
    pub fn open(dir: &Path, idle: Option<Duration>) -> Result<Self, EmbedError> {
        let need = |name: &str| {
            super::model_file(dir, name)
                .map_err(|path| EmbedError::ModelMissing { path, hint: super::MODEL_HINT.into() })
        };
        need("model.safetensors")?;
        need("tokenizer.json")?;
        let config = std::fs::read_to_string(need("config.json")?).map_err(|e| EmbedError::Backend(e.to_string()))?;
        let dims = serde_json::from_str::<serde_json::Value>(&config)
            .ok()
            .and_then(|v| v["hidden_size"].as_u64())
            .ok_or_else(|| EmbedError::Backend("config.json: no hidden_size".into()))? as usize;
        let dir = dir.to_path_buf();
        let model = Lazy::new("the embedding model", idle, move || {
            crate::engine::cache::verify::warm_up();
            MiniLmEmbedder::load(&dir).map(std::sync::Arc::new).map_err(|e| e.to_string())
        });
        Ok(Self { dims, model })
    }

    fn model(&self) -> Result<std::sync::Arc<MiniLmEmbedder>, EmbedError> {
        self.model.get().map_err(EmbedError::Backend)
    }

    /// How many times the weights were loaded.
    pub fn loads(&self) -> u64 {
        self.model.loads()
    }
}

impl Embedder for OnDemandMiniLm {
    fn model_id(&self) -> &str {
        MINILM_MODEL_ID
    }
    fn dims(&self) -> usize {
        self.dims
    }
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        // Bad input is refused without loading the model for it.
        for t in texts {
            super::check_text(t)?;
        }
        self.model()?.embed_batch(texts)
    }
    fn overflow(&self, text: &str) -> Result<Option<Overflow>, EmbedError> {
        self.model()?.overflow(text)
    }
    fn loaded(&self) -> bool {
        self.model.loaded().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn dir() -> std::path::PathBuf {
        crate::paths::models_dir().join(crate::engine::MODEL_DIR_NAME)
    }

    #[test]
    fn opens_without_the_weights_and_answers_the_same_after_an_unload() {
        let eager = MiniLmEmbedder::load(&dir()).unwrap_or_else(|e| panic!("{e} — run `bash .ci/setup test`"));
        let lazy = OnDemandMiniLm::open(&dir(), Some(Duration::from_millis(300))).unwrap();
        assert_eq!((lazy.dims(), lazy.model_id()), (eager.dims(), eager.model_id()));
        assert!(!lazy.loaded(), "opening reads the config only");
        assert!(matches!(lazy.embed(" "), Err(EmbedError::InvalidInput(_))));
        assert!(!lazy.loaded(), "bad input loads nothing");

        let texts = ["Is the store open on Sundays?", "revenue by region in 2023"];
        let expected = eager.embed_batch(&texts).unwrap();
        assert_eq!(lazy.embed_batch(&texts).unwrap(), expected);
        assert_eq!(lazy.loads(), 1);
        let deadline = Instant::now() + Duration::from_secs(10);
        while lazy.loaded() {
            assert!(Instant::now() < deadline, "the model was not unloaded");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(lazy.embed_batch(&texts).unwrap(), expected, "the reloaded model gives the same vectors");
        assert_eq!(lazy.loads(), 2);
        let long = "word ".repeat(400);
        assert_eq!(lazy.overflow(&long).unwrap(), eager.overflow(&long).unwrap());
    }

    #[test]
    fn missing_files_are_reported_at_open() {
        let missing = OnDemandMiniLm::open(Path::new("/nonexistent/model"), None).err().unwrap();
        assert!(matches!(missing, EmbedError::ModelMissing { .. }), "{missing}");
    }
}
