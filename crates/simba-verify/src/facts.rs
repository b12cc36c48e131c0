//! Structured facts that must agree exactly: numbers and durations, dates and periods, negation,
//! the kind of figure asked for (total, average, top …), comparison direction, scope words,
//! quantifiers and determiners, "and" / "or", states ("in" / "out of") and opposite words.

use crate::dates::month_of;
use crate::lexicon::{self as lex, is_unit, lookup};
use crate::token::{fmt_hours, Kind, Tok};
use crate::Knowledge;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Display};

/// An amount a text names, in the form two texts are compared in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Amount {
    /// A number, canonical ("5", "0.2" for 20%, "1500" for "1.5k").
    Number(String),
    /// A length of time, in hours ("168" for a week or seven days).
    Duration(String),
    /// A time of day ("9am").
    Clock(String),
}

impl Amount {
    /// The amount a number token holds (see `analyse`: "dur:168", "9am", "0.2").
    fn of_token(w: &str) -> Amount {
        if let Some(h) = w.strip_prefix("dur:") {
            Amount::Duration(h.to_string())
        } else if w.ends_with("am") || w.ends_with("pm") {
            Amount::Clock(w.to_string())
        } else {
            Amount::Number(w.to_string())
        }
    }

    fn hours(hours: f64) -> Amount {
        Amount::Duration(fmt_hours(hours))
    }
}

impl Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Amount::Number(n) | Amount::Clock(n) => f.write_str(n),
            Amount::Duration(h) => write!(f, "{h} h"),
        }
    }
}

/// A date or period a text names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Period {
    Year(String),
    /// A month, by its first three letters ("nov").
    Month(String),
    /// A day of a month ("nov-1").
    Day(String),
    /// A decade by its first year ("1980").
    Decade(String),
    /// A day of the week, or weekends / weekdays ("sunday").
    Weekday(String),
    /// A calendar word that names one period by itself ("today", "q3", "h1", "ytd", "night").
    Calendar(String),
    /// Grouping by a unit of time ("per week", "daily").
    Per(String),
    /// A period counted from now ("last", "this", "next" before a unit or a named period).
    Relative(&'static str),
}

impl Period {
    /// The period a date token holds (see `dates`: "date:nov-1", "decade:1980").
    fn of_token(w: &str) -> Option<Period> {
        w.strip_prefix("date:")
            .map(|d| Period::Day(d.to_string()))
            .or_else(|| w.strip_prefix("decade:").map(|d| Period::Decade(d.to_string())))
            .or_else(|| w.strip_prefix("years:").map(|y| Period::Year(y.to_string())))
    }
}

impl Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Year(x) | Period::Month(x) | Period::Day(x) | Period::Weekday(x) | Period::Calendar(x) => {
                f.write_str(x)
            }
            Period::Decade(d) => write!(f, "the {d}s"),
            Period::Per(u) => write!(f, "per {u}"),
            Period::Relative(r) => write!(f, "{r} (period)"),
        }
    }
}

#[derive(Debug, Default)]
pub struct Facts {
    pub numbers: BTreeSet<Amount>,
    /// Numbers written only as "one", "once" or "single", which are often no quantity at all.
    pub soft_numbers: BTreeSet<Amount>,
    pub dates: BTreeSet<Period>,
    pub negations: usize,
    pub aggregations: BTreeSet<&'static str>,
    /// Words that may carry a figure the text does not name: a rate ("churn rate" is a share), a
    /// superlative of any adjective ("tallest", "cheapest" are a top or a bottom).
    pub implied: BTreeSet<&'static str>,
    pub comparators: BTreeSet<&'static str>,
    /// "current", "previous", "next" before anything else than a period ("the previous billing
    /// cycle"); "this" is left out (it is mostly a plain determiner).
    pub relative: BTreeSet<&'static str>,
    pub scope: BTreeSet<&'static str>,
    pub quantifiers: BTreeSet<&'static str>,
    /// Two words joined by "and" or "or" (the pair sorted): "wheat or barley" asks about either,
    /// "wheat and barley" about both.
    pub joined: BTreeMap<(String, String), &'static str>,
    /// The determiner of a noun when it says how many of them: "a planet" (any one) against
    /// "every planet" (all of them).
    pub determined: BTreeMap<String, &'static str>,
    /// A thing said to be inside or outside a state: "under warranty" against "out of warranty".
    pub states: BTreeMap<String, &'static str>,
    pub concepts: BTreeSet<String>,
    /// A unit of time named without a number ("the first week", "within a day"), in hours: one
    /// of it, as the other text may write in figures ("the first seven days").
    pub bare_units: BTreeSet<Amount>,
    /// Weekdays named with "this" ("this Sunday": one day) and in the plural or with "every"
    /// ("on Sundays": every one). A bare "Sunday" may be either, so it meets both.
    pub this_weekday: bool,
    pub every_weekday: bool,
    /// "per" before a thing, not a unit of time ("how many students per teacher").
    pub per_thing: bool,
}

