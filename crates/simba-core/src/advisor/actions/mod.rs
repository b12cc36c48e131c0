//! One-click fixes: plan → preview → apply → verify → rollback. The only code that writes to a
//! monitored system.
//!
//! A preview reads the current values live and shows exactly what will run; its confirmation
//! token is a hash of the profile, the statements and those before values. Apply builds the
//! preview again and runs only when the token matches: what was previewed is what runs, and a
//! value changed since the preview is refused. Every apply reads the values back and appends an
//! audit entry; a rollback is a plan built from that entry (previewed and confirmed the same way).

mod cache;
mod celery;
mod kubernetes;
mod postgres;
pub mod progress;
mod redis;

use super::audit::{AuditEntry, AuditLog, Outcome, ValueChange};
use crate::engine::cache::SemanticCache;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::profiles::{Endpoint, ResolvedProfile, Service as Svc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use ts_rs::TS;

/// What an action acts on: the profile's servers, and this app's semantic cache when the profile
/// owns it (the engine stores it on that profile's server, or it is the embedded profile).
pub struct Scope<'a> {
    pub profile: &'a ResolvedProfile,
    pub cache: Option<Arc<SemanticCache>>,
}

impl Scope<'_> {
    fn cache(&self) -> ApiResult<&SemanticCache> {
        self.cache.as_deref().ok_or_else(|| {
            ApiError::invalid(format!(
                "profile '{}' does not hold this app's semantic cache: run cache actions on the profile that stores                  it (see `simba-tuner status`), or on 'embedded'",
                self.profile.name
            ))
        })
    }
}

/// The actions a person may ask for by id (rollbacks may also recreate a dropped index).
pub const ACTIONS: &[(&str, &str)] = &[
    (
        "redis.config_set",
        "CONFIG SET of maxmemory, maxmemory-policy, timeout or tcp-keepalive (params: name, value; persist: yes to \
         also CONFIG REWRITE the server's config file)",
    ),
    (
        "redis.cleanup",
        "UNLINK of the keys under one cache prefix that carry a TTL, never a key without one nor the broker's \
         (params: prefix); no rollback",
    ),
    ("pg.alter_system", "ALTER SYSTEM SET of a memory or logging setting + pg_reload_conf() (params: name, value)"),
    (
        "pg.create_vector_index",
        "CREATE INDEX CONCURRENTLY … USING hnsw or ivfflat on a vector column (params: table, column, ops; method: \
         hnsw (default) or ivfflat; lists: ivfflat's, default rows/1000 up to 1M rows, sqrt(rows) beyond)",
    ),
    ("pg.create_extension", "CREATE EXTENSION pg_stat_statements in the profile's database (params: name)"),
    ("pg.analyze", "ANALYZE of one table: fresh planner statistics (params: table); nothing to roll back"),
    ("pg.drop_index", "DROP INDEX CONCURRENTLY of an index that enforces nothing (params: index)"),
    (
        "celery.rate_limit",
        "rate_limit of a task on the workers, over the broker's pidbox (params: task, rate as 10/m or none; workers: \
         comma-separated hostnames, default every live worker)",
    ),
    ("celery.pool_resize", "pool_grow / pool_shrink of one worker's prefork pool (params: worker, processes)"),
    ("celery.add_consumer", "add_consumer: a worker starts consuming a queue (params: worker, queue)"),
    ("celery.cancel_consumer", "cancel_consumer: a worker stops consuming a queue (params: worker, queue)"),
    (
        "k8s.patch_hpa",
        "merge patch of an HPA's bounds and utilisation targets, server-side dry run first (params: namespace, name; \
         any of min_replicas, max_replicas, cpu_target, memory_target as percent or none)",
    ),
    (
        "k8s.scale",
        "merge patch of a Deployment's replicas, server-side dry run first (params: namespace, name, replicas)",
    ),
    ("cache.flush_namespace", "delete every entry of one semantic cache namespace (params: namespace); no rollback"),
    (
        "cache.set_settings",
        "the semantic cache's similarity_threshold, ttl_seconds or max_entries, for the defaults or one namespace \
         (params: any of those; namespace: a namespace id, default the defaults)",
    ),
];

