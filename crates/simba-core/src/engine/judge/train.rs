//! Trains the judge's adapter on labelled pairs (JSONL: `a`, `b`, `same_answer`, as `cache eval`
//! reads). The base weights stay frozen; only the low-rank adapters and the head learn, so the
//! result is small and a run takes minutes on two cores. The forward pass here is written with
//! candle's differentiable operations (plain softmax, layer norm and GELU), not the fast encoder's
//! fused kernels, which have no backward pass; both compute the same function (tested).

use super::{adapted_layers, BaseModel, JudgeError, RANK, SCALE};
use crate::engine::eval::LabelledPair;
use crate::engine::index::{XorShift, BITS53};
use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub epochs: usize,
    pub batch: usize,
    pub learning_rate: f64,
    pub seed: u64,
    /// Adapter rank.
    pub rank: usize,
    /// Stop after this many steps (tests); None for the whole run.
    pub max_steps: Option<usize>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self { epochs: 3, batch: 16, learning_rate: 5e-4, seed: 7, rank: RANK, max_steps: None }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainReport {
    pub pairs: usize,
    pub steps: usize,
    /// Mean loss over the first and the last tenth of the steps.
    pub first_loss: f64,
    pub last_loss: f64,
    pub seconds: f64,
}

fn err(e: impl std::fmt::Display) -> JudgeError {
    JudgeError::Run(e.to_string())
}

/// One frozen linear layer plus its trainable low-rank update.
struct Adapted {
    weight: Tensor,
    bias: Tensor,
    lora_a: Var,
    lora_b: Var,
}

impl Adapted {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (n, len, inp) = x.dims3()?;
        let flat = x.reshape((n * len, inp))?;
        let base = flat.matmul(&self.weight.t()?)?.broadcast_add(&self.bias)?;
        let update = (flat.matmul(&self.lora_a.t()?)?.matmul(&self.lora_b.t()?)? * SCALE)?;
        let out = (base + update)?;
        let o = out.dim(1)?;
        out.reshape((n, len, o))
    }
}

struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl Norm {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        candle_nn::ops::layer_norm_slow(x, &self.weight, &self.bias, self.eps)
    }
}

struct Layer {
    q: Adapted,
    k: Adapted,
    v: Adapted,
    o: Adapted,
    up: Adapted,
    down: Adapted,
    attention_norm: Norm,
    out_norm: Norm,
}

/// The judge's network with trainable adapters.
pub struct Trainable {
    words: Tensor,
    positions: Tensor,
    segments: Tensor,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    heads: usize,
    head_w: Var,
    head_b: Var,
    /// Adapter variables by their saved name.
    vars: Vec<(String, Var)>,
}

