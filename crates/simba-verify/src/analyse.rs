//! Turns a question into tokens the checks compare: lower-cased, contractions opened, hyphens and
//! multi-word expressions resolved, numbers (digits or spelled, with %, currency and time units)
//! made canonical, and every word reduced to a stem. Works on any input without panicking.

use crate::lexicon::{self as lex, lookup};
use crate::token::{duration, edit_distance, fmt, rewrite_runs, Kind, Tok, MAX_CHARS};
use crate::wordnet::WordNet;
use crate::{aside, dates, fractions, Knowledge};

pub fn analyse(k: &Knowledge, text: &str) -> Vec<Tok> {
    let raw = aside::drop_asides(scan(&aside::without_emoticons(text)));
    let words = open_words(&k.wn, raw);
    let words = roman_numerals(&k.wn, words);
    let words = apply_phrases(k, words);
    let words = ordinal_words(fractions::read(words));
    let words = sum_durations(merge_numbers(words));
    let words = ranges_to(dates::read(words));
    words
        .into_iter()
        .map(|mut t| {
            if t.kind == Kind::Word {
                t.raw = t.w.clone();
                t.w = k.concept(&t.w);
            }
            t
        })
        .collect()
}

/// "ninth" is "9th", which reads as 9: an ordinal word from "third" on is its number, unless a
/// unit of time follows ("the third week" is no length of three weeks). "first" and "second" stay
/// words: "first-time buyers", "a second opinion", "per second".
fn ordinal_words(mut words: Vec<Tok>) -> Vec<Tok> {
    for i in 0..words.len() {
        let t = &words[i];
        if t.kind != Kind::Word {
            continue;
        }
        let Some(n) = lookup(lex::ORDINALS, &t.w).filter(|&n| n >= 3) else { continue };
        if words.get(i + 1).is_some_and(|next| lookup(lex::UNITS, &next.w).is_some()) {
            continue;
        }
        words[i] = Tok::new(n.to_string(), Kind::Num, false);
    }
    words
}

/// "from 2019 through 2021", "from March until May": the end of a range, as "to" writes it.
fn ranges_to(mut words: Vec<Tok>) -> Vec<Tok> {
    for i in 2..words.len() {
        let bound = |t: &Tok| t.kind == Kind::Num || lex::is_month_name(&t.w) || lex::is_weekday(&t.w);
        if matches!(words[i].w.as_str(), "through" | "thru" | "until" | "till")
            && words[i - 2].w == "from"
            && bound(&words[i - 1])
        {
            words[i] = Tok::new("to", Kind::Word, false);
        }
    }
    words
}

/// Splits into words and boundaries, noting which words look like names.
fn scan(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().take(MAX_CHARS).map(|c| if c == '’' || c == '‘' { '\'' } else { c }).collect();
    let mut out = Vec::new();
    let mut sentence_start = true;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() {
            let start = i;
            while i < chars.len() {
                let ch = chars[i];
                let next_alnum = chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
                let prev_digit = i > start && chars[i - 1].is_ascii_digit();
                let next_digit = chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
                if ch.is_alphanumeric()
                    || (matches!(ch, '\'' | '-' | '_' | '&') && next_alnum)
                    || (matches!(ch, '.' | ',') && prev_digit && next_digit)
                {
                    i += 1;
                } else {
                    break;
                }
            }
            let mut word: String = chars[start..i].iter().collect();
            // "w/" and "w/o" are chat shorthand for "with" and "without" (see CHAT_SPELLINGS).
            if word == "w" && chars.get(i) == Some(&'/') {
                let o = chars.get(i + 1).is_some_and(|c| *c == 'o')
                    && !chars.get(i + 2).is_some_and(|c| c.is_alphanumeric());
                word.push_str(if o { "/o" } else { "/" });
                i += if o { 2 } else { 1 };
            }
            // "No. 88417" is the number itself, not a "no".
            if word.eq_ignore_ascii_case("no")
                && chars.get(i) == Some(&'.')
                && chars[i + 1..].iter().find(|c| !c.is_whitespace()).is_some_and(char::is_ascii_digit)
            {
                i += 1;
                continue;
            }
            if let Some((years, taken)) = two_year_span(&word, &chars[i..]) {
                out.push(Tok::new(years, Kind::Num, false));
                i += taken;
                sentence_start = false;
                continue;
            }
            if chars.get(i) == Some(&'%') {
                word.push('%');
                i += 1;
            }
            // "18:00", "6:30": a time of day, kept whole for `read_number`.
            let all_digits = word.chars().all(|c| c.is_ascii_digit());
            if all_digits && word.len() <= 2 && chars.get(i) == Some(&':') {
                let minutes: String = chars[i + 1..].iter().take_while(|c| c.is_ascii_digit()).collect();
                if minutes.len() == 2 {
                    word.push(':');
                    word.push_str(&minutes);
                    i += 3;
                    // "6:30pm" written together.
                    let half: String = chars[i..].iter().take(2).collect::<String>().to_lowercase();
                    if matches!(half.as_str(), "am" | "pm") && !chars.get(i + 2).is_some_and(|c| c.is_alphanumeric()) {
                        word.push_str(&half);
                        i += 2;
                    }
                }
            }
            // "25+", "2k+": the number or more, as "25 or more" reads ("C++" is a name).
            let plus =
                chars.get(i) == Some(&'+') && !chars.get(i + 1).is_some_and(|c| c.is_alphanumeric() || *c == '+');
            if plus && is_number_like(&word) {
                i += 1;
                out.push(Tok::new(word, Kind::Word, false));
                out.push(Tok::new("or", Kind::Word, false));
                out.push(Tok::new("more", Kind::Word, false));
                sentence_start = false;
                continue;
            }
            let letters: Vec<char> = word.chars().filter(|c| c.is_alphabetic()).collect();
            let acronym = letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase());
            let capital = word.chars().next().is_some_and(char::is_uppercase) && !sentence_start;
            let name = (acronym || capital) && word != "I";
            out.push(Tok::new(word, Kind::Word, name));
            sentence_start = false;
        } else if let Some((_, cur)) = lex::CURRENCY.iter().find(|(s, _)| *s == c) {
            // "$50": the amount first, then its currency, like "50 dollars".
            let j = i + 1;
            if chars.get(j).is_some_and(|n| n.is_ascii_digit()) {
                let mut k = j;
                while k < chars.len()
                    && (chars[k].is_alphanumeric()
                        || (matches!(chars[k], '.' | ',') && chars.get(k + 1).is_some_and(|n| n.is_ascii_digit())))
                {
                    k += 1;
                }
                out.push(Tok::new(chars[j..k].iter().collect::<String>(), Kind::Word, false));
                i = k;
            } else {
                i += 1;
            }
            out.push(Tok::new(*cur, Kind::Word, false));
            sentence_start = false;
        } else {
            if matches!(c, '.' | '?' | '!' | ':' | ';') {
                out.push(Tok::new(".", Kind::Punct, false));
                sentence_start = true;
            } else if matches!(c, ',' | '(' | ')' | '/' | '"' | '“' | '”') {
                out.push(Tok::new(",", Kind::Punct, false));
            } else if c == '%' {
                // "what % of orders": a percent sign with no number before it is the word.
                out.push(Tok::new("percent", Kind::Word, false));
                sentence_start = false;
            }
            i += 1;
        }
    }
    out
}

