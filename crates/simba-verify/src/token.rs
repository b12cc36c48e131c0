//! The tokens the checks compare and the helpers that work on tokens alone: the bottom layer,
//! below the word lists (`lexicon`), WordNet and the analysis (`analyse`) that produces them.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An ordinary word (already stemmed and mapped to its synonym group).
    Word,
    /// A canonical number: "5", "0.2" (from 20%), "dur:168" (a week, in hours), "9am".
    Num,
    /// A code or identifier such as "a-1029" or "order_items": compared literally.
    Ident,
    /// A sentence or clause boundary.
    Punct,
}

#[derive(Debug, Clone)]
pub struct Tok {
    pub w: String,
    pub kind: Kind,
    /// Written like a name: capitalised inside a sentence, or an acronym.
    pub name: bool,
    /// A number only by a soft word ("one", "once", "single") that often is no quantity at all.
    pub soft: bool,
    /// The lower-cased word before stemming (for the word lists).
    pub raw: String,
}

impl Tok {
    pub fn new(w: impl Into<String>, kind: Kind, name: bool) -> Self {
        let w = w.into();
        Tok { raw: w.clone(), w, kind, name, soft: false }
    }
}

/// Longest text looked at: beyond this a question is no longer a question (and cost stays bounded).
/// Two texts that differ and are not both within it are refused unread (`objection`), so a
/// difference past the limit can never be served as a rewording.
pub const MAX_CHARS: usize = 4000;

/// A number as the checks compare it: to six decimals (from 1e15 on there are none to round,
/// and `v * 1e6` would overflow to infinity from 1.8e302 on, making every larger number one).
pub fn fmt(v: f64) -> String {
    rounded(v, 1e6, 1e15)
}

/// A length of time in hours as durations are written ("dur:" tokens, `Amount::Duration`): to
/// nine decimals, so milliseconds stay apart (six would make 10 ms and 12 ms one).
pub fn fmt_hours(hours: f64) -> String {
    rounded(hours, 1e9, 1e9)
}

/// `v` rounded to `1 / scale`, or as it is from `exact_from` on.
fn rounded(v: f64, scale: f64, exact_from: f64) -> String {
    if !v.is_finite() {
        return "nan".into();
    }
    let r = if v.abs() < exact_from { (v * scale).round() / scale } else { v };
    format!("{r}")
}

/// The token of a length of time, in hours ("dur:168" for a week).
pub fn duration(hours: f64) -> String {
    format!("dur:{}", fmt_hours(hours))
}

/// Rewrites `words` left to right: where `run_at(words, i)` finds a run of tokens starting at `i`
/// (its replacement and its length), the replacement goes out instead of the run; every other
/// token passes unchanged.
pub fn rewrite_runs(words: Vec<Tok>, run_at: impl Fn(&[Tok], usize) -> Option<(Vec<Tok>, usize)>) -> Vec<Tok> {
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        match run_at(&words, i) {
            Some((replacement, len)) => {
                out.extend(replacement);
                i += len.max(1);
            }
            None => {
                out.push(words[i].clone());
                i += 1;
            }
        }
    }
    out
}

/// The stem of a regular form: enough for "orders"/"order", "shipped"/"ship", "closing"/"close"
/// (irregular forms go through WordNet first: `Knowledge::stem`).
pub fn stem_regular(w: &str) -> String {
    if !w.is_ascii() || w.len() <= 3 || !w.chars().all(|c| c.is_ascii_alphabetic()) {
        return w.to_string();
    }
    let mut s = w.to_string();
    if s.ends_with("ies") && s.len() > 4 {
        s.truncate(s.len() - 3);
        s.push('y');
    } else if s.ends_with("sses") {
        s.truncate(s.len() - 2);
    } else if s.ends_with('s') && !s.ends_with("ss") && !s.ends_with("us") && !s.ends_with("is") {
        s.pop();
    }
    let mut stripped = false;
    if s.ends_with("ied") && s.len() > 4 {
        s.truncate(s.len() - 3);
        s.push('y');
    } else if s.ends_with("ed") && s.len() >= 4 {
        s.truncate(s.len() - 2);
        stripped = true;
    } else if s.ends_with("ing") && s.len() > 5 {
        s.truncate(s.len() - 3);
        stripped = true;
    }
    let b = s.as_bytes();
    if stripped && b.len() >= 3 && b[b.len() - 1] == b[b.len() - 2] && !b"aeioulsz".contains(&b[b.len() - 1]) {
        s.pop();
    }
    if s.len() > 2 && s.ends_with('e') {
        s.pop();
    }
    s
}

/// Edits (insert, delete, replace, swap of neighbours) from `a` to `b`.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// True when `a` and `b` differ by one edit or one swap of neighbours: a typo, for longer words.
pub fn one_typo_apart(a: &str, b: &str) -> bool {
    typo_apart(a, b, 5)
}

/// One edit or one swap of neighbours apart, both words at least `min_len` long: the same as
/// `edit_distance(a, b) == 1` (the `typo_is_edit_distance_one` test), in one pass without a table,
/// as the alignment asks it for every pair of unmatched words.
pub fn typo_apart(a: &str, b: &str, min_len: usize) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().min(b.len()) < min_len || a.len().abs_diff(b.len()) > 1 || a == b {
        return false;
    }
    let p = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[p..], &b[p..]);
    if ra.len() == rb.len() {
        ra[1..] == rb[1..] || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
    } else if ra.len() > rb.len() {
        ra[1..] == *rb
    } else {
        rb[1..] == *ra
    }
}
