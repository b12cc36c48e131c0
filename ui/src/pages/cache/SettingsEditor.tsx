import { useState } from "react";
import type { ApiError } from "../../bindings/ApiError";
import type { CacheSettings } from "../../bindings/CacheSettings";
import { call } from "../../platform";
import { ErrorBox } from "../Overview";
import { asError, type Confirm, ttl } from "./util";

type Draft = {
  similarity_threshold: string;
  max_entries: string;
  ttl_seconds: string;
  refresh_ttl_on_hit: boolean;
  shadow_mode: boolean;
  verify_candidates: boolean;
  judge_min_score: string;
  judge_floor: string;
};

const toDraft = (s: CacheSettings): Draft => ({
  similarity_threshold: String(s.similarity_threshold),
  max_entries: String(s.max_entries),
  ttl_seconds: String(s.ttl_seconds),
  refresh_ttl_on_hit: s.refresh_ttl_on_hit,
  shadow_mode: s.shadow_mode,
  verify_candidates: s.verify_candidates,
  judge_min_score: String(s.judge_min_score),
  judge_floor: String(s.judge_floor),
});

const TEN_YEARS = 10 * 365 * 86_400;

/** The draft as settings, or what is wrong with it (the same rules as the core's). */
export function parseDraft(d: Draft): { settings: CacheSettings } | { problem: string } {
  const threshold = Number(d.similarity_threshold);
  if (d.similarity_threshold.trim() === "" || !Number.isFinite(threshold) || threshold < 0 || threshold > 1)
    return { problem: "The threshold must be a number between 0 and 1." };
  const max = Number(d.max_entries);
  if (!Number.isInteger(max) || max < 1) return { problem: "Max entries must be a whole number of at least 1." };
  const t = Number(d.ttl_seconds);
  if (d.ttl_seconds.trim() === "" || !Number.isInteger(t) || t < 0 || t > TEN_YEARS)
    return { problem: "The TTL must be whole seconds between 0 (no expiry) and ten years." };
  const minScore = Number(d.judge_min_score);
  if (d.judge_min_score.trim() === "" || !Number.isFinite(minScore) || minScore < 0 || minScore > 2)
    return { problem: "The judge's minimum score must be a number between 0 and 1 (above 1, up to 2, turns the judge off)." };
  const floor = Number(d.judge_floor);
  if (d.judge_floor.trim() === "" || !Number.isFinite(floor) || floor < 0 || floor > 1)
    return { problem: "The judge's floor must be a similarity between 0 and 1." };
  return {
    settings: {
      similarity_threshold: threshold,
      max_entries: max,
      ttl_seconds: t,
      refresh_ttl_on_hit: d.refresh_ttl_on_hit,
      shadow_mode: d.shadow_mode,
      verify_candidates: d.verify_candidates,
      judge_min_score: minScore,
      judge_floor: floor,
    },
  };
}

const show = (key: keyof CacheSettings, v: CacheSettings[keyof CacheSettings]): string =>
  typeof v === "boolean"
    ? v
      ? "on"
      : "off"
    : key === "ttl_seconds"
      ? `${v} s (${ttl(v)})`
      : key === "judge_min_score" && v > 1
        ? `${v} (judge off)`
        : String(v);

const LABELS: Record<keyof CacheSettings, string> = {
  similarity_threshold: "threshold",
  max_entries: "max entries",
  ttl_seconds: "TTL",
  refresh_ttl_on_hit: "refresh TTL on hit",
  shadow_mode: "shadow mode",
  verify_candidates: "verify candidates",
  judge_min_score: "judge min score",
  judge_floor: "judge floor",
};

export function settingsDiff(old: CacheSettings, next: CacheSettings): { key: keyof CacheSettings; from: string; to: string }[] {
  return (Object.keys(LABELS) as (keyof CacheSettings)[])
    .filter((k) => old[k] !== next[k])
    .map((k) => ({ key: k, from: show(k, old[k]), to: show(k, next[k]) }));
}

/**
 * Edits one namespace's settings (`target` its id) or the defaults (`target` null). The draft is
 * kept while the figures refresh; a preview lists old → new before anything is saved.
 */