fn unit_name(raw: &str) -> String {
    let s = raw.trim_end_matches('s');
    match s {
        "hr" => "hour".into(),
        "yr" => "year".into(),
        "wk" => "week".into(),
        "qtr" => "quarter".into(),
        "min" => "minute".into(),
        "sec" => "second".into(),
        s => s.into(),
    }
}

/// Words whose meaning is carried by a fact above rather than by the content-word alignment.
pub fn is_fact_word(t: &Tok) -> bool {
    let r = t.raw.as_str();
    let s = t.w.as_str();
    lex::NEGATORS.contains(&r)
        || lookup(lex::AGGREGATIONS, r).is_some()
        || lookup(lex::AGGREGATIONS, s).is_some()
        || lookup(lex::COMPARATORS, r).is_some()
        || lookup(lex::COMPARATORS, s).is_some()
        || lookup(lex::SCOPE, r).is_some()
        || lookup(lex::RELATIVE, r).is_some()
        || is_unit(r).is_some()
        || lookup(lex::PER_UNIT, r).is_some()
        || lookup(lex::SPELLED, r).is_some()
        || lookup(lex::SCALES, r).is_some()
        || lex::is_month_name(r)
        || lex::is_weekday(r)
        || lex::CALENDAR.contains(&r)
        // Sort order is compared as opposite words, not as a role ("sorted from highest to lowest").
        || matches!(r, "ascending" | "descending")
}