/// A school or fiscal year across two calendar years, however written: "2023-24", "2023-2024",
/// "2023/24", "23/24", as "years:2023-24", and how many characters after `word` it took. Two
/// digits on both sides only with a slash and from "13/14" on, where neither order can be a month
/// and a day ("12/13" is the 13th of December); years that do not follow each other stay a range.
fn two_year_span(word: &str, rest: &[char]) -> Option<(String, usize)> {
    let digits = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit());
    let (first, second, taken) = match word.split_once('-') {
        Some((a, b)) => (a.to_string(), b.to_string(), 0),
        None if rest.first() == Some(&'/') => {
            let b: String = rest[1..].iter().take_while(|c| c.is_ascii_digit()).collect();
            let after = rest.get(1 + b.len());
            if after.is_some_and(|c| c.is_alphanumeric() || *c == '/') {
                return None;
            }
            let n = b.len();
            (word.to_string(), b, 1 + n)
        }
        None => return None,
    };
    if !(digits(&first) && digits(&second)) {
        return None;
    }
    let start: u32 = match (first.len(), taken > 0) {
        (4, _) => first.parse().ok().filter(|y| (1950..=2100).contains(y))?,
        (2, true) => 2000 + first.parse::<u32>().ok().filter(|y| (13..=98).contains(y))?,
        _ => return None,
    };
    let end: u32 = match second.len() {
        2 => start / 100 * 100 + second.parse::<u32>().ok()?,
        4 => second.parse().ok()?,
        _ => return None,
    };
    // "1999/00" ends in the next century.
    let follows = end == start + 1 || (second.len() == 2 && end + 100 == start + 1);
    follows.then(|| (format!("years:{start}-{:02}", (start + 1) % 100), taken))
}

