//! Parts of a whole said in words read as the number they are, as a percentage writes it: "a
//! quarter of" is 0.25 ("25%"), "two thirds of" 0.666667, "one in four" and "1 out of every 4"
//! 0.25. `facts` lets a fraction that does not end (a third) meet its rounded percentage ("33%").

use crate::lexicon::{self as lex, is_unit, lookup};
use crate::token::{duration, fmt, rewrite_runs, Kind, Tok};

pub fn read(words: Vec<Tok>) -> Vec<Tok> {
    rewrite_runs(words, |words, i| fraction_at(words, i).map(|(v, len)| (vec![Tok::new(v, Kind::Num, false)], len)))
}

/// A whole number in digits or one spelled word ("four"; not "once", "half", "dozen").
fn whole(t: Option<&Tok>) -> Option<f64> {
    let t = t?;
    let v = match t.kind {
        Kind::Num => t.w.parse().ok()?,
        Kind::Word if !matches!(t.w.as_str(), "once" | "twice" | "thrice" | "single" | "half" | "dozen") => {
            lookup(lex::SPELLED, &t.w)?
        }
        _ => return None,
    };
    (v >= 1.0 && v.fract() == 0.0).then_some(v)
}

fn word(words: &[Tok], k: usize) -> &str {
    words.get(k).filter(|t| t.kind == Kind::Word).map_or("", |t| t.w.as_str())
}

/// The number token of a fraction at `i` and the tokens it takes ("of" after it stays; "a
/// quarter of an hour" is a duration and takes them all).
fn fraction_at(words: &[Tok], i: usize) -> Option<(String, usize)> {
    let n = if matches!(word(words, i), "a" | "an") { Some(1.0) } else { whole(words.get(i)) }?;
    // "a quarter of", "two thirds of"; "a quarter of an hour" is a duration.
    if let Some(d) = lookup(lex::FRACTIONS, word(words, i + 1)).map(f64::from) {
        let k = i + 3 + usize::from(matches!(word(words, i + 3), "a" | "an"));
        let of = word(words, i + 2) == "of" && n < d;
        return match is_unit(word(words, k)) {
            Some(hours) => of.then(|| (duration(n / d * hours), k + 1 - i)),
            None => of.then(|| (fmt(n / d), 2)),
        };
    }
    // "one in four", "1 out of 4", "one in every ten" — not "3 in 5 days".
    let mut k = match (word(words, i + 1), word(words, i + 2)) {
        ("in", _) => i + 2,
        ("out", "of") => i + 3,
        _ => return None,
    };
    if word(words, k) == "every" {
        k += 1;
    }
    let m = whole(words.get(k)).filter(|_| word(words, i) != "a")?;
    let then = word(words, k + 1);
    let more = lookup(lex::SPELLED, then).is_some() || lookup(lex::SCALES, then).is_some() || is_unit(then).is_some();
    (n < m && !more).then(|| (fmt(n / m), k + 1 - i))
}
