//! Conversations: a lookup or a store may carry the chat its question was asked in, as messages
//! with roles, the last user message being the question.
//!
//! A follow-up ("how much does it cost?") means different things in different chats, and the same
//! thing in chats that only differ in wording, small talk or turns it does not depend on. So the
//! chat is not part of the key (an exact hash of the earlier turns never matched a reworded chat):
//! the cache reads the turns the last message depends on, writes them before it as one text (the
//! *asked text*), and decides on that text as on any question: similarity, the checks and the
//! judge. A stand-alone question in a chat depends on nothing, so it is asked as it is, and hits
//! the same question asked outside any chat, and the other way round.
//!
//! Which turns the last message depends on is read from the text, cheaply (no model): a message
//! that refers back (a pronoun, "what about", "the same", a leading "and"), is short, or shares a
//! content word with the turn before it depends on that turn; the walk goes back turn by turn while
//! each turn reached depends on the one before, skipping greetings and thanks, and reads at most
//! [`READ_MESSAGES`] messages. A chain that still depends on something beyond them is never served
//! (the decision would not have read what the question means).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One message of a chat. Fields other than `role` and `content` are ignored.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[ts(export)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Self {
        Self { role: Role::User, content: content.into() }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self { role: Role::Assistant, content: content.into() }
    }
}

/// The most recent earlier messages the decision reads to find what the last message depends on.
pub const READ_MESSAGES: usize = 24;

/// Splits a whole chat into its earlier messages and its question (the last message, which must
/// be the user's), saying what is wrong otherwise.
pub fn split_chat(messages: &[Message]) -> Result<(&[Message], &str), String> {
    let Some((last, earlier)) = messages.split_last() else {
        return Err("the conversation has no messages; its last message is the question".into());
    };
    if last.role != Role::User {
        return Err(format!(
            "the conversation's last message is from the {}; the question is the last message and must be the user's",
            role_name(last.role)
        ));
    }
    Ok((earlier, &last.content))
}

/// Reads a chat written as JSON: a list of `{"role", "content"}` messages, or an object with a
/// `messages` list (as chat APIs take them). Other fields are ignored.
pub fn parse_chat(json: &str) -> Result<Vec<Message>, String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("the conversation is not valid JSON: {e}"))?;
    let list = match value {
        serde_json::Value::Object(mut o) if o.contains_key("messages") => o.remove("messages").unwrap_or_default(),
        other => other,
    };
    serde_json::from_value(list).map_err(|e| {
        format!(
            "the conversation is not a list of {{\"role\": \"system\" | \"user\" | \"assistant\", \"content\": \"…\"}} messages: {e}"
        )
    })
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// What a question asks once the turns it depends on are read.
#[derive(Debug, Clone, PartialEq)]
pub struct Asked {
    /// The question itself (the chat's last message).
    pub question: String,
    /// The earlier messages the question depends on, oldest first (empty for a stand-alone one).
    pub context: Vec<Message>,
    /// Those messages and the question, as one text: what is embedded, checked and judged.
    pub text: String,
    /// The question depends on turns older than the decision reads: never served.
    pub beyond_reach: bool,
    /// The chat's system prompt, then the user's earlier turns in the window that the walk did
    /// not reach (small talk left out): the question may still lean on a detail there without
    /// saying so, so two chats' turns must name the same details (`compare_background`); and a
    /// name the chat says there (often the brand its bot speaks for) is one it knows.
    pub background: Vec<Message>,
}

impl Asked {
    /// Asked outside any chat: no turns it depends on and no earlier user turns (a system prompt
    /// may stand alone).
    pub fn outside_any_chat(&self) -> bool {
        self.context.is_empty() && user_turns(&self.background).next().is_none()
    }

    /// What a question asks with the turns it was found to depend on (an entry as stored, or a
    /// question asked on its own).
    pub fn stored(question: &str, context: Vec<Message>, background: Vec<Message>) -> Self {
        let text = asked_text(&context, question);
        Self { question: question.to_string(), context, text, beyond_reach: false, background }
    }
}

