//! Every command is declared once here: its name, request type, answer type and the facade call.
//! The Tauri shell and the HTTP server route `(name, json)` through [`dispatch`]; the TypeScript
//! command map (`ui/src/bindings/commands.ts`) is generated from the same list.

use super::Service;
use crate::error::{ApiError, ApiResult};
use crate::profiles::{ProfileInput, ProfileView};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::advisor::*;
use super::cache::*;
use super::cluster::{KubeRequest, PanelsUpdate, PromPanelsRequest, PromQueryRequest, PromRangeRequest};
use super::monitor::{DbReportRequest, ExplainRequest, QueuesReportRequest, RedisReportRequest};
use super::query::{DataSchemaRequest, ReplayRequest, SqlInvalidateRequest, TaskSendRequest};
use super::{StatusReport, StatusRequest};
use crate::advisor::actions::progress::ActionProgress;
use crate::advisor::actions::ActionPreview;
use crate::advisor::audit::AuditEntry;
use crate::advisor::AdviceReport;
use crate::engine::cache::types::{CacheSettings, EntryView, Lookup};
use crate::engine::cache::{CacheStats, CleanupReport};
use crate::engine::eval::EvalReport;
use crate::engine::query::replay::ReplayReport;
use crate::engine::query::results::{DataSchema, SqlAnswer, SqlRequest};
use crate::engine::query::{QueryAnswer, QueryRequest, QueryStats};
use crate::engine::store::Invalidation;
use crate::engine::work::{TaskResult, WorkStats};
use crate::history::alerts::{AlertRules, AlertsReport, AlertsRequest};
use crate::history::chart::{ChartExport, ChartRequest};
use crate::history::{HistoryReport, HistoryRequest, SamplerStatus};
use crate::sources::celery::QueuesReport;
use crate::sources::explain::ExplainReport;
use crate::sources::kubernetes::{DeploymentsReport, HpasReport, NodesUsage, PodsUsage};
use crate::sources::panels::{PanelSet, PanelsReport};
use crate::sources::postgres_report::DbReport;
use crate::sources::prometheus::QueryResult;
use crate::sources::redis_report::RedisReport;

/// Names one cache entry.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EntryId {
    pub id: String,
}

/// Arguments of a command that takes none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NoArgs {}

/// Names one profile.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ProfileName {
    pub name: String,
}

/// Names one profile, or the default one (`embedded`, as for `redis` and `db`) when absent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ProfileRef {
    #[serde(default)]
    pub profile: Option<String>,
}

/// An answer with nothing in it but success.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Done {
    pub ok: bool,
}

/// What a command may change. [`dispatch`] checks it before the command runs, so a command cannot
/// write through a read-only profile by forgetting to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteTarget {
    /// Reads only.
    Nothing,
    /// The app's own settings (saved profiles): refused only when the whole service is read-only.
    AppConfig,
    /// The semantic cache's store: refused when the profile that store belongs to is read-only.
    Cache,
    /// The monitored system of the profile named by the request's `profile` field.
    Profile,
}

/// A command's signature, for generated clients.
#[derive(Debug, Clone, Copy)]
pub struct CommandSig {
    pub name: &'static str,
    pub request: &'static str,
    pub response: &'static str,
    /// Whether the command may change anything (profiles, caches, monitored systems).
    pub writes: bool,
    pub target: WriteTarget,
}

fn parse_args<T: DeserializeOwned>(command: &str, args: serde_json::Value) -> ApiResult<T> {
    let args = if args.is_null() { serde_json::json!({}) } else { args };
    serde_json::from_value(args).map_err(|e| ApiError::invalid(format!("bad arguments for '{command}': {e}")))
}

/// What every command passes before it runs, streamed or not: the write check for its target,
/// then its arguments parsed.
pub(super) fn checked_args<T: DeserializeOwned>(
    service: &Service,
    target: WriteTarget,
    command: &str,
    args: serde_json::Value,
) -> ApiResult<T> {
    service.ensure_may_write(target, &args)?;
    parse_args(command, args)
}

fn to_json<T: Serialize>(value: T) -> ApiResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| ApiError::internal(format!("cannot encode the answer: {e}")))
}

