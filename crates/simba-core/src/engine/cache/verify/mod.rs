//! Checks on the best candidates before a semantic hit is served. Raw embedding cosine cannot tell
//! "open on Sundays" from "closed on Sundays", "sales in 2023" from "sales in 2024", or "flights
//! from Paris to London" from "flights from London to Paris"; these checks refuse a candidate whose
//! answer-changing details disagree with the query, and let rewordings through.
//!
//! Text and WordNet only (no model), in three steps, each in its own file:
//! - `text`: tokens (after `aside` drops what is about the asker, not the question: "I need it
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
//! `lexicon` holds only general function-word knowledge; `wordnet` reads WordNet 3.0 (Debian's
//! `wordnet-base`, /usr/share/wordnet or `$SIMBA_WORDNET_DIR`) once, on first use: about 0.55 s in a
//! debug build and about 30 MB (the `wordnet_load_cost` test). Without the files the checks still run on stems
//! and exact words (one warning in the log) and refuse more rewordings.
//!
//! Cost: tens of microseconds per checked candidate in a debug build (see the `cost` test), far
//! below an embedding.

mod align;
mod aside;
mod dates;
mod facts;
mod fractions;
mod lexicon;
mod roles;
pub mod rules;
mod spelling;
mod text;
mod wordnet;

/// Loads what the checks read (WordNet) now rather than on the first lookup.
pub fn warm_up() {
    wordnet::get();
}

/// Why a candidate must not answer a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Objection {
    /// The rule that objects (an id of [`rules::RULES`]).
    pub rule: &'static str,
    pub reason: String,
    /// The objection is about wording, not a fact: a content word one side changes in place or
    /// adds, or two kinds of one thing in WordNet. Whether "staff" / "employees" or "tickets" /
    /// "cases" mean the same is lexical knowledge these checks lack, so the judge, reading both
    /// texts, may overrule it. Numbers, dates, negation, names, opposites, roles: never.
    pub about_wording: bool,
}

impl Objection {
    /// An objection of `rule`; whether the judge may overrule it is the rule's (see `rules`).
    pub fn new(rule: &'static str, reason: String) -> Self {
        Self { rule, about_wording: rules::judge_may_overrule(rule), reason }
    }
}

impl std::fmt::Display for Objection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// What the checks read in a pair and what they say: for `cache explain`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Explanation {
    /// Each side's tokens after analysis, as `word/kind` (`*` marks a name).
    pub query_tokens: Vec<String>,
    pub candidate_tokens: Vec<String>,
    /// Each side's facts (numbers, dates, figures, scope, negations…), as the checks hold them.
    pub query_facts: String,
    pub candidate_facts: String,
    pub rule: Option<&'static str>,
    pub objection: Option<String>,
    pub judge_may_overrule: bool,
}

pub fn explain(query: &str, candidate: &str) -> Explanation {
    let (mut q, mut c) = (text::analyse(query), text::analyse(candidate));
    spelling::harmonise(&mut q, &mut c);
    let show = |toks: &[text::Tok]| -> Vec<String> {
        toks.iter().map(|t| format!("{}/{:?}{}", t.w, t.kind, if t.name { "*" } else { "" })).collect()
    };
    let o = objection(query, candidate);
    Explanation {
        query_tokens: show(&q),
        candidate_tokens: show(&c),
        query_facts: format!("{:?}", facts::Facts::of(&q)),
        candidate_facts: format!("{:?}", facts::Facts::of(&c)),
        rule: o.as_ref().map(|o| o.rule),
        judge_may_overrule: o.as_ref().is_some_and(|o| o.about_wording),
        objection: o.map(|o| o.reason),
    }
}

/// Why `candidate` must not answer `query`, or None when no check disagrees.
pub fn objection(query: &str, candidate: &str) -> Option<Objection> {
    let too_long = |t: &str| t.chars().nth(text::MAX_CHARS).is_some();
    if (too_long(query) || too_long(candidate)) && query != candidate {
        return Some(Objection::new(
            "too_long",
            format!("longer than the {} characters the checks read", text::MAX_CHARS),
        ));
    }
    let (mut q, mut c) = (text::analyse(query), text::analyse(candidate));
    spelling::harmonise(&mut q, &mut c);
    let (qf, cf) = (facts::Facts::of(&q), facts::Facts::of(&c));
    let by_rule = |(rule, reason)| Objection::new(rule, reason);
    facts::compare(&qf, &cf)
        .map(by_rule)
        .or_else(|| align::compare(&q, &c, &qf, &cf))
        .or_else(|| facts::implicit_figure(&qf, &cf).map(by_rule))
}

#[cfg(test)]
mod tests;
