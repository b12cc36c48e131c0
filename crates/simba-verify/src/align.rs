//! Content-word alignment, in the spirit of BERTScore but on words: every content word of each side
//! must find its match on the other (same stem or synonym, a typo, or the same word under a
//! negative prefix). What stays unmatched decides:
//! - an unmatched name or code refuses (another entity);
//! - a short unmatched run in the same place on both sides, or inserted between two words that are
//!   neighbours on the other side, refuses: the pair differs in exactly that detail ("billing team"
//!   vs "onboarding team", "active users" vs "users");
//! - when both sides use the same words, their roles must agree (who did what to whom).

use crate::facts::{self, Facts};
use crate::lexicon as lex;
use crate::rules::Objection;
use crate::token::{one_typo_apart, typo_apart, Kind, Tok};
use crate::wordnet::WordNet;
use crate::{roles, Knowledge};
use std::collections::HashSet;

/// Longest run of unmatched words still read as one changed detail rather than a rewording.
const MAX_SLOT: usize = 2;

struct Side<'a> {
    k: &'a Knowledge,
    toks: &'a [Tok],
    /// Indexes of the content tokens in `toks`.
    content: Vec<usize>,
    matched: Vec<bool>,
    /// Words negated by a prefix whose base word is on the other side ("unpaid" vs "paid").
    prefix_negations: usize,
    /// WordNet base forms of each plain content word (empty for names, codes and numbers).
    lemmas: Vec<Vec<u32>>,
    /// Pairs of words matched only as related (two verbs under one hypernym, a word sharing one
    /// sense of many): (this side's word, the other's). Set on the first side aligned.
    loose: Vec<(String, String)>,
}

fn is_content(wn: &WordNet, t: &Tok) -> bool {
    match t.kind {
        Kind::Punct => false,
        Kind::Num => !t.soft,
        Kind::Ident => true,
        Kind::Word => {
            !lex::is_filler(&t.raw) && !lex::is_filler(&t.w) && !facts::is_fact_word(t) && !misspelt_filler(wn, t)
        }
    }
}

/// A word no dictionary knows, one typo from a function word: "teh", "wich", "waht".
fn misspelt_filler(wn: &WordNet, t: &Tok) -> bool {
    !t.name
        && (3..=7).contains(&t.raw.len())
        && !wn.is_empty()
        && lex::FILLERS.iter().any(|f| f.len() >= 3 && typo_apart(&t.raw, f, 3))
        && !wn.knows(&t.raw)
}

/// A typo: one edit apart, for longer words; for shorter ones, only when one of them is no word at all.
fn typo(wn: &WordNet, a: &Tok, b: &Tok) -> bool {
    if one_typo_apart(&a.raw, &b.raw) || one_typo_apart(&a.w, &b.w) {
        return true;
    }
    typo_apart(&a.raw, &b.raw, 4) && !wn.is_empty() && (!wn.knows(&a.raw) || !wn.knows(&b.raw))
}

/// A name written in lower case one typo from a name WordNet knows, and no word itself: a
/// misspelling ("farenheit" / "Fahrenheit"). Two capitalised names one letter apart are two
/// people ("Maria" / "Mario", and "maria" is a word too).
fn misspelt_name(wn: &WordNet, a: &Tok, b: &Tok) -> bool {
    let one_way = |x: &Tok, y: &Tok| !x.name && y.name && !wn.knows(&x.raw) && wn.knows(&y.raw);
    one_typo_apart(&a.raw, &b.raw) && !wn.is_empty() && (one_way(a, b) || one_way(b, a))
}

impl<'a> Side<'a> {
    fn new(k: &'a Knowledge, toks: &'a [Tok]) -> Self {
        let wn = &k.wn;
        let content: Vec<usize> = (0..toks.len()).filter(|&i| is_content(wn, &toks[i])).collect();
        // Numbers were compared as sets already; here they only anchor the word order.
        let matched = content.iter().map(|&i| toks[i].kind == Kind::Num).collect();
        let lemmas = content
            .iter()
            .map(|&i| if is_plain_word(&toks[i]) { wn.lemmas(&toks[i].raw) } else { Vec::new() })
            .collect();
        Side { k, toks, content, matched, prefix_negations: 0, lemmas, loose: Vec::new() }
    }
    fn tok(&self, k: usize) -> &Tok {
        &self.toks[self.content[k]]
    }
    /// WordNet base forms of content word `k`.
    fn lemmas(&self, k: usize) -> &[u32] {
        &self.lemmas[k]
    }
    fn unmatched(&self) -> Vec<&Tok> {
        (0..self.content.len()).filter(|&k| !self.matched[k]).map(|k| self.tok(k)).collect()
    }
}

