//! Checks on the best candidates before a semantic hit is served. Raw embedding cosine cannot tell
//! "open on Sundays" from "closed on Sundays", "sales in 2023" from "sales in 2024", or "flights
//! from Paris to London" from "flights from London to Paris"; these checks refuse a candidate whose
//! answer-changing details disagree with the query, and let rewordings through.
//!
//! Text only (no model), in three steps, each in its own file:
//! - `text`: tokens — stems, synonyms, abbreviations, numbers with units, multi-word expressions;
//! - `facts`: numbers, dates and periods, negation, the figure asked for, comparison direction,
//!   scope and opposite words must agree exactly;
//! - `align` (+ `roles`): every content word must find its match on the other side; an unmatched
//!   name, or one short detail changed in place, refuses; with the same words, roles must agree.
//!
//! Cost: a few microseconds per checked candidate (see the `cost` test), far below an embedding.

mod align;
mod facts;
mod lexicon;
mod roles;
mod text;

/// Why `candidate` must not answer `query`, or None when no check disagrees.
pub fn disagreement(query: &str, candidate: &str) -> Option<String> {
    let (q, c) = (text::analyse(query), text::analyse(candidate));
    let (qf, cf) = (facts::Facts::of(&q), facts::Facts::of(&c));
    facts::compare(&qf, &cf).or_else(|| align::compare(&q, &c, &qf, &cf))
}

#[cfg(test)]
mod tests;
