//! Checks on the best candidates before a semantic hit is served. Raw embedding cosine cannot tell
//! "open on Sundays" from "closed on Sundays", "sales in 2023" from "sales in 2024", or "flights
//! from Paris to London" from "flights from London to Paris"; these checks refuse a candidate whose
//! answer-changing details disagree with the query, and let rewordings through.
//!
//! Text and WordNet only (no model), in three steps, each in its own file:
//! - `analyse`: tokens (after `aside` drops what is about the asker, not the question: "I need it
//!   for a report.", "thanks!", "Hey team,", emoticons) — stems (irregular forms from WordNet), abbreviations (general, chat, units),
//!   misspelt keywords of the facts ("avrage"), numbers with units, Roman numerals after a counting
//!   noun ("phase II"), multi-word expressions of function words ("at least", "how many"), "A-to-B"
//!   compounds, words of change read as their direction ("rose", "went up" / "increase"), parts of a whole (`fractions`: "a quarter of", "one in four"), days of a month and
//!   decades (`dates`: "the first of November" / "Nov. 1", "the eighties" / "1980s"); then `spelling` writes the pair alike where one side abbreviates ("ER", "LTL" with
//!   two initials from "truckload") or joins ("heatpump") what the other spells out or splits, or
//!   uses one word for a WordNet lemma of several ("ATM" / "cash machine");
//! - `facts`: numbers, dates and periods ("this Sunday" is "Sunday", not "Sundays"; a range of months that is a quarter or a half reads as it), negation, the figure asked for, comparison direction,
//!   scope words, quantifiers (all / some, "a planet" / "every planet"), "and" / "or" between the
//!   same two words, a state and its opposite ("under" / "out of warranty") and opposite function
//!   words must agree exactly;
//! - `align` (+ `roles`): every content word must find its match on the other side — same stem,
//!   WordNet synonym or derived form (also a name and its adjective, "Brazilian" / "Brazil"), two
//!   verbs for one action, a typo, the same word under a negative prefix or suffix, or an opposite
//!   after "least" ("least expensive" / "cheapest"); one word against one in the same place also
//!   matches on a rarer shared sense or a verb that is a
//!   manner of the other ("output" / "production", "cultivate" / "grow"). Unmatched words that
//!   WordNet relates refuse (opposites, two kinds of one thing, a kind against its wider class); an
//!   unmatched name, or one short detail changed in place or added before a noun ("paying users"),
//!   refuses; with the same words, roles must agree.
//!
//! Layers, each using only those before it (no module reaches up or back):
//! 1. `token` (tokens and helpers on them alone) and `rules` (the table every `Objection` names);
//! 2. `lexicon` (general function-word lists) and `wordnet` (WordNet 3.0 read from its plain data
//!    files); `Knowledge` holds a WordNet and the lexicon's tables stemmed with it;
//! 3. the analysis: `aside`, `fractions`, `dates`, then `analyse`, which runs them;
//! 4. the comparisons, in this order: `facts`, `spelling`, `roles`, `align` (which reads the
//!    facts and asks `roles` last);
//! 5. this file: `objection` and `explain`.
//!
//! The caller passes the `Knowledge` in: where WordNet is read from and how long it stays in
//! memory are the caller's (the engine loads it on first use and drops it when idle). Reading
//! WordNet takes about 0.55 s in a debug build and about 30 MB (the `wordnet_load_cost` test).
//! Without it the checks still run on stems and exact words and refuse more rewordings.
//!
//! Cost: tens of microseconds per checked candidate in a debug build (see the `cost` test), far
//! below an embedding.

mod align;
mod analyse;
mod aside;
mod dates;
pub mod facts;
mod fractions;
mod knowledge;
mod lexicon;
mod roles;
pub mod rules;
mod spelling;
pub mod token;
pub mod wordnet;

pub use knowledge::Knowledge;
pub use rules::{Objection, Rule, RULES};
pub use wordnet::WordNet;

/// What the checks read in a pair and what they say: for `cache explain`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Explanation {
    /// Each side's tokens after analysis, as `word/kind` (`*` marks a name).
    pub query_tokens: Vec<String>,
    pub candidate_tokens: Vec<String>,
    /// Each side's facts (numbers, dates, figures, scope, negations…), as the checks hold them.
    pub query_facts: String,
    pub candidate_facts: String,
    /// Each side's content words that found no match on the other (same stem, WordNet synonym or
    /// derived form, typo, negative prefix …): what the word checks decide on.
    pub query_unmatched: Vec<String>,
    pub candidate_unmatched: Vec<String>,
    pub rule: Option<&'static str>,
    pub objection: Option<String>,
    pub judge_may_overrule: bool,
}