/// An ordinary lower-case word (names and codes are compared literally).
fn is_plain_word(t: &Tok) -> bool {
    t.kind == Kind::Word && !t.name
}

/// Marks as matched each unmatched plain word of `a` and the first unmatched plain word of `b`
/// that `related(raw a, lemmas a, raw b, lemmas b)` accepts (words WordNet does not know are skipped).
fn pair_up(a: &mut Side, b: &mut Side, related: impl Fn(&str, &[u32], &str, &[u32]) -> bool) -> Vec<(usize, usize)> {
    // `related` reads only the two words, so a word that found no partner finds none when it comes
    // again (the unmatched words of `b` only shrink), and a word of `b` refused once is refused
    // again for the same word of `a`: each pair of distinct words is asked once, which keeps a long
    // text of repeated words from asking WordNet the same question thousands of times.
    let (a_toks, b_toks) = (a.toks, b.toks);
    let mut lonely: HashSet<&str> = HashSet::new();
    let mut paired = Vec::new();
    for i in 0..a.content.len() {
        let ra = a_toks[a.content[i]].raw.as_str();
        if a.matched[i] || !is_plain_word(a.tok(i)) || a.lemmas(i).is_empty() || lonely.contains(ra) {
            continue;
        }
        let mut refused: HashSet<&str> = HashSet::new();
        let found = (0..b.content.len()).find(|&j| {
            let rb = b_toks[b.content[j]].raw.as_str();
            if b.matched[j] || !is_plain_word(b.tok(j)) || refused.contains(rb) {
                return false;
            }
            let ok = related(ra, a.lemmas(i), rb, b.lemmas(j));
            if !ok {
                refused.insert(rb);
            }
            ok
        });
        match found {
            Some(j) => {
                a.matched[i] = true;
                b.matched[j] = true;
                paired.push((i, j));
            }
            None => {
                lonely.insert(ra);
            }
        }
    }
    paired
}

/// `pair_up`, with each word given by its place in its text: `related((toks, index), lemmas, …)`.
fn pair_up_toks(
    a: &mut Side,
    b: &mut Side,
    related: impl Fn((&[Tok], usize), &[u32], (&[Tok], usize), &[u32]) -> bool,
) {
    for i in 0..a.content.len() {
        if a.matched[i] || !is_plain_word(a.tok(i)) || a.lemmas(i).is_empty() {
            continue;
        }
        let found = (0..b.content.len()).find(|&j| {
            !b.matched[j]
                && is_plain_word(b.tok(j))
                && related((a.toks, a.content[i]), a.lemmas(i), (b.toks, b.content[j]), b.lemmas(j))
        });
        if let Some(j) = found {
            a.matched[i] = true;
            b.matched[j] = true;
        }
    }
}

/// A name and the word derived from it, which WordNet links as a pertainym or a derived form
/// ("Brazilian" / "Brazil", "Parisians" / "Paris"): the same place or people, said two ways.
fn derived_names(a: &mut Side, b: &mut Side) {
    let k = a.k;
    let wn = &k.wn;
    // Base forms of every word of `b`, names included (`Side::lemmas` leaves names out), looked up once.
    let lb: Vec<Vec<u32>> = (0..b.content.len())
        .map(|j| if b.tok(j).kind == Kind::Word { wn.lemmas(&b.tok(j).raw) } else { Vec::new() })
        .collect();
    for i in 0..a.content.len() {
        let ta = a.tok(i);
        if a.matched[i] || ta.kind != Kind::Word {
            continue;
        }
        let la = wn.lemmas(&ta.raw);
        let found = (0..b.content.len()).find(|&j| {
            let tb = b.tok(j);
            !b.matched[j] && tb.kind == Kind::Word && (ta.name || tb.name) && !la.is_empty() && wn.derived(&la, &lb[j])
        });
        if let Some(j) = found {
            a.matched[i] = true;
            b.matched[j] = true;
        }
    }
}