impl Trainable {
    pub fn new(base: &BaseModel, seed: u64, rank: usize) -> Result<Self, JudgeError> {
        let w = |name: &str| {
            base.weights.get(name).cloned().ok_or_else(|| JudgeError::Load(format!("the base model has no {name}")))
        };
        let eps = base.config.layer_norm_eps as f32;
        let norm = |p: &str| -> Result<Norm, JudgeError> {
            Ok(Norm { weight: w(&format!("{p}.weight"))?, bias: w(&format!("{p}.bias"))?, eps })
        };
        let mut rng = XorShift::new(seed);
        let mut vars = Vec::new();
        let mut adapted: HashMap<String, Adapted> = HashMap::new();
        for (name, out, inp) in adapted_layers(&base.config) {
            // The usual LoRA start: A random (scaled to the input size), B zero, so training
            // starts from the base model exactly.
            let bound = 1.0 / (inp as f64).sqrt();
            let a: Vec<f32> =
                (0..rank * inp).map(|_| ((rng.next_bits53() as f64 / BITS53 * 2.0 - 1.0) * bound) as f32).collect();
            let lora_a =
                Var::from_tensor(&Tensor::from_vec(a, (rank, inp), &Device::Cpu).map_err(err)?).map_err(err)?;
            let lora_b = Var::zeros((out, rank), DType::F32, &Device::Cpu).map_err(err)?;
            vars.push((format!("{name}.lora_a"), lora_a.clone()));
            vars.push((format!("{name}.lora_b"), lora_b.clone()));
            adapted.insert(
                name.clone(),
                Adapted { weight: w(&format!("{name}.weight"))?, bias: w(&format!("{name}.bias"))?, lora_a, lora_b },
            );
        }
        let mut take = |name: String| adapted.remove(&name).ok_or_else(|| JudgeError::Load(format!("no layer {name}")));
        let mut layers = Vec::new();
        for l in 0..base.config.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            layers.push(Layer {
                q: take(format!("{p}.attention.self.query"))?,
                k: take(format!("{p}.attention.self.key"))?,
                v: take(format!("{p}.attention.self.value"))?,
                o: take(format!("{p}.attention.output.dense"))?,
                up: take(format!("{p}.intermediate.dense"))?,
                down: take(format!("{p}.output.dense"))?,
                attention_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                out_norm: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        let hidden = base.config.hidden_size;
        let h: Vec<f32> =
            (0..hidden).map(|_| ((rng.next_bits53() as f64 / BITS53 * 2.0 - 1.0) * 0.02) as f32).collect();
        let head_w = Var::from_tensor(&Tensor::from_vec(h, (1, hidden), &Device::Cpu).map_err(err)?).map_err(err)?;
        let head_b = Var::zeros(1, DType::F32, &Device::Cpu).map_err(err)?;
        vars.push(("head.weight".into(), head_w.clone()));
        vars.push(("head.bias".into(), head_b.clone()));
        Ok(Self {
            words: w("embeddings.word_embeddings.weight")?,
            positions: w("embeddings.position_embeddings.weight")?,
            segments: w("embeddings.token_type_embeddings.weight")?,
            embedding_norm: norm("embeddings.LayerNorm")?,
            layers,
            heads: base.config.num_attention_heads,
            head_w,
            head_b,
            vars,
        })
    }

    /// Logits (n) for encoded pairs.
    pub fn forward(&self, ids: &Tensor, types: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let (n, len) = ids.dims2()?;
        let hidden = self.words.dim(1)?;
        let head_size = hidden / self.heads;
        let emb = |table: &Tensor, t: &Tensor| table.embedding(&t.flatten_all()?)?.reshape((n, len, hidden));
        let x = (emb(&self.words, ids)? + emb(&self.segments, types)?)?
            .broadcast_add(&self.positions.narrow(0, 0, len)?)?;
        let mut x = self.embedding_norm.forward(&x)?;
        let pad_bias = ((mask.to_dtype(DType::F32)? - 1.0)? * 1e9)?.reshape((n, 1, 1, len))?;
        let scale = 1.0 / (head_size as f64).sqrt();
        for l in &self.layers {
            let split = |t: Tensor| t.reshape((n, len, self.heads, head_size))?.transpose(1, 2)?.contiguous();
            let q = split((l.q.forward(&x)? * scale)?)?;
            let k = split(l.k.forward(&x)?)?;
            let v = split(l.v.forward(&x)?)?;
            let scores = q.matmul(&k.t()?.contiguous()?)?.broadcast_add(&pad_bias)?;
            let weights = candle_nn::ops::softmax(&scores, D::Minus1)?;
            let context = weights.matmul(&v)?.transpose(1, 2)?.contiguous()?.reshape((n, len, hidden))?;
            let attended = l.attention_norm.forward(&(l.o.forward(&context)? + &x)?)?;
            let up = l.up.forward(&attended)?.gelu_erf()?;
            x = l.out_norm.forward(&(l.down.forward(&up)? + &attended)?)?;
        }
        let pooled = mean_pool(&x, mask)?;
        pooled.matmul(&self.head_w.as_tensor().t()?)?.broadcast_add(self.head_b.as_tensor())?.flatten_all()
    }

    /// Writes the adapter as safetensors (what [`super::Judge::with_adapter`] reads).
    pub fn save_adapter(&self, path: &std::path::Path) -> Result<(), JudgeError> {
        let tensors: HashMap<String, Tensor> =
            self.vars.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect();
        candle_core::safetensors::save(&tensors, path).map_err(|e| JudgeError::Run(format!("{}: {e}", path.display())))
    }
}

/// Reads labelled pairs from every `.jsonl` file in `dir` (sorted by name, so runs repeat).
pub fn read_pairs_dir(dir: &std::path::Path) -> Result<Vec<LabelledPair>, JudgeError> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| JudgeError::Load(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut pairs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| JudgeError::Load(format!("{}: {e}", f.display())))?;
        pairs.extend(
            crate::engine::eval::parse_pairs(&text).map_err(|e| JudgeError::Load(format!("{}: {e}", f.display())))?,
        );
    }
    Ok(pairs)
}

