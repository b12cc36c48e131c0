// Generated from crates/simba-core/src/api/dispatch.rs by `cargo test`; do not edit.
import type { CacheEntriesRequest } from "./CacheEntriesRequest";
import type { CacheEvalRequest } from "./CacheEvalRequest";
import type { CacheLookupRequest } from "./CacheLookupRequest";
import type { CacheSearchRequest } from "./CacheSearchRequest";
import type { CacheSettings } from "./CacheSettings";
import type { CacheSettingsRequest } from "./CacheSettingsRequest";
import type { CacheStats } from "./CacheStats";
import type { CacheStoreRequest } from "./CacheStoreRequest";
import type { CacheWarmRequest } from "./CacheWarmRequest";
import type { CleanupReport } from "./CleanupReport";
import type { Count } from "./Count";
import type { DbReport } from "./DbReport";
import type { DbReportRequest } from "./DbReportRequest";
import type { Done } from "./Done";
import type { EntryId } from "./EntryId";
import type { EntryView } from "./EntryView";
import type { EvalReport } from "./EvalReport";
import type { ExplainReport } from "./ExplainReport";
import type { ExplainRequest } from "./ExplainRequest";
import type { Invalidation } from "./Invalidation";
import type { JobId } from "./JobId";
import type { JobView } from "./JobView";
import type { Lookup } from "./Lookup";
import type { NoArgs } from "./NoArgs";
import type { ProfileInput } from "./ProfileInput";
import type { ProfileName } from "./ProfileName";
import type { ProfileView } from "./ProfileView";
import type { RedisReport } from "./RedisReport";
import type { RedisReportRequest } from "./RedisReportRequest";
import type { StatusReport } from "./StatusReport";
import type { StatusRequest } from "./StatusRequest";
import type { StoredEntry } from "./StoredEntry";

export interface Commands {
  status: { request: StatusRequest; response: StatusReport; writes: false };
  redis_report: { request: RedisReportRequest; response: RedisReport; writes: false };
  db_report: { request: DbReportRequest; response: DbReport; writes: false };
  explain: { request: ExplainRequest; response: ExplainReport; writes: false };
  list_profiles: { request: NoArgs; response: Array<ProfileView>; writes: false };
  save_profile: { request: ProfileInput; response: ProfileView; writes: true };
  delete_profile: { request: ProfileName; response: Done; writes: true };
  cache_stats: { request: NoArgs; response: CacheStats; writes: false };
  cache_lookup: { request: CacheLookupRequest; response: Lookup; writes: false };
  cache_search: { request: CacheSearchRequest; response: Array<EntryView>; writes: false };
  cache_entries: { request: CacheEntriesRequest; response: Array<EntryView>; writes: false };
  cache_eval: { request: CacheEvalRequest; response: EvalReport; writes: false };
  cache_store: { request: CacheStoreRequest; response: StoredEntry; writes: true };
  cache_delete_entry: { request: EntryId; response: Count; writes: true };
  cache_invalidate: { request: Invalidation; response: Count; writes: true };
  cache_set_settings: { request: CacheSettingsRequest; response: CacheSettings; writes: true };
  cache_cleanup: { request: NoArgs; response: CleanupReport; writes: true };
  cache_warm: { request: CacheWarmRequest; response: JobId; writes: true };
  job_status: { request: JobId; response: JobView; writes: false };
  list_jobs: { request: NoArgs; response: Array<JobView>; writes: false };
}

export type CommandName = keyof Commands;
