//! Every command is declared once here: its name, request type, answer type and the facade call.
//! The Tauri shell and the HTTP server route `(name, json)` through [`dispatch`]; the TypeScript
//! command map (`ui/src/bindings/commands.ts`) is generated from the same list.

use super::Service;
use crate::error::{ApiError, ApiResult};
use crate::profiles::{ProfileInput, ProfileView};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::cache::*;
use super::monitor::{DbReportRequest, ExplainRequest, RedisReportRequest};
use super::{StatusReport, StatusRequest};
use crate::engine::cache::types::{CacheSettings, EntryView, Lookup};
use crate::engine::cache::{CacheStats, CleanupReport};
use crate::engine::eval::EvalReport;
use crate::engine::store::Invalidation;
use crate::sources::explain::ExplainReport;
use crate::sources::postgres_report::DbReport;
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

/// An answer with nothing in it but success.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Done {
    pub ok: bool,
}

/// A command's signature, for generated clients.
#[derive(Debug, Clone, Copy)]
pub struct CommandSig {
    pub name: &'static str,
    pub request: &'static str,
    pub response: &'static str,
    /// Whether the command may change anything (profiles, caches, monitored systems).
    pub writes: bool,
}

fn parse_args<T: DeserializeOwned>(command: &str, args: serde_json::Value) -> ApiResult<T> {
    let args = if args.is_null() { serde_json::json!({}) } else { args };
    serde_json::from_value(args).map_err(|e| ApiError::invalid(format!("bad arguments for '{command}': {e}")))
}

fn to_json<T: Serialize>(value: T) -> ApiResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| ApiError::internal(format!("cannot encode the answer: {e}")))
}

macro_rules! commands {
    ($( $name:literal $(writes $w:tt)? => |$svc:ident, $arg:ident : $req:ident| -> $res:ty $body:block )*) => {
        /// Every command with its request and answer type names.
        pub const COMMANDS: &[CommandSig] = &[
            $( CommandSig { name: $name, request: stringify!($req), response: stringify!($res), writes: commands!(@w $($w)?) }, )*
        ];

        /// Runs one command by name with JSON arguments and returns its JSON answer.
        pub async fn dispatch(service: &Service, command: &str, args: serde_json::Value) -> ApiResult<serde_json::Value> {
            match command {
                $( $name => {
                    #[allow(unused_variables)]
                    let $arg: $req = parse_args($name, args)?;
                    let $svc = service;
                    let out: $res = $body;
                    to_json(out)
                } )*
                other => Err(ApiError::not_found(format!("unknown command '{other}'"))),
            }
        }
    };
    (@w) => { false };
    (@w $w:tt) => { true };
}

commands! {
    "status" => |s, req: StatusRequest| -> StatusReport { s.status(req).await? }
    "redis_report" => |s, r: RedisReportRequest| -> RedisReport { s.redis_report(r).await? }
    "db_report" => |s, r: DbReportRequest| -> DbReport { s.db_report(r).await? }
    "explain" => |s, r: ExplainRequest| -> ExplainReport { s.explain(r).await? }
    "list_profiles" => |s, _a: NoArgs| -> Vec<ProfileView> { s.list_profiles()? }
    "save_profile" writes! => |s, input: ProfileInput| -> ProfileView { s.save_profile(input)? }
    "delete_profile" writes! => |s, p: ProfileName| -> Done { s.delete_profile(&p.name)?; Done { ok: true } }
    "cache_stats" => |s, _a: NoArgs| -> CacheStats { s.cache_stats().await? }
    "cache_lookup" => |s, r: CacheLookupRequest| -> Lookup { s.cache_lookup(r).await? }
    "cache_search" => |s, r: CacheSearchRequest| -> Vec<EntryView> { s.cache_search(r).await? }
    "cache_entries" => |s, r: CacheEntriesRequest| -> Vec<EntryView> { s.cache_entries(r).await? }
    "cache_eval" => |s, r: CacheEvalRequest| -> EvalReport { s.cache_eval(r).await? }
    "cache_store" writes! => |s, r: CacheStoreRequest| -> StoredEntry { s.cache_store(r).await? }
    "cache_delete_entry" writes! => |s, r: EntryId| -> Count { s.cache_delete_entry(&r.id).await? }
    "cache_invalidate" writes! => |s, r: Invalidation| -> Count { s.cache_invalidate(r).await? }
    "cache_set_settings" writes! => |s, r: CacheSettingsRequest| -> CacheSettings { s.cache_set_settings(r).await? }
    "cache_cleanup" writes! => |s, _a: NoArgs| -> CleanupReport { s.cache_cleanup().await? }
    "cache_warm" writes! => |s, r: CacheWarmRequest| -> JobId { s.cache_warm(r).await? }
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