/// Whether the token before `t` is "least" or "less" (in its own text).
fn lessened(t: (&[Tok], usize)) -> bool {
    let (toks, i) = t;
    i.checked_sub(1).is_some_and(|p| matches!(toks[p].raw.as_str(), "least" | "less"))
}

/// The same word, written so that only one side reads it as content ("SIM" / "sim", which looks
/// like a typo of "him" in lower case).
fn same_word_as_light_word(a: &mut Side, b: &Side) {
    let k = a.k;
    let wn = &k.wn;
    for i in 0..a.content.len() {
        if !a.matched[i] && b.toks.iter().any(|t| t.kind == Kind::Word && t.w == a.tok(i).w && !is_content(wn, t)) {
            a.matched[i] = true;
        }
    }
}

fn align(a: &mut Side, b: &mut Side) {
    // Same concept (stem or synonym), one to one.
    for i in 0..a.content.len() {
        if let Some(j) = (0..b.content.len()).find(|&j| !b.matched[j] && b.tok(j).w == a.tok(i).w) {
            a.matched[i] = true;
            b.matched[j] = true;
        }
    }
    same_word_as_light_word(a, b);
    same_word_as_light_word(b, a);
    // WordNet: synonyms, derived forms and base forms ("physician" / "doctor", "renewal" / "renew").
    let k = a.k;
    let wn = &k.wn;
    if !wn.is_empty() {
        pair_up(a, b, |_, la, _, lb| wn.synonyms(la, lb));
        derived_names(a, b);
        // A content word whose synonym the other side uses as a light word ("require" / "need").
        // The light words of `b` and their base forms, looked up once.
        let light_words: Vec<(&str, Vec<u32>)> = b
            .toks
            .iter()
            .filter(|t| t.kind == Kind::Word && !t.name && t.raw.len() >= 3)
            .filter(|t| lex::is_filler(&t.raw) || lex::lookup(lex::AGGREGATIONS, &t.raw).is_some())
            .map(|t| (t.raw.as_str(), if lex::is_filler(&t.raw) { wn.lemmas(&t.raw) } else { Vec::new() }))
            .collect();
        for i in 0..a.content.len() {
            if a.matched[i] || a.lemmas(i).is_empty() {
                continue;
            }
            let la = a.lemmas(i);
            // Also a superlative the other side states as the figure asked for ("tiniest" / "smallest").
            let ra = &a.tok(i).raw;
            let light = light_words.iter().any(|(rb, lb)| {
                let filler = lex::is_filler(rb) && wn.synonyms(la, lb);
                let figure = lex::lookup(lex::AGGREGATIONS, rb).is_some() && wn.same_adjective(ra, rb);
                filler || figure
            });
            if light {
                a.matched[i] = true;
            }
        }
        // A kind of person and the role it is a kind of name the same people ("policyholders" /
        // "customers"); kinds of things narrow ("sedans" / "cars") and stay unmatched.
        pair_up(a, b, |_, la, _, lb| (wn.person_kind_of(la, lb) || wn.person_kind_of(lb, la)) && !wn.antonyms(la, lb));
        // Two verbs for one action, unless they are opposites.
        let related = pair_up(a, b, |ra, la, rb, lb| {
            wn.mostly_verb(ra) && wn.mostly_verb(rb) && wn.verbs_related(la, lb) && !wn.antonyms(la, lb)
        });
        for (i, j) in related {
            let pair = (a.tok(i).raw.clone(), b.tok(j).raw.clone());
            a.loose.push(pair);
        }
    }
    // Typos in ordinary words, and a name misspelt in lower case ("farenheit" / "Fahrenheit");
    // names against names never ("Chen" is not "Cheng").
    // As in `pair_up`, each pair of distinct words is compared once.
    let (a_toks, b_toks) = (a.toks, b.toks);
    let key = |t: &'_ Tok| (t.raw.clone(), t.w.clone(), t.name);
    let mut lonely = HashSet::new();
    for i in 0..a.content.len() {
        let ta = &a_toks[a.content[i]];
        if a.matched[i] || ta.kind != Kind::Word || lonely.contains(&key(ta)) {
            continue;
        }
        let mut refused = HashSet::new();
        let found = (0..b.content.len()).find(|&j| {
            let tb = &b_toks[b.content[j]];
            if b.matched[j] || tb.kind != Kind::Word || refused.contains(&key(tb)) {
                return false;
            }
            let ok = (!ta.name && !tb.name && typo(wn, ta, tb)) || misspelt_name(wn, ta, tb);
            if !ok {
                refused.insert(key(tb));
            }
            ok
        });
        match found {
            Some(j) => {
                a.matched[i] = true;
                b.matched[j] = true;
            }
            None => {
                lonely.insert(key(ta));
            }
        }
    }
    prefix_negation(a, b);
    prefix_negation(b, a);
    if !wn.is_empty() {
        // "least expensive" is "cheapest", "less common" is "rarer": the opposite, turned round.
        pair_up_toks(a, b, |ta, la, tb, lb| (lessened(ta) != lessened(tb)) && wn.antonyms(la, lb));
    }
    restated_question(a, b);
    restated_question(b, a);
    if !wn.is_empty() {
        same_place_rewording(a, b);
    }
}