fn is_number_like(w: &str) -> bool {
    w.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// Lower-cases, opens contractions and hyphenated words, and reads digit tokens.
fn open_words(wn: &WordNet, raw: Vec<Tok>) -> Vec<Tok> {
    let mut out = Vec::with_capacity(raw.len() + 4);
    let mut raw = raw.into_iter().peekable();
    while let Some(t) = raw.next() {
        if t.kind != Kind::Word {
            out.push(t);
            continue;
        }
        let lower = t.w.to_lowercase();
        // Contractions: "don't" -> do not, "won't" -> will not; "'s", "'re" … carry nothing we compare.
        let (base, negated) = match lower.strip_suffix("n't") {
            Some(b) => (
                match b {
                    "ca" => "can".to_string(),
                    "wo" => "will".to_string(),
                    "sha" => "shall".to_string(),
                    b => b.to_string(),
                },
                true,
            ),
            None => match lower.as_str() {
                "cannot" | "cant" => ("can".into(), true),
                "dont" | "doesnt" | "didnt" | "isnt" | "arent" | "wasnt" | "werent" | "havent" | "hasnt" | "hadnt"
                | "wont" | "wouldnt" | "shouldnt" | "couldnt" => (lower.trim_end_matches("nt").to_string(), true),
                _ => (lower.clone(), false),
            },
        };
        // "1980's" is the decade, written with an apostrophe.
        let decade = base.strip_suffix("0's").is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
        let base = if decade { base.replace('\'', "") } else { base };
        let base = match base.find('\'') {
            Some(p) => base[..p].to_string(),
            None => base,
        };
        if base.is_empty() {
            continue;
        }
        let base = squeeze(wn, base);
        let base = if t.name { base } else { keyword_spelling(wn, base) };
        // Abbreviations are spelled out; one that is also an ordinary word ("us") only when written
        // in capitals. Chat spellings ("r", "pls") only in lower case ("R" is a language).
        // After a number, a unit first: "250 ml" is millilitres, not machine learning.
        let after_number = out.last().is_some_and(|p: &Tok| p.kind == Kind::Num);
        let unit = after_number.then(|| lookup(lex::NUMBER_SUFFIXES, &base)).flatten();
        // "POs", "ATMs": capitals with a plural s are the acronym's plural, not the lower-case
        // word they spell ("pos", point of sale); `spelling` reads them against the other side.
        let plural_acronym =
            t.w.len() >= 3 && t.w.ends_with('s') && t.w[..t.w.len() - 1].chars().all(|c| c.is_ascii_uppercase());
        let whole = (!plural_acronym).then(|| lookup(lex::ABBREVIATIONS, &base)).flatten();
        let abbreviation = unit
            .or(whole)
            .or_else(|| base.strip_suffix('s').filter(|b| b.len() >= 3).and_then(|b| lookup(lex::ABBREVIATIONS, b)))
            .or_else(|| lookup(lex::CLOCK_WORDS, &base))
            .or_else(|| lookup(lex::UNIT_ABBREVIATIONS, &base))
            .or_else(|| lookup(lex::CHAT_SPELLINGS, &base).filter(|_| !t.name));
        if let Some(full) = abbreviation.filter(|_| t.name || !lex::is_filler(&base)) {
            for w in full.split(' ') {
                out.push(word_or_number(w.to_string(), t.name));
            }
            if negated {
                out.push(Tok::new("not", Kind::Word, false));
            }
            continue;
        }
        let has_digit = base.chars().any(|c| c.is_ascii_digit());
        let has_alpha = base.chars().any(char::is_alphabetic);
        if let Some((n, w)) = counted_word(wn, &base) {
            // "2-bedroom", "30-day": a number and the word it counts, as "two bedroom" reads.
            out.push(word_or_number(n.to_string(), false));
            out.push(word_or_number(w.to_string(), t.name));
        } else if base.contains('-') && !(has_digit && has_alpha) {
            let parts: Vec<&str> = base.split('-').filter(|p| !p.is_empty()).collect();
            // "un-resolved", "non-members": the prefix belongs to the word.
            if parts.len() == 2 && lex::NEGATIVE_PREFIXES.contains(&parts[0]) {
                out.push(word_or_number(format!("{}{}", parts[0], parts[1]), t.name));
            } else if parts.len() == 3
                && parts[1] == "to"
                && raw.peek().is_some_and(|n| n.w.eq_ignore_ascii_case("ratio") || n.w.eq_ignore_ascii_case("ratios"))
            {
                // "the patient-to-nurse ratio" is patients per nurse.
                out.push(word_or_number(parts[0].to_string(), t.name));
                out.push(Tok::new("per", Kind::Word, false));
                out.push(word_or_number(parts[2].to_string(), t.name));
            } else if parts.len() == 3 && parts[1] == "to" && parts[2] != "date" {
                // "trial-to-paid" is "from trial to paid" ("month-to-date" is no movement).
                out.push(Tok::new("from", Kind::Word, false));
                for p in parts {
                    out.push(word_or_number(p.to_string(), t.name));
                }
                // The compound modifies what follows; the roles end here ("trial-to-paid rate").
                out.push(Tok::new(",", Kind::Punct, false));
            } else {
                for p in parts {
                    out.push(word_or_number(p.to_string(), t.name));
                }
            }
        } else if let Some((n, unit)) = number_and_unit(&base) {
            // "24h", "2GB": the number, then its unit spelled out ("24 hours").
            out.push(word_or_number(n.to_string(), false));
            out.push(Tok::new(unit, Kind::Word, false));
        } else if let Some(year) = fiscal_year(&base) {
            // "FY2022", "fy22": the fiscal year, as "fiscal year 2022" reads.
            out.extend([
                Tok::new("fiscal", Kind::Word, false),
                Tok::new("year", Kind::Word, false),
                Tok::new(year, Kind::Num, false),
            ]);
        } else {
            out.push(word_or_number(base, t.name));
        }
        if negated {
            out.push(Tok::new("not", Kind::Word, false));
        }
    }
    out
}

/// A misspelt keyword of the facts ("avrage", "maximun", "wendesday") written right, so the
/// figure or period it names is read: one edit for words of 5 letters or more, two for 8 or more,
/// and only when the word is no dictionary word itself. Typos keep the first letter, so the keyword
/// must too, and no other word may be one edit away with it ("acount" is "account", not "count").
fn keyword_spelling(wn: &WordNet, w: String) -> String {
    let n = w.chars().count();
    if n < 5 || lex::is_filler(&w) || wn.is_empty() || wn.knows(&w) || !w.chars().all(|c| c.is_ascii_lowercase()) {
        return w;
    }
    let most = if n >= 8 { 2 } else { 1 };
    let first = w.chars().next();
    let best = lex::keywords()
        .filter(|k| k.len() >= 5 && k.chars().next() == first)
        .map(|k| (edit_distance(&w, k), k))
        .filter(|(d, _)| *d <= most)
        .min_by_key(|(d, _)| *d);
    match best {
        Some((_, k)) if !near_other_word(wn, &w, k) => k.to_string(),
        _ => w,
    }
}

/// Whether one edit after the first letter turns `w` into a dictionary word other than `keyword`
/// (a lemma as written, or its plural: WordNet's suffix rules would find a base for most strings).
fn near_other_word(wn: &WordNet, w: &str, keyword: &str) -> bool {
    let chars: Vec<char> = w.chars().collect();
    let known = |c: Vec<char>| {
        let s: String = c.into_iter().collect();
        s != keyword && s.len() >= 3 && (wn.is_lemma(&s) || s.strip_suffix('s').is_some_and(|b| wn.is_lemma(b)))
    };
    (1..chars.len()).any(|i| {
        let mut del = chars.clone();
        del.remove(i);
        let swap = (i + 1 < chars.len()).then(|| {
            let mut c = chars.clone();
            c.swap(i, i + 1);
            c
        });
        known(del) || swap.is_some_and(known)
    }) || (1..=chars.len()).any(|i| {
        ('a'..='z').any(|l| {
            let mut ins = chars.clone();
            ins.insert(i, l);
            let sub = (i < chars.len() && chars[i] != l).then(|| {
                let mut c = chars.clone();
                c[i] = l;
                c
            });
            known(ins) || sub.is_some_and(known)
        })
    })
}

/// Roman numerals after a noun that counts ("phase II" is "phase 2", "World War I" "world war 1")
/// or after a name ("Algebra II").
fn roman_numerals(wn: &WordNet, mut words: Vec<Tok>) -> Vec<Tok> {
    for i in 1..words.len() {
        let before = &words[i - 1];
        let counting = before.kind == Kind::Word && lex::COUNTING_NOUNS.contains(&before.w.as_str());
        // After a name: "Algebra II", "Louis XIV", "Algebra I" (not the pronoun: "Hi Tom I need").
        let named =
            before.kind == Kind::Word && before.name && !lex::is_month_name(&before.w) && !lex::is_weekday(&before.w);
        let Some(v) = roman_value(&words[i].w).filter(|_| words[i].kind == Kind::Word) else { continue };
        let after_name = named
            && if v == 1 {
                words
                    .get(i + 1)
                    .is_none_or(|n| n.kind == Kind::Punct || (n.kind == Kind::Word && !wn.can_be_verb(&n.w)))
            } else {
                words[i].name
            };
        if counting || after_name {
            words[i] = Tok::new(v.to_string(), Kind::Num, false);
        }
    }
    words
}

/// The value of a Roman numeral up to 39, written the standard way ("iv", not "iiii").
fn roman_value(w: &str) -> Option<u32> {
    const DIGITS: [(&str, u32); 6] = [("x", 10), ("ix", 9), ("v", 5), ("iv", 4), ("i", 1), ("", 0)];
    let mut rest = w;
    let mut v = 0;
    for (d, n) in DIGITS.iter().take(5) {
        // x and i repeat up to three times (xxx, iii); v, ix and iv stand once.
        let most = if *d == "x" || *d == "i" { 3 } else { 1 };
        for _ in 0..most {
            match rest.strip_prefix(d) {
                Some(r) => {
                    rest = r;
                    v += n;
                }
                None => break,
            }
        }
    }
    (rest.is_empty() && v > 0 && to_roman(v) == w).then_some(v)
}

fn to_roman(mut v: u32) -> String {
    let mut s = String::new();
    for (d, n) in [("x", 10), ("ix", 9), ("v", 5), ("iv", 4), ("i", 1)] {
        while v >= n {
            s.push_str(d);
            v -= n;
        }
    }
    s
}

/// "2-bedroom" -> ("2", "bedroom"): digits, a hyphen and a word the dictionary knows (codes such
/// as "A-1029" or "4-B" stay whole).
fn counted_word<'w>(wn: &WordNet, w: &'w str) -> Option<(&'w str, &'w str)> {
    let (n, word) = w.split_once('-')?;
    let known = word.len() >= 3
        && word.chars().all(|c| c.is_ascii_alphabetic())
        && (lookup(lex::UNITS, word).is_some() || wn.knows(word));
    (!n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) && known).then_some((n, word))
}

