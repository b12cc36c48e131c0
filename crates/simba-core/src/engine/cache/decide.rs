//! How a candidate is decided: its similarity, the checks (`verify`) and the judge (`judge`), in
//! one place shared by lookups and `cache eval`, so what the eval measures is what a lookup does.
//!
//! - At or above the namespace's similarity threshold, a candidate is served when no check
//!   objects; when the only objection is about wording (a word changed in place or added, two
//!   kinds of one thing), the judge may overrule it.
//! - Below the threshold, down to the judge's floor, a candidate is served only when the judge
//!   vouches for it (and no check objects to a fact). Where the checks matched every word and
//!   every fact, the judge has only to lean towards "the same" (`AGREED_MIN_SCORE`). Raw cosine on MiniLM puts a third of true
//!   rewordings under 0.8 ("How many people work here?" / "What's our headcount?"); the judge reads
//!   both texts together and tells them from traps, which cosine cannot.
//! - Numbers, dates, negation, names, opposites and roles are never the judge's to overrule.

use super::conversation::{self, Asked};
use super::types::CacheSettings;
use super::verify::{self, rules::JudgeRole, Objection};
use std::borrow::Cow;

/// What the similarity and the checks say before the judge is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Serve,
    Refuse,
    /// Serve only if the judge's score reaches `judge_min_score`.
    AskJudge,
}

/// The judge's part of the settings, or None when it is off (no judge loaded, checks off, or a
/// minimum score above 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JudgePolicy {
    pub min_score: f32,
    pub floor: f32,
}

impl JudgePolicy {
    pub fn from_settings(s: &CacheSettings, judge_loaded: bool) -> Option<Self> {
        (judge_loaded && s.verify_candidates && s.judge_min_score <= 1.0)
            .then_some(Self { min_score: s.judge_min_score, floor: s.judge_floor })
    }

    /// The score the judge must give a candidate the checks said `checks` of.
    pub fn bar(&self, checks: Checks) -> f32 {
        match checks {
            Checks::Agree | Checks::Doubt => self.min_score.min(AGREED_MIN_SCORE),
            Checks::Wording | Checks::Fact => self.min_score,
        }
    }

    /// Whether the judge's `score` serves a candidate it was asked about. A score that is not a
    /// number (a broken adapter) never serves.
    pub fn vouches(&self, score: f32, checks: Checks) -> bool {
        score >= self.bar(checks)
    }
}

/// The judge's bar under the threshold when the checks object to nothing: every content word
/// matched its counterpart (same stem, synonym, derived form, spelling) and every fact agreed,
/// so what is left to tell is whether the words mean the same in this order. On the six labelled
/// sets read while tuning, such pairs were 79 same-answer to 2 traps; at 0.99 the judge served
/// 62 and 1, at 0.5 it serves 74 and 1 ("FY2023" / "fiscal year 2023" scores 0.44-0.9: the
/// judge is wary of any word changed in place, which the checks have already read).
pub const AGREED_MIN_SCORE: f32 = 0.5;

/// The lowest similarity a candidate can be served at.
pub fn lowest_served(threshold: f32, judge: Option<JudgePolicy>) -> f32 {
    judge.map_or(threshold, |j| j.floor.min(threshold))
}

/// What the checks said, as far as the decision needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checks {
    /// No objection (or the checks are off).
    Agree,
    /// Every word matched, some only loosely: the judge confirms at the bar of `Agree`, at any
    /// similarity (with the judge off, as `Agree`).
    Doubt,
    /// The objection is about wording: the judge may overrule it.
    Wording,
    /// The objection is about a fact: never overruled.
    Fact,
}

impl Checks {
    pub fn of(objection: Option<&Objection>) -> Self {
        Self::of_rule(objection.map(|o| o.rule))
    }

    /// From the rule that objected, if one did.
    pub fn of_rule(rule: Option<&str>) -> Self {
        match rule.map(verify::rules::judge_role) {
            None => Checks::Agree,
            Some(JudgeRole::Confirms) => Checks::Doubt,
            Some(JudgeRole::Overrules) => Checks::Wording,
            Some(JudgeRole::Never) => Checks::Fact,
        }
    }
}

