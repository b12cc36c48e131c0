// Pieces shared by the Redis, Database, Queues, Cluster and Advisor pages: the profile picker, the refresh bar with
// auto-refresh that pauses while the page is hidden, and small formatting helpers.
import { Fragment, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import type { ApiError } from "../../bindings/ApiError";
import type { ProfileView } from "../../bindings/ProfileView";
import type { Service } from "../../bindings/Service";
import { call } from "../../platform";
import { asError } from "../cache/util";
import { ErrorBox } from "../Overview";

export { asError };

/** Every profile (with its endpoints and read-only flag), or null while loading. */
export function useProfiles(): { profiles: ProfileView[] | null; error: ApiError | null } {
  const [profiles, setProfiles] = useState<ProfileView[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    let live = true;
    call("list_profiles", {})
      .then((ps: ProfileView[]) => live && setProfiles(ps))
      .catch((e) => live && (setError(asError(e)), setProfiles([])));
    return () => {
      live = false;
    };
  }, []);
  return { profiles, error };
}

/** The profiles that have an endpoint for `service` (or for any of several), or null while loading. */
export function useProfilesWith(service: Service | Service[]): { names: string[] | null; error: ApiError | null } {
  const { profiles, error } = useProfiles();
  const key = Array.isArray(service) ? service.join(",") : service;
  const names = useMemo(() => {
    const wanted = key.split(",");
    return profiles && profiles.filter((p) => p.endpoints.some((e) => wanted.includes(e.service))).map((p) => p.name);
  }, [profiles, key]);
  return { names, error };
}

/**
 * The profile to show first: the one the app has selected when it has this service, else
 * `embedded` (what `redis_report`/`db_report` use without a profile), else the first one.
 */
export function initialProfile(names: string[], preferred: string | undefined): string {
  if (preferred && names.includes(preferred)) return preferred;
  if (names.includes("embedded")) return "embedded";
  return names[0] ?? "embedded";
}