/// Reads what `question` asks, given the chat's `earlier` messages.
pub fn asked(earlier: &[Message], question: &str) -> Asked {
    let start = earlier.len().saturating_sub(READ_MESSAGES);
    let window = &earlier[start..];
    let mut context: Vec<Message> = Vec::new();
    let mut current = question.to_string();
    let mut i = window.len();
    let mut beyond_reach = false;
    // The window's messages before this index were not read into the context.
    let mut unread = 0;
    loop {
        // The user's previous turn (skipping small talk and system messages) and the assistant's
        // messages after it, which the current turn may answer or refer to.
        let mut between: Vec<&Message> = Vec::new();
        let mut previous = None;
        while i > 0 {
            i -= 1;
            let m = &window[i];
            match m.role {
                Role::User if !is_small_talk(&m.content) => {
                    previous = Some(m);
                    break;
                }
                Role::Assistant if !is_small_talk(&m.content) => between.push(m),
                _ => {}
            }
        }
        // The assistant's message just before the current turn, read only when the turn is a
        // short answer to its question ("Which cabin?" / "economy"): elsewhere the assistant's
        // words restate the user's, and reading them would make rewordings of the reply count.
        let replied_to =
            between.first().copied().filter(|a| a.content.trim_end().ends_with('?') && is_short_reply(&current));
        let Some(previous) = previous else {
            if let Some(a) = replied_to {
                context.push(a.clone());
            }
            if i == 0 && start > 0 && depends_on_anything(&current) {
                beyond_reach = true;
            }
            break;
        };
        let leans_back = if current == question {
            // The question itself: in a chat, it is about what the chat is about unless it
            // names what it asks about.
            !is_self_contained(&current) || continues_chat(&current, window)
        } else {
            between.iter().any(|a| shares_content_word(&current, &a.content)) || depends_on(&current, &previous.content)
        };
        if replied_to.is_none() && !leans_back {
            unread = i + 1;
            break;
        }
        if let Some(a) = replied_to {
            context.push(a.clone());
        }
        let said = without_small_talk(&previous.content);
        context.push(Message { role: previous.role, content: said.clone() });
        current = said;
        if context.iter().filter(|m| m.role == Role::User).count() >= MAX_CONTEXT_TURNS {
            // The chain goes on past what the decision reads, if the last turn read leans back.
            beyond_reach = depends_on_anything(&current) && (i > 0 || start > 0);
            unread = i;
            break;
        }
    }
    context.reverse();
    let text = asked_text(&context, question);
    let system = earlier.iter().filter(|m| m.role == Role::System && !m.content.trim().is_empty()).take(1).cloned();
    let unread_turns = window[..unread]
        .iter()
        .filter(|m| m.role == Role::User && !is_small_talk(&m.content))
        .map(|m| Message { role: Role::User, content: without_small_talk(&m.content) });
    let background = system.chain(unread_turns).collect();
    Asked { question: question.to_string(), context, text, beyond_reach, background }
}

/// Whether two chats' earlier user turns are about the same things (at least
/// `MIN_SHARED_CONVERSATION_WORDS` of their content words in common): one conversation with
/// details that may differ, not two unrelated ones.
pub fn one_conversation(a: &[Message], b: &[Message]) -> bool {
    let (wa, wb) = (content_words_of(user_turns(a)), content_words_of(user_turns(b)));
    !wa.is_empty() && !wb.is_empty() && share_in_common(&wa, &wb) >= MIN_SHARED_CONVERSATION_WORDS
}

/// The user's messages among `messages`.
fn user_turns(messages: &[Message]) -> impl Iterator<Item = &Message> {
    messages.iter().filter(|m| m.role == Role::User)
}

fn content_words_of<'m>(messages: impl Iterator<Item = &'m Message>) -> std::collections::BTreeSet<String> {
    messages.flat_map(|m| content_words(&m.content).collect::<Vec<_>>()).collect()
}

/// The share of two sets of words they have in common (0 when both are empty).
fn share_in_common(a: &std::collections::BTreeSet<String>, b: &std::collections::BTreeSet<String>) -> f32 {
    a.intersection(b).count() as f32 / a.union(b).count().max(1) as f32
}

/// At least this share of content words in common: two chats' earlier turns are one conversation.
const MIN_SHARED_CONVERSATION_WORDS: f32 = 0.3;

/// A question asked outside any chat, without the names a chat says in its `background` (its
/// system prompt, its earlier turns): "Can I take a Metro rental car into Canada?" meets "can I
/// take the car there?" asked of Metro's bot. Only words written as names go ("Metro"), and only
/// where the chat says them too, in any case.
pub fn without_names_the_chat_knows(question: &str, background: &[Message]) -> String {
    let known: std::collections::HashSet<String> = background.iter().flat_map(|m| words(&m.content)).collect();
    let pieces: Vec<&str> = question.split_whitespace().collect();
    let kept: Vec<&str> = pieces
        .iter()
        .enumerate()
        .filter(|(i, piece)| {
            let core = piece.trim_matches(|c: char| !c.is_alphanumeric());
            let core = core.strip_suffix("'s").or_else(|| core.strip_suffix("’s")).unwrap_or(core);
            let name = *i > 0 && core.chars().next().is_some_and(char::is_uppercase);
            !(name && known.contains(&core.to_lowercase()))
        })
        .map(|(_, p)| *p)
        .collect();
    kept.join(" ")
}

