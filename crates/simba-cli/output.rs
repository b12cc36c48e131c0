//! Human-readable text for the terminal. JSON output is the serialised answer itself.

use simba_core::api::StatusReport;
use simba_core::profiles::ProfileView;
use simba_core::sources::SourceStatus;
use std::borrow::Cow;
use std::fmt::Write;

/// Text from outside this program (server answers, cached entries, query text, files), made safe
/// to print on a terminal: C0 and C1 controls (ESC starts the sequences that move the cursor,
/// clear the screen or set the window title; \r and backspace overwrite what was printed),
/// bidirectional overrides and line separators are written as escapes such as `\x1b` and
/// `\u{202e}`. Everything else, including non-Latin text, is printed as it is.
pub fn term(s: &str) -> Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control() // C0, DEL and C1
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
            || matches!(c, '\u{2028}' | '\u{2029}')
    }
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && unsafe_char(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`term`] for text shown as a block: its line breaks stay line breaks.
pub fn term_lines(s: &str) -> String {
    s.split('\n').map(|line| term(line).into_owned()).collect::<Vec<_>>().join("\n")
}

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

pub fn pct(r: Option<f64>) -> String {
    r.map(|r| format!("{:.1}%", r * 100.0)).unwrap_or_else(|| "–".into())
}

pub fn status_text(r: &StatusReport) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "profile {}{}   at {}",
        term(&r.profile),
        if r.read_only { " (read-only)" } else { "" },
        r.collected_at
    );
    let h = &r.host;
    let _ = writeln!(
        o,
        "host      cpu {:.1}% of {} cores, load {:.2}; memory {} / {} used",
        h.cpu_percent,
        h.cpu_count,
        h.load_average_1m,
        bytes(h.memory_used_bytes),
        bytes(h.memory_total_bytes)
    );
    let e = &r.engine;
    let _ = writeln!(
        o,
        "engine    {} ({}), {} entries in {} namespaces, hit rate {}",
        term(&e.embedding_model),
        if e.embedding_model_ready { "ready" } else { "not ready" },
        e.entries,
        e.namespaces,
        pct(e.hit_rate)
    );
    if let Some(p) = &e.embedding_model_problem {
        let _ = writeln!(o, "          ! {}", term(p));
    }
    match &r.redis {
        SourceStatus::Ok { data: d } => {
            let _ = writeln!(
                o,
                "redis     {} {}: memory {} / {} ({}), hit rate {} lifetime, {} interval; {} keys, {} evicted, {} expired",
                term(&d.version),
                term(&d.role),
                bytes(d.used_memory_bytes),
                if d.maxmemory_bytes == 0 { "no limit".into() } else { bytes(d.maxmemory_bytes) },
                term(&d.maxmemory_policy),
                pct(d.hit_rate_lifetime),
                pct(d.hit_rate_interval),
                d.keys_total,
                d.evicted_keys,
                d.expired_keys
            );
        }
        SourceStatus::Error { error } => {
            let _ = writeln!(o, "redis     error: {}", term(&error.message));
        }
        SourceStatus::NotConfigured => {
            let _ = writeln!(o, "redis     not configured");
        }
    }
    match &r.postgres {
        SourceStatus::Ok { data: d } => {
            let _ = writeln!(
                o,
                "postgres  {} db {}: {} / {} connections, cache hit {}, size {}",
                term(&d.version),
                term(&d.database),
                d.connections,
                d.max_connections,
                pct(d.cache_hit_ratio),
                bytes(d.database_size_bytes.max(0) as u64)
            );
            if let Some(why) = &d.statements_unavailable {
                let _ = writeln!(o, "          ! {}", term(why));
            }
            if !d.top_statements.is_empty() {
                let _ = writeln!(
                    o,
                    "          {:>10} {:>10} {:>10} {:>12}  query",
                    "calls", "mean ms", "plan ms", "total ms"
                );
                for s in &d.top_statements {
                    let q: String = s.query.split_whitespace().collect::<Vec<_>>().join(" ");
                    let q: String = q.chars().take(80).collect();
                    let q = term(&q);
                    let _ = writeln!(
                        o,
                        "          {:>10} {:>10.2} {:>10.2} {:>12.1}  {}",
                        s.calls, s.mean_exec_ms, s.mean_plan_ms, s.total_ms, q
                    );
                }
            }
        }
        SourceStatus::Error { error } => {
            let _ = writeln!(o, "postgres  error: {}", term(&error.message));
        }
        SourceStatus::NotConfigured => {
            let _ = writeln!(o, "postgres  not configured");
        }
    }
    o
}

