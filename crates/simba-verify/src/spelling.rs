//! Two texts written differently for the same words: one abbreviates what the other spells out
//! ("ER" / "emergency room", "GPA" / "grade point average"), or joins what the other writes apart
//! ("heatpump" / "heat pump", "setup" / "set up"). The spelled-out or split side is rewritten to
//! the other's token before any fact or word is compared, so that "average" inside "grade point
//! average" is not read as a second figure and "pump" is not a detail only one side mentions.
//!
//! Works on the pair, not on one text: an acronym is only expanded when the other text spells it
//! out, so no list of acronyms is needed and none is guessed.

use crate::lexicon as lex;
use crate::token::{Kind, Tok};
use crate::wordnet::WordNet;
use std::collections::HashSet;

/// Longest acronym read as initials.
const MAX_ACRONYM: usize = 6;
/// Short words an expansion may hold without an initial of their own ("estimated time of arrival").
const LINKERS: &[&str] = &["of", "and", "the", "for", "to", "&", "in", "on", "than"];

/// Rewrites each text where it spells out or splits a token the other one has whole.
pub fn harmonise(wn: &WordNet, a: &mut Vec<Tok>, b: &mut Vec<Tok>) {
    // One pass each way is enough: what is spliced into one side is a copy of a token the other
    // side already has, so a second pass finds nothing new.
    expand_into(wn, a, b);
    expand_into(wn, b, a);
}

/// Replaces in `other` the runs that spell out an acronym or a joined word of `from`.
fn expand_into(wn: &WordNet, from: &[Tok], other: &mut Vec<Tok>) {
    // A token that found nothing finds nothing when it comes again until `other` changes (which
    // then holds it, so it is skipped anyway): each distinct token is tried once.
    let mut tried: HashSet<(&str, &str, bool)> = HashSet::new();
    // The runs of `other` that WordNet knows as one lemma, found once (again after a splice).
    let mut runs: Option<Vec<LemmaRun>> = None;
    for t in from {
        if t.kind == Kind::Punct
            || t.kind == Kind::Num
            || other.iter().any(|o| o.w == t.w)
            || !tried.insert((&t.w, &t.raw, t.name))
        {
            continue;
        }
        let found = acronym_run(wn, t, other)
            .or_else(|| joined_run(t, other))
            .or_else(|| lemma_run(wn, t, runs.get_or_insert_with(|| lemma_runs(wn, other))));
        if let Some((start, end)) = found {
            let mut whole = t.clone();
            whole.name |= other[start..end].iter().any(|o| o.name);
            other.splice(start..end, std::iter::once(whole));
            runs = None;
        }
    }
}

/// An acronym written in capitals ("ER", "DOB", "ATMs") or unknown as a word, whose letters are the
/// initials of consecutive words of `other`.
fn acronym_run(wn: &WordNet, t: &Tok, other: &[Tok]) -> Option<(usize, usize)> {
    let looks_like_acronym = t.name || !wn.knows(&t.raw);
    if !looks_like_acronym || lex::is_filler(&t.raw) {
        return None;
    }
    // "ATMs": the plural s is no initial (tried after the whole word, for "GPS").
    let plural = t.raw.strip_suffix('s').filter(|s| s.len() >= 2);
    std::iter::once(t.raw.as_str()).chain(plural).find_map(|letters| initials_run(wn, letters, other))
}

fn initials_run(wn: &WordNet, letters: &str, other: &[Tok]) -> Option<(usize, usize)> {
    let initials: Vec<char> = letters.chars().collect();
    let n = initials.len();
    if !(2..=MAX_ACRONYM).contains(&n) || !initials.iter().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    (0..other.len()).find_map(|start| {
        // Every initial found, and the words are more than function words.
        let end = spell_initials(wn, &initials, other, start, false)?;
        other[start..end].iter().any(|w| !lex::is_filler(&w.raw)).then_some((start, end))
    })
}

/// Where the words from `at` on spell out all of `initials`: each word gives its initial, or a
/// closed compound the initials of both parts ("truckload" the T and L of "LTL"), and a linker
/// inside (`started`) may give none. Tries each reading (acronyms are at most `MAX_ACRONYM` letters).
fn spell_initials(wn: &WordNet, initials: &[char], other: &[Tok], at: usize, started: bool) -> Option<usize> {
    let Some((&first, rest)) = initials.split_first() else { return Some(at) };
    // "Europe, Middle East and Africa": a comma between the words of a list gives no initial.
    if started && other.get(at).is_some_and(|w| w.kind == Kind::Punct && w.w == ",") {
        return spell_initials(wn, initials, other, at + 1, true);
    }
    let w = other.get(at).filter(|w| w.kind == Kind::Word)?;
    let compound = compound_initials(wn, &w.raw).any(|(a, b)| a == first && rest.first() == Some(&b));
    let two = compound.then(|| spell_initials(wn, &rest[1..], other, at + 1, true)).flatten();
    let one = || {
        (w.raw.starts_with(first) && w.raw.len() > 1).then(|| spell_initials(wn, rest, other, at + 1, true)).flatten()
    };
    let linker = || {
        (started && LINKERS.contains(&w.raw.as_str()))
            .then(|| spell_initials(wn, initials, other, at + 1, true))
            .flatten()
    };
    // A linker skipped first: "Middle East and Africa" gives EMEA's A from "Africa", not "and"
    // (and "date of birth" still gives DOB's O from "of" when nothing else does).
    two.or_else(linker).or_else(one)
}