/// Two chats' earlier turns that their questions do not reach, where both have some: reworded or
/// not, they must name the same amounts, dates and names. A long chat where one early detail
/// changed ("Family 4 plan" / "Family 2 plan") would otherwise be served, the question and the
/// turns it visibly leans on being the same words.
pub fn compare_background(a: &[Message], b: &[Message]) -> Option<super::verify::Objection> {
    let joined = |m: &[Message]| user_turns(m).map(|m| m.content.as_str()).collect::<Vec<_>>().join(" ");
    let (a, b) = (joined(a), joined(b));
    if a.is_empty() || b.is_empty() {
        return None;
    }
    super::verify::details_differ(&a, &b)
        .map(|o| super::verify::Objection::new(o.rule, format!("the earlier turns name other details: {}", o.detail)))
}

/// The messages a question depends on and the question, as one text (an entry's is rebuilt from
/// what it stored).
pub fn asked_text(context: &[Message], question: &str) -> String {
    if context.is_empty() {
        return question.to_string();
    }
    let mut text = String::new();
    for m in context.iter().map(|m| m.content.as_str()).chain([question]) {
        let piece = m.trim();
        if piece.is_empty() {
            continue;
        }
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(piece);
        if !piece.ends_with(['.', '?', '!', ':', ';']) {
            text.push('.');
        }
    }
    // The question's own end mark is kept as it was written.
    if !question.trim().ends_with(['.', '?', '!', ':', ';']) && text.ends_with('.') {
        text.pop();
    }
    text
}

/// How two chats' earlier turns (each the turns its question depends on) compare, turn by turn
/// (the user's turns in order): `Err` with why they differ in substance (a turn more on one
/// side, or a check's objection about a fact), else the pairs of turns only reworded, which the
/// judge must read. Turn by turn, both ways: across whole chats the checks would match a word of
/// one turn with the same word in another ("Tier 1 is the frontline" / "Tier 2 handles
/// escalations"), and one way only they forgive words one side adds about the asker, which is
/// exactly where a user changes their mind ("keep the appeal going").
pub fn compare_turns(a: &[Message], b: &[Message]) -> Result<Vec<(String, String)>, String> {
    let turns = |ctx: &[Message]| user_turns(ctx).map(|m| m.content.clone()).collect::<Vec<_>>();
    let (ta, tb) = (turns(a), turns(b));
    if ta.len() != tb.len() {
        // Read as one text each, the same things said in more or fewer turns would pass to the
        // judge: tried, it served more rewordings and more traps (session 19 notes).
        return Err(format!("{} turns against {}", ta.len(), tb.len()));
    }
    let mut reworded = Vec::new();
    for (x, y) in ta.into_iter().zip(tb) {
        if words(&x).eq(words(&y)) {
            continue;
        }
        match super::verify::objection(&x, &y).or_else(|| super::verify::objection(&y, &x)) {
            Some(o) if !o.judge_may_overrule() => return Err(o.detail),
            _ => reworded.push((x, y)),
        }
        // Each reworded turn is one more pass of the judge, and one more chance to miss a change.
        if reworded.len() > MAX_REWORDED_TURNS {
            return Err(format!("more than {MAX_REWORDED_TURNS} turns reworded"));
        }
    }
    Ok(reworded)
}

/// Whether two chats ask the very same question after unrelated earlier turns: the same words,
/// neither leaning back (no pronoun pointing back, not short), and earlier turns about different
/// things (hardly a content word in common, none shared with the question). Such a question does
/// not depend on its chat, though alone it did not look self-contained.
pub fn same_question_in_unrelated_chats(a: &Asked, b: &Asked) -> bool {
    let norm = |q: &str| words(q).collect::<Vec<_>>();
    if a.context.is_empty() || b.context.is_empty() || norm(&a.question) != norm(&b.question) {
        return false;
    }
    if depends_on_anything(&a.question) {
        return false;
    }
    let asked: std::collections::BTreeSet<String> = content_words(&a.question).collect();
    // The turns each question leans on, and the whole chat read (the user's turns before them
    // too): "cancel MCR-61002" … "yes" and "cancel MCR-61002" … "actually, push the pickup to
    // Tuesday" lean on unrelated turns but are one chat.
    let words_of =
        |x: &Asked, whole: bool| content_words_of(x.context.iter().chain(user_turns(&x.background).filter(|_| whole)));
    let unrelated = |whole: bool| {
        let (wa, wb) = (words_of(a, whole), words_of(b, whole));
        let common = share_in_common(&wa, &wb);
        // Too few words to tell a topic ("I'm an undergraduate"): not known to be unrelated.
        let enough = wa.len().min(wb.len()) >= MIN_TOPIC_WORDS;
        enough && common <= MAX_SHARED_UNRELATED_WORDS && asked.is_disjoint(&wa) && asked.is_disjoint(&wb)
    };
    unrelated(false) && unrelated(true)
}

/// Fewest content words earlier turns need before they can be called unrelated to others.
const MIN_TOPIC_WORDS: usize = 2;
/// At most this share of content words in common: two chats' earlier turns are unrelated.
const MAX_SHARED_UNRELATED_WORDS: f32 = 0.1;