/// One word against one word in the same place (same neighbours), sharing a meaning in some
/// sense WordNet lists ("output" / "production"): the rest of the question says which sense.
fn same_place_rewording(a: &mut Side, b: &mut Side) {
    let k = a.k;
    let wn = &k.wn;
    let rb = runs(b);
    for (l, ks, r) in runs(a) {
        let [i] = ks[..] else { continue };
        let Some([j]) = rb.iter().find(|(l2, kb, r2)| *l2 == l && *r2 == r && kb.len() == 1).map(|(_, kb, _)| [kb[0]])
        else {
            continue;
        };
        let (ta, tb, la, lb) = (a.tok(i), b.tok(j), a.lemmas(i), b.lemmas(j));
        let verbs = wn.mostly_verb(&ta.raw) && wn.mostly_verb(&tb.raw);
        if is_plain_word(ta) && is_plain_word(tb) && (wn.share_a_sense(la, lb) || (verbs && wn.verb_manner_of(la, lb)))
        {
            let pair = (ta.raw.clone(), tb.raw.clone());
            a.matched[i] = true;
            b.matched[j] = true;
            a.loose.push(pair);
        }
    }
}

/// "What is the date on which …" against "When …": the noun only restates the question word the
/// other text asks with (and this text does not).
fn restated_question(a: &mut Side, b: &Side) {
    let has = |toks: &[Tok], w: &str| toks.iter().any(|t| t.raw == w);
    for i in 0..a.content.len() {
        if a.matched[i] {
            continue;
        }
        if let Some(asks) = lex::lookup(lex::QUESTION_NOUNS, &a.tok(i).raw) {
            if asks.iter().any(|w| has(b.toks, w) && !has(a.toks, w)) {
                a.matched[i] = true;
            }
        }
        // "Which drivers …" asks "who …": a kind of person right after the question word.
        let t = a.tok(i);
        let asked = a.content[i].checked_sub(1).is_some_and(|p| matches!(a.toks[p].raw.as_str(), "which" | "what"));
        if asked && is_plain_word(t) && has(b.toks, "who") && !has(a.toks, "who") && a.k.wn.person_noun(&t.raw) {
            a.matched[i] = true;
        }
    }
}

/// "unverified" against "verified", "non-members" against "members", "cashless" against "cash":
/// the same word, negated.
fn prefix_negation(a: &mut Side, b: &mut Side) {
    let k = a.k;
    for i in 0..a.content.len() {
        if a.matched[i] || a.tok(i).kind != Kind::Word {
            continue;
        }
        let raw = a.tok(i).raw.clone();
        // "unverified", "non-members", and "cashless" (the suffix).
        let bases = lex::NEGATIVE_PREFIXES
            .iter()
            .filter_map(|p| raw.strip_prefix(p))
            .chain(lex::NEGATIVE_SUFFIXES.iter().filter_map(|s| raw.strip_suffix(s)));
        for base in bases {
            let Some(base) = Some(base).filter(|b| b.chars().count() >= 3) else { continue };
            let base = k.concept(base);
            if let Some(j) = (0..b.content.len()).find(|&j| b.tok(j).w == base) {
                a.matched[i] = true;
                b.matched[j] = true;
                a.prefix_negations += 1;
                break;
            }
        }
    }
}