/// What an action will do, shown before it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ActionPreview {
    pub profile: String,
    pub action: String,
    pub params: BTreeMap<String, String>,
    /// The server, password redacted.
    pub target: String,
    /// Exactly the commands or SQL that will run, in order.
    pub statements: Vec<String>,
    /// Each value with its current (live) value and the one intended.
    pub changes: Vec<ValueChange>,
    /// What else to know: restart needed, persistence (CONFIG REWRITE), locks, build time.
    pub notes: Vec<String>,
    /// Pass this to apply: it stands for these statements and these before values.
    pub confirm_token: String,
    /// For a rollback: the audit entry it undoes.
    pub rollback_of: Option<String>,
}

/// A plan: one concrete change, parsed and validated from an action id and its params.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plan {
    RedisConfigSet {
        name: String,
        value: String,
        /// Also CONFIG REWRITE, so the change outlives a restart.
        persist: bool,
    },
    RedisCleanup {
        prefix: String,
    },
    PgAlterSystem {
        name: String,
        value: String,
    },
    PgCreateVectorIndex {
        schema: String,
        table: String,
        column: String,
        ops: String,
        /// `hnsw` or `ivfflat`.
        method: String,
        /// IVFFlat's lists; None: computed from the rows (pgvector's README).
        lists: Option<u32>,
    },
    PgCreateExtension {
        name: String,
    },
    /// Rollback of a create: only an extension this app created.
    PgDropExtension {
        name: String,
    },
    PgAnalyze {
        schema: String,
        table: String,
    },
    PgDropIndex {
        schema: String,
        name: String,
    },
    /// Rollback of a drop: the definition recorded in the audit entry.
    PgRecreateIndex {
        schema: String,
        name: String,
        definition: String,
    },
    CeleryRateLimit {
        task: String,
        /// `10/m`, or `none` to lift the limit.
        rate: String,
        /// None: every worker that answers a ping at preview time.
        workers: Option<Vec<String>>,
    },
    CeleryPoolResize {
        worker: String,
        processes: u64,
    },
    /// add_consumer (`add`) or cancel_consumer.
    CeleryConsumer {
        worker: String,
        queue: String,
        add: bool,
    },
    K8sPatchHpa {
        namespace: String,
        name: String,
        /// Field (one of `kubernetes::HPA_FIELDS`) → its new value, validated.
        set: BTreeMap<String, String>,
    },
    K8sScale {
        namespace: String,
        name: String,
        replicas: u32,
    },
    CacheFlushNamespace {
        namespace: String,
    },
    CacheSetSettings {
        /// None: the defaults.
        namespace: Option<String>,
        /// Field (one of `cache::FIELDS`) → its new value, validated.
        set: BTreeMap<String, String>,
    },
}

/// The field a change of a several-field action names: its name up to " of "
/// (`max_replicas of HorizontalPodAutoscaler ns/web`, `max_entries of namespace t/u`).
fn field_of(change: &ValueChange) -> &str {
    change.name.split_once(" of ").map(|(f, _)| f).unwrap_or(&change.name)
}

/// The parameters that put each field of `changes` back to its before value (the rollback of
/// `k8s.patch_hpa`, `k8s.scale` and `cache.set_settings`).
fn fields_back(changes: &[ValueChange]) -> BTreeMap<String, String> {
    changes.iter().map(|c| (field_of(c).to_string(), c.before.clone())).collect()
}

/// Who may ask for a plan: rollbacks may recreate an index from a recorded definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Person,
    Rollback,
}

