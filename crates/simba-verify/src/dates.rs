//! Dates written in different ways become one token, so they compare as one fact: a day of a
//! month ("the first of November", "November 1st", "Nov. 1", "1 Nov", ISO "2023-11-01", and
//! "11/25/2023" when the day is above 12 so the order is unambiguous) reads "date:nov-1"; a
//! decade ("the 80s", "'80s", "the eighties", "1980s") reads "decade:1980".

use crate::lexicon::{self as lex, lookup};
use crate::token::{rewrite_runs, Kind, Tok};

pub fn read(words: Vec<Tok>) -> Vec<Tok> {
    let mut words = words;
    for i in 0..words.len() {
        // "in their 80s" is an age, not a decade.
        let age = words[..i].iter().rev().take(2).any(|p| lex::POSSESSIVES.contains(&p.w.as_str()));
        if let Some(y) = decade(&words[i]).filter(|_| !age) {
            words[i] = Tok::new(format!("decade:{y}"), Kind::Num, false);
        }
        if let Some(y) = short_year_after_period(&words, i) {
            words[i] = Tok::new(y.to_string(), Kind::Num, false);
        }
    }
    rewrite_runs(words, |words, i| date_at(words, i).map(|(date, len)| (vec![Tok::new(date, Kind::Num, false)], len)))
}

/// The first year of a decade: "1980s", "80s" (from the 30s on: "20s" leaves the century open),
/// "eighties".
fn decade(t: &Tok) -> Option<u32> {
    match t.kind {
        Kind::Word => lookup(lex::DECADES, &t.w),
        Kind::Ident => {
            let digits = t.w.strip_suffix('s').filter(|d| d.ends_with('0') && d.chars().all(|c| c.is_ascii_digit()))?;
            let n: u32 = digits.parse().ok()?;
            match digits.len() {
                4 => (1000..=2100).contains(&n).then_some(n),
                2 => (n >= 30).then_some(1900 + n),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A year in two digits right after a quarter or half ("Q4 23", "h1 24"): 2023, 2024.
fn short_year_after_period(words: &[Tok], i: usize) -> Option<u32> {
    let t = &words[i];
    let after_period = i.checked_sub(1).is_some_and(|p| lex::is_quarter_or_half(&words[p].w));
    if !after_period || t.kind != Kind::Num || t.soft || t.w.len() != 2 {
        return None;
    }
    t.w.parse::<u32>().ok().map(|n| 2000 + n)
}

/// The month named at `i` ("nov"), read as `facts` reads months ("may" only where it is one).
fn month_at(words: &[Tok], i: usize) -> Option<&'static str> {
    let t = words.get(i).filter(|t| t.kind == Kind::Word)?;
    month_of(t, i.checked_sub(1).map(|p| &words[p]), words.get(i + 1))
}

/// A whole number from `lo` to `hi`, written in digits.
fn number_in(t: Option<&Tok>, lo: u32, hi: u32) -> Option<u32> {
    let t = t.filter(|t| t.kind == Kind::Num && !t.soft)?;
    t.w.parse::<u32>().ok().filter(|n| (lo..=hi).contains(n))
}

/// A day of the month at `i` and the tokens it takes: "1" ("1st"), "first", "twenty first".
fn day_at(words: &[Tok], i: usize) -> Option<(u32, usize)> {
    let ordinal = |k: usize| words.get(k).filter(|t| t.kind == Kind::Word).and_then(|t| lookup(lex::ORDINALS, &t.w));
    if let Some(tens) = number_in(words.get(i), 20, 30).filter(|n| n % 10 == 0) {
        if let Some(d) = ordinal(i + 1).filter(|d| *d < 10 && tens + d <= 31) {
            return Some((tens + d, 2));
        }
    }
    number_in(words.get(i), 1, 31).or_else(|| ordinal(i)).map(|d| (d, 1))
}

fn date_at(words: &[Tok], i: usize) -> Option<(String, usize)> {
    // "November 1", "Nov. 1st", "November first".
    if let Some(m) = month_at(words, i) {
        let dot = lex::MONTH_ABBR.contains(&words[i].w.as_str())
            && words.get(i + 1).is_some_and(|t| t.kind == Kind::Punct && t.w == ".");
        let k = i + 1 + usize::from(dot);
        if let Some((d, len)) = day_at(words, k) {
            return Some((format!("date:{m}-{d}"), k + len - i));
        }
    }
    // "1 Nov", "1st of November", "the first of November" (an ordinal word only with "of").
    if let Some((d, len)) = day_at(words, i) {
        let of = words.get(i + len).is_some_and(|t| t.w == "of");
        let in_words = words[i + len - 1].kind == Kind::Word;
        let k = i + len + usize::from(of);
        if let Some(m) = month_at(words, k).filter(|_| of || !in_words) {
            return Some((format!("date:{m}-{d}"), k + 1 - i));
        }
    }
    // "2023-11-01" (year, month, day; the year stays a token of its own) and "11/25/2023", "25/11/2023" (the day is the one above 12).
    let month_name = |m: u32| lex::month_key(lex::MONTHS[m as usize - 1]);
    let after_year = i.checked_sub(1).is_some_and(|p| number_in(words.get(p), 1900, 2100).is_some());
    if let (true, Some(m), Some(d)) = (after_year, number_in(words.get(i), 1, 12), number_in(words.get(i + 1), 1, 31)) {
        return Some((format!("date:{}-{d}", month_name(m)), 2));
    }
    let slash = |k: usize| words.get(k).is_some_and(|t| t.kind == Kind::Punct && t.w == ",");
    if let (Some(a), Some(b)) = (number_in(words.get(i), 1, 31), number_in(words.get(i + 2), 1, 31)) {
        if slash(i + 1) && slash(i + 3) && number_in(words.get(i + 4), 1900, 2100).is_some() {
            let (m, d) = match (a <= 12, b <= 12) {
                (true, false) => (a, b),
                (false, true) => (b, a),
                _ => return None,
            };
            return Some((format!("date:{}-{d}", month_name(m)), 4));
        }
    }
    None
}

/// The month a token names, by its first three letters ("nov"), reading "may" as a month only
/// where it is one.
pub fn month_of(t: &Tok, prev: Option<&Tok>, next: Option<&Tok>) -> Option<&'static str> {
    let r = t.raw.as_str();
    if r == "may" {
        // "may" is a month after "in/of/since …" or before a day number, otherwise a verb.
        // Capitalised inside a sentence it is the month too ("following May's price rise").
        let by_prep = prev.is_some_and(|p| {
            matches!(
                p.raw.as_str(),
                "in" | "of"
                    | "during"
                    | "since"
                    | "until"
                    | "before"
                    | "after"
                    | "following"
                    | "by"
                    | "from"
                    | "to"
                    | "through"
            )
        });
        return (by_prep || t.name || next.is_some_and(|n| n.kind == Kind::Num)).then_some("may");
    }
    lex::MONTHS.iter().chain(lex::MONTH_ABBR).find(|m| **m == r).map(|m| lex::month_key(m))
}
