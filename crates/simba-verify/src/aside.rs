//! Words about the asker rather than the question: a closing sentence or clause with the asker's
//! purpose ("I need it for a report.", "Asking for the weekly standup :)") or thanks ("Thanks a
//! lot!"), a closing "for my manager", greetings and pleasantries before the question ("Hey team,",
//! "Real quick:", "Sorry to bother you so late,") and emoticons. They change no answer, so they
//! are dropped before the checks read the text.
//!
//! Only whole clauses made of the closed lists below are dropped: a clause that adds a condition
//! on the data ("Only for enterprise customers.", ", excluding refunds") has other words and stays.

use crate::token::{Kind, Tok};

/// The asker.
const ASKER: &[&str] =
    &["i", "i'm", "im", "i'd", "i'll", "i've", "we", "we're", "we'd", "we'll", "we've", "me", "my", "our", "us"];

/// Words that tie a purpose clause together: "I need it for …", "asking for the …", "prepping our …".
const LINKS: &[&str] = &[
    "it",
    "it's",
    "this",
    "that",
    "these",
    "those",
    "them",
    "the",
    "a",
    "an",
    "for",
    "to",
    "in",
    "into",
    "on",
    "so",
    "and",
    "need",
    "needs",
    "needed",
    "want",
    "wanted",
    "ask",
    "asking",
    "asked",
    "prepare",
    "preparing",
    "prep",
    "prepping",
    "build",
    "building",
    "put",
    "putting",
    "together",
    "use",
    "using",
    "present",
    "presenting",
    "send",
    "sending",
    "write",
    "writing",
    "working",
    "going",
    "is",
    "am",
    "are",
    "numbers",
    "figures",
    "data",
    "info",
    "stats",
];

/// What the answer is for: a document or an occasion.
const PURPOSES: &[&str] = &[
    "report",
    "reports",
    "reporting",
    "meeting",
    "meetings",
    "presentation",
    "deck",
    "slide",
    "slides",
    "standup",
    "stand-up",
    "memo",
    "email",
    "demo",
    "pitch",
    "briefing",
    "sync",
    "recap",
    "spreadsheet",
    "writeup",
    "write-up",
];

/// Whom the answer is for: only with the asker's own "my" / "our" ("for my manager").
const AUDIENCES: &[&str] = &[
    "boss",
    "manager",
    "team",
    "board",
    "lead",
    "director",
    "execs",
    "leadership",
    "stakeholders",
    "client",
    "clients",
];

/// Words that may qualify the occasion ("the weekly standup", "tomorrow's board meeting").
const OCCASIONS: &[&str] = &[
    "weekly",
    "daily",
    "monthly",
    "quarterly",
    "annual",
    "yearly",
    "tomorrow",
    "tomorrow's",
    "today",
    "today's",
    "next",
    "upcoming",
    "morning",
    "afternoon",
    "week's",
    "month's",
    "all-hands",
    "exec",
    "team",
    "board",
    "client",
    "sales",
];

/// Thanks and chatter after the question ("thanks so much", "cheers all", "lol").
const THANKS: &[&str] = &[
    "thanks",
    "thank",
    "thx",
    "ty",
    "cheers",
    "appreciate",
    "appreciated",
    "you",
    "so",
    "much",
    "a",
    "lot",
    "lots",
    "tons",
    "again",
    "in",
    "advance",
    "all",
    "guys",
    "folks",
    "everyone",
    "team",
    "please",
    "pls",
    "plz",
    "lol",
    "haha",
    "xd",
    "great",
    "awesome",
];
/// Words that make a clause thanks (the others in THANKS only go with one of these).
const THANKING: &[&str] = &["thanks", "thank", "thx", "ty", "cheers", "appreciate", "appreciated", "lol", "haha", "xd"];

/// A greeting before the question ("Hey team,", "Hi all:", "Real quick:").
const GREETING: &[&str] = &[
    "hey", "hi", "hello", "yo", "team", "all", "folks", "guys", "everyone", "real", "quick", "quickly", "question",
    "so", "ok", "okay", "um", "good", "morning",
];
const GREETING_WORDS: &[&str] = &["hey", "hi", "hello", "yo", "real", "quick", "quickly"];

/// Pleasantries before the question ("hope you're having a good day", "sorry to bother you so
/// late", "and apologies in advance if this is a silly question").
const PLEASANTRY: &[&str] = &[
    "hope",
    "hoping",
    "sorry",
    "apologies",
    "apologise",
    "apologize",
    "you",
    "you're",
    "youre",
    "you've",
    "are",
    "is",
    "all",
    "everything",
    "well",
    "good",
    "great",
    "nice",
    "lovely",
    "fine",
    "having",
    "had",
    "a",
    "an",
    "the",
    "day",
    "week",
    "weekend",
    "morning",
    "afternoon",
    "evening",
    "doing",
    "to",
    "bother",
    "bothering",
    "disturb",
    "trouble",
    "so",
    "late",
    "early",
    "again",
    "and",
    "in",
    "advance",
    "if",
    "this",
    "it",
    "it's",
    "silly",
    "dumb",
    "stupid",
    "basic",
    "obvious",
    "question",
    "i",
    "i'm",
    "im",
    "there",
    "hi",
    "hello",
    "hey",
    "hiya",
    "really",
];
/// Words that make a clause a pleasantry (the others in PLEASANTRY only go with one of these).
const PLEASING: &[&str] = &["hope", "hoping", "sorry", "apologies", "apologise", "apologize"];