fn param<'a>(params: &'a BTreeMap<String, String>, action: &str, key: &str) -> ApiResult<&'a str> {
    params.get(key).map(|s| s.trim()).filter(|s| !s.is_empty()).ok_or_else(|| {
        ApiError::invalid(format!("action '{action}' needs the parameter '{key}' (--param {key}=VALUE)"))
    })
}

/// `schema.name` → (schema, name); `name` alone is in `public`.
fn qualified(s: &str) -> (String, String) {
    match s.split_once('.') {
        Some((schema, name)) => (schema.to_string(), name.to_string()),
        None => ("public".to_string(), s.to_string()),
    }
}

impl Plan {
    fn parse(action: &str, params: &BTreeMap<String, String>, origin: Origin) -> ApiResult<Plan> {
        let plan = match action {
            "redis.config_set" => Plan::RedisConfigSet {
                name: param(params, action, "name")?.to_ascii_lowercase(),
                value: param(params, action, "value")?.to_string(),
                persist: match params.get("persist").map(|p| p.trim().to_ascii_lowercase()).as_deref() {
                    None | Some("" | "no" | "false") => false,
                    Some("yes" | "true") => true,
                    Some(other) => return Err(ApiError::invalid(format!("persist is yes or no, not '{other}'"))),
                },
            },
            "redis.cleanup" => Plan::RedisCleanup { prefix: param(params, action, "prefix")?.to_string() },
            "pg.alter_system" => Plan::PgAlterSystem {
                name: param(params, action, "name")?.to_ascii_lowercase(),
                value: param(params, action, "value")?.to_string(),
            },
            "pg.create_vector_index" => {
                let (schema, table) = qualified(param(params, action, "table")?);
                Plan::PgCreateVectorIndex {
                    schema,
                    table,
                    column: param(params, action, "column")?.to_string(),
                    ops: params.get("ops").cloned().unwrap_or_else(|| "vector_cosine_ops".into()),
                    method: params.get("method").cloned().unwrap_or_else(|| "hnsw".into()).to_ascii_lowercase(),
                    lists: match params.get("lists").filter(|l| !l.trim().is_empty()) {
                        None => None,
                        Some(l) => {
                            Some(l.trim().parse().ok().filter(|n| (1..=32_768).contains(n)).ok_or_else(|| {
                                ApiError::invalid(format!("lists must be a whole number from 1 to 32768, not '{l}'"))
                            })?)
                        }
                    },
                }
            }
            "pg.create_extension" => Plan::PgCreateExtension { name: param(params, action, "name")?.to_string() },
            "pg.drop_extension" if origin == Origin::Rollback => {
                Plan::PgDropExtension { name: param(params, action, "name")?.to_string() }
            }
            "pg.analyze" => {
                let (schema, table) = qualified(param(params, action, "table")?);
                Plan::PgAnalyze { schema, table }
            }
            "pg.drop_index" => {
                let (schema, name) = qualified(param(params, action, "index")?);
                Plan::PgDropIndex { schema, name }
            }
            "pg.recreate_index" if origin == Origin::Rollback => {
                let (schema, name) = qualified(param(params, action, "index")?);
                Plan::PgRecreateIndex { schema, name, definition: param(params, action, "definition")?.to_string() }
            }
            "celery.rate_limit" => Plan::CeleryRateLimit {
                task: param(params, action, "task")?.to_string(),
                rate: param(params, action, "rate")?.to_ascii_lowercase(),
                workers: params
                    .get("workers")
                    .map(|w| w.split(',').map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect::<Vec<_>>())
                    .filter(|w| !w.is_empty()),
            },
            "celery.pool_resize" => {
                let n = param(params, action, "processes")?;
                Plan::CeleryPoolResize {
                    worker: param(params, action, "worker")?.to_string(),
                    processes: n.parse().ok().filter(|n| (1..=1024).contains(n)).ok_or_else(|| {
                        ApiError::invalid(format!("processes must be a whole number from 1 to 1024, not '{n}'"))
                    })?,
                }
            }
            "celery.add_consumer" | "celery.cancel_consumer" => Plan::CeleryConsumer {
                worker: param(params, action, "worker")?.to_string(),
                queue: param(params, action, "queue")?.to_string(),
                add: action == "celery.add_consumer",
            },
            "k8s.patch_hpa" => {
                let mut set = BTreeMap::new();
                for field in kubernetes::HPA_FIELDS {
                    if let Some(v) = params.get(field).filter(|v| !v.trim().is_empty()) {
                        set.insert(field.to_string(), kubernetes::validate_hpa_value(field, v)?);
                    }
                }
                if let Some(unknown) = params.keys().find(|k| {
                    !["namespace", "name"].contains(&k.as_str()) && !kubernetes::HPA_FIELDS.contains(&k.as_str())
                }) {
                    return Err(ApiError::invalid(format!(
                        "k8s.patch_hpa has no parameter '{unknown}'; it sets {}",
                        kubernetes::HPA_FIELDS.join(", ")
                    )));
                }
                if set.is_empty() {
                    return Err(ApiError::invalid(format!(
                        "k8s.patch_hpa needs at least one of {} (--param max_replicas=12)",
                        kubernetes::HPA_FIELDS.join(", ")
                    )));
                }
                Plan::K8sPatchHpa {
                    namespace: param(params, action, "namespace")?.to_string(),
                    name: param(params, action, "name")?.to_string(),
                    set,
                }
            }
            "k8s.scale" => {
                let n = param(params, action, "replicas")?;
                Plan::K8sScale {
                    namespace: param(params, action, "namespace")?.to_string(),
                    name: param(params, action, "name")?.to_string(),
                    // 0 is allowed: scaling a Deployment to zero is a real operation, and reversible.
                    replicas: n.parse().ok().filter(|n| *n <= 10_000).ok_or_else(|| {
                        ApiError::invalid(format!("replicas must be a whole number from 0 to 10000, not '{n}'"))
                    })?,
                }
            }
            "cache.flush_namespace" => {
                Plan::CacheFlushNamespace { namespace: param(params, action, "namespace")?.trim().to_string() }
            }
            "cache.set_settings" => {
                let mut set = BTreeMap::new();
                for (key, value) in params.iter().filter(|(k, _)| k.as_str() != "namespace") {
                    set.insert(key.clone(), cache::validate_value(key, value)?);
                }
                if set.is_empty() {
                    return Err(ApiError::invalid(format!(
                        "cache.set_settings needs at least one of {} (--param max_entries=20000)",
                        cache::FIELDS.join(", ")
                    )));
                }
                let namespace = params.get("namespace").map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
                Plan::CacheSetSettings { namespace, set }
            }
            other => {
                let known: Vec<&str> = ACTIONS.iter().map(|(id, _)| *id).collect();
                return Err(ApiError::invalid(format!("unknown action '{other}'; known: {}", known.join(", "))));
            }
        };
        plan.validate()?;
        Ok(plan)
    }

