//! The semantic cache's vocabulary: who a lookup is for (scope → namespace → partition), entries,
//! settings and answers.

use super::conversation::Message;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Who is asking, and about what. The partition built from it is applied *before* similarity, so
/// a hit never crosses tenants, users, items, embedding models or template versions. A chat is
/// read, not partitioned on (see `conversation`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, PartialEq, Eq, Hash)]
#[ts(export)]
pub struct Scope {
    #[serde(default = "default_tenant")]
    pub tenant: String,
    pub user: String,
    /// Item-specific cache (e.g. a data source id); `None` is the user's global cache.
    #[serde(default)]
    pub item: Option<String>,
    /// The chat's messages before the query, oldest first (empty for a question asked on its own).
    #[serde(default)]
    pub conversation: Vec<Message>,
}

fn default_tenant() -> String {
    "default".into()
}

impl Scope {
    pub fn user(user: impl Into<String>) -> Self {
        Self { tenant: default_tenant(), user: user.into(), item: None, conversation: vec![] }
    }
    pub fn with_item(mut self, item: impl Into<String>) -> Self {
        self.item = Some(item.into());
        self
    }
    pub fn with_conversation(mut self, turns: Vec<Message>) -> Self {
        self.conversation = turns;
        self
    }

    /// Refuses a scope the cache must not take, saying which field is wrong and how. Ids (tenant,
    /// user, item) are names: not blank, no control characters, at most [`MAX_SCOPE_ID_BYTES`]. An
    /// empty item is refused rather than taken as "no item": the two would otherwise be different
    /// caches that look the same to a person (and to a store that writes "no item" as "").
    /// Conversation messages are text like the query: no NUL, at most `MAX_QUERY_BYTES` each, at
    /// most [`MAX_CONVERSATION_TURNS`] of them.
    pub fn validate(&self) -> Result<(), String> {
        check_id("tenant", &self.tenant, "use \"default\" when there is only one")?;
        check_id("user", &self.user, "every entry belongs to a user; name one (e.g. \"anonymous\")")?;
        if let Some(item) = &self.item {
            check_id("item", item, "leave the item out for the user's global cache")?;
        }
        if self.conversation.len() > MAX_CONVERSATION_TURNS {
            return Err(format!(
                "the conversation has {} earlier messages; the cache takes at most {MAX_CONVERSATION_TURNS} \
                 (pass the most recent ones: it reads at most the last {} anyway)",
                self.conversation.len(),
                super::conversation::READ_MESSAGES
            ));
        }
        let max = crate::engine::embed::MAX_QUERY_BYTES;
        for (i, turn) in self.conversation.iter().map(|m| &m.content).enumerate() {
            if turn.len() > max {
                return Err(format!(
                    "turn {} of the conversation is {} bytes; the cache takes at most {max} bytes a turn",
                    i + 1,
                    turn.len()
                ));
            }
            if turn.contains('\0') {
                return Err(format!("turn {} of the conversation contains a NUL character", i + 1));
            }
        }
        Ok(())
    }
}

/// Longest tenant, user or item id, in bytes.
pub const MAX_SCOPE_ID_BYTES: usize = 256;
/// Most earlier messages one lookup's conversation may carry.
pub const MAX_CONVERSATION_TURNS: usize = 1000;

fn check_id(what: &str, value: &str, hint: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("the {what} is empty; {hint}"));
    }
    if value.len() > MAX_SCOPE_ID_BYTES {
        return Err(format!("the {what} is {} bytes; at most {MAX_SCOPE_ID_BYTES} bytes are allowed", value.len()));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        let shown = if c == '\0' { "a NUL character".to_string() } else { format!("the control character {c:?}") };
        return Err(format!("the {what} contains {shown}; ids are printable text"));
    }
    Ok(())
}

/// A namespace: the unit of settings, statistics and the max-entries cap.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[ts(export)]
pub struct Namespace {
    pub tenant: String,
    pub user: String,
    pub item: Option<String>,
    pub model: String,
    pub template_version: String,
}

impl Namespace {
    /// A stable printable id, e.g. `default/alice/*/all-MiniLM-L6-v2/v1`.
    pub fn id(&self) -> String {
        format!(
            "{}/{}/{}/{}/{}",
            escape(&self.tenant),
            escape(&self.user),
            self.item.as_deref().map(escape).unwrap_or_else(|| "*".into()),
            escape(&self.model),
            escape(&self.template_version)
        )
    }
}

fn escape(s: &str) -> String {
    s.replace('%', "%25").replace('/', "%2F").replace('*', "%2A")
}

/// The set a lookup searches: one namespace. (Chats no longer split it: the decision reads the
/// turns a question depends on, see `conversation`.)
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition {
    pub namespace: Namespace,
}