impl Facts {
    pub fn of(k: &Knowledge, toks: &[Tok]) -> Facts {
        let mut f = Facts::default();
        for (i, t) in toks.iter().enumerate() {
            let prev = i.checked_sub(1).and_then(|p| toks.get(p));
            let next = toks.get(i + 1);
            let r = t.raw.as_str();
            match t.kind {
                Kind::Punct => continue,
                Kind::Ident => continue,
                Kind::Num => {
                    // Days of a month and decades (see `dates`).
                    if let Some(period) = Period::of_token(&t.w) {
                        f.dates.insert(period);
                        continue;
                    }
                    let is_year =
                        t.w.len() == 4 && t.w.parse::<u32>().is_ok_and(|y| (1900..=2100).contains(&y)) && !t.soft;
                    if is_year {
                        f.dates.insert(Period::Year(t.w.clone()));
                    } else if t.soft {
                        f.soft_numbers.insert(Amount::of_token(&t.w));
                    } else {
                        f.numbers.insert(Amount::of_token(&t.w));
                    }
                    continue;
                }
                Kind::Word => {}
            }
            f.concepts.insert(t.w.clone());
            // Negation, including "fail to", "failed to".
            if lex::NEGATORS.contains(&r)
                || (matches!(r, "fail" | "failed" | "fails" | "failing") && next.is_some_and(|n| n.raw == "to"))
            {
                f.negations += 1;
            }
            // Dates and periods.
            if let Some(m) = month_of(t, prev, next) {
                f.dates.insert(Period::Month(m.to_string()));
            }
            let day = r.trim_end_matches('s');
            if lex::WEEKDAYS.contains(&day) {
                f.dates.insert(Period::Weekday(day.to_string()));
                f.every_weekday |= day != r || prev.is_some_and(|p| matches!(p.raw.as_str(), "every" | "each"));
            }
            if lex::CALENDAR.contains(&r) {
                match r {
                    "tonight" => {
                        f.dates.insert(Period::Calendar("today".into()));
                        f.dates.insert(Period::Calendar("night".into()));
                    }
                    r if lookup(lex::PER_UNIT, r).is_some() => {}
                    r => {
                        f.dates.insert(Period::Calendar(r.to_string()));
                    }
                }
            }
            if let Some(u) = lookup(lex::PER_UNIT, r) {
                f.dates.insert(Period::Per(u.to_string()));
            }
            // "per week", "each month", "by day", "every year": grouping by a period.
            // "under a minute", "older than a decade": one unit's length, not "per minute".
            let one_unit = r == "a" && prev.is_some_and(|p| lex::BEFORE_A_LENGTH.contains(&p.raw.as_str()));
            if matches!(r, "per" | "each" | "every" | "by" | "a") && !one_unit {
                // "per flight hour", "each business day": one word may name the kind of unit.
                let after = toks.get(i + 2).filter(|_| {
                    matches!(r, "per" | "each" | "every")
                        && next.is_some_and(|m| m.kind == Kind::Word && !lex::is_filler(&m.raw))
                });
                if let Some(n) =
                    next.into_iter().chain(after).find(|n| n.kind == Kind::Word && is_unit(&n.raw).is_some())
                {
                    f.dates.insert(Period::Per(unit_name(&n.raw)));
                }
            }
            // "last week", "past 7 days", "this quarter", "next Monday".
            let preposition = r == "following" && lex::following_is_preposition(prev.map(|p| p.raw.as_str()));
            // "this Sunday" is the Sunday a bare "Sunday" names; "next/last Sunday" are others.
            let this_weekday = r == "this" && next.is_some_and(|n| lex::WEEKDAYS.contains(&n.raw.as_str()));
            f.this_weekday |= this_weekday;
            if let Some(rel) = lookup(lex::RELATIVE, r).filter(|_| !preposition && !this_weekday) {
                let ahead = after(toks, i, 2);
                let unit = ahead.iter().find(|n| n.kind == Kind::Word && is_unit(&n.raw).is_some());
                let dur = ahead.iter().any(|n| n.kind == Kind::Num && n.w.starts_with("dur:"));
                let named = ahead.iter().any(|n| {
                    lex::is_weekday(&n.raw)
                        || lex::CALENDAR.contains(&n.raw.as_str())
                        || lex::MONTHS.contains(&n.raw.as_str())
                });
                if unit.is_some() || dur || named {
                    f.dates.insert(Period::Relative(rel));
                } else if r != "this" {
                    f.relative.insert(rel);
                }
                if let (Some(u), false) = (unit, dur) {
                    if let Some(h) = is_unit(&u.raw) {
                        f.numbers.insert(Amount::hours(h));
                    }
                }
            }
            // The kind of figure asked for.
            // "share" is a figure in "the share of", "market share"; "can you share …" asks, and
            // "countries that share a border" is a verb.
            let asking = matches!(r, "share" | "sharing")
                && next.is_none_or(|n| n.raw != "of")
                && !prev.is_some_and(|p| {
                    matches!(p.raw.as_str(), "the" | "a" | "an" | "our" | "their" | "its" | "your" | "my" | "market")
                });
            if let Some(a) =
                lookup(lex::AGGREGATIONS, r).or_else(|| lookup(lex::AGGREGATIONS, &t.w)).filter(|_| !asking)
            {
                // "how many hours/dollars" asks for an amount, not a count of things.
                // So does "the calorie count".
                let unit = |n: &Tok| n.kind == Kind::Word && (is_unit(&n.raw).is_some() || k.wn.measure_unit(&n.raw));
                let amount = a == "count" && (next.is_some_and(unit) || prev.is_some_and(unit));
                // "total incidents" asks how many incidents; "total revenue" stays an amount.
                let counted = r == "total" && counted_head(k, toks, i);
                f.aggregations.insert(if amount {
                    "total"
                } else if counted {
                    "count"
                } else {
                    a
                });
            }
            if let Some(h) = is_unit(r).filter(|_| t.kind == Kind::Word) {
                f.bare_units.insert(Amount::hours(h));
            }
            if r == "rate" || r == "rates" {
                f.implied.insert("share");
            }
            if r.ends_with("est") && !lex::is_filler(r) && k.wn.superlative(r) {
                f.implied.extend(["max", "min"]);
            }
            // Comparison direction, when it bounds a quantity or a date.
            if let Some(c) = lookup(lex::COMPARATORS, r).or_else(|| lookup(lex::COMPARATORS, &t.w)) {
                if bounds_a_quantity(toks, i) {
                    f.comparators.insert(c);
                }
            }
            if let Some(s) = lookup(lex::SCOPE, r) {
                f.scope.insert(s);
            }
            if let Some(s) = lookup(lex::QUANTIFIERS, r) {
                f.quantifiers.insert(s);
            }
            let det = match r {
                "a" | "an" => Some("a"),
                "every" | "all" | "each" => Some("every"),
                _ => None,
            };
            if let Some(det) = det {
                // "once a week" is a frequency (compared as a period above), not one week.
                if let Some(h) = head_after(toks, i).filter(|h| is_unit(&h.raw).is_none()) {
                    f.determined.insert(h.w.clone(), det);
                }
            }
            let state = match r {
                "in" | "under" | "within" | "inside" => Some("in"),
                "out" if next.is_some_and(|n| n.raw == "of") => Some("out of"),
                "outside" => Some("out of"),
                _ => None,
            };
            if let Some(state) = state {
                if let Some(h) = head_after(toks, i) {
                    f.states.insert(h.w.clone(), state);
                }
            }
            let op = match r {
                "and" => Some("and"),
                "or" => Some("or"),
                _ => None,
            };
            if let (Some(op), Some(p), Some(n)) = (op, prev, next) {
                if p.kind == Kind::Word && n.kind == Kind::Word {
                    let key = if p.w <= n.w { (p.w.clone(), n.w.clone()) } else { (n.w.clone(), p.w.clone()) };
                    f.joined.insert(key, op);
                }
            }
        }
        calendar_ranges(toks, &mut f.dates);
        f.per_thing = toks.windows(2).any(|w| {
            w[0].raw == "per" && w[1].kind == Kind::Word && is_unit(&w[1].raw).is_none() && !lex::is_filler(&w[1].raw)
        });
        f
    }
}