/// The text with emoticons (":)", ":-D", ";P", "<3") read as the end of a sentence.
pub fn without_emoticons(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut j = i + 1;
        if matches!(c, ':' | ';' | '=') {
            if chars.get(j) == Some(&'-') {
                j += 1;
            }
            let face = chars
                .get(j)
                .is_some_and(|f| matches!(f, ')' | '(' | 'D' | 'P' | 'p' | 'O' | 'o' | '3' | '/' | '|' | ']' | '['));
            // ":D" only when no letter follows (":Done" is no face).
            if face && !chars.get(j + 1).is_some_and(|n| n.is_alphanumeric()) {
                out.push('.');
                i = j + 1;
                continue;
            }
        }
        if c == '<' && chars.get(i + 1) == Some(&'3') && !chars.get(i + 2).is_some_and(|n| n.is_alphanumeric()) {
            out.push('.');
            i += 2;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// `toks` (as scanned: words and boundaries) without the closing and opening asides.
pub fn drop_asides(mut toks: Vec<Tok>) -> Vec<Tok> {
    // Closing clauses, from the last: "I need it for a report. Thanks!".
    loop {
        let end = toks.iter().rposition(|t| t.kind != Kind::Punct).map_or(0, |p| p + 1);
        let start = toks[..end].iter().rposition(|t| t.kind == Kind::Punct).map_or(0, |p| p + 1);
        let words = lower(&toks[start..end]);
        let question_before = toks[..start].iter().any(|t| t.kind != Kind::Punct);
        if !question_before || !(purpose(&words) || thanks(&words)) {
            break;
        }
        toks.truncate(start);
    }
    closing_for_me(&mut toks);
    // Opening greetings and pleasantries, one clause at a time, while a question follows.
    while let Some(p) = toks.iter().position(|t| t.kind == Kind::Punct) {
        let words = lower(&toks[..p]);
        let question_after = toks[p..].iter().any(|t| t.kind != Kind::Punct);
        let greeting = made_of(&words, &[GREETING], GREETING_WORDS) || made_of(&words, &[PLEASANTRY], GREETING_WORDS);
        let pleasantry = made_of(&words, &[PLEASANTRY], PLEASING);
        if !question_after || words.is_empty() || !(greeting || pleasantry) {
            break;
        }
        toks.drain(..=p);
    }
    toks
}

fn lower(toks: &[Tok]) -> Vec<String> {
    toks.iter().map(|t| t.w.to_lowercase()).collect()
}

/// "I need it for a report", "Asking for the weekly standup", "for my boss".
fn purpose(words: &[String]) -> bool {
    let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
    let known =
        words.iter().all(|w| [ASKER, LINKS, PURPOSES, AUDIENCES, OCCASIONS].iter().any(|l| l.contains(&w.as_str())));
    known && (has(PURPOSES) || (has(AUDIENCES) && has(ASKER)))
}

fn thanks(words: &[String]) -> bool {
    made_of(words, &[THANKS, ASKER], THANKING)
}

/// A clause of words each in one of `lists`, with at least one of `marks` (the words that make it
/// that kind of clause).
fn made_of(words: &[String], lists: &[&[&str]], marks: &[&str]) -> bool {
    words.iter().all(|w| lists.iter().any(|l| l.contains(&w.as_str())))
        && words.iter().any(|w| marks.contains(&w.as_str()))
}

/// A question closing on "for my/our <purpose or audience>" ("… in July for my manager"): the
/// phrase is dropped, the question before it stays.
fn closing_for_me(toks: &mut Vec<Tok>) {
    let end = toks.iter().rposition(|t| t.kind != Kind::Punct).map_or(0, |p| p + 1);
    let Some(for_at) = toks[..end].iter().rposition(|t| t.kind == Kind::Punct || t.w.eq_ignore_ascii_case("for"))
    else {
        return;
    };
    if toks[for_at].kind == Kind::Punct || for_at == 0 || toks[for_at - 1].kind == Kind::Punct {
        return;
    }
    let words = lower(&toks[for_at + 1..end]);
    let Some((head, mods)) = words.split_last() else { return };
    let mine = mods.first().is_some_and(|w| matches!(w.as_str(), "my" | "our"));
    let about = PURPOSES.contains(&head.as_str()) || AUDIENCES.contains(&head.as_str());
    if mine && about && mods[1..].iter().all(|w| OCCASIONS.contains(&w.as_str())) {
        toks.drain(for_at..end);
    }
}