/// Adding a command: declare it here (`writes(config|cache|profile)` when it may change anything),
/// add its facade method, and run `cargo test` to regenerate the TypeScript bindings.
macro_rules! commands {
    ($( $name:literal $(writes($w:ident))? => |$svc:ident, $arg:ident : $req:ident| -> $res:ty $body:block )*) => {
        /// Every command with its request and answer type names.
        pub const COMMANDS: &[CommandSig] = &[
            $( CommandSig {
                name: $name,
                request: stringify!($req),
                response: stringify!($res),
                writes: !matches!(commands!(@w $($w)?), WriteTarget::Nothing),
                target: commands!(@w $($w)?),
            }, )*
        ];

        /// Runs one command by name with JSON arguments and returns its JSON answer. A command that
        /// writes is refused with [`ErrorCode::ReadOnly`] before it runs when its target may not be written.
        pub async fn dispatch(service: &Service, command: &str, args: serde_json::Value) -> ApiResult<serde_json::Value> {
            match command {
                $( $name => {
                    #[allow(unused_variables)]
                    let $arg: $req = checked_args(service, commands!(@w $($w)?), $name, args)?;
                    let $svc = service;
                    let out: $res = $body;
                    to_json(out)
                } )*
                other => Err(ApiError::not_found(format!("unknown command '{other}'"))),
            }
        }
    };
    (@w) => { WriteTarget::Nothing };
    (@w config) => { WriteTarget::AppConfig };
    (@w cache) => { WriteTarget::Cache };
    (@w profile) => { WriteTarget::Profile };
}