/// "between January and June", "from July to September", "January through March": a range of
/// months that is a half or a quarter reads as that period ("the first half", "Q3").
fn calendar_ranges(toks: &[Tok], dates: &mut BTreeSet<Period>) {
    const PERIODS: [(&str, &str, &str); 6] = [
        ("jan", "mar", "q1"),
        ("apr", "jun", "q2"),
        ("jul", "sep", "q3"),
        ("oct", "dec", "q4"),
        ("jan", "jun", "h1"),
        ("jul", "dec", "h2"),
    ];
    let month = |i: usize| {
        toks.get(i)
            .and_then(|t| month_of(t, i.checked_sub(1).map(|p| &toks[p]), toks.get(i + 1)))
            .map(|m| Period::Month(m.to_string()))
    };
    for i in 0..toks.len() {
        let (Some(a), Some(b)) = (month(i), month(i + 2)) else { continue };
        let between = i.checked_sub(1).is_some_and(|p| toks[p].raw == "between");
        let joined = match toks[i + 1].raw.as_str() {
            "through" | "to" | "until" | "till" => true,
            "and" => between,
            _ => false,
        };
        let Some((_, _, period)) =
            PERIODS.iter().find(|(x, y, _)| a == Period::Month(x.to_string()) && b == Period::Month(y.to_string()))
        else {
            continue;
        };
        if joined {
            dates.remove(&a);
            dates.remove(&b);
            dates.insert(Period::Calendar(period.to_string()));
        }
    }
}

