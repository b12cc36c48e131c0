//! The BERT encoder of all-MiniLM-L6-v2 (the embedder, and the judge's cross-encoder), written
//! for speed on a CPU: the weights are read with candle at load, then every product runs on
//! [`kernels`](super::kernels), packed once and chosen for the CPU at run time. The tokens of all
//! texts of a batch go through the linear layers together, unpadded; attention runs per text.
//! Query, key and value are one product, and the 1/√head_size scaling is folded into the query
//! weights at load. Same weights, same maths as sentence-transformers: the agreement test (cosine
//! ≥ 0.9999, on every instruction set the machine has) covers it.

use super::kernels::{add_layer_norm, attend, gelu, Isa, Linear, Precision};
use candle_core::{bail, DType, Result, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config;

/// One text's word pieces and, for a pair, their token types (None: all type 0, a single text).
pub struct Text<'a> {
    pub ids: &'a [u32],
    pub types: Option<&'a [u32]>,
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

struct Layer {
    /// Query, key and value projections stacked into one (query rows pre-scaled).
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

pub struct MiniLmBert {
    /// Word embeddings (vocabulary × hidden).
    words: Vec<f32>,
    /// Position embeddings (max positions × hidden).
    positions: Vec<f32>,
    /// Token-type embeddings (types × hidden): type 0 for a single text (what sentence-transformers
    /// feeds), type 1 for the second text of a pair (the judge's cross-encoding).
    segments: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
}

fn values(t: &Tensor) -> Result<Vec<f32>> {
    t.to_dtype(DType::F32)?.flatten_all()?.to_vec1()
}

impl MiniLmBert {
    /// Loads `embeddings.*` and `encoder.layer.N.*` (or the same under `<model_type>.`, as some
    /// exports prefix them), for the kernels of `isa` (the widest this CPU runs: [`Isa::best`]).
    pub fn load(vb: VarBuilder, config: &Config, isa: Isa, precision: Precision) -> Result<Self> {
        match Self::load_at(vb.clone(), config, isa, precision) {
            Ok(m) => Ok(m),
            Err(e) => match &config.model_type {
                Some(prefix) => Self::load_at(vb.pp(prefix), config, isa, precision).map_err(|_| e),
                None => Err(e),
            },
        }
    }

    fn load_at(vb: VarBuilder, config: &Config, isa: Isa, precision: Precision) -> Result<Self> {
        let hidden = config.hidden_size;
        let heads = config.num_attention_heads;
        let head_size = hidden / heads;
        let inner = config.intermediate_size;
        let eps = config.layer_norm_eps as f32;
        let linear = |vb: VarBuilder, outputs: usize, inputs: usize| -> Result<Linear> {
            let w = values(&vb.get((outputs, inputs), "weight")?)?;
            let b = values(&vb.get(outputs, "bias")?)?;
            Linear::new(isa, precision, &w, &b, outputs, inputs).map_err(candle_core::Error::msg)
        };
        let norm = |vb: VarBuilder| -> Result<Norm> {
            Ok(Norm { gamma: values(&vb.get(hidden, "weight")?)?, beta: values(&vb.get(hidden, "bias")?)?, eps })
        };
        let e = vb.pp("embeddings");
        let words = values(&e.pp("word_embeddings").get((config.vocab_size, hidden), "weight")?)?;
        let positions = values(&e.pp("position_embeddings").get((config.max_position_embeddings, hidden), "weight")?)?;
        let segments = values(&e.pp("token_type_embeddings").get((config.type_vocab_size, hidden), "weight")?)?;
        let embedding_norm = norm(e.pp("LayerNorm"))?;
        let scale = 1.0 / (head_size as f32).sqrt();
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let l = vb.pp(format!("encoder.layer.{i}"));
                let a = l.pp("attention");
                let (mut w, mut b) = (Vec::with_capacity(3 * hidden * hidden), Vec::with_capacity(3 * hidden));
                for (name, s) in [("query", scale), ("key", 1.0), ("value", 1.0)] {
                    let p = a.pp("self").pp(name);
                    w.extend(values(&p.get((hidden, hidden), "weight")?)?.into_iter().map(|v| v * s));
                    b.extend(values(&p.get(hidden, "bias")?)?.into_iter().map(|v| v * s));
                }
                Ok(Layer {
                    qkv: Linear::new(isa, precision, &w, &b, 3 * hidden, hidden).map_err(candle_core::Error::msg)?,
                    attention_out: linear(a.pp("output").pp("dense"), hidden, hidden)?,
                    attention_norm: norm(a.pp("output").pp("LayerNorm"))?,
                    up: linear(l.pp("intermediate").pp("dense"), inner, hidden)?,
                    down: linear(l.pp("output").pp("dense"), hidden, inner)?,
                    out_norm: norm(l.pp("output").pp("LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { words, positions, segments, embedding_norm, layers, hidden, heads })
    }

    /// The mean of each text's token states (what sentence-transformers' mean pooling gives the
    /// embedder, and the judge's pooling): one `hidden`-long vector per text.
    pub fn pooled(&self, texts: &[Text]) -> Result<Vec<Vec<f32>>> {
        let h = self.hidden;
        let (vocab, max_len, kinds) = (self.words.len() / h, self.positions.len() / h, self.segments.len() / h);
        let mut starts = Vec::with_capacity(texts.len() + 1);
        let mut total = 0;
        for t in texts {
            let n = t.ids.len();
            if n == 0 {
                bail!("a text with no tokens");
            }
            if n > max_len {
                bail!("{n} tokens is more than the model's {max_len} positions");
            }
            if t.types.is_some_and(|ty| ty.len() != n) {
                bail!("token types do not match the tokens");
            }
            if let Some(id) = t.ids.iter().find(|&&id| id as usize >= vocab) {
                bail!("token id {id} is outside the vocabulary of {vocab}");
            }
            if let Some(ty) = t.types.and_then(|ty| ty.iter().find(|&&ty| ty as usize >= kinds)) {
                bail!("token type {ty} is not one of the model's {kinds}");
            }
            starts.push(total);
            total += n;
        }
        starts.push(total);
        let mut x = Vec::with_capacity(total * h);
        for t in texts {
            for (pos, &id) in t.ids.iter().enumerate() {
                let kind = t.types.map_or(0, |ty| ty[pos] as usize);
                let (w, p, s) =
                    (row(&self.words, id as usize, h), row(&self.positions, pos, h), row(&self.segments, kind, h));
                x.extend(w.iter().zip(p).zip(s).map(|((w, p), s)| w + p + s));
            }
        }
        let en = &self.embedding_norm;
        add_layer_norm(&mut x, None, &en.gamma, &en.beta, en.eps);
        for l in &self.layers {
            let qkv = l.qkv.forward(&x, total);
            let context = self.attention(&qkv, &starts);
            let mut attended = l.attention_out.forward(&context, total);
            let n = &l.attention_norm;
            add_layer_norm(&mut attended, Some(&x), &n.gamma, &n.beta, n.eps);
            let mut up = l.up.forward(&attended, total);
            par_rows(&mut up, l.up.outputs(), gelu);
            x = l.down.forward(&up, total);
            let n = &l.out_norm;
            add_layer_norm(&mut x, Some(&attended), &n.gamma, &n.beta, n.eps);
        }
        Ok(starts
            .windows(2)
            .map(|w| {
                let mut mean = vec![0f32; h];
                for r in w[0]..w[1] {
                    for (m, v) in mean.iter_mut().zip(row(&x, r, h)) {
                        *m += v;
                    }
                }
                let n = (w[1] - w[0]) as f32;
                mean.iter_mut().for_each(|m| *m /= n);
                mean
            })
            .collect())
    }

    /// Self-attention of each text over its own tokens: `qkv` is tokens × (query, key, value), the
    /// result tokens × hidden.
    fn attention(&self, qkv: &[f32], starts: &[usize]) -> Vec<f32> {
        let h = self.hidden;
        let total = *starts.last().unwrap_or(&0);
        let mut context = vec![0f32; total * h];
        // Each text's rows of the result, apart, so texts can run side by side.
        let mut parts = Vec::with_capacity(starts.len());
        let mut rest = context.as_mut_slice();
        for w in starts.windows(2) {
            let (mine, others) = rest.split_at_mut((w[1] - w[0]) * h);
            parts.push((w[0], w[1] - w[0], mine));
            rest = others;
        }
        let one_text = |(start, len, out): (usize, usize, &mut [f32])| {
            attend(&qkv[start * 3 * h..(start + len) * 3 * h], len, self.heads, out, &mut Vec::new());
        };
        if total >= 64 && parts.len() > 1 {
            use rayon::prelude::*;
            parts.into_par_iter().for_each(one_text);
        } else {
            parts.into_iter().for_each(one_text);
        }
        context
    }
}

fn row(table: &[f32], i: usize, width: usize) -> &[f32] {
    &table[i * width..(i + 1) * width]
}

/// `f` over rows of `width` values, split across cores when there are many.
fn par_rows(x: &mut [f32], width: usize, f: fn(&mut [f32])) {
    use rayon::prelude::*;
    if x.len() >= 1 << 16 {
        x.par_chunks_mut(width * 16).for_each(f);
    } else {
        f(x);
    }
}