/// "fy2022" -> "2022", "fy22" -> "2022".
fn fiscal_year(w: &str) -> Option<String> {
    let digits = w.strip_prefix("fy")?;
    match digits.len() {
        4 if digits.chars().all(|c| c.is_ascii_digit()) => Some(digits.to_string()),
        2 if digits.chars().all(|c| c.is_ascii_digit()) => Some(format!("20{digits}")),
        _ => None,
    }
}

/// "sooo" -> "so", "pleeease" -> "please": letters held for emphasis (three or more in a row)
/// once, or twice where once makes no word ("coool" -> "cool").
fn squeeze(wn: &WordNet, w: String) -> String {
    let chars: Vec<char> = w.chars().collect();
    // Runs of one letter: (letter, length).
    let mut runs: Vec<(char, usize)> = Vec::new();
    for &c in &chars {
        match runs.last_mut() {
            Some((last, n)) if *last == c => *n += 1,
            _ => runs.push((c, 1)),
        }
    }
    // Roman numerals ("iii", "xxx") hold their letters on purpose.
    if !runs.iter().any(|(c, n)| *n >= 3 && c.is_alphabetic()) || w.chars().all(|c| matches!(c, 'i' | 'v' | 'x')) {
        return w;
    }
    // Runs of one or two letters stay as they are; longer ones shrink to `most`.
    let keep = |most: usize| -> String {
        runs.iter().flat_map(|&(c, n)| std::iter::repeat_n(c, if n >= 3 { most } else { n })).collect()
    };
    let once = keep(1);
    if lex::is_filler(&once) || wn.knows(&once) {
        once
    } else {
        keep(2)
    }
}