/// The (up to) `n` tokens after `i`: the words a word at `i` reads ahead.
fn after(toks: &[Tok], i: usize, n: usize) -> &[Tok] {
    &toks[(i + 1).min(toks.len())..toks.len().min(i + 1 + n)]
}

/// Whether the words after "total" at `i` name a plural noun of things one counts ("total
/// reported incidents"), not of money, measures or substances ("total costs", "total hours").
fn counted_head(k: &Knowledge, toks: &[Tok], i: usize) -> bool {
    let phrase: Vec<&Tok> =
        after(toks, i, 3).iter().take_while(|n| n.kind == Kind::Word && !lex::is_filler(&n.raw)).collect();
    // The first plural is the head ("total reported incidents", "total sales orders").
    phrase
        .iter()
        .find_map(|h| k.wn.counted_plural(&h.raw))
        .is_some_and(|counted| counted && phrase.iter().all(|h| is_unit(&h.raw).is_none()))
}

/// The first content word in the three words after `i`, within the phrase: what a determiner or
/// a preposition at `i` applies to ("every planet", "out of the warranty").
fn head_after(toks: &[Tok], i: usize) -> Option<&Tok> {
    after(toks, i, 3).iter().take_while(|n| n.kind == Kind::Word).find(|n| !lex::is_filler(&n.raw))
}

fn bounds_a_quantity(toks: &[Tok], i: usize) -> bool {
    if matches!(toks[i].raw.as_str(), "atleast" | "atmost") {
        return true;
    }
    let Some(next) = toks.get(i + 1) else { return false };
    if matches!(next.raw.as_str(), "the" | "a" | "an" | "last" | "past" | "next" | "this" | "our" | "my") {
        return false;
    }
    after(toks, i, 3).iter().take_while(|t| t.kind != Kind::Punct).any(|t| {
        t.kind == Kind::Num
            || t.raw == "than"
            || lex::CALENDAR.contains(&t.raw.as_str())
            || lex::is_month_name(&t.raw)
            || lex::is_weekday(&t.raw)
    })
}

/// Numbers that agree though written apart: months and years are not whole numbers of days ("12
/// months", 360 days as read, is "a year": durations within 2%), and a fraction that does not end
/// ("a third", 0.333333) is its rounded percentage ("33%": within half a percent).
fn same_amounts(a: &BTreeSet<Amount>, b: &BTreeSet<Amount>) -> bool {
    let close = |x: &Amount, y: &Amount| match (x, y) {
        (Amount::Duration(h), Amount::Duration(g)) => {
            h.parse::<f64>().ok().zip(g.parse::<f64>().ok()).is_some_and(|(h, g)| (h - g).abs() <= 0.02 * h.max(g))
        }
        (Amount::Number(x), Amount::Number(y)) => {
            let endless = |n: &str| n.split_once('.').is_some_and(|(_, d)| d.len() >= 4);
            let shares = x
                .parse::<f64>()
                .ok()
                .zip(y.parse::<f64>().ok())
                .is_some_and(|(h, g)| h < 1.0 && g < 1.0 && (h - g).abs() <= 0.005);
            (endless(x) || endless(y)) && shares
        }
        _ => false,
    };
    let (x, y): (Vec<&Amount>, Vec<&Amount>) = (a.difference(b).collect(), b.difference(a).collect());
    x.len() == y.len() && x.iter().all(|h| y.iter().any(|g| close(h, g)))
}

fn show<T: Display>(s: &BTreeSet<T>) -> String {
    if s.is_empty() {
        "none".into()
    } else {
        s.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
    }
}