    fn validate(&self) -> ApiResult<()> {
        match self {
            Plan::RedisConfigSet { name, value, .. } => redis::validate(name, value),
            Plan::RedisCleanup { prefix } => redis::validate_prefix(prefix),
            Plan::PgAlterSystem { name, value } => postgres::validate_setting(name, value),
            Plan::PgCreateVectorIndex { ops, method, lists, .. } => postgres::validate_index(ops, method, *lists),
            Plan::PgCreateExtension { name } | Plan::PgDropExtension { name } => postgres::validate_extension(name),
            Plan::PgAnalyze { .. } => Ok(()),
            Plan::PgDropIndex { .. } | Plan::PgRecreateIndex { .. } => Ok(()),
            Plan::CeleryRateLimit { rate, workers, .. } => {
                workers.iter().flatten().try_for_each(|w| celery::validate_worker(w))?;
                celery::validate_rate(rate)
            }
            Plan::CeleryPoolResize { worker, .. } => celery::validate_worker(worker),
            Plan::CeleryConsumer { worker, queue, .. } => {
                celery::validate_worker(worker)?;
                celery::validate_queue(queue)
            }
            Plan::K8sPatchHpa { namespace, name, .. } | Plan::K8sScale { namespace, name, .. } => {
                kubernetes::validate_object(namespace, name)
            }
            Plan::CacheSetSettings { .. } | Plan::CacheFlushNamespace { .. } => Ok(()),
        }
    }