/// A number with a unit written onto it ("24h", "1.5GB") as the number and the unit's word.
fn number_and_unit(w: &str) -> Option<(&str, &'static str)> {
    if !is_number_like(w) || read_number(w).is_some() {
        return None;
    }
    let end = w.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))?;
    let (n, unit) = w.split_at(end);
    lookup(lex::NUMBER_SUFFIXES, unit).map(|u| (n, u))
}

fn word_or_number(w: String, name: bool) -> Tok {
    if let Some(n) = read_number(&w) {
        return Tok::new(n, Kind::Num, false);
    }
    let has_digit = w.chars().any(|c| c.is_ascii_digit());
    // Quarters and halves written short ("Q3", "H2") are calendar words, not codes.
    if has_digit && (w.len() == 2 && (w.starts_with('q') || w.starts_with('h'))) {
        return Tok::new(w, Kind::Word, false);
    }
    if w.contains('_') || has_digit {
        // "A320s" are A320s: a plural s after a code of letters and digits ("1990s" stays whole).
        let plural = w
            .strip_suffix('s')
            .filter(|c| c.ends_with(|l: char| l.is_ascii_digit()) && c.chars().any(char::is_alphabetic));
        return Tok::new(plural.unwrap_or(&w), Kind::Ident, true);
    }
    Tok::new(w, Kind::Word, name)
}

/// "1,000" -> 1000, "2.50" -> 2.5, "20%" -> 0.2, "1st" -> 1, "5k" -> 5000, "9am" stays "9am",
/// "18:00" -> "6pm".
fn read_number(w: &str) -> Option<String> {
    if !is_number_like(w) {
        return None;
    }
    if let Some((h, rest)) = w.split_once(':') {
        return clock(h, rest.get(..2)?, rest.get(2..)?);
    }
    let digits_end = w.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ',')).unwrap_or(w.len());
    let (num, rest) = w.split_at(digits_end);
    let value: f64 = num.replace(',', "").trim_end_matches('.').parse().ok()?;
    let scaled = match rest {
        "" => value,
        "%" => value / 100.0,
        "st" | "nd" | "rd" | "th" => value,
        "k" => value * 1e3,
        "m" | "mm" => value * 1e6,
        "bn" | "b" => value * 1e9,
        "am" | "pm" => return Some(format!("{}{rest}", fmt(value))),
        _ => return None,
    };
    Some(fmt(scaled))
}