/// Why a question whose chain of turns is `beyond_reach` is never answered from the cache.
pub fn beyond_reach_reason() -> String {
    format!(
        "depends on more earlier turns than the cache reads (at most {MAX_CONTEXT_TURNS} of the user's turns within the last {READ_MESSAGES} messages)"
    )
}

/// Most earlier turns two chats may word differently and still be served (each is judged).
const MAX_REWORDED_TURNS: usize = 3;
/// Most user turns a question may depend on: a longer chain is beyond what the decision reads.
pub const MAX_CONTEXT_TURNS: usize = 6;

/// Replies this short read the assistant's question before them.
const SHORT_REPLY_WORDS: usize = 4;
/// Questions this short lean on the turn before them ("and in March?", "what's the fee?").
const SHORT_QUESTION_WORDS: usize = 5;
/// Fewest words of a question that stands on its own in a chat.
const SELF_CONTAINED_WORDS: usize = 7;

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '.' || c == '-'))
        .map(|w| w.trim_matches(|c: char| c == '.' || c == '\'' || c == '-').to_lowercase())
        .filter(|w| !w.is_empty())
}

/// A short statement ("economy", "yes, version 6.1"), not a question of its own.
fn is_short_reply(text: &str) -> bool {
    word_count(text) <= SHORT_REPLY_WORDS && !text.trim_end().ends_with('?')
}

fn word_count(text: &str) -> usize {
    words(text).count()
}

/// Whether `text` leans on something said before it at all: it refers back or is short.
fn depends_on_anything(text: &str) -> bool {
    refers_back(text) || word_count(text) <= SHORT_QUESTION_WORDS
}

/// Whether `text` depends on `before`: it refers back, is short, or continues its subject (a
/// content word in common).
fn depends_on(text: &str, before: &str) -> bool {
    depends_on_anything(text) || shares_content_word(text, before)
}

fn shares_content_word(text: &str, other: &str) -> bool {
    let mine: Vec<String> = content_words(text).collect();
    content_words(other).any(|w| mine.contains(&w))
}

fn content_words(text: &str) -> impl Iterator<Item = String> + '_ {
    words(text).filter(|w| (w.len() >= 3 || w.chars().any(|c| c.is_ascii_digit())) && !STOP.contains(&w.as_str())).map(
        |w| {
            // A light stem, enough to meet "order" and "orders".
            w.strip_suffix("ies")
                .map(|s| format!("{s}y"))
                .or_else(|| w.strip_suffix('s').filter(|s| s.len() >= 3 && !s.ends_with('s')).map(String::from))
                .unwrap_or(w)
        },
    )
}

/// Words that point back at something said before.
const BACK: &[&str] = &[
    "it",
    "its",
    "it's",
    "that",
    "that's",
    "this",
    "these",
    "those",
    "them",
    "they",
    "their",
    "theirs",
    "there",
    "he",
    "she",
    "him",
    "her",
    "his",
    "hers",
    "one",
    "ones",
    "same",
    "such",
    "instead",
    "else",
    "former",
    "latter",
    "above",
    "previous",
    "aforementioned",
    "then",
    "again",
    "also",
    "too",
    "either",
    "neither",
    "both",
    "other",
    "another",
    "mine",
    "yours",
    "ours",
];

/// Openings that continue the previous turn.
const CONTINUING: &[&str] = &["and", "but", "or", "so", "what about", "how about", "and what about", "plus", "also"];

fn refers_back(text: &str) -> bool {
    let lower = text.trim().to_lowercase();
    if CONTINUING.iter().any(|c| lower.starts_with(&format!("{c} ")) || lower == *c) {
        return true;
    }
    let ws: Vec<String> = words(text).collect();
    ws.iter().enumerate().any(|(i, w)| {
        // "Is there a grace period", "there are no fees": "there" that points nowhere.
        let existential = w == "there"
            && (ws.get(i + 1).is_some_and(|n| EXISTENTIAL.contains(&n.as_str()))
                || i.checked_sub(1).and_then(|p| ws.get(p)).is_some_and(|p| EXISTENTIAL.contains(&p.as_str())));
        BACK.contains(&w.as_str()) && !existential
    })
}

/// Verbs that make "there" existential next to them.
const EXISTENTIAL: &[&str] =
    &["is", "are", "was", "were", "be", "been", "isn't", "aren't", "any", "will", "would", "could", "might"];

/// Turns that carry nothing the question could depend on: greetings, thanks, acknowledgements.
fn is_small_talk(text: &str) -> bool {
    sentences(text).all(is_small_talk_sentence)
}