    fn service(&self) -> Svc {
        match self {
            Plan::RedisConfigSet { .. } | Plan::RedisCleanup { .. } => Svc::Redis,
            Plan::CeleryRateLimit { .. } | Plan::CeleryPoolResize { .. } | Plan::CeleryConsumer { .. } => {
                Svc::CeleryBroker
            }
            Plan::K8sPatchHpa { .. } | Plan::K8sScale { .. } => Svc::Kubernetes,
            _ => Svc::Postgres,
        }
    }

    fn on_cache(&self) -> bool {
        matches!(self, Plan::CacheSetSettings { .. } | Plan::CacheFlushNamespace { .. })
    }
}

/// What a plan read and will run: the preview less its token.
pub(crate) struct Prepared {
    pub statements: Vec<String>,
    pub changes: Vec<ValueChange>,
    pub notes: Vec<String>,
}

/// The values read back after a plan ran.
pub(crate) struct Ran {
    pub changes: Vec<ValueChange>,
    pub outcome: Outcome,
    pub message: Option<String>,
}

impl Ran {
    /// Nothing reached the server: every value is still its before value.
    fn not_run(planned: &[ValueChange], message: String) -> Ran {
        let changes = planned.iter().map(|c| ValueChange { after: c.before.clone(), ..c.clone() }).collect();
        Ran { changes, outcome: Outcome::Failed, message: Some(message) }
    }
}

fn endpoint_for<'a>(profile: &'a ResolvedProfile, plan: &Plan) -> ApiResult<&'a Endpoint> {
    let svc = plan.service();
    profile.endpoint(svc).ok_or_else(|| {
        ApiError::invalid(format!(
            "profile '{}' has no {} URL, so this action has nothing to act on",
            profile.name,
            svc.label()
        ))
    })
}

/// Whether the profile's Celery broker is the same server as its Redis (host and port).
fn redis_is_broker(profile: &ResolvedProfile) -> bool {
    let server = |e: &Endpoint| {
        let u = url::Url::parse(e.url.expose()).ok()?;
        Some((u.host_str()?.to_ascii_lowercase(), u.port().unwrap_or(6379)))
    };
    match (profile.endpoint(Svc::Redis), profile.endpoint(Svc::CeleryBroker)) {
        (Some(r), Some(b)) => server(r).is_some() && server(r) == server(b),
        _ => false,
    }
}

/// Where the plan acts, as the preview and the audit log name it (passwords redacted).
fn target_of(scope: &Scope<'_>, plan: &Plan) -> ApiResult<String> {
    if plan.on_cache() {
        scope.cache()?;
        return Ok(format!("semantic cache of this app (profile '{}')", scope.profile.name));
    }
    Ok(endpoint_for(scope.profile, plan)?.display.clone())
}

