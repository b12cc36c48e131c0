//! Roles, for two texts made of the same content words: "from A to B" vs "from B to A",
//! "A sued B" vs "B sued A", "who referred X" vs "whom did X refer", "promoted by X" vs "promoted X".

use crate::lexicon::{self as lex, lookup};
use crate::token::{Kind, Tok};
use crate::wordnet::WordNet;
use crate::Knowledge;

/// Words that may stand between a role preposition and the word it marks.
const NP_INNER: &[&str] = &[
    "the", "a", "an", "our", "my", "your", "their", "its", "his", "her", "this", "that", "these", "those", "some",
    "all", "any", "whole", "entire",
];

/// Whether token `i` is a content word: `content` holds their indexes in ascending order.
fn is_content_at(content: &[usize], i: usize) -> bool {
    content.binary_search(&i).is_ok()
}

fn role_of(wn: &WordNet, toks: &[Tok], i: usize, content: &[usize]) -> &'static str {
    let mut k = i;
    for _ in 0..4 {
        let Some(p) = k.checked_sub(1) else { return "none" };
        k = p;
        let t = &toks[k];
        if t.kind == Kind::Punct {
            return "none";
        }
        let relative =
            t.raw == "following" && !lex::following_is_preposition(k.checked_sub(1).map(|p| toks[p].raw.as_str()));
        if let Some(role) = lookup(lex::ROLE_MARKERS, t.raw.as_str()).filter(|_| !relative) {
            if role == "agent" {
                // "sent by X" marks the doer; "revenue by region" groups.
                let participle = k.checked_sub(1).map(|p| &toks[p]).is_some_and(|v| {
                    v.kind == Kind::Word
                        && (v.raw.ends_with("ed") || v.raw.ends_with("en") || wn.irregular_verb(&v.raw))
                });
                // Grouping or ordering ("top customers by sales" = "customers with the highest sales")
                // is no role of its own.
                return if participle { "agent" } else { "none" };
            }
            // "close to the airport", "due to the strike": "to" without a movement.
            if role == "goal" && k.checked_sub(1).is_some_and(|p| lex::TO_PREPOSITIONS.contains(&toks[p].raw.as_str()))
            {
                return "none";
            }
            // "of" marks a role only in "X as a share of Y"; elsewhere it just links nouns.
            if role == "of"
                && !k.checked_sub(1).is_some_and(|p| {
                    lookup(lex::AGGREGATIONS, toks[p].raw.as_str()).is_some_and(|a| a == "share" || a == "ratio")
                })
            {
                return "none";
            }
            // "more than 10" and "over 10" bound a number alike; "than" sets a standard for words only.
            if role == "group" || (role == "standard" && toks[k..=i].iter().any(|t| t.kind == Kind::Num)) {
                return "none";
            }
            return role;
        }
        // A month or quarter may modify the noun ("after March's outage").
        if !(is_content_at(content, k)
            || NP_INNER.contains(&t.raw.as_str())
            || t.kind == Kind::Num
            || is_calendar_name(t))
        {
            return "none";
        }
    }
    "none"
}

/// Short calendar names (quarters, halves, months, weekdays) can trade roles too ("Q1 as a share of Q2").
fn is_calendar_name(t: &Tok) -> bool {
    t.kind == Kind::Word
        && (lex::is_quarter_or_half(&t.raw) || lex::MONTHS.contains(&t.raw.as_str()) || lex::is_weekday(&t.raw))
}