/// A time of day said in words at `i`, and how many words it takes: "(a) quarter past one", "half
/// past eight", "quarter to nine", and after a word of time ("at", "after", "before", "by",
/// "until", "from") the British "half eight" (8:30); then "am" / "pm", "in the morning" or "in the
/// afternoon / evening", or "at night" when they follow, as "9am" would be written.
fn clock_idiom(words: &[Tok], i: usize) -> Option<(String, usize)> {
    let word = |k: usize| words.get(k).map_or("", |t| t.w.as_str());
    let hour_at = |k: usize| -> Option<u32> {
        let t = words.get(k)?;
        let h = match t.kind {
            Kind::Num => t.w.parse::<u32>().ok()?,
            _ => lookup(lex::SPELLED, &t.w).filter(|v| v.fract() == 0.0).map(|v| v as u32)?,
        };
        (1..=12).contains(&h).then_some(h)
    };
    let mut k = i + usize::from(word(i) == "a");
    let (minutes, before) = match (word(k), word(k + 1)) {
        ("quarter", "past" | "after") => (15, false),
        ("quarter", "to" | "before") => (45, true),
        ("half", "past") => (30, false),
        ("half", _)
            if k == i && matches!(word(i.wrapping_sub(1)), "at" | "after" | "before" | "by" | "until" | "from") =>
        {
            k -= 1; // "half eight": no word between.
            (30, false)
        }
        _ => return None,
    };
    k += 2;
    let hour = hour_at(k)?;
    let hour = if before { (hour + 10) % 12 + 1 } else { hour };
    k += 1;
    let half = match (word(k), word(k + 1), word(k + 2)) {
        ("am" | "pm", _, _) => {
            k += 1;
            word(k - 1)
        }
        ("in", "the", "morning") => {
            k += 3;
            "am"
        }
        ("in", "the", "afternoon" | "evening") => {
            k += 3;
            "pm"
        }
        ("at", "night", _) => {
            k += 2;
            "pm"
        }
        _ => "",
    };
    Some((format!("{hour}:{minutes:02}{half}"), k - i))
}

/// A time of day in the form "9am" and "6:30pm": "18:00" is "6pm", "09:00" and "9:00 am" are
/// "9am". A morning hour written without a zero, "am" or "pm" ("9:00") may be either and stays
/// as written.
fn clock(hour_text: &str, minute_text: &str, half: &str) -> Option<String> {
    let (hour, minute): (u32, u32) = (hour_text.parse().ok()?, minute_text.parse().ok()?);
    if hour > 24 || minute > 59 || minute_text.len() != 2 {
        return None;
    }
    let minutes = if minute == 0 { String::new() } else { format!(":{minute:02}") };
    let (h12, half) = match (hour, half) {
        (1..=12, "am" | "pm") => (hour, half),
        (_, "am" | "pm") => return None,
        (0 | 24, _) => (12, "am"),
        (12, _) => (12, "pm"),
        (13..=23, _) => (hour - 12, "pm"),
        _ if hour_text.starts_with('0') => (hour, "am"),
        _ => return Some(format!("{hour}:{minute_text}")),
    };
    Some(format!("{h12}{minutes}{half}"))
}