impl Partition {
    pub fn new(scope: &Scope, model: &str, template_version: &str) -> Self {
        let namespace = Namespace {
            tenant: scope.tenant.clone(),
            user: scope.user.clone(),
            item: scope.item.clone(),
            model: model.to_string(),
            template_version: template_version.to_string(),
        };
        Self { namespace }
    }
}

/// How an entry's context is kept in a store's text column: empty for a stand-alone question,
/// else the messages as JSON; with earlier turns the question did not reach, an object of both
/// (`{"turns": […], "background": […]}`), so columns written before stay readable.
pub fn context_to_text(context: &[Message], background: &[Message]) -> String {
    if context.is_empty() && background.is_empty() {
        return String::new();
    }
    if background.is_empty() {
        return serde_json::to_string(context).unwrap_or_default();
    }
    serde_json::to_string(&StoredChat { turns: context.to_vec(), background: background.to_vec() }).unwrap_or_default()
}

#[derive(Serialize, Deserialize)]
struct StoredChat {
    turns: Vec<Message>,
    background: Vec<Message>,
}

/// Reads [`context_to_text`]'s text back: the turns the question depends on, and the earlier ones
/// it did not reach. Entries of versions that kept a hash of the turns there read as a context no
/// chat has, so they are never served to one.
pub fn context_from_text(text: &str) -> (Vec<Message>, Vec<Message>) {
    if text.is_empty() {
        return (vec![], vec![]);
    }
    if let Ok(chat) = serde_json::from_str::<StoredChat>(text) {
        return (chat.turns, chat.background);
    }
    let turns = serde_json::from_str(text).unwrap_or_else(|_| {
        vec![Message::user(format!("(earlier turns kept by an older version as the hash {text})"))]
    });
    (turns, vec![])
}

/// One stored answer.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheEntry {
    pub id: u64,
    pub partition: Partition,
    /// The earlier messages of its chat the query depends on (see `conversation::asked`).
    pub context: Vec<Message>,
    /// The user's earlier turns the query did not reach (`conversation::Asked::background`).
    pub background: Vec<Message>,
    pub query: String,
    pub response: String,
    pub embedding: Vec<f32>,
    /// Unix milliseconds.
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    pub last_hit_at_ms: i64,
    pub hits: u64,
}

impl CacheEntry {
    pub fn bytes(&self) -> u64 {
        let context: usize = self.context.iter().chain(&self.background).map(|m| m.content.len() + 16).sum();
        (self.query.len() + context + self.response.len() + self.embedding.len() * 4 + 96) as u64
    }
    pub fn expired_at(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_some_and(|e| e <= now_ms)
    }
}

/// What a person sees of an entry.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EntryView {
    #[ts(type = "string")]
    #[serde(with = "id_as_string")]
    pub id: u64,
    pub namespace: String,
    pub conversation: bool,
    /// The earlier messages of its chat the query depends on.
    pub context: Vec<Message>,
    /// The user's earlier turns it does not depend on by its words: a chat served from this entry
    /// must name the same amounts, dates and names there.
    pub background: Vec<Message>,
    pub query: String,
    pub response: String,
    #[ts(type = "number")]
    pub created_at_ms: i64,
    #[ts(type = "number | null")]
    pub expires_at_ms: Option<i64>,
    #[ts(type = "number")]
    pub last_hit_at_ms: i64,
    #[ts(type = "number")]
    pub hits: u64,
    #[ts(type = "number")]
    pub bytes: u64,
    /// Similarity to the searched text, when listed by a search.
    pub similarity: Option<f32>,
}