async fn prepare(scope: &Scope<'_>, plan: &Plan) -> ApiResult<Prepared> {
    match plan {
        Plan::CacheSetSettings { .. } => return cache::prepare(scope.cache()?, plan),
        Plan::CacheFlushNamespace { namespace } => return cache::prepare_flush(scope.cache()?, namespace).await,
        _ => {}
    }
    let profile = scope.profile;
    let endpoint = endpoint_for(profile, plan)?;
    match plan {
        Plan::RedisConfigSet { name, value, persist } => {
            redis::prepare(endpoint, name, value, *persist, redis_is_broker(profile)).await
        }
        Plan::RedisCleanup { prefix } => redis::prepare_cleanup(endpoint, prefix).await,
        Plan::CeleryRateLimit { .. } | Plan::CeleryPoolResize { .. } | Plan::CeleryConsumer { .. } => {
            celery::prepare(endpoint, plan).await
        }
        Plan::K8sPatchHpa { .. } | Plan::K8sScale { .. } => kubernetes::prepare(profile, plan).await,
        _ => postgres::prepare(endpoint, plan).await,
    }
}

fn token(profile: &str, action: &str, params: &BTreeMap<String, String>, p: &Prepared) -> String {
    let mut h = Sha256::new();
    let befores: Vec<(&str, &str)> = p.changes.iter().map(|c| (c.name.as_str(), c.before.as_str())).collect();
    let material = serde_json::json!([profile, action, params, p.statements, befores]);
    h.update(material.to_string().as_bytes());
    hex::encode(&h.finalize()[..8])
}

async fn preview_plan(
    scope: &Scope<'_>,
    action: &str,
    params: &BTreeMap<String, String>,
    plan: &Plan,
    rollback_of: Option<String>,
) -> ApiResult<ActionPreview> {
    let prepared = prepare(scope, plan).await?;
    let profile = scope.profile;
    Ok(ActionPreview {
        profile: profile.name.clone(),
        action: action.into(),
        params: params.clone(),
        target: target_of(scope, plan)?,
        confirm_token: token(&profile.name, action, params, &prepared),
        statements: prepared.statements,
        changes: prepared.changes,
        notes: prepared.notes,
        rollback_of,
    })
}

/// Shows what `action` with `params` would run on `profile`'s server, with live before values.
pub async fn preview(scope: &Scope<'_>, action: &str, params: &BTreeMap<String, String>) -> ApiResult<ActionPreview> {
    let plan = Plan::parse(action, params, Origin::Person)?;
    preview_plan(scope, action, params, &plan, None).await
}

