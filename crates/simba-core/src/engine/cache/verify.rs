//! Checks on the best candidates before a semantic hit is served. Raw embedding cosine cannot tell
//! "open on Sundays" from "closed on Sundays", or "sales in 2023" from "sales in 2024"; these
//! checks refuse a candidate whose *answer-changing details* disagree with the query: numbers,
//! dates and periods, negation, names and identifiers, direction words (more/less, before/after,
//! open/closed …), aggregations (total/average/count …) and comparisons.
//!
//! Each check is conservative in the same direction: when in doubt it refuses, because a wrong
//! answer served costs more than one LLM call.

use std::collections::BTreeSet;

/// Why `candidate` must not answer `query`, or None when no check disagrees.
pub fn disagreement(query: &str, candidate: &str) -> Option<String> {
    let q = Features::of(query);
    let c = Features::of(candidate);
    if q.numbers != c.numbers {
        return Some(format!("numbers differ ({} vs {})", show(&q.numbers), show(&c.numbers)));
    }
    if q.dates != c.dates {
        return Some(format!("dates or periods differ ({} vs {})", show(&q.dates), show(&c.dates)));
    }
    if q.negations % 2 != c.negations % 2 {
        return Some("one is negated and the other is not".into());
    }
    if q.names != c.names {
        return Some(format!("names differ ({} vs {})", show(&q.names), show(&c.names)));
    }
    if q.polar != c.polar {
        return Some(format!("direction words differ ({} vs {})", show(&q.polar), show(&c.polar)));
    }
    if q.aggregations != c.aggregations {
        return Some(format!("aggregations differ ({} vs {})", show(&q.aggregations), show(&c.aggregations)));
    }
    None
}