export function SettingsEditor({
  target,
  title,
  current,
  confirm,
  onSaved,
}: {
  target: string | null;
  title: string;
  current: CacheSettings;
  confirm: Confirm;
  onSaved: (s: CacheSettings) => void;
}) {
  const [draft, setDraft] = useState<Draft>(() => toDraft(current));
  const [error, setError] = useState<ApiError | null>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const parsed = parseDraft(draft);
  const diff = "settings" in parsed ? settingsDiff(current, parsed.settings) : [];
  const testid = target === null ? "defaults" : "settings";

  const save = () => {
    if (!("settings" in parsed) || diff.length === 0) return;
    const what = target === null ? "the defaults (every namespace without its own settings)" : `namespace ${target}`;
    const lines = diff.map((d) => `  ${LABELS[d.key]}: ${d.from} → ${d.to}`).join("\n");
    if (!confirm(`Change the settings of ${what}?\n${lines}`)) return;
    setSaving(true);
    call("cache_set_settings", { namespace: target, settings: parsed.settings })
      .then((s) => {
        setError(null);
        setDraft(toDraft(s));
        setSaved(`Saved ${diff.length} change${diff.length === 1 ? "" : "s"}.`);
        onSaved(s);
      })
      .catch((e) => setError(asError(e)))
      .finally(() => setSaving(false));
  };

  const num = (
    key: "similarity_threshold" | "max_entries" | "ttl_seconds" | "judge_min_score" | "judge_floor",
    label: string,
    step: string,
    hint?: string,
  ) => (
    <label>
      {label}
      <input
        type="number"
        step={step}
        min={0}
        data-testid={`${testid}-${key}`}
        value={draft[key]}
        onChange={(e) => (setDraft({ ...draft, [key]: e.target.value }), setSaved(null))}
      />
      {hint && <span className="muted"> {hint}</span>}
    </label>
  );
  const flag = (key: "refresh_ttl_on_hit" | "shadow_mode" | "verify_candidates", label: string, hint: string) => (
    <label title={hint}>
      <input
        type="checkbox"
        data-testid={`${testid}-${key}`}
        checked={draft[key]}
        onChange={(e) => (setDraft({ ...draft, [key]: e.target.checked }), setSaved(null))}
      />{" "}
      {label}
    </label>
  );

  return (
    <div className="settings-editor" data-testid={`${testid}-editor`}>
      <h4>{title}</h4>
      <div className="form-grid">
        {num("similarity_threshold", "Similarity threshold", "0.01", "0–1, cosine similarity needed to serve")}
        {num("ttl_seconds", "TTL (seconds)", "1", "0 = no expiry")}
        {num("max_entries", "Max entries", "1", "least recently used are evicted beyond it")}
        {flag("refresh_ttl_on_hit", "Refresh TTL on hit", "A hit restarts the entry's TTL.")}
        {flag("shadow_mode", "Shadow mode", "Record would-be hits without serving them.")}
        {flag("verify_candidates", "Verify candidates", "Check the best candidates for disagreeing numbers, dates, negations and names.")}
        {num(
          "judge_min_score",
          "Judge min score",
          "0.01",
          "0–1, the judge's score a candidate needs where the judge decides; above 1 turns the judge off",
        )}
        {num(
          "judge_floor",
          "Judge floor (lowest similarity the judge reads)",
          "0.01",
          "0–1; between it and the threshold a candidate is served only when the judge vouches for it",
        )}
      </div>
      {"problem" in parsed && (
        <div className="warn" data-testid={`${testid}-invalid`}>
          {parsed.problem}
        </div>
      )}
      {diff.length > 0 && (
        <div className="preview" data-testid={`${testid}-preview`}>
          Will change:
          <ul>
            {diff.map((d) => (
              <li key={d.key}>
                {LABELS[d.key]}: <s>{d.from}</s> → <b>{d.to}</b>
              </li>
            ))}
          </ul>
        </div>
      )}
      <div className="toolbar">
        <button data-testid={`${testid}-save`} disabled={saving || diff.length === 0} onClick={save}>
          {saving ? "Saving…" : "Save"}
        </button>
        <button
          data-testid={`${testid}-reset`}
          disabled={saving || (diff.length === 0 && !("problem" in parsed))}
          onClick={() => (setDraft(toDraft(current)), setError(null))}
        >
          Reset
        </button>
        {saved && <span className="muted" data-testid={`${testid}-saved`}>{saved}</span>}
      </div>
      {error && <ErrorBox error={error} />}
    </div>
  );
}