pub fn profiles_text(list: &[ProfileView]) -> String {
    let mut o = String::new();
    for p in list {
        let _ = writeln!(o, "{} [{}]{}", term(&p.name), p.origin, if p.read_only { " read-only" } else { "" });
        for e in &p.endpoints {
            let _ = writeln!(o, "  {:<14} {}", format!("{:?}", e.service).to_lowercase(), term(&e.url));
        }
    }
    o
}

pub fn eval_text(r: &simba_core::engine::eval::EvalReport) -> String {
    use simba_core::engine::eval::ServeCounts;
    let line = |name: &str, c: &ServeCounts| {
        format!(
            "{:<18} {:>5}/{:<5} {:>7}   {:>4}/{:<4} {:>7} [{}]   {:>7}\n",
            term(name),
            c.same_served,
            c.same_total,
            pct(c.same_served_rate),
            c.different_served,
            c.different_total,
            pct(c.false_hit_rate),
            c.false_hit_ci95.map(|(a, b)| format!("{:.1}–{:.1}%", a * 100.0, b * 100.0)).unwrap_or_else(|| "–".into()),
            pct(c.precision)
        )
    };
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} pairs, model {}, threshold {:.2}, candidate checks {}, judge {}",
        r.pairs,
        term(&r.model),
        r.threshold,
        if r.verify_candidates { "on" } else { "off" },
        match (r.judge_min_score, r.judge_floor) {
            (Some(s), Some(f)) => format!("on (score ≥ {s:.3}, reads down to similarity {f:.2})"),
            _ => "off".into(),
        }
    );
    if let Some(p) = &r.judge_problem {
        let _ = writeln!(o, "warning: the judge could not load, the checks decided alone: {}", term(p));
    }
    let _ = writeln!(
        o,
        "{:<18} {:>11} {:>7}   {:>9} {:>7} {:<15}   {:>7}",
        "", "same served", "", "false hits", "", "(95% CI)", "precision"
    );
    o.push_str(&line("overall", &r.overall));
    for (cat, c) in &r.by_category {
        o.push_str(&line(cat, c));
    }
    let _ = writeln!(
        o,
        "\nrefusals by rule: cost (same-answer pairs refused) / caught (traps refused) / overruled by the judge"
    );
    for t in &r.by_rule {
        let judged = if t.judge_may_overrule { " (the judge may overrule)" } else { "" };
        let _ = writeln!(
            o,
            "  {:<22} {:>5} / {:>5} / {:>5}{judged}",
            term(&t.rule),
            t.same_refused,
            t.traps_caught,
            t.overruled
        );
    }
    let _ = writeln!(o, "\nthreshold sweep (checks and judge | raw cosine): same served / false hits");
    for p in r.sweep.iter().step_by(5) {
        let _ = writeln!(
            o,
            "  {:.2}   {:>7} / {:>7}   |   {:>7} / {:>7}",
            p.threshold,
            pct(p.verified.same_served_rate),
            pct(p.verified.false_hit_rate),
            pct(p.raw.same_served_rate),
            pct(p.raw.false_hit_rate)
        );
    }
    match r.suggested_threshold {
        Some(t) => {
            let _ = writeln!(o, "lowest threshold with at most 2% false hits (verified): {t:.2}");
        }
        None => {
            let _ = writeln!(o, "no threshold in 0.50–1.00 keeps false hits at or below 2%");
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::{term, term_lines};

    #[test]
    fn hostile_text_is_shown_escaped() {
        let cases = [
            ("\x1b[2J\x1b[H", r"\x1b[2J\x1b[H"),
            ("\x1b]0;pwned\x07", r"\x1b]0;pwned\x07"),
            ("ok\rFAKE", r"ok\rFAKE"),
            ("abc\x08\x08\x08xyz", r"abc\x08\x08\x08xyz"),
            ("nul\0del\x7f", r"nul\x00del\x7f"),
            ("c1 csi \u{9b}31m", r"c1 csi \u{9b}31m"),
            ("invoice\u{202e}fdp.exe", r"invoice\u{202e}fdp.exe"),
            ("\u{2066}isolate\u{2069}\u{200f}", r"\u{2066}isolate\u{2069}\u{200f}"),
            ("line\u{2028}sep", r"line\u{2028}sep"),
            ("two\nlines\tand tab", r"two\nlines\tand tab"),
        ];
        for (hostile, shown) in cases {
            assert_eq!(term(hostile), shown, "{hostile:?}");
            assert!(!term(hostile).chars().any(|c| c.is_control()), "{hostile:?}");
        }
        // Ordinary text, accents and other scripts pass untouched (and are not copied).
        for plain in ["SELECT * FROM t WHERE a = $1", "café – 東京 – مرحبا", r"C:\path\x1b is literal"] {
            assert!(matches!(term(plain), std::borrow::Cow::Borrowed(_)), "{plain}");
        }
        assert_eq!(term_lines("first\nsecond\x1b[2J"), "first\nsecond\\x1b[2J");
    }
}
