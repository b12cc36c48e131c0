// Small helpers of the Query Lab page.
import type { AnswerSource } from "../../bindings/AnswerSource";

export const SOURCE_LABEL: Record<AnswerSource, string> = {
  session_cache: "session cache",
  semantic_cache: "semantic cache",
  model: "model",
  stale_session_cache: "stale session cache",
};

/** US dollars: small amounts keep their significant digits ($0.000021). */
export function usd(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (v === 0) return "$0.00";
  const a = Math.abs(v);
  // Three significant digits below a dollar, no trailing zeros past the cents.
  const digits = a >= 1 ? 2 : Math.min(8, Math.max(2, 2 - Math.floor(Math.log10(a))));
  const text = a.toFixed(digits).replace(/(\.\d\d\d*?)0+$/, "$1");
  return `${v < 0 ? "-" : ""}$${text}`;
}

/** Milliseconds for people: "0.42 ms", "17.9 ms", "1,264 ms", "10.6 s". */
export function msText(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (v >= 10_000) return `${(v / 1000).toFixed(1)} s`;
  if (v >= 1000) return `${Math.round(v).toLocaleString("en-US")} ms`;
  if (v >= 10) return `${v.toFixed(1)} ms`;
  return `${v.toFixed(2)} ms`;
}

/** Lines of a log file that hold a row (CSV: after the header), for the busy message. */
export function logRows(text: string): number {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length === 0) return 0;
  return lines[0].trimStart().startsWith("{") ? lines.length : lines.length - 1;
}

/** "1:05" for 65 seconds. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** "1 bad row", "2 bad rows". */
export function plural(n: number, word: string): string {
  return `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;
}
