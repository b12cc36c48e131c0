// Generated from crates/simba-core/src/api/dispatch.rs by `cargo test`; do not edit.
import type { Done } from "./Done";
import type { NoArgs } from "./NoArgs";
import type { ProfileInput } from "./ProfileInput";
import type { ProfileName } from "./ProfileName";
import type { ProfileView } from "./ProfileView";
import type { StatusReport } from "./StatusReport";
import type { StatusRequest } from "./StatusRequest";

export interface Commands {
  status: { request: StatusRequest; response: StatusReport; writes: false };
  list_profiles: { request: NoArgs; response: Array<ProfileView>; writes: false };
  save_profile: { request: ProfileInput; response: ProfileView; writes: true };
  delete_profile: { request: ProfileName; response: Done; writes: true };
}

export type CommandName = keyof Commands;
