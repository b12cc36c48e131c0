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
    pub reason: String,
    /// The objection is about wording, not a fact: a content word one side changes in place or
    /// adds, or two kinds of one thing in WordNet. Whether "staff" / "employees" or "tickets" /
    /// "cases" mean the same is lexical knowledge these checks lack, so the judge, reading both
    /// texts, may overrule it. Numbers, dates, negation, names, opposites, roles: never.
    pub about_wording: bool,
}

impl Objection {
    fn fact(reason: String) -> Self {
        Self { reason, about_wording: false }
    }

    fn wording(reason: String) -> Self {
        Self { reason, about_wording: true }
    }
}

impl std::fmt::Display for Objection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Why `candidate` must not answer `query`, or None when no check disagrees.
pub fn objection(query: &str, candidate: &str) -> Option<Objection> {
    let too_long = |t: &str| t.chars().nth(text::MAX_CHARS).is_some();
    if (too_long(query) || too_long(candidate)) && query != candidate {
        return Some(Objection::fact(format!("longer than the {} characters the checks read", text::MAX_CHARS)));
    }
    let (mut q, mut c) = (text::analyse(query), text::analyse(candidate));
    spelling::harmonise(&mut q, &mut c);
    let (qf, cf) = (facts::Facts::of(&q), facts::Facts::of(&c));
    facts::compare(&qf, &cf)
        .map(Objection::fact)
        .or_else(|| align::compare(&q, &c, &qf, &cf))
        .or_else(|| facts::implicit_figure(&qf, &cf).map(|reason| Objection { reason, about_wording: true }))
}

#[cfg(test)]
mod tests;