export function ProfilePicker({
  names,
  value,
  onChange,
  testid,
}: {
  names: string[];
  value: string;
  onChange: (name: string) => void;
  testid: string;
}) {
  return (
    <label>
      Profile{" "}
      <select data-testid={testid} value={value} onChange={(e) => onChange(e.target.value)}>
        {(names.includes(value) ? names : [value, ...names]).map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </label>
  );
}

/** What differs between the pages `PerProfilePage` frames. */
export interface PerProfileKind {
  /** the service a profile needs, or several of which it needs one (the Cluster page) */
  service: Service | Service[];
  /** the page's test id */
  testid: string;
  /** the picker is `${prefix}-profile`, the no-profile warning `${prefix}-no-profile` */
  prefix: string;
  /** what the warning names: "No profile has a {label} URL." */
  label: string;
  /** the `simba-tuner profile add` option that sets the URL, without its dashes */
  flag: string;
}

/**
 * The frame of a page that shows one profile at a time for `kind.service`: the loading line, the
 * error listing the profiles, the warning when no profile has the service, and `render` for the
 * chosen profile (remounted when the profile changes), handed the profile picker for its toolbar.
 */
export function PerProfilePage({
  kind: { service, testid, prefix, label, flag },
  preferred,
  render,
}: {
  kind: PerProfileKind;
  preferred: string | undefined;
  render: (profile: string, picker: ReactNode) => ReactNode;
}) {
  const { names, error: profilesError } = useProfilesWith(service);
  const [chosen, setChosen] = useState<string | null>(null);
  const profile = chosen ?? (names ? initialProfile(names, preferred) : null);
  if (names === null) return <div className="muted">loading profiles…</div>;
  return (
    <div data-testid={testid}>
      {profilesError && <ErrorBox error={profilesError} />}
      {names.length === 0 && (
        <div className="error warning" data-testid={`${prefix}-no-profile`}>
          {`No profile has a ${label} URL. Add one on the Profiles page (or \`simba-tuner profile add NAME --${flag} URL\`).`}
        </div>
      )}
      {profile && names.length > 0 && (
        <Fragment key={profile}>
          {render(profile, <ProfilePicker names={names} value={profile} onChange={setChosen} testid={`${prefix}-profile`} />)}
        </Fragment>
      )}
    </div>
  );
}

function pageHidden(): boolean {
  return typeof document !== "undefined" && document.visibilityState === "hidden";
}

/**
 * Calls `load` now, then every `seconds` while `auto` is on. Nothing runs while the page is
 * hidden (a minimised window need not poll the servers); it loads again when it shows.
 */
export function useAutoRefresh(load: () => void, seconds: number, auto: boolean) {
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    if (!auto) return;
    const t = setInterval(() => {
      if (!pageHidden()) loadRef.current();
    }, seconds * 1000);
    const onVisible = () => {
      if (!pageHidden()) loadRef.current();
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      clearInterval(t);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [seconds, auto]);
}

/** A report loader: one call in flight at a time, the last answer and error kept apart. */
export function useReport<T>(fetcher: () => Promise<T>, deps: unknown[]) {
  const [report, setReport] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [updated, setUpdated] = useState<Date | null>(null);
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const inFlight = useRef(false);
  const gen = useRef(0);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const fetch = useCallback(fetcher, deps);
  const load = useCallback(() => {
    if (inFlight.current) return;
    inFlight.current = true;
    setLoading(true);
    const mine = gen.current;
    fetch()
      .then((r) => {
        if (mine !== gen.current) return;
        setReport(r);
        setError(null);
        setUpdated(new Date());
      })
      .catch((e) => mine === gen.current && setError(asError(e)))
      .finally(() => {
        inFlight.current = false;
        if (mine === gen.current) {
          setLoading(false);
          setTick((t) => t + 1);
        }
      });
  }, [fetch]);
  useEffect(() => {
    // A new profile: forget the old answer so one server's figures never show under another's name.
    gen.current++;
    inFlight.current = false;
    setReport(null);
    setError(null);
    load();
  }, [load]);
  return { report, error, updated, loading, load, tick };
}

export const INTERVALS = [5, 10, 30, 60];

export function RefreshBar({
  prefix,
  onRefresh,
  every,
  setEvery,
  auto,
  setAuto,
  updated,
  loading,
}: {
  prefix: string;
  onRefresh: () => void;
  every: number;
  setEvery: (s: number) => void;
  auto: boolean;
  setAuto: (b: boolean) => void;
  updated: Date | null;
  loading: boolean;
}) {
  return (
    <>
      <button data-testid={`${prefix}-refresh`} onClick={onRefresh} disabled={loading}>
        Refresh
      </button>
      <label>
        <input type="checkbox" data-testid={`${prefix}-auto`} checked={auto} onChange={(e) => setAuto(e.target.checked)} /> auto every{" "}
        <select data-testid={`${prefix}-interval`} value={every} onChange={(e) => setEvery(Number(e.target.value))}>
          {INTERVALS.map((s) => (
            <option key={s} value={s}>
              {s} s
            </option>
          ))}
        </select>
      </label>
      <span className="muted" data-testid={`${prefix}-updated`}>
        {loading && !updated ? "loading…" : updated ? `updated ${updated.toLocaleTimeString()}` : ""}
      </span>
    </>
  );
}

/** A part of a report the server refused or could not give: amber, with what to do. */
export function Problem({ text, testid }: { text: string | null | undefined; testid: string }) {
  if (!text) return null;
  return (
    <div className="error warning" data-testid={testid}>
      {text}
    </div>
  );
}

export function num(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function perSec(n: number | null | undefined): string {
  return n === null || n === undefined ? "–" : `${num(n, n < 10 ? 2 : n < 100 ? 1 : 0)}/s`;
}

/** Seconds as "42 s", "5 min", "3.2 h", "1.5 d". */
export function secs(s: number | null | undefined): string {
  if (s === null || s === undefined) return "–";
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

/** A long text shortened to `n` characters, its whole on click (text only, never HTML). */
export function Expandable({ text, n = 100, testid }: { text: string; n?: number; testid?: string }) {
  const [open, setOpen] = useState(false);
  if (text.length <= n) return <code data-testid={testid}>{text}</code>;
  return (
    <code
      data-testid={testid}
      className="expandable"
      title={open ? "click to shorten" : "click for the full text"}
      onClick={() => setOpen(!open)}
    >
      {open ? text : text.slice(0, n) + "…"}
    </code>
  );
}