/// The initials of each reading of a closed compound as two dictionary words ("truckload" -> t,
/// l; "database" -> d, b, though "dat" and "abase" are words too), which acronyms often take one
/// letter from each part of.
fn compound_initials<'w>(wn: &'w WordNet, w: &'w str) -> impl Iterator<Item = (char, char)> + 'w {
    let splits = if w.len() < 6 || !w.is_ascii() { 0..0 } else { 3..w.len() - 2 };
    splits
        .filter(move |&p| wn.knows(&w[..p]) && wn.knows(&w[p..]))
        .map(move |p| (w.as_bytes()[0] as char, w.as_bytes()[p] as char))
}

/// Two or three words in a row (`start`, `end`) that WordNet lists as one lemma ("cash machine",
/// "real estate"), with that lemma's base forms.
type LemmaRun = (usize, usize, Vec<u32>);

/// The runs of two, then three, words of `other` that WordNet knows as one lemma, in order.
fn lemma_runs(wn: &WordNet, other: &[Tok]) -> Vec<LemmaRun> {
    let mut out = Vec::new();
    if wn.is_empty() {
        return out;
    }
    for len in [2, 3] {
        for start in 0..other.len().saturating_sub(len - 1) {
            let run = &other[start..start + len];
            if !run.iter().all(|w| w.kind == Kind::Word && !lex::is_filler(&w.raw)) {
                continue;
            }
            let joined = run.iter().map(|w| w.raw.as_str()).collect::<Vec<_>>().join("_");
            let lr = wn.lemmas(&joined);
            if !lr.is_empty() {
                out.push((start, start + len, lr));
            }
        }
    }
    out
}

/// Two or three words of `other` (its `runs`, from `lemma_runs`) that WordNet lists as one lemma
/// with the meaning of `t` ("cash machines" for "ATMs", "real estate" for "property"): read as
/// that one word.
fn lemma_run(wn: &WordNet, t: &Tok, runs: &[LemmaRun]) -> Option<(usize, usize)> {
    if t.kind != Kind::Word || lex::is_filler(&t.raw) || wn.is_empty() {
        return None;
    }
    let lt = wn.lemmas(&t.raw);
    if lt.is_empty() {
        return None;
    }
    runs.iter().find(|(_, _, lr)| wn.synonyms(&lt, lr)).map(|&(start, end, _)| (start, end))
}

/// A word written joined on one side and as two words on the other ("heatpump" / "heat pump",
/// "co-operative" / "cooperative", "headcount" / "head count").
fn joined_run(t: &Tok, other: &[Tok]) -> Option<(usize, usize)> {
    if t.kind != Kind::Word || t.raw.chars().count() < 5 {
        return None;
    }
    (0..other.len().saturating_sub(1)).find_map(|j| {
        let (x, y) = (&other[j], &other[j + 1]);
        let both_words = x.kind == Kind::Word && y.kind == Kind::Word && x.raw.len() >= 2 && y.raw.len() >= 2;
        (both_words && t.raw.len() == x.raw.len() + y.raw.len() && t.raw.starts_with(&x.raw) && t.raw.ends_with(&y.raw))
            .then_some((j, j + 2))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyse::analyse;
    use crate::tests::knowledge;

    fn words(t: &[Tok]) -> Vec<String> {
        t.iter().filter(|t| t.kind != Kind::Punct).map(|t| t.raw.clone()).collect()
    }

    fn both(a: &str, b: &str) -> (Vec<String>, Vec<String>) {
        let k = knowledge();
        let (mut x, mut y) = (analyse(k, a), analyse(k, b));
        harmonise(&k.wn, &mut x, &mut y);
        (words(&x), words(&y))
    }

    #[test]
    fn acronyms_meet_their_spelled_out_words() {
        let (a, b) = both("How many ER visits on Monday?", "How many emergency room visits on Monday?");
        assert_eq!(a, b);
        let (a, b) = both("What is the GPA cutoff?", "What is the grade point average cutoff?");
        assert_eq!(a, b);
        let (a, b) = both("Where is the nearest ATMs?", "Where are the nearest automated teller machines?");
        assert!(b.contains(&"atms".to_string()), "{b:?}");
        assert!(a.contains(&"atms".to_string()));
        // A compound read either way ("dat abase", "data base").
        let (a, b) = both("Is the staging DB down?", "Is the staging database down?");
        assert_eq!(a, b);
        // A list with commas.
        let (a, b) = both("deals closed by the EMEA team", "deals closed by the Europe, Middle East and Africa team");
        assert_eq!(a, b);
        // A plural acronym is not the lower-case word it spells ("POs" / "pos").
        let (a, b) = both("List the POs approved in May", "List the purchase orders approved in May");
        assert_eq!(a, b);
    }

    #[test]
    fn nothing_is_expanded_that_the_other_side_does_not_spell_out() {
        let (_, b) = both("Show the ER waiting times", "Show the emergency waiting times");
        assert_eq!(b, vec!["show", "the", "emergency", "waiting", "times"]);
        // A plain word is no acronym.
        let (_, b) = both("sales in each region", "show every area country");
        assert!(b.contains(&"area".to_string()) && b.contains(&"country".to_string()));
    }

    #[test]
    fn joined_and_split_words_agree() {
        let (a, b) = both("How does a heatpump work?", "How does a heat pump work?");
        assert_eq!(a, b);
        let (a, b) = both("how do i setup voicemail", "How do I set up voicemail?");
        assert_eq!(a, b);
        let (a, b) = both("average yield across the co-operative", "average yield across the cooperative");
        assert_eq!(a, b);
    }
}
