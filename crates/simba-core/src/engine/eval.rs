//! `cache eval`: how well the cache tells true paraphrases from near-miss traps, on labelled pairs.
//! For each pair (a, b, same_answer) the question is: with `a` cached, would a lookup of `b` be
//! served? Reported overall and per category, with a threshold sweep, with and without the
//! candidate checks.

use crate::engine::cache::conversation::{self, Asked, Message};
use crate::engine::cache::decide::{self, Checks, JudgePolicy, Step};
use crate::engine::cache::types::CacheSettings;
use crate::engine::cache::verify;
use crate::engine::embed::Embedder;
use crate::engine::judge::Judge;
use crate::error::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

/// The sweep's lowest threshold (it goes up to 1 in steps of 0.01).
const SWEEP_FROM: f32 = 0.5;

/// One labelled pair.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct LabelledPair {
    pub a: PairSide,
    pub b: PairSide,
    pub same_answer: bool,
    #[serde(default)]
    pub category: Option<String>,
}

/// One side of a pair: a question, or a chat whose last (user) message is the question.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[serde(untagged)]
#[ts(export)]
pub enum PairSide {
    Question(String),
    Chat(Vec<Message>),
}

impl From<&str> for PairSide {
    fn from(s: &str) -> Self {
        PairSide::Question(s.to_string())
    }
}

impl PairSide {
    /// What the side asks, as a lookup or a store would read it.
    pub fn asked(&self) -> Result<Asked, String> {
        match self {
            PairSide::Question(q) => Ok(Asked::stored(q, vec![], vec![])),
            PairSide::Chat(messages) => {
                let (earlier, question) = conversation::split_chat(messages)?;
                Ok(conversation::asked(earlier, question))
            }
        }
    }

    fn is_blank(&self) -> bool {
        match self {
            PairSide::Question(q) => q.trim().is_empty(),
            PairSide::Chat(m) => m.last().is_none_or(|m| m.content.trim().is_empty()),
        }
    }
}

/// Reads JSONL (`{"a":…,"b":…,"same_answer":true,"category":…}` per line) or CSV with a header
/// row naming the same columns. The format is taken from the content, not the file name.
pub fn parse_pairs(text: &str) -> ApiResult<Vec<LabelledPair>> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.is_empty() {
        return Err(ApiError::invalid("the eval file is empty"));
    }
    let pairs = if trimmed.starts_with('{') {
        let mut out = Vec::new();
        for (i, line) in trimmed.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let pair: LabelledPair = serde_json::from_str(line).map_err(|e| {
                ApiError::invalid(format!("line {}: not a pair ({e}); expected {{\"a\",\"b\",\"same_answer\"}}", i + 1))
            })?;
            out.push(pair);
        }
        out
    } else {
        let mut reader =
            csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::Fields).from_reader(trimmed.as_bytes());
        let headers = reader.headers().map_err(|e| ApiError::invalid(format!("CSV header: {e}")))?.clone();
        for needed in ["a", "b", "same_answer"] {
            if !headers.iter().any(|h| h == needed) {
                return Err(ApiError::invalid(format!(
                    "the CSV header has no '{needed}' column (it needs a, b, same_answer and optionally category)"
                )));
            }
        }
        let col = |name: &str| headers.iter().position(|h| h == name);
        let (ca, cb, cs, cc) = (col("a").unwrap(), col("b").unwrap(), col("same_answer").unwrap(), col("category"));
        let mut out = Vec::new();
        for (i, row) in reader.records().enumerate() {
            let row = row.map_err(|e| ApiError::invalid(format!("CSV row {}: {e}", i + 2)))?;
            let same = match row.get(cs).unwrap_or("").to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                other => {
                    return Err(ApiError::invalid(format!(
                        "CSV row {}: same_answer is '{other}', expected true or false",
                        i + 2
                    )))
                }
            };
            out.push(LabelledPair {
                a: row.get(ca).unwrap_or("").into(),
                b: row.get(cb).unwrap_or("").into(),
                same_answer: same,
                category: cc.and_then(|c| row.get(c)).filter(|s| !s.is_empty()).map(String::from),
            });
        }
        out
    };
    if pairs.is_empty() {
        return Err(ApiError::invalid("the eval file holds no pairs"));
    }
    for (i, p) in pairs.iter().enumerate() {
        if p.a.is_blank() || p.b.is_blank() {
            return Err(ApiError::invalid(format!("pair {} has an empty side", i + 1)));
        }
        for side in [&p.a, &p.b] {
            side.asked().map_err(|e| ApiError::invalid(format!("pair {}: {e}", i + 1)))?;
        }
    }
    Ok(pairs)
}