/// The first step for a candidate at `similarity` given what the checks said.
pub fn first_step(similarity: f32, threshold: f32, checks: Checks, judge: Option<JudgePolicy>) -> Step {
    if !similarity.is_finite() {
        return Step::Refuse;
    }
    match judge {
        None if similarity >= threshold && checks == Checks::Doubt => Step::Serve,
        _ if similarity >= threshold && checks == Checks::Agree => Step::Serve,
        Some(j) if checks != Checks::Fact && similarity >= j.floor.min(threshold) => Step::AskJudge,
        _ => Step::Refuse,
    }
}

/// The lower of two judge scores; not a number if either is not (`f32::min` would drop it).
pub fn lowest_score(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.min(b)
    }
}

/// What the checks say of a cached question for an incoming one, each with the chat turns it
/// depends on and its asked text (those turns, then the question).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatChecks {
    pub objection: Option<Objection>,
    /// Pairs (incoming, cached) of earlier turns that are only reworded: served only if the judge
    /// vouches for each (and for the asked texts).
    pub reworded_turns: Vec<(String, String)>,
}

/// Two chats whose earlier turns both matter must agree on them turn by turn: a changed plan,
/// item or intent there is a fact about what the question means, never the judge's to overrule
/// (read as one long text, it calls two chats "nearly the same" when only a detail changed); a
/// turn merely reworded goes to the judge, read on its own.
///
/// Where both questions lean on their chats, the turns neither reaches must also name the same
/// details (`conversation::compare_background`).
pub fn checks_for(incoming: &Asked, cached: &Asked) -> ChatChecks {
    let (query, query_context) = (incoming.text.as_str(), incoming.context.as_slice());
    let (cached_text, cached_context) = (cached.text.as_str(), cached.context.as_slice());
    let mut reworded_turns = Vec::new();
    // Where neither question leans on its chat, earlier turns still matter when the two chats are
    // one conversation told twice ("cancel MCR-61002" … "yes" / "actually, push the pickup to
    // Tuesday"), not two unrelated ones.
    let leans = !query_context.is_empty() || !cached_context.is_empty();
    if leans || conversation::one_conversation(&incoming.background, &cached.background) {
        if let Some(o) = conversation::compare_background(&incoming.background, &cached.background) {
            return ChatChecks { objection: Some(o), reworded_turns };
        }
    }
    if !query_context.is_empty() && !cached_context.is_empty() {
        match conversation::compare_turns(query_context, cached_context) {
            Err(why) => {
                let reason = format!("the earlier turns differ: {why}");
                return ChatChecks { objection: Some(Objection::new("earlier_turns", reason)), reworded_turns };
            }
            Ok(pairs) => reworded_turns = pairs,
        }
    }
    // A question asked outside any chat against one asked in a chat: the names that chat says
    // elsewhere (its bot's brand in the system prompt) are known to it.
    let (query, cached_text): (Cow<str>, Cow<str>) = if incoming.outside_any_chat() && !cached.context.is_empty() {
        (conversation::without_names_the_chat_knows(query, &cached.background).into(), cached_text.into())
    } else if cached.outside_any_chat() && !query_context.is_empty() {
        (query.into(), conversation::without_names_the_chat_knows(cached_text, &incoming.background).into())
    } else {
        (query.into(), cached_text.into())
    };
    let reworded = (!reworded_turns.is_empty())
        .then(|| Objection::new("reworded_turns", format!("{} earlier turn(s) reworded", reworded_turns.len())));
    // The stricter objection stands: reworded turns need the judge sure, loosely matched words
    // only leaning.
    let objection = match verify::objection(&query, &cached_text) {
        Some(o) if Checks::of(Some(&o)) == Checks::Doubt => reworded.or(Some(o)),
        found => found.or(reworded),
    };
    ChatChecks { objection, reworded_turns }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wording() -> Objection {
        Objection::new("changed_in_place", "\"staff\" vs \"employees\" in the same place".into())
    }

    fn fact() -> Objection {
        Objection::new("numbers", "numbers differ (2023 vs 2024)".into())
    }

    #[test]
    fn the_judge_decides_only_wording_and_only_above_its_floor() {
        let policy = JudgePolicy { min_score: 0.99, floor: 0.6 };
        let j = Some(policy);
        assert_eq!(first_step(0.9, 0.8, Checks::Agree, j), Step::Serve);
        assert_eq!(first_step(0.9, 0.8, Checks::Agree, None), Step::Serve);
        assert_eq!(first_step(0.9, 0.8, Checks::of(Some(&wording())), j), Step::AskJudge);
        assert_eq!(first_step(0.9, 0.8, Checks::of(Some(&wording())), None), Step::Refuse);
        assert_eq!(first_step(0.9, 0.8, Checks::of(Some(&fact())), j), Step::Refuse);
        // Below the threshold: only with the judge, above its floor, and never over a fact.
        assert_eq!(first_step(0.7, 0.8, Checks::Agree, j), Step::AskJudge);
        assert_eq!(first_step(0.7, 0.8, Checks::of(Some(&wording())), j), Step::AskJudge);
        assert_eq!(first_step(0.7, 0.8, Checks::of(Some(&fact())), j), Step::Refuse);
        assert_eq!(first_step(0.7, 0.8, Checks::Agree, None), Step::Refuse);
        assert_eq!(first_step(0.5, 0.8, Checks::Agree, j), Step::Refuse);
        // A floor above the threshold changes nothing below the threshold.
        let high = Some(JudgePolicy { min_score: 0.99, floor: 0.95 });
        assert_eq!(first_step(0.85, 0.8, Checks::Agree, high), Step::Serve);
        assert_eq!(first_step(0.79, 0.8, Checks::Agree, high), Step::Refuse);
        assert_eq!(first_step(f32::NAN, 0.8, Checks::Agree, j), Step::Refuse);
        assert_eq!(lowest_served(0.8, j), 0.6);
        assert_eq!(lowest_served(0.8, None), 0.8);
        let w = Checks::of(Some(&wording()));
        assert!(policy.vouches(0.99, w) && !policy.vouches(0.98, w) && !policy.vouches(f32::NAN, w));
        // Checks that matched everything leave the judge a lower bar, never a higher one.
        assert!(policy.vouches(0.6, Checks::Agree) && !policy.vouches(0.4, Checks::Agree));
        assert!(!policy.vouches(f32::NAN, Checks::Agree));
        let lenient = JudgePolicy { min_score: 0.3, floor: 0.6 };
        assert_eq!(lenient.bar(Checks::Agree), 0.3);
        // Words matched only loosely: the judge confirms at the lower bar, above the threshold
        // too; with the judge off they are served as before.
        let loose = Checks::of(Some(&Objection::new("related_words", "\"tighten\" / \"widen\"".into())));
        assert_eq!(loose, Checks::Doubt);
        assert_eq!(first_step(0.9, 0.8, loose, j), Step::AskJudge);
        assert_eq!(first_step(0.9, 0.8, loose, None), Step::Serve);
        assert_eq!(first_step(0.7, 0.8, loose, j), Step::AskJudge);
        assert_eq!(first_step(0.5, 0.8, loose, j), Step::Refuse);
        assert!(policy.vouches(0.6, loose) && !policy.vouches(0.4, loose));
    }

    #[test]
    fn settings_turn_the_judge_off() {
        let s = CacheSettings::default();
        assert!(JudgePolicy::from_settings(&s, true).is_some());
        assert!(JudgePolicy::from_settings(&s, false).is_none());
        assert!(JudgePolicy::from_settings(&CacheSettings { judge_min_score: 1.5, ..s.clone() }, true).is_none());
        assert!(JudgePolicy::from_settings(&CacheSettings { verify_candidates: false, ..s }, true).is_none());
    }
}
