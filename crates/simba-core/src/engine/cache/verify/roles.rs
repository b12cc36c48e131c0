//! Roles, for two texts made of the same content words: "from A to B" vs "from B to A",
//! "A sued B" vs "B sued A", "who referred X" vs "whom did X refer", "promoted by X" vs "promoted X".

use super::lexicon::{self as lex, lookup};
use super::text::{Kind, Tok};

/// Words that may stand between a role preposition and the word it marks.
const NP_INNER: &[&str] = &["the", "a", "an", "our", "my", "your", "their", "its", "his", "her", "this", "that", "these", "those", "some", "all", "any"];

fn role_of(toks: &[Tok], i: usize, content: &[usize]) -> &'static str {
    let mut k = i;
    for _ in 0..4 {
        let Some(p) = k.checked_sub(1) else { return "none" };
        k = p;
        let t = &toks[k];
        if t.kind == Kind::Punct {
            return "none";
        }
        if let Some(role) = lookup(lex::ROLE_MARKERS, t.raw.as_str()) {
            if role == "agent" {
                // "sent by X" marks the doer; "revenue by region" groups.
                let participle = k.checked_sub(1).map(|p| &toks[p]).is_some_and(|v| v.kind == Kind::Word && (v.raw.ends_with("ed") || v.raw.ends_with("en") || lex::irregular(&v.raw).is_some()));
                // Grouping or ordering ("top customers by sales" = "customers with the highest sales")
                // is no role of its own.
                return if participle { "agent" } else { "none" };
            }
            // "of" marks a role only in "X as a share of Y"; elsewhere it just links nouns.
            if role == "of" && !k.checked_sub(1).is_some_and(|p| lookup(lex::AGGREGATIONS, toks[p].raw.as_str()).is_some_and(|a| a == "share" || a == "ratio")) {
                return "none";
            }
            return if role == "group" { "none" } else { role };
        }
        if !(content.contains(&k) || NP_INNER.contains(&t.raw.as_str()) || t.kind == Kind::Num) {
            return "none";
        }
    }
    "none"
}

/// Short calendar names (quarters, halves, months, weekdays) can trade roles too ("Q1 as a share of Q2").
fn is_calendar_name(t: &Tok) -> bool {
    t.kind == Kind::Word && (matches!(t.raw.as_str(), "q1" | "q2" | "q3" | "q4" | "h1" | "h2") || lex::MONTHS.contains(&t.raw.as_str()) || lex::WEEKDAYS.contains(&t.raw.trim_end_matches('s')))
}

/// (word, role) for the role-bearing words whose concept is on both sides.
fn roles(toks: &[Tok], content: &[usize], other: &[Tok]) -> Vec<(String, &'static str)> {
    let mut v: Vec<(String, &'static str)> = (0..toks.len())
        // Durations are left out: "30 days overdue" and "overdue by 30 days" say the same.
        .filter(|&i| (content.contains(&i) && !toks[i].w.starts_with("dur:")) || is_calendar_name(&toks[i]))
        .filter(|&i| other.iter().any(|o| o.w == toks[i].w))
        .map(|i| (toks[i].w.clone(), role_of(toks, i, content)))
        .collect();
    v.sort();
    v
}

/// Whether a question asks for the doer ("who referred X") or the one done to ("whom did X refer").
fn question_role(toks: &[Tok], content: &[usize]) -> Option<&'static str> {
    let w = toks.iter().position(|t| matches!(t.raw.as_str(), "who" | "whom" | "which" | "what"))?;
    if toks[w].raw == "whom" && !(w > 0 && toks[w - 1].raw == "by") {
        return Some("object");
    }
    for k in w + 1..toks.len().min(w + 5) {
        let t = &toks[k];
        if matches!(t.raw.as_str(), "do" | "does" | "did") {
            return Some("object");
        }
        if !content.contains(&k) {
            return None;
        }
        // "who reports …", "which customers referred …": a verb right after the wh-phrase.
        if (toks[w].raw == "who" && k == w + 1) || k >= w + 2 {
            return Some("subject");
        }
    }
    None
}

const SUBJECT_PRONOUNS: &[(&str, &str)] = &[("i", "me"), ("we", "us"), ("they", "them"), ("he", "him"), ("she", "her")];

pub fn compare(q: &[Tok], c: &[Tok], qc: &[usize], cc: &[usize]) -> Option<String> {
    let (rq, rc) = (roles(q, qc, c), roles(c, cc, q));
    if rq != rc {
        let diff = rq.iter().find(|x| !rc.contains(x)).or_else(|| rc.iter().find(|x| !rq.contains(x)));
        let what = diff.map(|(w, _)| w.as_str()).unwrap_or("a word");
        return Some(format!("the same words in different roles (\"{what}\" moved to another role)"));
    }
    if let (Some(a), Some(b)) = (question_role(q, qc), question_role(c, cc)) {
        if a != b {
            return Some(format!("the question asks for the {a} in one and the {b} in the other"));
        }
    }
    for (s, o) in SUBJECT_PRONOUNS {
        let has = |t: &[Tok], w: &str| t.iter().any(|x| x.raw == w);
        if (has(q, s) && !has(q, o) && has(c, o) && !has(c, s)) || (has(q, o) && !has(q, s) && has(c, s) && !has(c, o)) {
            return Some(format!("\"{s}\" and \"{o}\" swap who acts"));
        }
    }
    swapped_around_anchor(q, c, qc, cc)
}

/// "A pays B" vs "B pays A": two words trade places around a word that stays between them.
fn swapped_around_anchor(q: &[Tok], c: &[Tok], qc: &[usize], cc: &[usize]) -> Option<String> {
    let once = |toks: &[Tok], idx: &[usize], w: &str| -> Option<usize> {
        let mut it = idx.iter().enumerate().filter(|(_, &i)| toks[i].w == w);
        let first = it.next()?.0;
        it.next().is_none().then_some(first)
    };
    let words: Vec<&str> = qc.iter().map(|&i| q[i].w.as_str()).collect();
    let pos: Vec<Option<(usize, usize)>> = words.iter().map(|w| Some((once(q, qc, w)?, once(c, cc, w)?))).collect();
    for x in 0..words.len() {
        for y in x + 1..words.len() {
            let (Some((xq, xc)), Some((yq, yc))) = (pos[x], pos[y]) else { continue };
            if (xq < yq) == (xc < yc) {
                continue;
            }
            let between = |a: usize, b: usize, m: usize| a.min(b) < m && m < a.max(b);
            for m in 0..words.len() {
                if m == x || m == y {
                    continue;
                }
                let Some((mq, mc)) = pos[m] else { continue };
                if between(xq, yq, mq) && between(xc, yc, mc) {
                    return Some(format!("\"{}\" and \"{}\" swap places around \"{}\"", words[x], words[y], words[m]));
                }
            }
        }
    }
    None
}