/// Counts at one operating point.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct ServeCounts {
    pub same_total: u32,
    pub same_served: u32,
    pub different_total: u32,
    pub different_served: u32,
    /// Share of same-answer pairs served (recall).
    pub same_served_rate: Option<f64>,
    /// Share of different-answer pairs served: false hits.
    pub false_hit_rate: Option<f64>,
    /// Wilson 95% interval of the false-hit rate.
    pub false_hit_ci95: Option<(f64, f64)>,
    /// Of all served, the share that was right.
    pub precision: Option<f64>,
}

impl ServeCounts {
    fn add(&mut self, same: bool, served: bool) {
        if same {
            self.same_total += 1;
            self.same_served += served as u32;
        } else {
            self.different_total += 1;
            self.different_served += served as u32;
        }
    }

    fn finish(mut self) -> Self {
        let rate = |k: u32, n: u32| (n > 0).then(|| k as f64 / n as f64);
        self.same_served_rate = rate(self.same_served, self.same_total);
        self.false_hit_rate = rate(self.different_served, self.different_total);
        self.false_hit_ci95 = wilson(self.different_served, self.different_total);
        self.precision = rate(self.same_served, self.same_served + self.different_served);
        self
    }
}

/// Wilson score interval, 95%.
pub fn wilson(k: u32, n: u32) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let (k, n, z) = (k as f64, n as f64, 1.959964f64);
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * ((p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt()) / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SweepPoint {
    pub threshold: f32,
    /// Raw cosine only.
    pub raw: ServeCounts,
    /// Cosine plus the candidate checks (what the cache does by default).
    pub verified: ServeCounts,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EvalReport {
    pub model: String,
    pub threshold: f32,
    pub verify_candidates: bool,
    /// The judge's minimum score and floor, when the judge took part (None: off or not loaded).
    pub judge_min_score: Option<f32>,
    pub judge_floor: Option<f32>,
    /// Why the judge took no part although the settings ask for it (its files could not load).
    pub judge_problem: Option<String>,
    pub pairs: u32,
    pub overall: ServeCounts,
    pub by_category: BTreeMap<String, ServeCounts>,
    pub sweep: Vec<SweepPoint>,
    /// The lowest threshold whose verified false-hit rate is at most 2%, and what it serves.
    pub suggested_threshold: Option<f32>,
    /// Per rule of the checks (and "judge", "similarity" for refusals without an objection): what
    /// it cost (same-answer pairs it refused) and what it caught (traps it refused).
    pub by_rule: Vec<RuleTally>,
    /// Per pair: similarity, the checks' objection and the judge's score (for inspection).
    pub details: Vec<PairResult>,
    /// SVG chart of the sweep.
    pub chart_svg: String,
}

/// One rule's part in an evaluation: a refused pair counts for the rule that objected (or for the
/// judge or the similarity when no rule did).
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct RuleTally {
    pub rule: String,
    pub judge_may_overrule: bool,
    /// Same-answer pairs it refused: its cost.
    pub same_refused: u32,
    /// Traps it refused: what it caught.
    pub traps_caught: u32,
    /// Pairs it objected to that were served anyway (the judge overruled it).
    pub overruled: u32,
}

fn tally_rules(details: &[PairResult]) -> Vec<RuleTally> {
    let mut by: BTreeMap<String, RuleTally> = BTreeMap::new();
    for d in details {
        let rule = match (&d.rule, d.judge) {
            (Some(r), _) => r.clone(),
            (None, Some(_)) => "judge".to_string(),
            (None, None) => "similarity".to_string(),
        };
        if d.rule.is_none() && d.served {
            continue;
        }
        let t = by.entry(rule.clone()).or_insert_with(|| RuleTally {
            judge_may_overrule: verify::rules::judge_may_overrule(&rule),
            rule,
            ..Default::default()
        });
        match (d.served, d.same_answer) {
            (true, _) => t.overruled += 1,
            (false, true) => t.same_refused += 1,
            (false, false) => t.traps_caught += 1,
        }
    }
    let mut out: Vec<RuleTally> = by.into_values().collect();
    out.sort_by_key(|t| std::cmp::Reverse(t.same_refused + t.traps_caught));
    out
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PairResult {
    /// What each side asks (for a chat: the turns its question depends on, then the question).
    pub a: String,
    pub b: String,
    pub same_answer: bool,
    pub category: Option<String>,
    pub similarity: f32,
    pub objection: Option<String>,
    /// The rule that objected (see `verify::rules`).
    pub rule: Option<String>,
    /// Whether the objection is about wording (which the judge may overrule).
    pub objection_about_wording: bool,
    /// The judge's score, where the judge could decide the pair (see `cache::decide`).
    pub judge: Option<f32>,
    pub served: bool,
}

impl PairResult {
    /// What the checks said of the pair, as the decision reads it.
    pub fn checks(&self) -> Checks {
        Checks::of_rule(self.rule.as_deref())
    }

    /// Whether a lookup would serve the pair at `threshold`: the same steps (`cache::decide`).
    fn served_at(&self, threshold: f32, policy: Option<JudgePolicy>) -> bool {
        match decide::first_step(self.similarity, threshold, self.checks(), policy) {
            Step::Serve => true,
            Step::Refuse => false,
            Step::AskJudge => policy.zip(self.judge).is_some_and(|(p, s)| p.vouches(s, self.checks())),
        }
    }
}

/// Scores every pair once, then derives every operating point from the scores. With `a` cached,
/// would a lookup of `b` be served under `settings` (threshold, checks, judge)? `judge` is the
/// loaded judge, if any.
pub fn evaluate(
    embedder: &dyn Embedder,
    judge: Option<&Judge>,
    pairs: &[LabelledPair],
    settings: &CacheSettings,
) -> ApiResult<EvalReport> {
    settings.validate().map_err(ApiError::invalid)?;
    let threshold = settings.similarity_threshold;
    let verify_candidates = settings.verify_candidates;
    let policy = JudgePolicy::from_settings(settings, judge.is_some());
    let mut asked: Vec<Asked> = Vec::with_capacity(pairs.len() * 2);
    for (i, p) in pairs.iter().enumerate() {
        for side in [&p.a, &p.b] {
            asked.push(side.asked().map_err(|e| ApiError::invalid(format!("pair {}: {e}", i + 1)))?);
        }
    }
    let texts: Vec<&str> = asked.iter().map(|a| a.text.as_str()).collect();
    let mut vectors = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(64) {
        vectors.extend(embedder.embed_batch(chunk).map_err(|e| ApiError::invalid(e.to_string()))?);
    }
    let mut details = Vec::with_capacity(pairs.len());
    let mut turns_to_judge: Vec<Vec<(String, String)>> = Vec::with_capacity(pairs.len());
    for (i, p) in pairs.iter().enumerate() {
        let (va, vb) = (&vectors[2 * i], &vectors[2 * i + 1]);
        let (a, b) = (&asked[2 * i], &asked[2 * i + 1]);
        let unrelated_chats = conversation::same_question_in_unrelated_chats(a, b);
        // The same words asked after unrelated turns: as similar as two questions get.
        let similarity: f32 = if unrelated_chats { 1.0 } else { va.iter().zip(vb).map(|(x, y)| x * y).sum() };
        // The cached side is `a`; the incoming query is `b`.
        let mut reworded_turns = vec![];
        let objection = if a.beyond_reach || b.beyond_reach {
            Some(verify::Objection::new("beyond_reach", conversation::beyond_reach_reason()))
        } else if unrelated_chats {
            None
        } else if verify_candidates {
            let checks = decide::checks_for(b, a);
            reworded_turns = checks.reworded_turns;
            checks.objection
        } else {
            None
        };
        details.push(PairResult {
            a: a.text.clone(),
            b: b.text.clone(),
            same_answer: p.same_answer,
            category: p.category.clone(),
            similarity,
            objection_about_wording: objection.as_ref().is_some_and(verify::Objection::judge_may_overrule),
            rule: objection.as_ref().map(|o| o.rule.to_string()),
            objection: objection.map(|o| o.detail),
            judge: None,
            served: false,
        });
        turns_to_judge.push(reworded_turns);
    }
    // The judge reads, in one batch, every pair it could decide at some threshold of the sweep.
    if let (Some(judge), Some(p)) = (judge, policy) {
        let lowest = p.floor.min(SWEEP_FROM).min(threshold);
        let asked: Vec<usize> = (0..details.len())
            .filter(|&i| details[i].similarity >= lowest && details[i].checks() != Checks::Fact)
            .collect();
        // Each pair's score is the lowest of its asked texts' and its reworded turns'.
        let mut texts: Vec<(&str, &str)> = Vec::new();
        let mut owner: Vec<usize> = Vec::new();
        for &i in &asked {
            texts.push((details[i].b.as_str(), details[i].a.as_str()));
            owner.push(i);
            for (mine, theirs) in &turns_to_judge[i] {
                texts.push((mine.as_str(), theirs.as_str()));
                owner.push(i);
            }
        }
        let scores = judge.score(&texts).map_err(|e| ApiError::internal(e.to_string()))?;
        for (&i, s) in owner.iter().zip(scores) {
            details[i].judge = Some(details[i].judge.map_or(s, |j| decide::lowest_score(j, s)));
        }
    }
    for d in &mut details {
        d.served = d.served_at(threshold, policy);
    }
    let mut overall = ServeCounts::default();
    let mut by_category: BTreeMap<String, ServeCounts> = BTreeMap::new();
    for d in &details {
        overall.add(d.same_answer, d.served);
        by_category
            .entry(d.category.clone().unwrap_or_else(|| "(none)".into()))
            .or_default()
            .add(d.same_answer, d.served);
    }
    let mut sweep = Vec::new();
    for step in 0..=50 {
        let t = SWEEP_FROM + step as f32 * 0.01;
        let (mut raw, mut verified) = (ServeCounts::default(), ServeCounts::default());
        for d in &details {
            raw.add(d.same_answer, d.similarity >= t);
            verified.add(d.same_answer, d.served_at(t, policy));
        }
        sweep.push(SweepPoint {
            threshold: (t * 100.0).round() / 100.0,
            raw: raw.finish(),
            verified: verified.finish(),
        });
    }
    let suggested_threshold =
        sweep.iter().find(|p| p.verified.false_hit_rate.is_some_and(|r| r <= 0.02)).map(|p| p.threshold);
    let chart_svg = crate::charts::sweep_chart(&sweep, threshold).unwrap_or_else(|e| {
        tracing::warn!("could not draw the sweep chart: {e}");
        String::new()
    });
    Ok(EvalReport {
        model: embedder.model_id().to_string(),
        threshold,
        verify_candidates,
        judge_min_score: policy.map(|p| p.min_score),
        judge_floor: policy.map(|p| p.floor),
        judge_problem: None,
        pairs: pairs.len() as u32,
        overall: overall.finish(),
        by_category: by_category.into_iter().map(|(k, v)| (k, v.finish())).collect(),
        sweep,
        suggested_threshold,
        by_rule: tally_rules(&details),
        details,
        chart_svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_jsonl_and_csv_alike() {
        let j = parse_pairs("{\"a\":\"x\",\"b\":\"y\",\"same_answer\":true,\"category\":\"para\"}\n\n{\"a\":\"p\",\"b\":\"q\",\"same_answer\":false}\n").unwrap();
        let c = parse_pairs("a,b,same_answer,category\nx,y,true,para\np,q,false,\n").unwrap();
        assert_eq!(j, c);
        assert!(parse_pairs("a,b\nx,y\n").unwrap_err().message.contains("same_answer"));
        assert!(parse_pairs("{\"a\":1}").is_err());
        assert!(parse_pairs("a,b,same_answer\nx,y,maybe\n").unwrap_err().message.contains("maybe"));
        assert!(parse_pairs("").is_err());
    }

    #[test]
    fn wilson_interval() {
        let (lo, hi) = wilson(0, 100).unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - 0.037).abs() < 0.002, "{hi}");
        let (lo, hi) = wilson(50, 100).unwrap();
        assert!((lo - 0.404).abs() < 0.002 && (hi - 0.596).abs() < 0.002);
        assert!(wilson(0, 0).is_none());
    }
}