/// A sentence of greeting, thanks or waiting: small-talk words only. ("yes", "no" and "do it"
/// are not: they answer what the assistant proposed.)
fn is_small_talk_sentence(sentence: &str) -> bool {
    let ws: Vec<String> = words(sentence).collect();
    if ws.len() <= 12 && ws.iter().all(|w| SMALL_TALK.contains(&w.as_str())) {
        return true;
    }
    // "Hold on, my manager is asking for this.", "one sec, trying": a pause and why, no question.
    let opening = ws.iter().take(3).map(String::as_str).collect::<Vec<_>>().join(" ");
    !sentence.trim_end().ends_with('?')
        && ws.len() <= 12
        && PAUSES.iter().any(|p| opening == *p || opening.starts_with(&format!("{p} ")))
}

/// How a user opens a pause in the chat.
const PAUSES: &[&str] = &[
    "hold on",
    "hang on",
    "one sec",
    "one second",
    "one moment",
    "just a sec",
    "just a second",
    "just a moment",
    "give me a sec",
    "give me a second",
    "give me a minute",
    "brb",
    "be right back",
    "bear with me",
    "hmm ok hold",
    "ok hold on",
    "sorry hold on",
    "wait a sec",
    "wait a second",
];

/// The sentences of a text: split after ".", "!", "?" followed by a space or the end (so
/// "api.example.io" and "3.5" stay whole), and at line breaks.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next_is_space = chars.peek().is_none_or(|(_, n)| n.is_whitespace());
        if c == '\n' || (matches!(c, '.' | '!' | '?') && next_is_space) {
            let end = i + c.len_utf8();
            out.push(&text[start..end]);
            start = end;
        }
    }
    out.push(&text[start..]);
    out.into_iter().map(str::trim).filter(|s| !s.is_empty())
}

/// A turn without its small-talk sentences ("Perfect, thanks! And in March?" is "And in March?")
/// and without a greeting that opens a sentence ("Good morning, I'd like to book a spay" is "I'd
/// like to book a spay": "morning" is not when it asks about).
fn without_small_talk(text: &str) -> String {
    let without_greeting = |s: &str| -> String {
        match s.split_once(',') {
            Some((head, rest)) if !rest.trim().is_empty() && word_count(head) <= 4 && is_small_talk_sentence(head) => {
                rest.trim().to_string()
            }
            _ => s.to_string(),
        }
    };
    sentences(text).filter(|s| !is_small_talk_sentence(s)).map(without_greeting).collect::<Vec<_>>().join(" ")
}

/// A question that names what it asks about: long enough, no word pointing back, and an anchor
/// (a name, a number, a code such as "prod-eu-1"). "Is there a grace period for late returns?"
/// is not: in a chat it is about the order, plan or place the chat is about.
fn is_self_contained(text: &str) -> bool {
    !refers_back(text) && word_count(text) >= SELF_CONTAINED_WORDS && has_anchor(text)
}

/// Whether a question picks up the subject of the user's recent turns (a content word in common).
fn continues_chat(question: &str, window: &[Message]) -> bool {
    window
        .iter()
        .rev()
        .filter(|m| m.role == Role::User)
        .take(RECENT_USER_TURNS)
        .any(|m| shares_content_word(question, &m.content))
}

/// How many of the user's latest turns a self-contained question is checked against.
const RECENT_USER_TURNS: usize = 3;

fn has_anchor(text: &str) -> bool {
    sentences(text).any(|sentence| {
        sentence.split_whitespace().enumerate().any(|(i, raw)| {
            let w = raw.trim_matches(|c: char| !c.is_alphanumeric());
            let upper = w.chars().filter(|c| c.is_uppercase()).count();
            w.chars().any(|c| c.is_ascii_digit())
                || (upper >= 2 && w.len() >= 2)
                || (i > 0 && upper >= 1 && w != "I" && !w.starts_with("I'"))
                || w.trim_matches('-').contains(['-', '_', '.', '/'])
        })
    })
}