pub fn explain(k: &Knowledge, query: &str, candidate: &str) -> Explanation {
    let (q, c) = analysed_pair(k, query, candidate);
    let (qf, cf) = (facts::Facts::of(k, &q), facts::Facts::of(k, &c));
    let show = |toks: &[token::Tok]| -> Vec<String> {
        toks.iter().map(|t| format!("{}/{:?}{}", t.w, t.kind, if t.name { "*" } else { "" })).collect()
    };
    let o = too_long(query, candidate).or_else(|| compare(k, &q, &c, &qf, &cf));
    let (query_unmatched, candidate_unmatched) = align::unmatched(k, &q, &c);
    Explanation {
        query_tokens: show(&q),
        candidate_tokens: show(&c),
        query_facts: format!("{qf:?}"),
        candidate_facts: format!("{cf:?}"),
        query_unmatched,
        candidate_unmatched,
        rule: o.as_ref().map(|o| o.rule),
        judge_may_overrule: o.as_ref().is_some_and(Objection::judge_may_overrule),
        objection: o.map(|o| o.detail),
    }
}

/// Why `candidate` must not answer `query`, or None when no check disagrees.
pub fn objection(k: &Knowledge, query: &str, candidate: &str) -> Option<Objection> {
    too_long(query, candidate).or_else(|| {
        let (q, c) = analysed_pair(k, query, candidate);
        let (qf, cf) = (facts::Facts::of(k, &q), facts::Facts::of(k, &c));
        compare(k, &q, &c, &qf, &cf)
    })
}

/// Where two texts name different details, whatever their wording: amounts, dates and periods,
/// names and codes (a name counts as missing only when the other text never uses the word, in
/// any case). For the earlier turns of two chats that a question leans on without saying so
/// ("can I cap his line?" some turns after "I'm on the Family 4 plan"): reworded, they must still
/// name the same plan, amount and day. The objection is `earlier_details`.
pub fn details_differ(k: &Knowledge, a: &str, b: &str) -> Option<Objection> {
    let differ = |why: String| Some(Objection::new("earlier_details", why));
    if let Some(o) = too_long(a, b) {
        return differ(o.detail);
    }
    let (x, y) = analysed_pair(k, a, b);
    let (xf, yf) = (facts::Facts::of(k, &x), facts::Facts::of(k, &y));
    if let Some((_, why)) = facts::amounts_and_dates(&xf, &yf) {
        return differ(why);
    }
    let (xs, ys): (Vec<&token::Tok>, Vec<&token::Tok>) = (x.iter().collect(), y.iter().collect());
    align::names_differ(&xs, &y, &ys, &x).and_then(differ)
}

/// Two texts that differ and are not both within the length the checks read are refused unread.
fn too_long(query: &str, candidate: &str) -> Option<Objection> {
    let long = |t: &str| t.chars().nth(token::MAX_CHARS).is_some();
    ((long(query) || long(candidate)) && query != candidate)
        .then(|| Objection::new("too_long", format!("longer than the {} characters the checks read", token::MAX_CHARS)))
}

/// Both texts analysed, then written alike where one abbreviates or joins what the other spells out.
fn analysed_pair(k: &Knowledge, query: &str, candidate: &str) -> (Vec<token::Tok>, Vec<token::Tok>) {
    let (mut q, mut c) = (analyse::analyse(k, query), analyse::analyse(k, candidate));
    spelling::harmonise(&k.wn, &mut q, &mut c);
    (q, c)
}

/// The checks in their order on an analysed pair: facts, then the word alignment (and roles),
/// then a figure or comparison only one side names.
fn compare(
    k: &Knowledge,
    q: &[token::Tok],
    c: &[token::Tok],
    qf: &facts::Facts,
    cf: &facts::Facts,
) -> Option<Objection> {
    let by_rule = |(rule, detail)| Objection::new(rule, detail);
    facts::compare(k, qf, cf).map(by_rule).or_else(|| match align::compare(k, q, c, qf, cf) {
        // Words matched only loosely are the last doubt, after every other rule.
        Some(o) if o.rule != align::RELATED_WORDS => Some(o),
        loose => facts::implicit_figure(qf, cf).map(by_rule).or(loose),
    })
}

#[cfg(test)]
mod tests;