/// Ids are u64; JSON numbers lose precision above 2^53, so they travel as strings.
pub mod id_as_string {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl EntryView {
    pub fn of(e: &CacheEntry, similarity: Option<f32>) -> Self {
        Self {
            id: e.id,
            namespace: e.partition.namespace.id(),
            conversation: !e.context.is_empty(),
            context: e.context.clone(),
            background: e.background.clone(),
            query: e.query.clone(),
            response: e.response.clone(),
            created_at_ms: e.created_at_ms,
            expires_at_ms: e.expires_at_ms,
            last_hit_at_ms: e.last_hit_at_ms,
            hits: e.hits,
            bytes: e.bytes(),
            similarity,
        }
    }
}

/// The longest time to live an entry or a namespace may have: ten years.
pub const MAX_TTL_SECONDS: u64 = 10 * 365 * 86_400;

/// When an entry stored or hit at `now_ms` expires with a time to live of `ttl_seconds` (0 = never).
/// Refuses a TTL over [`MAX_TTL_SECONDS`] and any overflow, so a huge TTL can never wrap into an
/// expiry in the past (stored already expired) or one a store cannot hold.
pub fn expiry_after(now_ms: i64, ttl_seconds: u64) -> Result<Option<i64>, String> {
    if ttl_seconds == 0 {
        return Ok(None);
    }
    if ttl_seconds > MAX_TTL_SECONDS {
        return Err(format!(
            "the TTL of {ttl_seconds} seconds is over the maximum of ten years ({MAX_TTL_SECONDS} seconds); \
             use 0 for an entry that never expires"
        ));
    }
    i64::try_from(ttl_seconds)
        .ok()
        .and_then(|s| s.checked_mul(1000))
        .and_then(|ms| now_ms.checked_add(ms))
        .map(Some)
        .ok_or_else(|| format!("the TTL of {ttl_seconds} seconds does not fit a timestamp; use a shorter one"))
}

/// Per-namespace settings; the defaults are the platform's (SEMANTIC_CACHE_* in the spec).
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct CacheSettings {
    /// Cosine similarity a candidate needs to be served (0–1).
    pub similarity_threshold: f32,
    /// Entries per namespace; least recently used are evicted beyond it.
    #[ts(type = "number")]
    pub max_entries: u64,
    /// Default time to live, seconds; 0 = no expiry.
    #[ts(type = "number")]
    pub ttl_seconds: u64,
    /// Whether a hit restarts the entry's TTL.
    pub refresh_ttl_on_hit: bool,
    /// Record would-be hits without serving them (to tune the threshold on live traffic).
    pub shadow_mode: bool,
    /// Check the best candidates for disagreeing numbers, dates, negations and names.
    pub verify_candidates: bool,
    /// The judge's score (0–1) a candidate needs where the judge decides (see `cache::decide`):
    /// reading the query and the candidate together, it is this sure they ask the same. Above 1
    /// turns the judge off (the similarity threshold and the checks decide alone).
    #[serde(default = "default_judge_min_score")]
    pub judge_min_score: f32,
    /// The lowest similarity the judge reads below the threshold: candidates between it and the
    /// threshold are served only when the judge vouches for them. At or above the threshold: no
    /// such band.
    #[serde(default = "default_judge_floor")]
    pub judge_floor: f32,
}

fn default_judge_min_score() -> f32 {
    crate::engine::judge::MIN_SCORE
}

fn default_judge_floor() -> f32 {
    crate::engine::judge::FLOOR
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            similarity_threshold: 0.8,
            max_entries: 10_000,
            ttl_seconds: 3600,
            refresh_ttl_on_hit: false,
            shadow_mode: false,
            verify_candidates: true,
            judge_min_score: default_judge_min_score(),
            judge_floor: default_judge_floor(),
        }
    }
}

impl CacheSettings {
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.similarity_threshold) || self.similarity_threshold.is_nan() {
            return Err(format!("similarity_threshold must be between 0 and 1, not {}", self.similarity_threshold));
        }
        if !(0.0..=2.0).contains(&self.judge_min_score) || self.judge_min_score.is_nan() {
            return Err(format!(
                "judge_min_score must be between 0 and 1 (up to 2, where above 1 turns the judge off), not {}",
                self.judge_min_score
            ));
        }
        if !(0.0..=1.0).contains(&self.judge_floor) || self.judge_floor.is_nan() {
            return Err(format!("judge_floor must be between 0 and 1, not {}", self.judge_floor));
        }
        if self.max_entries == 0 {
            return Err("max_entries must be at least 1".into());
        }
        if self.ttl_seconds > MAX_TTL_SECONDS {
            return Err(format!(
                "ttl_seconds is {}, over the maximum of ten years ({MAX_TTL_SECONDS}); use 0 for no expiry",
                self.ttl_seconds
            ));
        }
        Ok(())
    }
}

/// The answer to a lookup.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[ts(export)]
pub enum Lookup {
    Hit {
        response: String,
        similarity: f32,
        matched_query: String,
        #[ts(type = "number")]
        entry_age_ms: i64,
        #[ts(type = "string")]
        #[serde(with = "id_as_string")]
        entry_id: u64,
        namespace: String,
    },
    Miss {
        namespace: String,
        /// Best candidate's similarity, if there was one.
        best_similarity: Option<f32>,
        /// Why the best candidate was not served (below threshold, a check disagreed, shadow mode, backend down).
        reason: String,
        /// In shadow mode: the hit that would have been served.
        shadow_hit: Option<String>,
    },
}

impl Lookup {
    pub fn is_hit(&self) -> bool {
        matches!(self, Lookup::Hit { .. })
    }
}

pub use crate::clock::now_ms;