/// The first fact that differs, as a reason an admin can read.
/// A figure or a comparison one side names and the other leaves to its words: "How many units
/// are left" / "the remaining stock", "longer than ten years" / "tenure exceeds ten years", "the
/// best way to" / "how do I". The words may or may not carry it, which the judge can read.
pub fn implicit_figure(q: &Facts, c: &Facts) -> Option<(&'static str, String)> {
    let strip = |s: &BTreeSet<&'static str>| -> BTreeSet<&'static str> {
        s.iter().copied().filter(|a| *a != "total").collect()
    };
    let (qa, ca) = (strip(&q.aggregations), strip(&c.aggregations));
    if qa != ca && (qa.is_empty() || ca.is_empty()) {
        let implied = |a: &BTreeSet<&'static str>, other: &Facts| a.iter().all(|x| other.implied.contains(x));
        if !(implied(&qa, c) && implied(&ca, q)) {
            return Some((
                "figure_named_once",
                format!("only one names the figure asked for ({} vs {})", show(&q.aggregations), show(&c.aggregations)),
            ));
        }
    }
    if q.comparators != c.comparators {
        return Some((
            "comparison_named_once",
            format!("only one names a comparison ({} vs {})", show(&q.comparators), show(&c.comparators)),
        ));
    }
    None
}

pub fn compare(k: &Knowledge, q: &Facts, c: &Facts) -> Option<(&'static str, String)> {
    if let Some(differ) = amounts_and_dates(q, c) {
        return Some(differ);
    }
    if (q.this_weekday && c.every_weekday) || (q.every_weekday && c.this_weekday) {
        return Some(("one_day_or_every", "one asks about this one day, the other about every such day".into()));
    }
    the_rest(k, q, c)
}

/// The amounts, then the dates and periods, of two texts, where they differ ("numbers" or
/// "dates").
pub fn amounts_and_dates(q: &Facts, c: &Facts) -> Option<(&'static str, String)> {
    // Soft numbers count only when the other side names that number too, or names none at all.
    let with_soft = |a: &Facts, b: &Facts| -> BTreeSet<Amount> {
        let mut n = a.numbers.clone();
        for s in &a.soft_numbers {
            if b.numbers.contains(s) || b.soft_numbers.contains(s) {
                n.insert(s.clone());
            }
        }
        n
    };
    // A duration one side writes in figures and the other as a bare unit ("7 days" / "a week").
    let in_words = |n: BTreeSet<Amount>, other: &Facts| -> BTreeSet<Amount> {
        n.into_iter()
            .filter(|d| !matches!(d, Amount::Duration(_)) || other.numbers.contains(d) || !other.bare_units.contains(d))
            .collect()
    };
    let (qn, cn) = (in_words(with_soft(q, c), c), in_words(with_soft(c, q), q));
    if qn != cn && !same_amounts(&qn, &cn) {
        return Some(("numbers", format!("numbers differ ({} vs {})", show(&qn), show(&cn))));
    }
    // "a year" is "per year" after an amount ("$10 a year") and one year's length after "for" or
    // "go": the reading of "a" may differ between two texts that mean the same, so "per year" on
    // one side meets a bare "year" on the other.
    let grouping_or_length = |a: &Facts, b: &Facts| -> BTreeSet<Period> {
        let length_there = |u: &str| {
            is_unit(u).is_some_and(|h| b.bare_units.contains(&Amount::hours(h)))
                && !b.dates.contains(&Period::Per(u.to_string()))
        };
        a.dates.iter().filter(|d| !matches!(d, Period::Per(u) if length_there(u))).cloned().collect()
    };
    if q.dates != c.dates && grouping_or_length(q, c) != grouping_or_length(c, q) {
        return Some(("dates", format!("dates or periods differ ({} vs {})", show(&q.dates), show(&c.dates))));
    }
    // A period named by its unit alone, replaced by another ("since the start of the quarter" /
    // "… of the year"): each side names a length the other names in no form.
    let lone_units = |a: &Facts, b: &Facts| -> BTreeSet<Amount> {
        a.bare_units.iter().filter(|u| !b.bare_units.contains(u) && !b.numbers.contains(u)).cloned().collect()
    };
    let (qu, cu) = (lone_units(q, c), lone_units(c, q));
    if !qu.is_empty() && !cu.is_empty() {
        return Some(("dates", format!("periods differ ({} vs {})", show(&qu), show(&cu))));
    }
    None
}