commands! {
    "status" => |s, req: StatusRequest| -> StatusReport { s.status(req).await? }
    "redis_report" => |s, r: RedisReportRequest| -> RedisReport { s.redis_report(r).await? }
    "queues_report" => |s, r: QueuesReportRequest| -> QueuesReport { s.queues_report(r).await? }
    "prom_query" => |s, r: PromQueryRequest| -> QueryResult { s.prom_query(r).await? }
    "prom_range" => |s, r: PromRangeRequest| -> QueryResult { s.prom_range(r).await? }
    "prom_panels" => |s, r: PromPanelsRequest| -> PanelsReport { s.prom_panels(r).await? }
    "prom_panel_list" => |s, r: ProfileRef| -> PanelSet { s.prom_panel_list(r.profile.as_deref())? }
    "prom_panels_set" writes(config) => |s, r: PanelsUpdate| -> PanelSet { s.prom_panels_set(r)? }
    "k8s_pods" => |s, r: KubeRequest| -> PodsUsage { s.k8s_pods(r).await? }
    "k8s_nodes" => |s, r: KubeRequest| -> NodesUsage { s.k8s_nodes(r).await? }
    "k8s_hpas" => |s, r: KubeRequest| -> HpasReport { s.k8s_hpas(r).await? }
    "k8s_deployments" => |s, r: KubeRequest| -> DeploymentsReport { s.k8s_deployments(r).await? }
    "db_report" => |s, r: DbReportRequest| -> DbReport { s.db_report(r).await? }
    "explain" => |s, r: ExplainRequest| -> ExplainReport { s.explain(r).await? }
    "advise" => |s, r: AdviseRequest| -> AdviceReport { s.advise(r).await? }
    "audit_log" => |s, r: AuditLogRequest| -> Vec<AuditEntry> { s.audit_log(r)? }
    "action_preview" => |s, r: ActionRequest| -> ActionPreview { s.action_preview(r).await? }
    "action_apply" writes(profile) => |s, r: ActionRequest| -> AuditEntry { s.action_apply(r).await? }
    "action_progress" => |s, r: ActionProgressRequest| -> Vec<ActionProgress> { s.action_progress(r) }
    "action_rollback" writes(profile) => |s, r: RollbackRequest| -> AuditEntry { s.action_rollback(r).await? }
    "history_series" => |s, r: HistoryRequest| -> HistoryReport { s.history_series(r).await? }
    "history_chart" => |s, r: ChartRequest| -> ChartExport { s.history_chart(r).await? }
    "alerts" => |s, r: AlertsRequest| -> AlertsReport { s.alerts(r).await? }
    "alert_rules" => |s, r: ProfileRef| -> AlertRules { s.alert_rules(r.profile.as_deref())? }
    "alert_rules_set" writes(config) => |s, r: AlertRules| -> AlertRules { s.alert_rules_set(r)? }
    "sampler_status" => |s, _a: NoArgs| -> SamplerStatus { s.sampler_status().await? }
    "list_profiles" => |s, _a: NoArgs| -> Vec<ProfileView> { s.list_profiles()? }
    "save_profile" writes(config) => |s, input: ProfileInput| -> ProfileView { s.save_profile(input)? }
    "delete_profile" writes(config) => |s, p: ProfileName| -> Done { s.delete_profile(&p.name)?; Done { ok: true } }
    "cache_stats" => |s, _a: NoArgs| -> CacheStats { s.cache_stats().await? }
    "cache_lookup" => |s, r: CacheLookupRequest| -> Lookup { s.cache_lookup(r).await? }
    "cache_search" => |s, r: CacheSearchRequest| -> Vec<EntryView> { s.cache_search(r).await? }
    "cache_entries" => |s, r: CacheEntriesRequest| -> Vec<EntryView> { s.cache_entries(r).await? }
    "cache_eval" => |s, r: CacheEvalRequest| -> EvalReport { s.cache_eval(r).await? }
    "cache_store" writes(cache) => |s, r: CacheStoreRequest| -> StoredEntry { s.cache_store(r).await? }
    "cache_delete_entry" writes(cache) => |s, r: EntryId| -> Count { s.cache_delete_entry(&r.id).await? }
    "cache_invalidate" writes(cache) => |s, r: Invalidation| -> Count { s.cache_invalidate(r).await? }
    "cache_set_settings" writes(cache) => |s, r: CacheSettingsRequest| -> CacheSettings { s.cache_set_settings(r).await? }
    "cache_cleanup" writes(cache) => |s, _a: NoArgs| -> CleanupReport { s.cache_cleanup().await? }
    "cache_warm" writes(cache) => |s, r: CacheWarmRequest| -> JobId { s.cache_warm(r).await? }
    "query" writes(cache) => |s, r: QueryRequest| -> QueryAnswer { s.query(r).await? }
    "query_stats" => |s, _a: NoArgs| -> QueryStats { s.query_stats().await? }
    "replay" => |s, r: ReplayRequest| -> Vec<ReplayReport> { s.replay(r).await? }
    "sql_query" => |s, r: SqlRequest| -> SqlAnswer { s.sql_query(r).await? }
    "sql_invalidate" => |s, r: SqlInvalidateRequest| -> Count { s.sql_invalidate(r).await? }
    "data_schema" => |s, r: DataSchemaRequest| -> DataSchema { s.data_schema(r).await? }
    "work_stats" => |s, _a: NoArgs| -> WorkStats { s.work_stats()? }
    "task_send" writes(profile) => |s, r: TaskSendRequest| -> TaskResult { s.task_send(r).await? }
    "job_status" => |s, r: JobId| -> JobView { s.jobs().get(r.id)? }
    "list_jobs" => |s, _a: NoArgs| -> Vec<JobView> { s.jobs().list() }
}