/// The plan that undoes `entry`, refused when the value was changed since the entry was applied.
fn rollback_plan(entry: &AuditEntry) -> ApiResult<(String, BTreeMap<String, String>)> {
    if entry.outcome == Outcome::Failed {
        return Err(ApiError::invalid(format!(
            "audit entry {} did not apply: there is nothing to roll back",
            entry.id
        )));
    }
    if let Some(by) = &entry.rolled_back_by {
        return Err(ApiError::invalid(format!("audit entry {} was already rolled back by {by}", entry.id)));
    }
    let before = |i: usize| entry.changes.get(i).map(|c| c.before.clone()).unwrap_or_default();
    let p = &entry.params;
    let mut out = BTreeMap::new();
    let action = match entry.action.as_str() {
        "redis.config_set" | "pg.alter_system" => {
            out.insert("name".to_string(), p.get("name").cloned().unwrap_or_default());
            out.insert("value".to_string(), before(0));
            // A change written to the config file is undone there too.
            if let Some(persist) = p.get("persist") {
                out.insert("persist".to_string(), persist.clone());
            }
            entry.action.clone()
        }
        "pg.create_vector_index" => {
            let index = entry.changes.first().map(|c| c.name.trim_start_matches("index ").to_string());
            out.insert("index".to_string(), index.unwrap_or_default());
            "pg.drop_index".to_string()
        }
        "pg.drop_index" => {
            out.insert("index".to_string(), p.get("index").cloned().unwrap_or_default());
            out.insert("definition".to_string(), before(0));
            "pg.recreate_index".to_string()
        }
        "pg.recreate_index" => {
            out.insert("index".to_string(), p.get("index").cloned().unwrap_or_default());
            "pg.drop_index".to_string()
        }
        "pg.create_extension" => {
            out.insert("name".to_string(), p.get("name").cloned().unwrap_or_default());
            "pg.drop_extension".to_string()
        }
        "pg.drop_extension" => {
            out.insert("name".to_string(), p.get("name").cloned().unwrap_or_default());
            "pg.create_extension".to_string()
        }
        "redis.cleanup" => {
            return Err(ApiError::invalid(format!(
                "audit entry {} deleted cache keys: they cannot be put back; the cache refills as questions come",
                entry.id
            )))
        }
        "cache.flush_namespace" => {
            return Err(ApiError::invalid(format!(
                "audit entry {} flushed a cache namespace: the answers were deleted and cannot be put back; they \
                 are cached again as the questions come",
                entry.id
            )))
        }
        "pg.analyze" => {
            return Err(ApiError::invalid(format!(
                "audit entry {} ran ANALYZE, which replaces the planner's statistics with fresh ones: there is no \
                 before to put back, and nothing else changed",
                entry.id
            )))
        }
        "celery.rate_limit" => {
            let befores: std::collections::BTreeSet<&str> = entry.changes.iter().map(|c| c.before.as_str()).collect();
            if befores.len() > 1 {
                return Err(ApiError::invalid(format!(
                    "the workers had different rate limits before audit entry {} ({}): set each back with \
                     celery.rate_limit and its workers",
                    entry.id,
                    entry.changes.iter().map(|c| format!("{} = {}", c.name, c.before)).collect::<Vec<_>>().join(", ")
                )));
            }
            let workers: Vec<&str> =
                entry.changes.iter().filter_map(|c| c.name.rsplit_once(" on ").map(|x| x.1)).collect();
            out.insert("task".to_string(), p.get("task").cloned().unwrap_or_default());
            out.insert("rate".to_string(), before(0));
            out.insert("workers".to_string(), workers.join(","));
            entry.action.clone()
        }
        "celery.pool_resize" => {
            out.insert("worker".to_string(), p.get("worker").cloned().unwrap_or_default());
            out.insert("processes".to_string(), before(0));
            entry.action.clone()
        }
        "celery.add_consumer" | "celery.cancel_consumer" => {
            out.insert("worker".to_string(), p.get("worker").cloned().unwrap_or_default());
            out.insert("queue".to_string(), p.get("queue").cloned().unwrap_or_default());
            if entry.action == "celery.add_consumer" { "celery.cancel_consumer" } else { "celery.add_consumer" }
                .to_string()
        }
        "k8s.patch_hpa" | "k8s.scale" => {
            for key in ["namespace", "name"] {
                out.insert(key.to_string(), p.get(key).cloned().unwrap_or_default());
            }
            out.extend(fields_back(&entry.changes));
            entry.action.clone()
        }
        "cache.set_settings" => {
            if let Some(ns) = p.get("namespace") {
                out.insert("namespace".to_string(), ns.clone());
            }
            out.extend(fields_back(&entry.changes));
            entry.action.clone()
        }
        other => return Err(ApiError::invalid(format!("audit entry {} ({other}) cannot be rolled back", entry.id))),
    };
    Ok((action, out))
}

/// Refuses a rollback when the values are no longer what the entry left.
fn check_unchanged_since(entry: &AuditEntry, preview: &ActionPreview) -> ApiResult<()> {
    for (was, now) in entry.changes.iter().zip(&preview.changes) {
        if was.after != now.before {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "{} is now '{}', not the '{}' that audit entry {} left: it was changed since, so rolling back \
                     would overwrite that change; nothing was done",
                    was.name, now.before, was.after, entry.id
                ),
            ));
        }
    }
    Ok(())
}