const SMALL_TALK: &[&str] = &[
    "for",
    "to",
    "all",
    "on",
    "is",
    "are",
    "it",
    "that's",
    "what",
    "one",
    "right",
    "have",
    "can",
    "check",
    "let",
    "wait",
    "being",
    "pulled",
    "into",
    "meeting",
    "waiting",
    "star",
    "you're",
    "just",
    "sorry",
    "busy",
    "brb",
    "lol",
    "wow",
    "impressive",
    "thought",
    "back",
    "brb",
    "sec",
    "give",
    "minute",
    "hang",
    "excellent",
    "lovely",
    "bot",
    "folks",
    "everyone",
    "hmm",
    "ah",
    "oh",
    "noted",
    "sorry",
    "super",
    "amazing",
    "awesome",
    "exactly",
    "wanted",
    "know",
    "good",
    "bad",
    "shame",
    "pity",
    "figured",
    "guessed",
    "expected",
    "hi",
    "hello",
    "hey",
    "hiya",
    "yo",
    "good",
    "morning",
    "afternoon",
    "evening",
    "day",
    "thanks",
    "thank",
    "you",
    "thx",
    "ty",
    "cheers",
    "ok",
    "okay",
    "k",
    "cool",
    "great",
    "nice",
    "awesome",
    "perfect",
    "got",
    "alright",
    "fine",
    "sounds",
    "that",
    "helps",
    "helpful",
    "very",
    "much",
    "so",
    "a",
    "lot",
    "the",
    "help",
    "appreciate",
    "appreciated",
    "understood",
    "i",
    "see",
    "makes",
    "sense",
    "hold",
    "sec",
    "second",
    "moment",
    "please",
    "bye",
    "there",
    "team",
    "again",
    "problem",
    "welcome",
    "you're",
    "glad",
    "happy",
    "how",
    "doing",
    "well",
    "am",
    "i'm",
    "today",
    "anything",
    "assist",
    "with",
    "question",
    "quick",
    "me",
    // Reactions and openers ("ahh ok, that makes sense", "hope you can help me", "oh and one more").
    "ahh",
    "aha",
    "ooh",
    "uh",
    "um",
    "hope",
    "your",
    "going",
    "explaining",
    "kind",
    "more",
    "and",
    "haha",
    "yay",
    "phew",
    "wonderful",
    "fantastic",
    "brilliant",
    "clears",
    "up",
    // Relief and praise ("omg thank you, I was panicking", "you're the best", "that worked").
    "omg",
    "ugh",
    "gosh",
    "yikes",
    "oops",
    "whoops",
    "lifesaver",
    "legend",
    "best",
    "panicking",
    "panicked",
    "stressed",
    "relieved",
    "worked",
    "god",
    "was",
    "been",
    "lmao",
];

const STOP: &[&str] = &[
    "the", "and", "for", "are", "was", "were", "what", "which", "who", "whom", "when", "where", "why", "how", "can",
    "could", "would", "should", "will", "shall", "may", "might", "must", "does", "did", "doing", "done", "have", "has",
    "had", "having", "you", "your", "yours", "our", "ours", "we", "me", "my", "mine", "with", "from", "into", "onto",
    "about", "than", "then", "this", "that", "these", "those", "there", "here", "them", "they", "their", "its", "it's",
    "not", "but", "any", "all", "some", "get", "got", "give", "show", "tell", "know", "need", "want", "like", "please",
    "just", "also", "too", "very", "much", "many", "more", "most", "less", "least", "one", "out", "over", "under",
    "again", "still", "yet", "now", "today", "i'm", "i've", "i'd", "you're", "let", "let's", "make", "thanks", "thank",
    "okay", "yes", "yeah", "sure", "help", "way", "there's", "what's", "how's", "is", "be", "been", "being", "a", "an",
    "of", "to", "in", "on", "at", "by", "as", "or", "if", "do", "so", "up",
];

