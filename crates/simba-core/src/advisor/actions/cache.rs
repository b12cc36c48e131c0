//! Semantic cache actions on this app's own engine: its similarity threshold, TTL and max entries,
//! for the defaults or one namespace (`cache.set_settings`), and the flush of one namespace
//! (`cache.flush_namespace`). The engine keeps settings in its store before they apply, so they
//! hold across restarts; the rollback sets the before values. A flush has no rollback: the
//! preview says so and the audit entry's rollback is refused.

use super::{field_of, Plan, Prepared, Ran};
use crate::advisor::audit::{Outcome, ValueChange};
use crate::engine::cache::types::{CacheSettings, MAX_TTL_SECONDS};
use crate::engine::cache::SemanticCache;
use crate::error::{ApiError, ApiResult};
use std::collections::BTreeMap;

/// What `cache.set_settings` may set, as its parameters name them.
pub(super) const FIELDS: [&str; 3] = ["similarity_threshold", "ttl_seconds", "max_entries"];

/// The cosine range outside which `cache.threshold_range` flags a threshold (its defaults).
const SANE_THRESHOLDS: std::ops::RangeInclusive<f32> = 0.75..=0.97;

/// Checks one value and returns it as the settings show it.
pub(super) fn validate_value(field: &str, value: &str) -> ApiResult<String> {
    let v = value.trim();
    let bad = |what: &str| ApiError::invalid(format!("{field} must be {what}, not '{value}'"));
    match field {
        "similarity_threshold" => match v.parse::<f32>() {
            Ok(t) if (0.5..=1.0).contains(&t) => Ok(format!("{t}")),
            // Below 0.5 unrelated questions match: nothing a tuning action should set.
            _ => Err(bad("a cosine similarity from 0.5 to 1")),
        },
        "ttl_seconds" => match v.parse::<u64>() {
            Ok(n) if n <= MAX_TTL_SECONDS => Ok(n.to_string()),
            _ => Err(bad("whole seconds, 0 for no expiry, at most ten years")),
        },
        "max_entries" => match v.parse::<u64>() {
            Ok(n) if (1..=100_000_000).contains(&n) => Ok(n.to_string()),
            _ => Err(bad("a whole number of entries from 1 to 100000000")),
        },
        other => Err(ApiError::invalid(format!(
            "cache.set_settings has no parameter '{other}'; it sets {}",
            FIELDS.join(", ")
        ))),
    }
}

fn value_of(s: &CacheSettings, field: &str) -> String {
    match field {
        "similarity_threshold" => format!("{}", s.similarity_threshold),
        "ttl_seconds" => s.ttl_seconds.to_string(),
        _ => s.max_entries.to_string(),
    }
}

/// `settings` with `set` applied (values already validated).
fn with_values(mut s: CacheSettings, set: &BTreeMap<String, String>) -> CacheSettings {
    for (field, value) in set {
        match field.as_str() {
            "similarity_threshold" => s.similarity_threshold = value.parse().unwrap_or(s.similarity_threshold),
            "ttl_seconds" => s.ttl_seconds = value.parse().unwrap_or(s.ttl_seconds),
            _ => s.max_entries = value.parse().unwrap_or(s.max_entries),
        }
    }
    s
}

fn scope_name(namespace: &Option<String>) -> String {
    match namespace {
        Some(ns) => format!("namespace {ns}"),
        None => "the cache defaults".into(),
    }
}

/// Entries a namespace holds now, from the engine's figures (0 when it holds none).
async fn entries_of(cache: &SemanticCache, namespace: &str) -> ApiResult<u64> {
    Ok(cache.stats().await?.namespaces.iter().find(|n| n.id == namespace).map(|n| n.entries).unwrap_or(0))
}

pub(super) async fn prepare_flush(cache: &SemanticCache, namespace: &str) -> ApiResult<Prepared> {
    let entries = entries_of(cache, namespace).await?;
    if entries == 0 {
        return Err(ApiError::not_found(format!(
            "namespace {namespace} holds no entries: nothing to flush (the ids are on the Cache page and in \
             `simba-tuner cache stats`)"
        )));
    }
    let body = serde_json::json!({ "namespace": namespace });
    Ok(Prepared {
        statements: vec![format!("cache_invalidate {body}")],
        changes: vec![ValueChange {
            name: format!("entries of namespace {namespace}"),
            before: entries.to_string(),
            after: "0".into(),
        }],
        notes: vec![
            "no rollback: the answers are deleted; the next questions of this namespace go to the model again \
             (and cost what a miss costs)"
                .into(),
            "only this namespace: other users, items and the settings stay as they are".into(),
        ],
    })
}

