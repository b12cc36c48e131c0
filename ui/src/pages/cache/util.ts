// Small helpers shared by the Cache page's panels.
import type { ApiError } from "../../bindings/ApiError";
import type { NamespaceStats } from "../../bindings/NamespaceStats";
import type { Scope } from "../../bindings/Scope";
import { CallError } from "../../platform";

/** Asks a person to confirm a write; `window.confirm` in the app, a mock in tests. */
export type Confirm = (message: string) => boolean;

export const browserConfirm: Confirm = (message) => window.confirm(message);

export const asError = (e: unknown): ApiError =>
  e instanceof CallError ? e.error : { code: "internal", message: e instanceof Error ? e.message : String(e) };

export function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) + "…" : s;
}

/** A duration in ms as "42 s", "5 min", "3.2 h", "12 d". */
export function duration(msValue: number): string {
  const s = Math.abs(msValue) / 1000;
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

export function age(atMs: number, now: number): string {
  return `${duration(now - atMs)} ago`;
}

export function expires(atMs: number | null, now: number): string {
  if (atMs === null) return "never";
  return atMs <= now ? "expired" : `in ${duration(atMs - now)}`;
}

/** A TTL in seconds the way the settings show it. */
export function ttl(seconds: number): string {
  return seconds === 0 ? "none" : duration(seconds * 1000);
}

export function timestamp(ms: number): string {
  return new Date(ms).toLocaleString();
}

/** The scope whose partition is this namespace (global, not a conversation). */
export function scopeOf(ns: NamespaceStats): Scope {
  return { tenant: ns.namespace.tenant, user: ns.namespace.user, item: ns.namespace.item, conversation: [] };
}

/** "tenant/user" or "tenant/user/item" for people. */
export function nsLabel(ns: NamespaceStats): string {
  const n = ns.namespace;
  return `${n.tenant}/${n.user}${n.item === null ? "" : `/${n.item}`}`;
}

/**
 * The chart as an `<img>` source: an SVG in an image cannot run scripts or reach the page, so
 * even a surprising chart stays inert. Null when the text is not an SVG document.
 */
export function svgImageSource(svg: string): string | null {
  const t = svg.trimStart();
  if (!(t.startsWith("<svg") || (t.startsWith("<?xml") && t.includes("<svg")))) return null;
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(t)}`;
}

export function readFileText(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result ?? ""));
    r.onerror = () => reject(r.error ?? new Error("could not read the file"));
    r.readAsText(file);
  });
}