/// Trains a fresh adapter on `pairs`; `progress` gets (step, steps, loss) now and then.
pub fn train(
    base: &BaseModel,
    pairs: &[LabelledPair],
    opts: &TrainOptions,
    mut progress: impl FnMut(usize, usize, f64),
) -> Result<(Trainable, TrainReport), JudgeError> {
    if pairs.is_empty() {
        return Err(JudgeError::Load("no labelled pairs to train on".into()));
    }
    // A chat side is read as a lookup reads it: the turns its question depends on, then the question.
    let texts: Vec<(String, String)> = pairs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let side = |s: &crate::engine::eval::PairSide| {
                s.asked().map(|a| a.text).map_err(|e| JudgeError::Load(format!("pair {}: {e}", i + 1)))
            };
            Ok((side(&p.a)?, side(&p.b)?))
        })
        .collect::<Result<_, JudgeError>>()?;
    let started = std::time::Instant::now();
    let model = Trainable::new(base, opts.seed, opts.rank.max(1))?;
    let params = ParamsAdamW { lr: opts.learning_rate, weight_decay: 0.01, ..Default::default() };
    let mut optimiser = AdamW::new(model.vars.iter().map(|(_, v)| v.clone()).collect(), params.clone()).map_err(err)?;
    let mut rng = XorShift::new(opts.seed ^ 0x9e37_79b9_7f4a_7c15);
    let batch = opts.batch.max(1);
    let per_epoch = pairs.len().div_ceil(batch);
    let total = (per_epoch * opts.epochs).min(opts.max_steps.unwrap_or(usize::MAX));
    let warmup = (total / 10).max(1);
    let mut losses = Vec::with_capacity(total);
    'epochs: for _ in 0..opts.epochs {
        // Shuffle, and show each pair in a random order of its two sides (the judge is symmetric).
        let mut order: Vec<(usize, bool)> = (0..pairs.len()).map(|i| (i, rng.next_bits53() & 1 == 1)).collect();
        for i in (1..order.len()).rev() {
            let j = (rng.next_bits53() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for chunk in order.chunks(batch) {
            let step = losses.len();
            if step >= total {
                break 'epochs;
            }
            // Linear warm-up, then linear decay to zero.
            let lr = if step < warmup {
                opts.learning_rate * (step + 1) as f64 / warmup as f64
            } else {
                opts.learning_rate * (total - step) as f64 / (total - warmup) as f64
            };
            optimiser.set_params(ParamsAdamW { lr, ..params.clone() });
            // The batch is split in two halves run side by side (candle parallelises only its
            // matrix products); each half's loss is its share of the batch mean, so the two
            // gradients add up to the whole batch's.
            let half = chunk.len().div_ceil(2);
            let run_half = |part: &[(usize, bool)]| -> Result<(f64, candle_core::backprop::GradStore), JudgeError> {
                let texts: Vec<(&str, &str)> = part
                    .iter()
                    .map(|&(i, flip)| {
                        let (a, b) = &texts[i];
                        if flip {
                            (b.as_str(), a.as_str())
                        } else {
                            (a.as_str(), b.as_str())
                        }
                    })
                    .collect();
                let labels: Vec<f32> =
                    part.iter().map(|&(i, _)| if pairs[i].same_answer { 1.0 } else { 0.0 }).collect();
                let (ids, types, mask, _) = base.encode_pairs(&texts)?;
                let logits = model.forward(&ids, &types, &mask).map_err(err)?;
                let target = Tensor::from_vec(labels, part.len(), &Device::Cpu).map_err(err)?;
                let loss = (logistic_loss(&logits, &target).map_err(err)? * (part.len() as f64 / chunk.len() as f64))
                    .map_err(err)?;
                Ok((loss.to_scalar::<f32>().map_err(err)? as f64, loss.backward().map_err(err)?))
            };
            let (first, second) = chunk.split_at(half);
            let halves = if second.is_empty() {
                vec![run_half(first)]
            } else {
                let (a, b) = rayon::join(|| run_half(first), || run_half(second));
                vec![a, b]
            };
            let mut l = 0.0;
            let mut grads: Option<candle_core::backprop::GradStore> = None;
            for half in halves {
                let (loss, g) = half?;
                l += loss;
                grads = Some(match grads {
                    None => g,
                    Some(mut sum) => {
                        for (_, var) in &model.vars {
                            if let Some(gv) = g.get(var.as_tensor()) {
                                let total = match sum.get(var.as_tensor()) {
                                    Some(g0) => (g0 + gv).map_err(err)?,
                                    None => gv.clone(),
                                };
                                sum.insert(var.as_tensor(), total);
                            }
                        }
                        sum
                    }
                });
            }
            let Some(grads) = grads else { continue };
            optimiser.step(&grads).map_err(err)?;
            losses.push(l);
            if step % 20 == 0 || step + 1 == total {
                progress(step + 1, total, l);
            }
        }
    }
    let tenth = (losses.len() / 10).max(1);
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len().max(1) as f64;
    let report = TrainReport {
        pairs: pairs.len(),
        steps: losses.len(),
        first_loss: mean(&losses[..tenth.min(losses.len())]),
        last_loss: mean(&losses[losses.len().saturating_sub(tenth)..]),
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((model, report))
}

/// Mean binary cross-entropy on logits, in the stable form max(x, 0) − t·x + ln(1 + e^−|x|)
/// (candle's version takes the log of a sigmoid, which overflows once the model is confident).
fn logistic_loss(logits: &Tensor, target: &Tensor) -> candle_core::Result<Tensor> {
    let soft = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    ((logits.relu()? - (target * logits)?)? + soft)?.mean_all()
}

/// Mean of the token states over real tokens (mask 1): (n, len, hidden) → (n, hidden), as the
/// serving encoder pools (`MiniLmBert::pooled`).
fn mean_pool(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&m)?.sum(1)?;
    // Every text has at least its [CLS] token; the clamp only guards an all-padding row.
    summed.broadcast_div(&m.sum(1)?.clamp(1e-9, f64::MAX)?)
}