fn show(s: &BTreeSet<String>) -> String {
    if s.is_empty() {
        "none".into()
    } else {
        s.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

#[derive(Debug, Default)]
struct Features {
    numbers: BTreeSet<String>,
    dates: BTreeSet<String>,
    negations: usize,
    names: BTreeSet<String>,
    polar: BTreeSet<String>,
    aggregations: BTreeSet<String>,
}

const NEGATIONS: &[&str] = &[
    "not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "without", "cannot", "exclude", "excluding",
    "except", "lack", "lacking", "fail", "failed", "unless",
];

const SPELLED: &[(&str, &str)] = &[
    ("zero", "0"), ("one", "1"), ("two", "2"), ("three", "3"), ("four", "4"), ("five", "5"), ("six", "6"),
    ("seven", "7"), ("eight", "8"), ("nine", "9"), ("ten", "10"), ("eleven", "11"), ("twelve", "12"),
    ("fifteen", "15"), ("twenty", "20"), ("thirty", "30"), ("fifty", "50"), ("hundred", "100"),
    ("thousand", "1000"), ("million", "1000000"), ("billion", "1000000000"), ("dozen", "12"), ("half", "0.5"),
    ("single", "1"), ("double", "2"), ("twice", "2"), ("once", "1"),
];

const MONTHS: &[&str] = &[
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december",
];
const MONTH_ABBR: &[&str] = &["jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"];
const DAYS: &[&str] = &["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "weekend", "weekday", "weekdays", "weekends"];
const RELATIVE: &[&str] = &["today", "tomorrow", "yesterday", "tonight", "now", "currently", "current", "previous", "last", "next", "this", "past", "upcoming", "ago", "recent", "recently"];
const PERIODS: &[(&str, &str)] = &[
    ("daily", "day"), ("day", "day"), ("days", "day"), ("weekly", "week"), ("week", "week"), ("weeks", "week"),
    ("monthly", "month"), ("month", "month"), ("months", "month"), ("quarterly", "quarter"), ("quarter", "quarter"),
    ("quarters", "quarter"), ("q1", "q1"), ("q2", "q2"), ("q3", "q3"), ("q4", "q4"), ("yearly", "year"), ("annual", "year"),
    ("annually", "year"), ("year", "year"), ("years", "year"), ("ytd", "ytd"), ("hourly", "hour"), ("hour", "hour"),
    ("hours", "hour"), ("minute", "minute"), ("minutes", "minute"), ("morning", "morning"), ("evening", "evening"),
    ("night", "night"), ("afternoon", "afternoon"), ("fiscal", "fiscal"),
];

/// Direction words: each group's members answer different questions.
const POLAR: &[&[&str]] = &[
    &["open", "opens", "opened", "opening"],
    &["closed", "close", "closes", "closing", "shut"],
    &["increase", "increased", "increases", "increasing", "rise", "rose", "grow", "grew", "growth", "up", "gain", "gained"],
    &["decrease", "decreased", "decreases", "decreasing", "fall", "fell", "drop", "dropped", "decline", "declined", "down", "loss", "lost", "shrink"],
    &["more", "greater", "higher", "above", "over", "exceed", "exceeds", "exceeding", "larger", "bigger", "longer", "older", "after", "later", "since"],
    &["less", "fewer", "lower", "below", "under", "smaller", "shorter", "younger", "before", "earlier", "until", "prior"],
    &["buy", "buys", "bought", "purchase", "purchased", "purchases", "inbound", "import", "imports", "imported", "incoming", "received", "receive"],
    &["sell", "sells", "sold", "sale", "sales", "outbound", "export", "exports", "exported", "outgoing", "sent", "send", "shipped"],
    &["add", "added", "create", "created", "insert", "enable", "enabled", "start", "started", "begin", "activate", "active", "on", "include", "including", "with", "win", "won", "success", "successful", "succeeded", "pass", "passed", "accepted", "approved"],
    &["remove", "removed", "delete", "deleted", "drop", "disable", "disabled", "stop", "stopped", "end", "ended", "deactivate", "inactive", "off", "lose", "lost", "failure", "failed", "rejected", "denied", "cancelled", "canceled", "churned"],
    &["first", "earliest", "oldest", "ascending", "asc", "beginning"],
    &["latest", "newest", "descending", "desc", "final"],
    &["profit", "revenue", "income", "earnings"],
    &["cost", "costs", "expense", "expenses", "spend", "spending", "spent"],
    &["male", "men", "man"],
    &["female", "women", "woman"],
    &["new", "newly"],
    &["returning", "existing", "repeat"],
    &["north", "northern"],
    &["south", "southern"],
    &["east", "eastern"],
    &["west", "western"],
];

const AGGREGATIONS: &[(&str, &str)] = &[
    ("average", "avg"), ("avg", "avg"), ("mean", "avg"), ("median", "median"), ("total", "sum"), ("sum", "sum"),
    ("overall", "sum"), ("count", "count"), ("many", "count"), ("number", "count"), ("max", "max"), ("maximum", "max"),
    ("highest", "max"), ("largest", "max"), ("biggest", "max"), ("most", "max"), ("top", "max"), ("best", "max"),
    ("peak", "max"), ("min", "min"), ("minimum", "min"), ("lowest", "min"), ("smallest", "min"), ("least", "min"),
    ("fewest", "min"), ("bottom", "min"), ("worst", "min"), ("percentage", "ratio"), ("percent", "ratio"),
    ("share", "ratio"), ("ratio", "ratio"), ("rate", "ratio"), ("proportion", "ratio"), ("distinct", "distinct"),
    ("unique", "distinct"), ("per", "per"), ("each", "per"), ("every", "per"), ("trend", "trend"),
    ("all", "all"), ("any", "any"), ("some", "any"), ("only", "only"), ("growth", "trend"),
];

/// Words that start sentences or are capitalised for emphasis, not names.
const NOT_NAMES: &[&str] = &[
    "i", "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "show", "list", "give", "tell", "find",
    "get", "can", "could", "would", "should", "is", "are", "was", "were", "do", "does", "did", "the", "a", "an", "please",
    "total", "average", "count", "compare", "display", "return", "in", "on", "for", "of", "from", "by", "to", "and", "or",
    "my", "our", "we", "you", "it", "its", "their", "this", "that", "these", "those", "top", "all", "any", "hi", "hey",
    "ok", "okay", "also", "and", "but", "then", "so", "if", "as", "at", "with", "per",
];

fn normalise_word(w: &str) -> String {
    w.trim_matches(|c: char| !c.is_alphanumeric() && c != '%' && c != '.' && c != '-' && c != '_' && c != '\'')
        .trim_end_matches(['.', '\''])
        .to_string()
}

impl Features {
    fn of(text: &str) -> Self {
        let mut f = Features::default();
        // Quoted strings are names/literals as they stand.
        for (i, part) in text.split(['"', '“', '”']).enumerate() {
            if i % 2 == 1 && !part.trim().is_empty() {
                f.names.insert(part.trim().to_lowercase());
            }
        }
        let raw: Vec<&str> = text.split_whitespace().collect();
        let mut sentence_start = true;
        for (i, token) in raw.iter().enumerate() {
            let word = normalise_word(token);
            if word.is_empty() {
                sentence_start = token.ends_with(['.', '?', '!']);
                continue;
            }
            let lower = word.to_lowercase();
            // Contractions: "don't", "isn't", "can't", "won't".
            if lower.ends_with("n't") || lower == "cant" || lower == "dont" || lower == "wont" || lower == "isnt" {
                f.negations += 1;
            } else if NEGATIONS.contains(&lower.as_str()) {
                f.negations += 1;
            }
            // Numbers: digits (with separators, %, currency, k/m suffix) and spelled numbers.
            let numeric: String = lower.chars().filter(|c| c.is_ascii_digit() || *c == '.' || *c == '%').collect();
            if lower.chars().any(|c| c.is_ascii_digit()) {
                let is_year = numeric.len() == 4 && (numeric.starts_with("19") || numeric.starts_with("20"));
                let mut n = numeric.trim_matches('.').replace(',', "");
                if n.contains('.') && !n.contains('%') {
                    n = n.trim_end_matches('0').trim_end_matches('.').to_string();
                }
                let suffix = if lower.ends_with('k') { "k" } else if lower.ends_with('m') && !lower.ends_with("am") && !lower.ends_with("pm") { "m" } else { "" };
                if let Some(q) = lower.strip_prefix('q').filter(|q| q.len() == 1 && q.chars().all(|c| c.is_ascii_digit())) {
                    f.dates.insert(format!("q{q}"));
                } else if is_year {
                    f.dates.insert(n);
                } else {
                    f.numbers.insert(format!("{n}{suffix}"));
                }
            } else if let Some((_, n)) = SPELLED.iter().find(|(w, _)| *w == lower) {
                f.numbers.insert(n.to_string());
            }
            // Dates and periods.
            if MONTHS.contains(&lower.as_str()) && !(lower == "may" && i > 0 && !word.starts_with('M')) {
                f.dates.insert(lower[..3].to_string());
            } else if MONTH_ABBR.contains(&lower.as_str()) && word.chars().next().is_some_and(char::is_uppercase) {
                f.dates.insert(lower[..3].to_string());
            }
            if DAYS.contains(&lower.as_str()) {
                f.dates.insert(lower.trim_end_matches('s').to_string());
            }
            if RELATIVE.contains(&lower.as_str()) {
                let canon = match lower.as_str() {
                    "previous" | "past" | "ago" => "last",
                    "upcoming" => "next",
                    "currently" | "current" | "now" => "this",
                    "recently" => "recent",
                    other => other,
                };
                f.dates.insert(canon.to_string());
            }
            if let Some((_, p)) = PERIODS.iter().find(|(w, _)| *w == lower) {
                f.dates.insert(p.to_string());
            }
            // Direction words.
            for (g, group) in POLAR.iter().enumerate() {
                if group.contains(&lower.as_str()) {
                    f.polar.insert(format!("{}", group[0]));
                    let _ = g;
                }
            }
            if let Some((_, a)) = AGGREGATIONS.iter().find(|(w, _)| *w == lower) {
                f.aggregations.insert(a.to_string());
            }
            // Names: capitalised words not at a sentence start, acronyms, identifiers.
            let first_upper = word.chars().next().is_some_and(char::is_uppercase);
            let acronym = word.len() >= 2 && word.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) && word.chars().any(|c| c.is_ascii_uppercase());
            let identifier = word.contains('_') || (word.chars().any(|c| c.is_ascii_digit()) && word.chars().any(char::is_alphabetic));
            let is_calendar = MONTHS.contains(&lower.as_str()) || DAYS.contains(&lower.as_str()) || MONTH_ABBR.contains(&lower.as_str());
            if (acronym || identifier || (first_upper && !sentence_start)) && !NOT_NAMES.contains(&lower.as_str()) && !is_calendar && !lower.starts_with('q') {
                f.names.insert(lower.trim_end_matches("'s").to_string());
            }
            sentence_start = token.ends_with(['.', '?', '!', ':']);
        }
        // "how many" counts; a lone "many"/"number" elsewhere too — keep as is, both sides are treated alike.
        f
    }
}

#[cfg(test)]
mod tests {
    use super::disagreement;

    #[test]
    fn paraphrases_pass() {
        for (a, b) in [
            ("How many orders did we get in March?", "What is the number of orders in March?"),
            ("What was total revenue in 2023?", "Total revenue for 2023?"),
            ("Show the top 5 customers by sales", "Which 5 customers have the highest sales?"),
            ("average order value last month", "What was the mean order value last month?"),
            ("Which stores are in Berlin?", "List the stores located in Berlin"),
        ] {
            assert_eq!(disagreement(a, b), None, "{a} / {b}");
        }
    }

    #[test]
    fn traps_are_refused() {
        for (a, b) in [
            ("Which stores are open on Sundays?", "Which stores are closed on Sundays?"),
            ("Total revenue in 2023", "Total revenue in 2024"),
            ("Show the top 5 customers", "Show the top 10 customers"),
            ("Orders shipped to Germany", "Orders shipped to France"),
            ("Customers who bought in May", "Customers who bought in June"),
            ("Users who logged in", "Users who have not logged in"),
            ("average order value", "total order value"),
            ("orders above $100", "orders below $100"),
            ("sales last week", "sales this week"),
            ("revenue by region for SKU-1042", "revenue by region for SKU-2211"),
        ] {
            assert!(disagreement(a, b).is_some(), "{a} / {b} passed");
        }
    }
}