/// The question and the scope carrying the chat before it, from a request that names either a
/// `query` (with `scope.conversation` for its chat, if any) or the whole chat as `messages`.
pub fn question_in_scope(
    query: String,
    messages: Option<Vec<Message>>,
    mut scope: super::types::Scope,
) -> crate::error::ApiResult<(String, super::types::Scope)> {
    let Some(messages) = messages else { return Ok((query, scope)) };
    if !query.is_empty() || !scope.conversation.is_empty() {
        return Err(crate::error::ApiError::invalid(
            "give the chat either as messages or as a query with scope.conversation, not both",
        ));
    }
    let (earlier, question) = split_chat(&messages).map_err(crate::error::ApiError::invalid)?;
    scope.conversation = earlier.to_vec();
    Ok((question.to_string(), scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(turns: &[(&str, &str)]) -> Vec<Message> {
        turns
            .iter()
            .map(|(r, c)| Message {
                role: if *r == "u" { Role::User } else { Role::Assistant },
                content: c.to_string(),
            })
            .collect()
    }

    #[test]
    fn a_stand_alone_question_is_asked_as_it_is() {
        let earlier = chat(&[("u", "Can I get an itemised bill?"), ("a", "Yes, under Bills in the app.")]);
        let a = asked(&earlier, "How do I block calls from unknown numbers on an iPhone 15?");
        assert!(a.context.is_empty());
        assert_eq!(a.text, "How do I block calls from unknown numbers on an iPhone 15?");
        assert!(!a.beyond_reach);
        // Without a name or number to hang on, a question in a chat is about what the chat is about.
        let a = asked(&earlier, "Is there a fee for that kind of bill?");
        assert_eq!(a.context, vec![Message::user("Can I get an itemised bill?")]);
    }

    #[test]
    fn the_same_question_after_unrelated_turns_stands_alone() {
        let q = "Is there a grace period for late returns?";
        let one = asked(&chat(&[("u", "I left my sunglasses in the car I returned today.")]), q);
        let two = asked(&chat(&[("u", "Do you accept international driving licenses?")]), q);
        assert!(!one.context.is_empty() && !two.context.is_empty());
        assert!(same_question_in_unrelated_chats(&one, &two));
        // Same frame, a detail changed: related, and too few words to tell anyway.
        let mba = asked(
            &chat(&[("u", "I'm a graduate student in the MBA program.")]),
            "how much is tuition per credit hour?",
        );
        let ug = asked(&chat(&[("u", "I'm an undergraduate.")]), "how much is tuition per credit hour?");
        assert!(!same_question_in_unrelated_chats(&mba, &ug));
    }

    #[test]
    fn earlier_turns_are_compared_turn_by_turn() {
        let a = chat(&[("u", "we have two support teams, Tier 1 and Tier 2."), ("u", "Tier 1 is the frontline.")]);
        let b = chat(&[("u", "we have two support teams, Tier 1 and Tier 2."), ("u", "Tier 2 handles escalations.")]);
        assert!(compare_turns(&a, &b).is_err() || !compare_turns(&a, &b).unwrap().is_empty());
        assert_eq!(compare_turns(&a, &a).unwrap(), vec![]);
        let c = chat(&[("u", "we have two support teams, Tier 1 and Tier 2.")]);
        assert_eq!(compare_turns(&a, &c).unwrap_err(), "2 turns against 1");
    }

    #[test]
    fn turns_the_walk_does_not_reach_must_name_the_same_details() {
        let chat_on = |plan: &str, hello: &str| {
            chat(&[
                ("u", &format!("{hello} I'm on the {plan} plan with four lines")),
                ("a", "Got it. How can I help?"),
                ("u", "Our household streams a lot of video every evening, mostly sports and series."),
                ("a", "Understood."),
                ("u", "my son's line used a lot of data this month"),
                ("a", "I see 38 GB used."),
            ])
        };
        let question = "can I put a data cap on his line only?";
        let family4 = asked(&chat_on("Family 4", "hi,"), question);
        assert!(!family4.context.is_empty(), "the question leans on the chat: {family4:?}");
        assert_eq!(family4.background, vec![Message::user("I'm on the Family 4 plan with four lines")], "{family4:?}");
        let family2 = asked(&chat_on("Family 2", "hello there,"), question);
        assert_eq!(family4.context, family2.context, "the turns read are the same words");
        let o = compare_background(&family4.background, &family2.background).expect("another plan refuses");
        assert_eq!(o.rule, "earlier_details");
        // The same details, reworded, and a chat with no earlier turns to compare, pass.
        let reworded = vec![
            Message::user("Family 4 plan here, four lines total"),
            Message::user("we stream loads of sports and series in the evenings"),
        ];
        assert_eq!(compare_background(&family4.background, &reworded), None);
        assert_eq!(compare_background(&family4.background, &[]), None);
        // Whole: the lookup's checks refuse the changed plan and pass the same chat.
        assert_eq!(
            super::super::decide::checks_for(&family2, &family4).objection.map(|o| o.rule),
            Some("earlier_details")
        );
        assert_eq!(super::super::decide::checks_for(&family4, &family4).objection, None);
    }

    #[test]
    fn reworded_turns_are_not_let_off_by_a_loosely_matched_question() {
        let a = asked(&chat(&[("u", "I ordered the oak desk on Monday.")]), "when will it ship?");
        let b = asked(&chat(&[("u", "On Monday I ordered the oak desk.")]), "when will it be dispatched?");
        assert!(!a.context.is_empty() && !b.context.is_empty(), "{a:?} / {b:?}");
        let question = super::super::verify::objection(&b.question, &a.question).map(|o| o.rule);
        assert_eq!(question, Some("related_words"));
        // The judge must be sure of the reworded turn, not only lean towards the question.
        let checks = super::super::decide::checks_for(&b, &a);
        assert_eq!(checks.objection.map(|o| o.rule), Some("reworded_turns"));
        assert_eq!(checks.reworded_turns.len(), 1);
    }

    #[test]
    fn one_chat_told_two_ways_is_not_two_unrelated_chats() {
        let opening = [("u", "cancel my rental MCR-61002"), ("a", "I can cancel it for free. Proceed?")];
        let yes = chat(&[opening[0], opening[1], ("u", "yes"), ("a", "MCR-61002 is cancelled.")]);
        let moved = chat(&[
            opening[0],
            opening[1],
            ("u", "actually no, just push the pickup to Tuesday"),
            ("a", "Done, pickup is now Tuesday."),
        ]);
        let question = "will I get a confirmation email?";
        let (a, b) = (asked(&yes, question), asked(&moved, question));
        assert!(!same_question_in_unrelated_chats(&a, &b), "{a:?} / {b:?}");
        assert!(super::super::decide::checks_for(&b, &a).objection.is_some());
    }

    #[test]
    fn names_a_chat_says_elsewhere_are_known_to_it() {
        let system = Message { role: Role::System, content: "You are Metro Car Rental's assistant.".into() };
        let earlier =
            vec![system.clone(), Message::user("renting from your Seattle branch"), Message::assistant("Sure.")];
        let a = asked(&earlier, "can I take the car to Canada?");
        assert_eq!(a.background.first(), Some(&system), "{a:?}");
        let alone = "Can I take a Metro rental car to Canada?";
        assert_eq!(without_names_the_chat_knows(alone, &a.background), "Can I take a rental car to Canada?");
        // A name the chat never says stays, and so does a word written as an ordinary word.
        assert_eq!(without_names_the_chat_knows("Can I take a Hertz car?", &a.background), "Can I take a Hertz car?");
        assert_eq!(without_names_the_chat_knows("metro cars in Portland", &a.background), "metro cars in Portland");
        // The system prompt is no earlier turn whose details two chats must share.
        assert_eq!(compare_background(&[system], &[Message::user("I'm on the Pro plan")]), None);
    }

    #[test]
    fn a_follow_up_reads_the_turns_it_depends_on() {
        let earlier = chat(&[
            ("u", "I'm flying Lisbon to Boston next week."),
            ("a", "Which cabin?"),
            ("u", "economy"),
            ("a", "Noted."),
            ("u", "thanks!"),
        ]);
        let a = asked(&earlier, "what's the baggage allowance?");
        assert_eq!(
            a.text,
            "I'm flying Lisbon to Boston next week. Which cabin? economy. what's the baggage allowance?"
        );
    }

    #[test]
    fn an_intent_flip_stays_in_the_asked_text() {
        let earlier = chat(&[
            ("u", "I want to cancel my subscription."),
            ("a", "Sorry to hear that."),
            ("u", "Actually, don't cancel it, just pause it."),
        ]);
        let a = asked(&earlier, "How do I do that?");
        assert!(a.text.contains("don't cancel it"), "{}", a.text);
        assert!(a.text.starts_with("I want to cancel"), "{}", a.text);
    }

    #[test]
    fn a_chain_longer_than_the_window_is_beyond_reach() {
        let mut earlier = chat(&[("u", "Tell me about plan Gold.")]);
        for _ in 0..READ_MESSAGES {
            earlier.extend(chat(&[("u", "and its price?"), ("a", "It is 10.")]));
        }
        assert!(asked(&earlier, "and that?").beyond_reach);
        assert!(!asked(&earlier, "How do I reset a Netgear R7000 router to factory settings?").beyond_reach);
    }

    #[test]
    fn chats_are_read_from_json_with_clear_errors() {
        let m = parse_chat(r#"[{"role":"user","content":"hi","name":"x"}]"#).unwrap();
        assert_eq!(m, vec![Message::user("hi")]);
        let m = parse_chat(r#"{"model":"x","messages":[{"role":"assistant","content":"a"}]}"#).unwrap();
        assert_eq!(m, vec![Message::assistant("a")]);
        let e = parse_chat(r#"[{"role":"bot","content":"hi"}]"#).unwrap_err();
        assert!(e.contains("unknown variant `bot`"), "{e}");
        assert!(parse_chat("[{").unwrap_err().contains("not valid JSON"));
    }

    #[test]
    fn pauses_and_greetings_are_dropped_but_dotted_names_stay_whole() {
        assert!(is_small_talk("hold on, my kid needs me. back!"));
        assert!(is_small_talk("Hmm ok hold on, my manager is asking for this."));
        assert!(!is_small_talk("hold on, is that the Pro plan?"));
        assert!(!is_small_talk("yes"));
        assert!(is_small_talk("omg thank you, I was panicking"));
        assert!(is_small_talk("Perfect, that worked, thank you!"));
        assert!(!is_small_talk("ugh, the Pro plan was cheaper"));
        assert_eq!(
            without_small_talk("thanks! the certificate for api.corvid.io expires soon right?"),
            "the certificate for api.corvid.io expires soon right?"
        );
        assert_eq!(without_small_talk("Good morning, I'd like to book a spay."), "I'd like to book a spay.");
        assert_eq!(without_small_talk("no, the blue one"), "no, the blue one");
    }

    #[test]
    fn the_last_message_must_be_the_users() {
        assert!(split_chat(&[]).unwrap_err().contains("no messages"));
        let err = split_chat(&chat(&[("u", "hi"), ("a", "hello")])).unwrap_err();
        assert!(err.contains("from the assistant"), "{err}");
        let whole = chat(&[("a", "hello"), ("u", "hi")]);
        let (earlier, q) = split_chat(&whole).unwrap();
        assert_eq!((earlier.len(), q), (1, "hi"));
    }
}