/// The facts after amounts, dates and "this Sunday" / "Sundays", in their order.
fn the_rest(k: &Knowledge, q: &Facts, c: &Facts) -> Option<(&'static str, String)> {
    // "total" is the default reading of an amount: it only conflicts with another kind of figure.
    let strip = |s: &BTreeSet<&'static str>| -> BTreeSet<&'static str> {
        s.iter().copied().filter(|a| *a != "total").collect()
    };
    // "How many students per teacher" asks for what the other calls the student-to-teacher ratio.
    let as_ratio = |a: BTreeSet<&'static str>, f: &Facts, other: &BTreeSet<&'static str>| {
        if f.per_thing && other.contains("ratio") && !other.contains("count") && a.contains("count") {
            a.into_iter().map(|x| if x == "count" { "ratio" } else { x }).collect()
        } else {
            a
        }
    };
    let (qa, ca) = (strip(&q.aggregations), strip(&c.aggregations));
    let (qa, ca) = (as_ratio(qa.clone(), q, &ca), as_ratio(ca, c, &qa));
    // A figure one side names and the other leaves to a word that may carry it ("churn rate" /
    // "what percentage", "tallest" / "highest"); a figure against another figure always counts.
    let unexplained = |a: &BTreeSet<&'static str>, other: &Facts, other_names: &BTreeSet<&'static str>| {
        let explained = |x: &&str| other_names.contains(x) || (other_names.is_empty() && other.implied.contains(x));
        !a.iter().all(explained)
    };
    // One side naming a figure the other leaves to its words ("How many are left" / "the
    // remaining stock", "best way to" / "how do I") is wording: see `implicit_figure`.
    if qa != ca && !qa.is_empty() && !ca.is_empty() && (unexplained(&qa, c, &ca) || unexplained(&ca, q, &qa)) {
        return Some((
            "figure_asked",
            format!("the figure asked for differs ({} vs {})", show(&q.aggregations), show(&c.aggregations)),
        ));
    }
    if !q.relative.is_empty() && !c.relative.is_empty() && q.relative.is_disjoint(&c.relative) {
        return Some((
            "which_one",
            format!("one asks about the {} one, the other about the {} one", show(&q.relative), show(&c.relative)),
        ));
    }
    if q.comparators != c.comparators && !q.comparators.is_empty() && !c.comparators.is_empty() {
        return Some((
            "comparison",
            format!("comparison direction differs ({} vs {})", show(&q.comparators), show(&c.comparators)),
        ));
    }
    if q.scope != c.scope {
        return Some(("scope_words", format!("scope words differ ({} vs {})", show(&q.scope), show(&c.scope))));
    }
    // "all" is often a filler ("show all orders"): only a quantifier against another one counts.
    if !q.quantifiers.is_empty() && !c.quantifiers.is_empty() && q.quantifiers != c.quantifiers {
        return Some((
            "quantifiers",
            format!("quantifiers differ ({} vs {})", show(&q.quantifiers), show(&c.quantifiers)),
        ));
    }
    if let Some(((x, y), op)) = q.joined.iter().find(|(k, op)| c.joined.get(*k).is_some_and(|o| o != *op)) {
        return Some((
            "and_or",
            format!(
                "\"{x}\" and \"{y}\" joined by \"{op}\" in one, by \"{}\" in the other",
                c.joined[&(x.clone(), y.clone())]
            ),
        ));
    }
    if let Some((w, d)) = q.determined.iter().find(|(w, d)| c.determined.get(*w).is_some_and(|o| o != *d)) {
        let other = if *d == "a" { "every" } else { "a" };
        return Some(("quantifiers", format!("quantifiers differ ({d} {w} vs {other} {w})")));
    }
    if let Some((w, st)) = q.states.iter().find(|(w, st)| c.states.get(*w).is_some_and(|o| o != *st)) {
        let other = if *st == "in" { "out of" } else { "in" };
        return Some(("opposite_states", format!("opposite states ({st} {w} vs {other} {w})")));
    }
    for a in &q.concepts {
        if c.concepts.contains(a) {
            continue;
        }
        if let Some(b) = k.antonyms(a).iter().find(|b| c.concepts.contains(*b) && !q.concepts.contains(*b)) {
            return Some(("opposite_words", format!("opposite words ({a} vs {b})")));
        }
    }
    None
}