/// Shows what rolling back `entry` would run.
pub async fn preview_rollback(scope: &Scope<'_>, entry: &AuditEntry) -> ApiResult<ActionPreview> {
    let profile = scope.profile;
    if entry.profile != profile.name {
        return Err(ApiError::invalid(format!(
            "audit entry {} belongs to profile '{}', not '{}'",
            entry.id, entry.profile, profile.name
        )));
    }
    let (action, params) = rollback_plan(entry)?;
    let plan = Plan::parse(&action, &params, Origin::Rollback)?;
    let preview = preview_plan(scope, &action, &params, &plan, Some(entry.id.clone())).await?;
    check_unchanged_since(entry, &preview)?;
    Ok(preview)
}

/// Runs a previewed action when `confirm` is still its token; reads back and audits.
pub async fn apply(
    scope: &Scope<'_>,
    action: &str,
    params: &BTreeMap<String, String>,
    confirm: &str,
    audit: &AuditLog,
) -> ApiResult<AuditEntry> {
    let plan = Plan::parse(action, params, Origin::Person)?;
    let preview = preview_plan(scope, action, params, &plan, None).await?;
    run_confirmed(scope, &plan, preview, confirm, audit).await
}

/// Rolls `entry` back when `confirm` is still the token of its rollback preview.
pub async fn rollback(scope: &Scope<'_>, entry: &AuditEntry, confirm: &str, audit: &AuditLog) -> ApiResult<AuditEntry> {
    let preview = preview_rollback(scope, entry).await?;
    let plan = Plan::parse(&preview.action, &preview.params, Origin::Rollback)?;
    run_confirmed(scope, &plan, preview, confirm, audit).await
}

async fn run_confirmed(
    scope: &Scope<'_>,
    plan: &Plan,
    preview: ActionPreview,
    confirm: &str,
    audit: &AuditLog,
) -> ApiResult<AuditEntry> {
    if confirm.trim() != preview.confirm_token {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "the confirmation does not match the current preview: the values changed since it was shown (now: \
                 {}), or it belongs to another action; nothing was done. Preview again and confirm that",
                preview.changes.iter().map(|c| format!("{} = {}", c.name, c.before)).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let profile = scope.profile;
    let tracker = progress::Tracker::start(&profile.name, &preview.action, &preview.target);
    let ran = match plan {
        Plan::CacheSetSettings { .. } => cache::run(scope.cache()?, plan, &preview.changes).await,
        Plan::CacheFlushNamespace { namespace } => cache::run_flush(scope.cache()?, namespace, &preview.changes).await,
        Plan::K8sPatchHpa { .. } | Plan::K8sScale { .. } => kubernetes::run(profile, plan, &preview.changes).await,
        _ => run_on_endpoint(endpoint_for(profile, plan)?, plan, &preview.changes, &tracker).await,
    };
    drop(tracker);
    let entry = AuditEntry {
        id: AuditLog::new_id(),
        at: chrono::Utc::now().to_rfc3339(),
        profile: profile.name.clone(),
        action: preview.action.clone(),
        params: preview.params.clone(),
        target: preview.target.clone(),
        statements: preview.statements.clone(),
        changes: ran.changes,
        outcome: ran.outcome,
        message: ran.message,
        rollback_of: preview.rollback_of.clone(),
        rolled_back_by: None,
    };
    audit.append(&entry)?;
    Ok(entry)
}

/// Runs a plan on the server its endpoint names.
async fn run_on_endpoint(
    endpoint: &Endpoint,
    plan: &Plan,
    changes: &[ValueChange],
    tracker: &progress::Tracker,
) -> Ran {
    match plan {
        Plan::RedisConfigSet { name, value, persist } => redis::run(endpoint, name, value, *persist, changes).await,
        Plan::RedisCleanup { prefix } => redis::run_cleanup(endpoint, prefix, changes).await,
        Plan::CeleryRateLimit { .. } | Plan::CeleryPoolResize { .. } | Plan::CeleryConsumer { .. } => {
            celery::run(endpoint, plan, changes).await
        }
        _ => postgres::run(endpoint, plan, changes, tracker).await,
    }
}

#[cfg(test)]
mod tests;