/// Unmatched runs with the matched concepts (or sentence ends) either side.
fn runs(s: &Side) -> Vec<(String, Vec<usize>, String)> {
    let mut out = Vec::new();
    let mut k = 0;
    while k < s.content.len() {
        if s.matched[k] {
            k += 1;
            continue;
        }
        let start = k;
        while k < s.content.len() && !s.matched[k] {
            k += 1;
        }
        let left = if start == 0 { "^".to_string() } else { s.tok(start - 1).w.clone() };
        let right = if k == s.content.len() { "$".to_string() } else { s.tok(k).w.clone() };
        out.push((left, (start..k).collect(), right));
    }
    out
}

/// True when `l` is directly followed by `r` among the matched words of `s`.
fn adjacent(s: &Side, l: &str, r: &str) -> bool {
    let seq: Vec<&str> = std::iter::once("^")
        .chain((0..s.content.len()).filter(|&k| s.matched[k]).map(|k| s.tok(k).w.as_str()))
        .chain(std::iter::once("$"))
        .collect();
    seq.windows(2).any(|w| w[0] == l && w[1] == r)
}

/// An inserted verb form ("made", "assigned", "orbiting") restates the action; an inserted
/// adjective or noun ("active", "enterprise") narrows what is asked, and so does a participle
/// standing before a noun as its modifier ("paying users", "returning customers").
fn only_verb_forms(s: &Side, ks: &[usize]) -> bool {
    // The participle opens a noun phrase (after a determiner, a preposition or nothing) and a
    // common noun follows: "per paying user", not "moons orbiting Jupiter" or "medium sized".
    let before_noun = ks.first().zip(ks.last()).is_some_and(|(&first, &last)| {
        let (start, end) = (s.content[first], s.content[last]);
        let opens = start.checked_sub(1).is_none_or(|p| !is_content(&s.k.wn, &s.toks[p]));
        opens && s.toks.get(end + 1).is_some_and(|n| n.kind == Kind::Word && !n.name && is_content(&s.k.wn, n))
    });
    !before_noun
        && ks.iter().all(|&k| {
            let t = s.tok(k);
            !t.name
                && t.kind == Kind::Word
                && (t.raw.ends_with("ed") || t.raw.ends_with("ing") || s.k.wn.irregular_verb(&t.raw))
        })
}

fn words(s: &Side, ks: &[usize]) -> String {
    ks.iter().map(|&k| s.tok(k).raw.as_str()).collect::<Vec<_>>().join(" ")
}

/// The content words of each side that found no match on the other, after the alignment: what
/// `compare` decides on (for `explain`).
pub fn unmatched(k: &Knowledge, q_toks: &[Tok], c_toks: &[Tok]) -> (Vec<String>, Vec<String>) {
    let (mut q, mut c) = (Side::new(k, q_toks), Side::new(k, c_toks));
    align(&mut q, &mut c);
    let raw = |s: &Side| s.unmatched().iter().map(|t| t.raw.clone()).collect();
    (raw(&q), raw(&c))
}

/// The rule of words matched only as related (see [`crate::rules`]).
pub const RELATED_WORDS: &str = "related_words";

pub fn compare(k: &Knowledge, q_toks: &[Tok], c_toks: &[Tok], qf: &Facts, cf: &Facts) -> Option<Objection> {
    let (mut q, mut c) = (Side::new(k, q_toks), Side::new(k, c_toks));
    align(&mut q, &mut c);
    if (qf.negations + q.prefix_negations) % 2 != (cf.negations + c.prefix_negations) % 2 {
        return Some(Objection::new("negation", "one is negated and the other is not".into()));
    }
    let (uq, uc) = (q.unmatched(), c.unmatched());
    if let Some(why) = names_differ(&uq, c_toks, &uc, q_toks) {
        return Some(Objection::new("names", why));
    }
    if let Some(why) = related_swap(&q, &c) {
        return Some(why);
    }
    if let Some((rule, why)) = changed_detail(&q, &c) {
        return Some(Objection::new(rule, why));
    }
    if uq.is_empty() && uc.is_empty() {
        if let Some(why) = roles::compare(k, q_toks, c_toks, &q.content, &c.content) {
            return Some(Objection::new("roles", why));
        }
    }
    (!q.loose.is_empty()).then(|| {
        let pairs: Vec<String> = q.loose.iter().map(|(a, b)| format!("\"{a}\" / \"{b}\"")).collect();
        Objection::new(RELATED_WORDS, format!("only related, not the same: {}", pairs.join(", ")))
    })
}

