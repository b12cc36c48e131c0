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
    /// The earlier messages the question depends on, oldest first (empty for a stand-alone one).
    pub context: Vec<Message>,
    /// Those messages and the question, as one text: what is embedded, checked and judged.
    pub text: String,
    /// The question depends on turns older than the decision reads: never served.
    pub beyond_reach: bool,
}

/// Reads what `question` asks, given the chat's `earlier` messages.
pub fn asked(earlier: &[Message], question: &str) -> Asked {
    let start = earlier.len().saturating_sub(READ_MESSAGES);
    let window = &earlier[start..];
    let mut context: Vec<Message> = Vec::new();
    let mut current = question.to_string();
    let mut i = window.len();
    let mut beyond_reach = false;
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
        let reads_before = between.iter().any(|a| shares_content_word(&current, &a.content));
        if replied_to.is_none() && !reads_before && !depends_on(&current, &previous.content) {
            break;
        }
        if let Some(a) = replied_to {
            context.push(a.clone());
        }
        context.push(previous.clone());
        current = previous.content.clone();
        if i == 0 && start > 0 && depends_on_anything(&current) {
            beyond_reach = true;
        }
    }
    context.reverse();
    let text = asked_text(&context, question);
    Asked { context, text, beyond_reach }
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

/// Replies this short read the assistant's question before them.
const SHORT_REPLY_WORDS: usize = 4;
/// Questions this short lean on the turn before them ("and in March?", "what's the fee?").
const SHORT_QUESTION_WORDS: usize = 5;

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
    words(text).any(|w| BACK.contains(&w.as_str()))
}

/// Turns that carry nothing the question could depend on: greetings, thanks, acknowledgements.
fn is_small_talk(text: &str) -> bool {
    let ws: Vec<String> = words(text).collect();
    !ws.is_empty() && ws.len() <= 12 && ws.iter().all(|w| SMALL_TALK.contains(&w.as_str()))
}

const SMALL_TALK: &[&str] = &[
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
    "sure",
    "got",
    "it",
    "alright",
    "all",
    "right",
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
    "for",
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
    "on",
    "wait",
    "one",
    "sec",
    "second",
    "moment",
    "please",
    "bye",
    "there",
    "team",
    "again",
    "yes",
    "yeah",
    "yep",
    "no",
    "problem",
    "welcome",
    "you're",
    "glad",
    "to",
    "happy",
    "how",
    "are",
    "doing",
    "well",
    "am",
    "i'm",
    "is",
    "what",
    "can",
    "do",
    "today",
    "anything",
    "assist",
    "with",
    "question",
    "quick",
    "have",
    "let",
    "me",
    "check",
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
        let a = asked(&earlier, "How do I block calls from unknown numbers?");
        assert!(a.context.is_empty());
        assert_eq!(a.text, "How do I block calls from unknown numbers?");
        assert!(!a.beyond_reach);
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
        assert!(!asked(&earlier, "How do I reset my router to factory settings?").beyond_reach);
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
    fn the_last_message_must_be_the_users() {
        assert!(split_chat(&[]).unwrap_err().contains("no messages"));
        let err = split_chat(&chat(&[("u", "hi"), ("a", "hello")])).unwrap_err();
        assert!(err.contains("from the assistant"), "{err}");
        let whole = chat(&[("a", "hello"), ("u", "hi")]);
        let (earlier, q) = split_chat(&whole).unwrap();
        assert_eq!((earlier.len(), q), (1, "hi"));
    }
}