/// Spelled numbers ("one thousand", "a dozen"), percent and currency words after a number, and
/// "N units of time" as one duration.
fn merge_numbers(words: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let t = &words[i];
        // "9:00 am" is "9am".
        let half = words.get(i + 1).map(|n| n.w.as_str()).filter(|w| matches!(*w, "am" | "pm"));
        if let (Some(half), Some((h, m))) = (half, t.w.split_once(':').filter(|_| t.kind == Kind::Num)) {
            if let Some(time) = clock(h, m, half) {
                out.push(Tok::new(time, Kind::Num, false));
                i += 2;
                continue;
            }
        }
        if let Some((time, taken)) = clock_idiom(&words, i) {
            out.push(Tok::new(time, Kind::Num, false));
            i += taken;
            continue;
        }
        // "an hour and a half" is 1.5 hours.
        let is_word = |k: usize, w: &str| words.get(k).is_some_and(|n| n.w == w);
        let and_a_half = |k: usize| is_word(k, "and") && is_word(k + 1, "a") && is_word(k + 2, "half");
        if matches!(t.w.as_str(), "a" | "an") && and_a_half(i + 2) {
            if let Some(h) = words.get(i + 1).and_then(|n| lookup(lex::UNITS, &n.w)) {
                out.push(Tok::new(duration(1.5 * h), Kind::Num, false));
                i += 5;
                continue;
            }
        }
        // "half a million" is 500000.
        let scale_at = |k: usize| words.get(k).and_then(|n| lookup(lex::SCALES, &n.w));
        if t.w == "half" && words.get(i + 1).is_some_and(|n| matches!(n.w.as_str(), "a" | "an")) {
            if let Some(s) = scale_at(i + 2) {
                out.push(Tok::new(fmt(0.5 * s), Kind::Num, false));
                i += 3;
                continue;
            }
        }
        // A run of spelled number words, optionally starting with a digit number ("2 million").
        let mut value: Option<f64> = None;
        let (mut total, mut current) = (0.0f64, 0.0f64);
        let mut j = i;
        let mut soft = true;
        let mut scaled = false;
        while j < words.len() {
            let w = &words[j];
            if w.kind == Kind::Num && j == i {
                // Times ("9am") and durations are already whole tokens.
                let Ok(n) = w.w.parse() else { break };
                current = n;
                soft = false;
            } else if w.kind == Kind::Word {
                if w.w == "and"
                    && value.is_some()
                    && words.get(j + 1).is_some_and(|n| n.w == "a")
                    && words.get(j + 2).is_some_and(|n| n.w == "half")
                {
                    // "two and a half (million)".
                    current += 0.5;
                    j += 3;
                    value = Some(total + current);
                    continue;
                }
                // "a hundred and fifty".
                let spelled_next = words.get(j + 1).and_then(|n| lookup(lex::SPELLED, &n.w)).is_some_and(|v| v >= 1.0);
                if w.w == "and" && scaled && current % 100.0 == 0.0 && spelled_next {
                    j += 1;
                    continue;
                }
                if let Some(v) = lookup(lex::SPELLED, &w.w) {
                    if v == 0.5 && value.is_some() {
                        break;
                    }
                    // A year said in pairs: "nineteen ninety-nine", "twenty twenty-four".
                    if !scaled && total == 0.0 && (current == 19.0 || current == 20.0) && (10.0..100.0).contains(&v) {
                        current = current * 100.0 + v;
                        value = Some(current);
                        soft = false;
                        j += 1;
                        continue;
                    }
                    current += v;
                    soft &= matches!(w.w.as_str(), "one" | "once" | "single");
                } else if let Some(s) = lookup(lex::SCALES, &w.w) {
                    if value.is_none() && j == i {
                        break;
                    }
                    current = current.max(1.0) * s;
                    scaled = true;
                    if s >= 1000.0 {
                        total += current;
                        current = 0.0;
                    }
                    soft = false;
                } else if w.w == "a"
                    && j == i
                    && words.get(j + 1).is_some_and(|n| {
                        matches!(n.w.as_str(), "dozen" | "hundred" | "thousand" | "million" | "billion")
                    })
                {
                    // "a dozen" is 12, "a hundred" is 100.
                    current = if words[j + 1].w == "dozen" { 0.0 } else { 1.0 };
                    j += 1;
                    value = Some(0.0);
                    soft = false;
                    continue;
                } else {
                    break;
                }
            } else {
                break;
            }
            value = Some(total + current);
            j += 1;
        }
        let Some(v) = value.map(|_| total + current) else {
            out.push(t.clone());
            i += 1;
            continue;
        };
        let mut v = v;
        // "9 am" is "9am".
        if let Some(half) = words.get(j).map(|n| n.w.as_str()).filter(|w| matches!(*w, "am" | "pm")) {
            if value.is_some() && !soft || words[i].kind == Kind::Num {
                out.push(Tok::new(format!("{}{half}", fmt(v)), Kind::Num, false));
                i = j + 1;
                continue;
            }
        }
        let mut tok = Tok::new(fmt(v), Kind::Num, false);
        tok.soft = soft;
        // "half an hour", "half a day".
        let unit_after = |k: usize| words.get(k).is_some_and(|n| lookup(lex::UNITS, &n.w).is_some());
        // "half a percent".
        let percent_after = |k: usize| words.get(k).is_some_and(|n| matches!(n.w.as_str(), "percent" | "pct"));
        // "half a kilo".
        let measure_after = |k: usize| words.get(k).is_some_and(|n| lex::measure(&n.w).is_some());
        if v == 0.5
            && words.get(j).is_some_and(|n| matches!(n.w.as_str(), "a" | "an"))
            && (unit_after(j + 1) || percent_after(j + 1) || measure_after(j + 1))
        {
            j += 1;
        }
        // "three consecutive months": the months are the duration, "consecutive" stays a word.
        let in_a_row = words.get(j).filter(|n| lex::IN_A_ROW.contains(&n.w.as_str()) && unit_after(j + 1)).cloned();
        if in_a_row.is_some() {
            j += 1;
        }
        // What follows the number: percent, cents, or a unit of time.
        match words.get(j).map(|n| n.w.as_str()) {
            Some("percent" | "pct") => {
                v /= 100.0;
                tok.w = fmt(v);
                j += 1;
            }
            Some("time" | "times") => {
                // "two times" is "twice".
                j += 1;
            }
            Some("cent" | "cents") => {
                tok.w = fmt(v / 100.0);
                out.push(tok);
                out.push(Tok::new("dollar", Kind::Word, false));
                i = j + 1;
                continue;
            }
            Some(u) => {
                if let Some(h) = lookup(lex::UNITS, u) {
                    // "two hours and a half".
                    let half = if and_a_half(j + 1) { 0.5 } else { 0.0 };
                    tok.w = duration((v + half) * h);
                    tok.soft = false;
                    j += if half > 0.0 { 4 } else { 1 };
                } else if let Some((base, factor)) = lex::measure(u).or_else(|| grams_apart(&words, i, j)) {
                    tok.w = format!("{}{base}", fmt(v * factor));
                    tok.soft = false;
                    j += 1;
                } else if let Some(h) = unit_after_a_noun(&words, j) {
                    // "1,500 contact minutes" is 25 contact hours: the unit is the amount's, the
                    // noun stays a word.
                    tok.w = duration(v * h);
                    tok.soft = false;
                    out.push(tok);
                    out.push(words[j].clone());
                    i = j + 2;
                    continue;
                } else if let Some((cents, taken)) = minor_units(&words, j) {
                    // "twelve pounds fifty" is 12.50 pounds.
                    tok.w = fmt(v + cents);
                    out.push(tok);
                    out.push(words[j].clone());
                    i = j + taken;
                    continue;
                }
            }
            None => {}
        }
        // "zero sales", "0 refunds" are "no sales", "no refunds" (a count of nothing, not an amount
        // to compare); not before a word that makes the zero a rate, a range or a unit ("0 to 60",
        // "0 per cent", "0 business days": the same list as for a unit after a noun).
        let counted = words.get(j).is_some_and(|n| {
            n.kind == Kind::Word
                && n.w.chars().all(char::is_alphabetic)
                && !lex::NOT_BEFORE_A_UNIT.contains(&n.w.as_str())
        });
        if tok.w == "0" && in_a_row.is_none() && counted {
            tok = Tok::new("no", Kind::Word, false);
        }
        out.push(tok);
        out.extend(in_a_row);
        i = j.max(i + 1);
    }
    out
}