pub(super) async fn run_flush(cache: &SemanticCache, namespace: &str, planned: &[ValueChange]) -> Ran {
    let sent = cache.invalidate(&crate::engine::store::Invalidation::Namespace { namespace: namespace.into() }).await;
    let left = entries_of(cache, namespace).await;
    let change = planned.first().cloned().unwrap_or(ValueChange {
        name: format!("entries of namespace {namespace}"),
        before: String::new(),
        after: "0".into(),
    });
    let after = left.as_ref().map(|n| n.to_string()).unwrap_or_else(|_| "unknown".into());
    let (outcome, message) = match (sent, left) {
        (Ok(_), Ok(0)) => (Outcome::Applied, None),
        (Ok(n), Ok(left)) => (
            Outcome::Unverified,
            Some(format!("{n} entries deleted, {left} stored since or left; flush again to clear")),
        ),
        (Ok(n), Err(e)) => {
            (Outcome::Unverified, Some(format!("{n} entries deleted; the rest could not be counted ({})", e.message)))
        }
        (Err(e), _) => (Outcome::Failed, Some(format!("{}; entries left: {after}", e.message))),
    };
    Ran { changes: vec![ValueChange { after, ..change }], outcome, message }
}

fn parts(plan: &Plan) -> (&Option<String>, &BTreeMap<String, String>) {
    match plan {
        Plan::CacheSetSettings { namespace, set } => (namespace, set),
        _ => unreachable!("not a cache plan"),
    }
}

pub(super) fn prepare(cache: &SemanticCache, plan: &Plan) -> ApiResult<Prepared> {
    let (namespace, set) = parts(plan);
    let now = cache.settings_for(namespace.as_deref().unwrap_or(""));
    let next = with_values(now.clone(), set);
    next.validate().map_err(ApiError::invalid)?;
    let changes = set
        .keys()
        .map(|f| ValueChange {
            name: format!("{f} of {}", scope_name(namespace)),
            before: value_of(&now, f),
            after: value_of(&next, f),
        })
        .collect();
    let mut notes = vec![
        "kept in the engine's store before it applies: it holds across restarts".to_string(),
        "applies to the next lookup; entries already stored keep the expiry they were given".to_string(),
    ];
    if namespace.is_some() && cache.namespace_has_own_settings(namespace.as_deref().unwrap_or("")) {
        notes.push("this namespace has settings of its own: only they change".into());
    } else if namespace.is_some() {
        notes.push(
            "this namespace follows the defaults today: it gets settings of its own (the defaults with these changes)"
                .into(),
        );
    }
    if set.contains_key("similarity_threshold") && !SANE_THRESHOLDS.contains(&next.similarity_threshold) {
        notes.push(format!(
            "{} is outside {:.2}–{:.2}: measure it with `simba-tuner cache eval PAIRS` on labelled pairs first",
            next.similarity_threshold,
            SANE_THRESHOLDS.start(),
            SANE_THRESHOLDS.end()
        ));
    }
    if next.max_entries < now.max_entries {
        notes.push("a lower max_entries evicts the least recently used entries beyond it at the next store".into());
    }
    let body = serde_json::json!({ "namespace": namespace, "settings": next });
    Ok(Prepared { statements: vec![format!("cache_set_settings {body}")], changes, notes })
}

pub(super) async fn run(cache: &SemanticCache, plan: &Plan, planned: &[ValueChange]) -> Ran {
    let (namespace, set) = parts(plan);
    let ns = namespace.as_deref().unwrap_or("");
    let next = with_values(cache.settings_for(ns), set);
    let sent = cache.set_settings(namespace.as_deref(), next).await;
    let back = cache.settings_for(ns);
    let changes: Vec<ValueChange> =
        planned.iter().map(|c| ValueChange { after: value_of(&back, field_of(c)), ..c.clone() }).collect();
    let as_planned = changes.iter().zip(planned).all(|(now, want)| now.after == want.after);
    let (outcome, message) = match (sent, as_planned) {
        (Ok(()), true) => (Outcome::Applied, None),
        (Ok(()), false) => {
            (Outcome::Unverified, Some("the engine took the settings but reads back others".to_string()))
        }
        (Err(e), _) => (Outcome::Failed, Some(format!("{}; nothing changed", e.message))),
    };
    Ran { changes, outcome, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_checked_and_applied() {
        assert_eq!(validate_value("similarity_threshold", " 0.85 ").unwrap(), "0.85");
        assert!(validate_value("similarity_threshold", "0.3").is_err());
        assert!(validate_value("similarity_threshold", "NaN").is_err());
        assert!(validate_value("ttl_seconds", "-1").is_err());
        assert_eq!(validate_value("ttl_seconds", "0").unwrap(), "0");
        assert!(validate_value("max_entries", "0").is_err());
        assert!(validate_value("shadow_mode", "true").is_err());
        let set: BTreeMap<String, String> =
            [("max_entries".to_string(), "20000".to_string()), ("similarity_threshold".into(), "0.9".into())].into();
        let s = with_values(CacheSettings::default(), &set);
        assert_eq!((s.max_entries, s.similarity_threshold), (20_000, 0.9));
        assert_eq!(s.ttl_seconds, CacheSettings::default().ttl_seconds);
        let change =
            ValueChange { name: "max_entries of namespace t/u".into(), before: "10".into(), after: "20".into() };
        assert_eq!(
            super::super::fields_back(&[change]),
            BTreeMap::from([("max_entries".to_string(), "10".to_string())])
        );
    }
}