/// TypeScript for the command map, so the UI's `call("status", …)` is typed end to end.
pub fn command_map_ts() -> String {
    fn ts_type(rust: &str) -> String {
        let t = rust.replace(' ', "");
        if let Some(inner) = t.strip_prefix("Vec<").and_then(|s| s.strip_suffix('>')) {
            format!("Array<{}>", ts_type(inner))
        } else {
            t
        }
    }
    fn base(rust: &str) -> String {
        let t = rust.replace(' ', "");
        t.strip_prefix("Vec<").and_then(|s| s.strip_suffix('>')).map(base).unwrap_or(t)
    }
    let mut names: Vec<String> = COMMANDS.iter().flat_map(|c| [base(c.request), base(c.response)]).collect();
    names.sort();
    names.dedup();
    let mut out =
        String::from("// Generated from crates/simba-core/src/api/dispatch.rs by `cargo test`; do not edit.\n");
    for n in &names {
        out.push_str(&format!("import type {{ {n} }} from \"./{n}\";\n"));
    }
    out.push_str("\nexport interface Commands {\n");
    for c in COMMANDS {
        out.push_str(&format!(
            "  {}: {{ request: {}; response: {}; writes: {} }};\n",
            c.name,
            ts_type(c.request),
            ts_type(c.response),
            c.writes
        ));
    }
    out.push_str("}\n\nexport type CommandName = keyof Commands;\n");
    let streaming: Vec<String> = super::stream::STREAMING_COMMANDS.iter().map(|c| format!("\"{c}\"")).collect();
    out.push_str(&format!(
        "\n/** The commands that can stream their answer (`call_stream`, `POST /api/stream/<command>`). */\nexport type StreamingCommandName = {};\n",
        streaming.join(" | ")
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn write_typescript_command_map() {
        // Runs with the ts-rs exports: keeps ui/src/bindings/commands.ts in step with COMMANDS.
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/bindings");
        std::fs::create_dir_all(&dir).unwrap();
        let text = command_map_ts();
        assert!(text.contains("status: { request: StatusRequest; response: StatusReport; writes: false }"));
        assert!(text.contains("list_profiles: { request: NoArgs; response: Array<ProfileView>; writes: false }"));
        std::fs::write(dir.join("commands.ts"), text).unwrap();
    }

    #[test]
    fn command_names_are_unique() {
        let mut names: Vec<_> = COMMANDS.iter().map(|c| c.name).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    fn quiet_service(dir: &std::path::Path, store: Option<&str>) -> Service {
        let profiles = crate::profiles::ProfileStore::new(dir.join("cfg"));
        match store {
            Some(choice) => Service::open_with_store_in(profiles, Some(choice)).unwrap(),
            None => {
                let engine = crate::engine::Engine::new(
                    dir.join("no-model"),
                    crate::engine::Backend::Embedded { path: dir.join("data").join("cache.db") },
                );
                Service::open(profiles, engine).unwrap()
            }
        }
    }

    #[tokio::test]
    async fn a_read_only_service_refuses_every_writing_command_before_it_runs() {
        let dir = tempfile::tempdir().unwrap();
        let service = quiet_service(dir.path(), None);
        service.make_read_only();
        assert!(COMMANDS.iter().any(|c| c.writes), "no command declares a write");
        for c in COMMANDS {
            let answer = dispatch(&service, c.name, serde_json::json!({})).await;
            let code = answer.as_ref().err().map(|e| e.code);
            if c.writes {
                assert_eq!(code, Some(ErrorCode::ReadOnly), "{} wrote through a read-only service: {answer:?}", c.name);
            } else {
                assert_ne!(code, Some(ErrorCode::ReadOnly), "{} only reads", c.name);
            }
        }
        // Refused before running: neither the cache file nor the config folder was created.
        assert!(!dir.path().join("data").exists());
        assert!(!dir.path().join("cfg").exists());
    }

    #[tokio::test]
    async fn the_cache_of_a_read_only_profile_is_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let profiles = crate::profiles::ProfileStore::new(dir.path().join("cfg"));
        let shared = crate::profiles::ProfileInput {
            name: "shared".into(),
            redis_url: Some("redis://127.0.0.1:9/0".into()),
            ..Default::default()
        };
        profiles.save(&shared).unwrap();
        let service = quiet_service(dir.path(), Some("redis@shared"));
        // Made read-only while the service runs: every cache write is refused at once.
        profiles.save(&crate::profiles::ProfileInput { read_only: true, ..shared }).unwrap();
        for c in COMMANDS.iter().filter(|c| c.target == WriteTarget::Cache) {
            let err = dispatch(&service, c.name, serde_json::json!({})).await.unwrap_err();
            assert_eq!(err.code, ErrorCode::ReadOnly, "{}: {}", c.name, err.message);
            assert!(err.message.contains("shared"), "{}", err.message);
        }
        // Saved profiles (the app's own settings) stay editable, so the flag can be cleared.
        let saved = dispatch(&service, "save_profile", serde_json::json!({"name": "other"})).await.unwrap();
        assert_eq!(saved["name"], "other");
        // A command on a monitored system names its profile, and is refused for a read-only one.
        let err =
            service.ensure_may_write(WriteTarget::Profile, &serde_json::json!({"profile": "shared"})).unwrap_err();
        assert_eq!(err.code, ErrorCode::ReadOnly);
        assert!(service.ensure_may_write(WriteTarget::Profile, &serde_json::json!({"profile": "other"})).is_ok());
        let err = service.ensure_may_write(WriteTarget::Profile, &serde_json::json!({})).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
    }
}