/// Where names or codes among `q` (tokens of one text) are never mentioned in `c_toks` (the other
/// text), or those among `c` in `q_toks`: the detail of a names objection. A name counts as
/// missing only when the other side never uses the word, in any case.
pub fn names_differ(q: &[&Tok], c_toks: &[Tok], c: &[&Tok], q_toks: &[Tok]) -> Option<String> {
    let missing = |u: &[&Tok], other: &[Tok]| {
        u.iter()
            .filter(|t| (t.name || t.kind == Kind::Ident) && !other.iter().any(|o| o.w == t.w))
            .map(|t| t.raw.clone())
            .collect::<Vec<_>>()
    };
    let (nq, nc) = (missing(q, c_toks), missing(c, q_toks));
    let show = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
    (!nq.is_empty() || !nc.is_empty()).then(|| format!("names differ ({} vs {})", show(&nq), show(&nc)))
}

/// Unmatched words that WordNet relates without making them the same: opposites, or two kinds of
/// one thing (another entity). Two kinds of one thing is a matter of wording WordNet cannot settle
/// ("tickets" / "cases" are two kinds of record there): the judge may overrule it; opposites not.
fn related_swap(q: &Side, c: &Side) -> Option<Objection> {
    let k = q.k;
    let wn = &k.wn;
    if wn.is_empty() {
        return None;
    }
    // Each distinct word once: a long text repeating one word asks WordNet once.
    let lemmas = |s: &Side| -> Vec<(String, Vec<u32>)> {
        let mut seen = HashSet::new();
        (0..s.content.len())
            .filter(|&k| {
                !s.matched[k]
                    && is_plain_word(s.tok(k))
                    && !s.lemmas(k).is_empty()
                    && seen.insert(s.tok(k).raw.as_str())
            })
            .map(|k| (s.tok(k).raw.clone(), s.lemmas(k).to_vec()))
            .collect()
    };
    let (lq, lc) = (lemmas(q), lemmas(c));
    for (wq, a) in &lq {
        for (wc, b) in &lc {
            if wn.antonyms(a, b) {
                return Some(Objection::new("opposite_words", format!("opposite words ({wq} vs {wc})")));
            }
        }
    }
    for (wq, a) in &lq {
        for (wc, b) in &lc {
            // A kind against its wider class ("homes" / "houses", "customers" / "policyholders")
            // is left to the checks on what changed: WordNet nests too many near-synonyms.
            if let Some(class) = wn.cohyponyms(a, b) {
                return Some(Objection::new("two_kinds", format!("\"{wq}\" vs \"{wc}\": two kinds of {class}")));
            }
        }
    }
    None
}

/// One short run of words changed in place, or inserted between two neighbours of the other side.
fn changed_detail(q: &Side, c: &Side) -> Option<(&'static str, String)> {
    let (rq, rc) = (runs(q), runs(c));
    for (l, ks, r) in &rq {
        if ks.len() > MAX_SLOT {
            continue;
        }
        if let Some((_, kc, _)) = rc.iter().find(|(l2, kc, r2)| l2 == l && r2 == r && kc.len() <= MAX_SLOT) {
            return Some((
                "changed_in_place",
                format!("\"{}\" vs \"{}\" in the same place", words(q, ks), words(c, kc)),
            ));
        }
        if adjacent(c, l, r) && !only_verb_forms(q, ks) {
            return Some(("added_word", format!("only one mentions \"{}\"", words(q, ks))));
        }
    }
    for (l, kc, r) in &rc {
        if kc.len() <= MAX_SLOT && adjacent(q, l, r) && !only_verb_forms(c, kc) {
            return Some(("added_word", format!("only one mentions \"{}\"", words(c, kc))));
        }
    }
    None
}