/// "after March" against "before March" is a comparison the facts read; "following March's
/// outage" against "since the outage in March" puts the month in no role of its own.
fn time_role(t: &Tok, role: &'static str) -> &'static str {
    if is_calendar_name(t) && matches!(role, "after" | "before") {
        "none"
    } else {
        role
    }
}

/// (word, role) for the role-bearing words whose concept is on both sides.
fn roles(
    wn: &WordNet,
    toks: &[Tok],
    content: &[usize],
    other: &[Tok],
    other_content: &[usize],
) -> Vec<(String, &'static str)> {
    // The concepts the other text has as content words or calendar names.
    let shared: std::collections::HashSet<&str> = other
        .iter()
        .enumerate()
        .filter(|&(k, o)| is_content_at(other_content, k) || is_calendar_name(o))
        .map(|(_, o)| o.w.as_str())
        .collect();
    let mut v: Vec<(String, &'static str)> = (0..toks.len())
        // Durations are left out: "30 days overdue" and "overdue by 30 days" say the same.
        .filter(|&i| (is_content_at(content, i) && !toks[i].w.starts_with("dur:")) || is_calendar_name(&toks[i]))
        .filter(|&i| shared.contains(toks[i].w.as_str()))
        .map(|i| (toks[i].w.clone(), time_role(&toks[i], role_of(wn, toks, i, content))))
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
    // "which courses does the university offer": "do" before the subject; "which restaurants do
    // deliveries" has "do" as its verb (a plain word follows it).
    let end = toks.len().min(w + 5);
    if let Some(d) = (w + 1..end)
        .take_while(|&k| toks[k].kind != Kind::Punct)
        .find(|&k| matches!(toks[k].raw.as_str(), "do" | "does" | "did"))
    {
        let verb = toks.get(d + 1).is_some_and(|n| n.kind == Kind::Word && !n.name && is_content_at(content, d + 1));
        return Some(if verb { "subject" } else { "object" });
    }
    for k in w + 1..end {
        if !is_content_at(content, k) {
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

pub fn compare(k: &Knowledge, q: &[Tok], c: &[Tok], qc: &[usize], cc: &[usize]) -> Option<String> {
    let wn = &k.wn;
    let (rq, rc) = (roles(wn, q, qc, c, cc), roles(wn, c, cc, q, qc));
    // Every marked word must keep its role ("from A to B" vs "from B to A", "promoted by X" vs
    // "promoted X"). One rewording is let through: the doer of a passive ("signed by the coach")
    // standing before the same verb in the other text ("did the coach sign").
    if rq != rc {
        // The passive doer on one side, "none" for the same word on the other.
        let active = |w: &str| {
            (rq.contains(&(w.to_string(), "agent")) && subject_elsewhere(wn, q, c, w))
                || (rc.contains(&(w.to_string(), "agent")) && subject_elsewhere(wn, c, q, w))
        };
        let diff: Vec<&(String, &'static str)> =
            rq.iter().filter(|x| !rc.contains(x)).chain(rc.iter().filter(|x| !rq.contains(x))).collect();
        if let Some((what, _)) = diff.iter().find(|(w, r)| !(matches!(*r, "agent" | "none") && active(w))) {
            return Some(format!("the same words in different roles (\"{what}\" moved to another role)"));
        }
    }
    if let (Some(a), Some(b)) = (question_role(q, qc), question_role(c, cc)) {
        if a != b {
            return Some(format!("the question asks for the {a} in one and the {b} in the other"));
        }
    }
    for (s, o) in SUBJECT_PRONOUNS {
        // The asker of a request is no party to what is asked: "I need the parcels…" / "get me
        // the parcels…".
        let has = |t: &[Tok], w: &str| (0..t.len()).any(|i| t[i].raw == w && !asker_of_request(t, i));
        if (has(q, s) && !has(q, o) && has(c, o) && !has(c, s)) || (has(q, o) && !has(q, s) && has(c, s) && !has(c, o))
        {
            return Some(format!("\"{s}\" and \"{o}\" swap who acts"));
        }
    }
    swapped_around_anchor(wn, q, c, qc, cc).or_else(|| swapped_parts(q, c))
}

/// Whether the pronoun at `i` is the asker wrapping a request: "I need / want / would like …",
/// "get / give / show / tell / send / find me …".
fn asker_of_request(t: &[Tok], i: usize) -> bool {
    let raw = |k: usize| t.get(k).map_or("", |x| x.raw.as_str());
    match raw(i) {
        "i" | "we" => matches!(raw(i + 1), "need" | "want" | "would" | "'d" | "d" | "wanna" | "require"),
        "me" | "us" => i.checked_sub(1).is_some_and(|p| {
            matches!(raw(p), "get" | "give" | "show" | "tell" | "send" | "find" | "pull" | "fetch" | "let")
        }),
        _ => false,
    }
}

/// Words that join two parts without ranking them: "wheat and barley" is "barley and wheat".
const SYMMETRIC: &[&str] = &["and", "or", "nor", "&", "plus", "vs", "versus", "both", "either"];

/// The words two texts are compared on for a swap: no punctuation, no articles.
fn without_articles(t: &[Tok]) -> Vec<&Tok> {
    t.iter().filter(|x| x.kind != Kind::Punct && !matches!(x.raw.as_str(), "a" | "an" | "the")).collect()
}

fn sorted_concepts<'t>(v: &[&'t Tok]) -> Vec<&'t str> {
    let mut w: Vec<&str> = v.iter().map(|t| t.w.as_str()).collect();
    w.sort_unstable();
    w
}

/// "sales exceeded forecast" vs "forecast exceeded sales", "20 pounds in yen" vs "20 yen in pounds",
/// "is Lisbon west of Madrid" vs "is Madrid west of Lisbon": the same words, with two parts
/// trading places across words that stay between them (unless those only join, like "and").
fn swapped_parts(q: &[Tok], c: &[Tok]) -> Option<String> {
    let (a, b) = (without_articles(q), without_articles(c));
    let same = |x: &[&Tok], y: &[&Tok]| x.len() == y.len() && x.iter().zip(y).all(|(s, t)| s.w == t.w);
    if same(&a, &b) {
        return None;
    }
    if sorted_concepts(&a) != sorted_concepts(&b) {
        return None;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x.w == y.w).count();
    let suffix = a.iter().rev().zip(b.iter().rev()).take_while(|(x, y)| x.w == y.w).count();
    let end = a.len() - suffix;
    if prefix >= end {
        return None;
    }
    let (ma, mb) = (&a[prefix..end], &b[prefix..end]);
    let n = ma.len();
    let show = |v: &[&Tok]| v.iter().map(|t| t.raw.as_str()).collect::<Vec<_>>().join(" ");
    // ma = A Y B and mb = B Y A, with Y not empty.
    for la in 1..n {
        // mb ends with A whatever the length of B: checked once per length of A.
        let part_a = &ma[..la];
        if !same(&mb[n - la..], part_a) {
            continue;
        }
        for lb in 1..n.saturating_sub(la) {
            let ly = n - la - lb;
            let (middle, part_b) = (&ma[la..la + ly], &ma[la + ly..]);
            if !(same(&mb[..lb], part_b) && same(&mb[lb..lb + ly], middle)) {
                continue;
            }
            if middle.iter().all(|t| SYMMETRIC.contains(&t.raw.as_str())) {
                continue;
            }
            return Some(format!(
                "\"{}\" and \"{}\" trade places around \"{}\"",
                show(part_a),
                show(part_b),
                show(middle)
            ));
        }
    }
    None
}

/// "books loaned by the library" against "books the library lent": the doer stands before the same
/// (or a synonymous) verb in the other text, so it is its subject there.
fn subject_elsewhere(wn: &WordNet, a: &[Tok], b: &[Tok], w: &str) -> bool {
    let Some(i) = a.iter().position(|t| t.w == w) else { return false };
    let Some(by) = a[..i].iter().rposition(|t| t.raw == "by") else { return false };
    let Some(verb) = by.checked_sub(1).map(|p| &a[p]) else { return false };
    let lv = wn.lemmas(&verb.raw);
    let Some(j) = b.iter().position(|t| t.w == w) else { return false };
    let v = b.iter().position(|t| {
        t.kind == Kind::Word && (t.w == verb.w || (!lv.is_empty() && wn.synonyms(&lv, &wn.lemmas(&t.raw))))
    });
    v.is_some_and(|v| j < v)
}

fn punct_between(toks: &[Tok], a: usize, b: usize) -> bool {
    toks[a.min(b)..a.max(b)].iter().any(|t| t.kind == Kind::Punct)
}

/// "A pays B" vs "B pays A": two words trade places around a word that stays between them.
fn swapped_around_anchor(wn: &WordNet, q: &[Tok], c: &[Tok], qc: &[usize], cc: &[usize]) -> Option<String> {
    let once = |toks: &[Tok], idx: &[usize], w: &str| -> Option<usize> {
        let mut it = idx.iter().enumerate().filter(|(_, &i)| toks[i].w == w);
        let first = it.next()?.0;
        it.next().is_none().then_some(first)
    };
    let words: Vec<&str> = qc.iter().map(|&i| q[i].w.as_str()).collect();
    let pos: Vec<Option<(usize, usize)>> = words.iter().map(|w| Some((once(q, qc, w)?, once(c, cc, w)?))).collect();
    // The word between must be the action ("A pays B"), not a noun a reordering moved; or two
    // numbers keep their order around any word ("2 to the power of 5"). Looked up once per word.
    let action: Vec<bool> = qc.iter().zip(&pos).map(|(&i, p)| p.is_some() && wn.can_be_verb(&q[i].raw)).collect();
    let between = |a: usize, b: usize, m: usize| a.min(b) < m && m < a.max(b);
    for x in 0..words.len() {
        for y in x + 1..words.len() {
            let (Some((xq, xc)), Some((yq, yc))) = (pos[x], pos[y]) else { continue };
            // A clause moved past a comma is a rewording.
            if (xq < yq) == (xc < yc) || punct_between(q, qc[xq], qc[yq]) || punct_between(c, cc[xc], cc[yc]) {
                continue;
            }
            let numbers = q[qc[x]].kind == Kind::Num && q[qc[y]].kind == Kind::Num;
            // A word that occurs once in each text stands at its own index in `words`, so only
            // the indexes between x and y in the query can be between them.
            let found = (xq.min(yq) + 1..xq.max(yq)).find(|&m| {
                let Some((mq, mc)) = pos[m] else { return false };
                m != x && m != y && (numbers || action[m]) && between(xq, yq, mq) && between(xc, yc, mc)
            });
            if let Some(m) = found {
                return Some(format!("\"{}\" and \"{}\" swap places around \"{}\"", words[x], words[y], words[m]));
            }
        }
    }
    None
}
