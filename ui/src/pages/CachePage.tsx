import { useCallback, useEffect, useRef, useState } from "react";
import type { CacheStats } from "../bindings/CacheStats";
import type { ApiError } from "../bindings/ApiError";
import { call } from "../platform";
import { bytes, pct } from "../format";
import { ErrorBox } from "./Overview";
import { NamespacesTable } from "./cache/NamespacesTable";
import { Histogram } from "./cache/Histogram";
import { SettingsEditor } from "./cache/SettingsEditor";
import { EntriesPanel } from "./cache/EntriesPanel";
import { InvalidatePanel } from "./cache/InvalidatePanel";
import { EvalPanel } from "./cache/EvalPanel";
import { MaintenancePanel } from "./cache/MaintenancePanel";
import { LookupCard } from "./cache/LookupCard";
import { asError, browserConfirm, type Confirm, nsLabel } from "./cache/util";
import { PageFindings, type AdviceProps } from "./advisor/PageFindings";

const us = (v: number | null) => (v === null ? "–" : `${v.toFixed(0)} µs`);

/**
 * The semantic cache's admin page: namespaces and their figures, one namespace's entries,
 * histogram and settings, invalidation, the threshold evaluation, maintenance and a test lookup.
 * `confirm` asks before every write (window.confirm unless a test passes its own).
 */
export function CachePage({
  confirm = browserConfirm,
  refreshMs = 5000,
  advice,
  onOpenAdvisor,
}: { confirm?: Confirm; refreshMs?: number } & AdviceProps) {
  const [stats, setStats] = useState<CacheStats | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [updated, setUpdated] = useState<Date | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [auto, setAuto] = useState(true);
  // Bumped by Refresh and by writes elsewhere on the page, so the entries list reloads too.
  const [reload, setReload] = useState(0);
  const live = useRef(true);
  const inFlight = useRef(false);

  const again = useRef(false);

  // One stats call at a time; a refresh asked for meanwhile (after a write) runs right after it.
  const refresh = useCallback(() => {
    if (inFlight.current) {
      again.current = true;
      return;
    }
    inFlight.current = true;
    call("cache_stats", {})
      .then((s) => live.current && (setStats(s), setError(null), setUpdated(new Date())))
      .catch((e) => live.current && setError(asError(e)))
      .finally(() => {
        inFlight.current = false;
        if (again.current && live.current) {
          again.current = false;
          refresh();
        }
      });
  }, []);

  useEffect(() => {
    live.current = true;
    refresh();
    return () => {
      live.current = false;
    };
  }, [refresh]);

  useEffect(() => {
    if (!auto) return;
    const t = setInterval(refresh, refreshMs);
    return () => clearInterval(t);
  }, [auto, refresh, refreshMs]);

  const changed = () => {
    refresh();
    setReload((r) => r + 1);
  };

  const ns = stats?.namespaces.find((n) => n.id === selected) ?? null;
  const searchable = !!(ns && stats && ns.namespace.model === stats.embedding_model && ns.namespace.template_version === stats.template_version);

  return (
    <div data-testid="cache-page">
      <PageFindings system="cache" profile={null} advice={advice} onOpenAdvisor={onOpenAdvisor} />
      <div className="toolbar">
        <button data-testid="cache-refresh" onClick={changed}>
          Refresh
        </button>
        <label>
          <input type="checkbox" data-testid="cache-auto-refresh" checked={auto} onChange={(e) => setAuto(e.target.checked)} /> auto-refresh every{" "}
          {refreshMs / 1000} s
        </label>
        <span className="muted" data-testid="cache-updated">
          {updated ? `updated ${updated.toLocaleTimeString()}` : "loading…"}
        </span>
      </div>
      {error && <ErrorBox error={error} />}
      {stats && (
        <div className="card wide" data-testid="cache-stats">
          <h3>
            Semantic cache ({stats.backend}, {stats.embedding_model}, templates {stats.template_version})
          </h3>
          <div className="muted" data-testid="cache-backend">
            {stats.backend_detail}
          </div>
          <div data-testid="cache-summary">
            {stats.entries} entries in {stats.namespaces.length} namespaces, {bytes(stats.bytes)}, hit rate {pct(stats.hit_rate)} (
            {stats.hits} hits, {stats.misses} misses), {stats.evictions} evictions, {stats.expirations} expirations
          </div>
          <div className="muted">
            Lookup latency over {stats.lookup_latency.count}: p50 {us(stats.lookup_latency.p50_us)}, p90 {us(stats.lookup_latency.p90_us)}, p99{" "}
            {us(stats.lookup_latency.p99_us)}
          </div>
          <NamespacesTable stats={stats} selected={selected} onSelect={setSelected} />
        </div>
      )}

      {selected && !ns && stats && (
        <div className="card wide muted" data-testid="ns-gone">
          Namespace <code>{selected}</code> holds no entries any more.{" "}
          <button onClick={() => setSelected(null)}>Deselect</button>
        </div>
      )}

      {ns && stats && (
        <div className="card wide" data-testid="ns-detail" key={ns.id}>
          <div className="toolbar">
            <h3>Namespace {nsLabel(ns)}</h3>
            <code className="muted" data-testid="ns-detail-id">
              {ns.id}
            </code>
            <button data-testid="ns-deselect" onClick={() => setSelected(null)}>
              Close
            </button>
          </div>
          <div className="ns-columns">
            <section>
              <h4>Best-candidate similarity of lookups</h4>
              <Histogram bins={ns.score_histogram} threshold={ns.settings.similarity_threshold} />
              <div className="muted">
                {ns.hits} hits, {ns.misses} misses, {ns.shadow_hits} shadow hits; model {ns.namespace.model}, templates{" "}
                {ns.namespace.template_version}
              </div>
            </section>
            <section>
              <SettingsEditor
                key={ns.id}
                target={ns.id}
                title="Settings of this namespace"
                current={ns.settings}
                confirm={confirm}
                onSaved={refresh}
              />
            </section>
          </div>
          <EntriesPanel key={ns.id} ns={ns} searchable={searchable} confirm={confirm} reload={reload} onChanged={refresh} />
        </div>
      )}

      {stats && (
        <div className="card wide" data-testid="invalidate-card">
          <h3>Invalidate</h3>
          <InvalidatePanel stats={stats} ns={ns} confirm={confirm} onDone={changed} />
        </div>
      )}

      <div className="card wide" data-testid="eval-card">
        <h3>Evaluate the threshold on labelled pairs</h3>
        <EvalPanel settings={ns ? ns.settings : (stats?.defaults ?? null)} />
      </div>

      {stats && (
        <div className="card wide" data-testid="defaults-card">
          <SettingsEditor
            key="defaults"
            target={null}
            title="Default settings (every namespace without its own)"
            current={stats.defaults}
            confirm={confirm}
            onSaved={refresh}
          />
        </div>
      )}

      <div className="card wide" data-testid="maintenance-card">
        <h3>Maintenance</h3>
        <MaintenancePanel ns={ns} confirm={confirm} onChanged={changed} />
      </div>

      <LookupCard ns={ns} onLooked={refresh} />
    </div>
  );
}