/// "500 g": a "g" apart after digits is grams ("5G" written together is a network, and stays).
fn grams_apart(words: &[Tok], i: usize, j: usize) -> Option<(&'static str, f64)> {
    (words[j].w == "g" && words[i].kind == Kind::Num).then_some(("kg", 1e-3))
}

/// The hours of a unit of time one word after an amount ("1,500 contact minutes", "40 billable
/// hours"), where that word is a plain word and not one that makes the amount a rate, a count of
/// something else or a unit of its own ("2 per hour", "5 more shifts", "10 working days").
fn unit_after_a_noun(words: &[Tok], j: usize) -> Option<f64> {
    let between = &words[j];
    let plain = between.kind == Kind::Word
        && between.w.len() >= 3
        && between.w.chars().all(|c| c.is_alphabetic())
        && !lex::NOT_BEFORE_A_UNIT.contains(&between.w.as_str())
        && lookup(lex::RELATIVE, &between.w).is_none()
        && !lex::POSSESSIVES.contains(&between.w.as_str());
    plain.then(|| words.get(j + 1).and_then(|u| lookup(lex::UNITS, &u.w))).flatten()
}

/// "2 hours 30 minutes", "3 days and 12 hours": one duration, the sum (not after "between" or
/// "from", where two durations bound a range).
fn sum_durations(words: Vec<Tok>) -> Vec<Tok> {
    let hours = |t: &Tok| t.w.strip_prefix("dur:").and_then(|h| h.parse::<f64>().ok()).filter(|_| t.kind == Kind::Num);
    let mut out: Vec<Tok> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let t = &words[i];
        let ranged = out.last().is_some_and(|p| matches!(p.w.as_str(), "between" | "from"));
        if let (Some(first), false) = (hours(t), ranged) {
            let and = usize::from(words.get(i + 1).is_some_and(|n| n.w == "and"));
            if let Some(second) = words.get(i + 1 + and).and_then(hours).filter(|s| *s < first) {
                out.push(Tok::new(duration(first + second), Kind::Num, false));
                i += 2 + and;
                continue;
            }
        }
        out.push(t.clone());
        i += 1;
    }
    out
}

/// The hundredths after a currency word at `j` ("pounds fifty", "dollars 99", "dollars and fifty
/// cents") and how many words from `j` they take: a whole number under 100 that ends the phrase
/// (not "dollars 50 times", "euros 20 orders").
fn minor_units(words: &[Tok], j: usize) -> Option<(f64, usize)> {
    if !matches!(words[j].w.as_str(), "dollar" | "dollars" | "pound" | "pounds" | "euro" | "euros" | "quid" | "bucks") {
        return None;
    }
    let spelled_out = words.get(j + 1).is_some_and(|t| t.w == "and")
        && words.get(j + 3).is_some_and(|t| matches!(t.w.as_str(), "cent" | "cents" | "pence" | "p"));
    let at = if spelled_out { j + 2 } else { j + 1 };
    let n = words.get(at).filter(|n| matches!(n.kind, Kind::Num | Kind::Word))?;
    let cents: f64 = match n.kind {
        Kind::Num => n.w.parse().ok()?,
        _ => lookup(lex::SPELLED, &n.w).filter(|v| *v >= 1.0 && v.fract() == 0.0)?,
    };
    let ends = spelled_out
        || words.get(j + 2).is_none_or(|t| {
            t.kind == Kind::Punct
                || matches!(t.w.as_str(), "or" | "and" | "in" | "on" | "for" | "per" | "a" | "each" | "last" | "this")
        });
    let taken = if spelled_out { 4 } else { 2 };
    (ends && (1.0..100.0).contains(&cents) && cents.fract() == 0.0).then_some((cents / 100.0, taken))
}

/// Multi-word expressions to one token, matched on stems (so "signed up" is "sign up").
fn apply_phrases(k: &Knowledge, words: Vec<Tok>) -> Vec<Tok> {
    let stems: Vec<String> =
        words.iter().map(|t| if t.kind == Kind::Word { k.stem(&t.w) } else { String::new() }).collect();
    rewrite_runs(words, |words, i| {
        k.phrases().iter().find_map(|(pat, rep)| {
            let end = i + pat.len();
            let here = end <= words.len() && (i..end).all(|n| words[n].kind == Kind::Word && stems[n] == pat[n - i]);
            here.then(|| {
                let name = words[i..end].iter().any(|t| t.name);
                (rep.iter().map(|r| Tok::new(r.clone(), Kind::Word, name)).collect(), pat.len())
            })
        })
    })
}
