// Test harness shared by the page tests: `call` replaced by handlers per command (CallError stays
// the real class, so errors map as in the app).
import { afterEach, beforeEach, expect, vi } from "vitest";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { call, CallError } from "./platform";
import type { HistoryReport } from "./bindings/HistoryReport";

export type Handler = (args: any) => unknown;

export const callMock = vi.mocked(call);

export function install(handlers: Record<string, Handler>) {
  const impl = (async (name: string, args: unknown) => {
    const h = handlers[name];
    if (!h) throw new Error(`unexpected call ${name}`);
    return h(args);
  }) as any;
  callMock.mockReset();
  callMock.mockImplementation(impl);
}

/** What a core without the history commands answers (dispatch's `unknown command`). */
export const unknownCommand = (name: string) => () => {
  throw new CallError({ code: "not_found", message: `unknown command '${name}'` });
};

export const refused = (code: "refused" | "unreachable" | "read_only" | "invalid_input", message: string) => () => {
  throw new CallError({ code, message });
};

export const flush = () =>
  act(async () => {
    for (let i = 0; i < 8; i++) await new Promise((r) => setTimeout(r, 0));
  });

export function dom(container: HTMLElement) {
  const $ = (sel: string) => container.querySelector<HTMLElement>(sel);
  const $$ = (sel: string) => Array.from(container.querySelectorAll<HTMLElement>(sel));
  const byId = (id: string) => $(`[data-testid="${id}"]`);
  const text = (id: string) => byId(id)?.textContent ?? "";
  return { $, $$, byId, text };
}

export async function click(el: HTMLElement | null) {
  expect(el).not.toBeNull();
  act(() => el!.dispatchEvent(new MouseEvent("click", { bubbles: true })));
  await flush();
}

export async function type(el: HTMLElement | null, value: string) {
  expect(el).not.toBeNull();
  const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  act(() => {
    Object.getOwnPropertyDescriptor(proto, "value")!.set!.call(el, value);
    el!.dispatchEvent(new Event("input", { bubbles: true }));
  });
  await flush();
}

/** Moves the mouse to `fraction` of the element's width (jsdom has no layout: the box is faked). */
export async function hover(el: HTMLElement | null, fraction: number, width = 640) {
  expect(el).not.toBeNull();
  el!.getBoundingClientRect = () => ({ left: 100, top: 0, width, height: 220, right: 100 + width, bottom: 220, x: 100, y: 0, toJSON() {} }) as DOMRect;
  act(() => el!.dispatchEvent(new MouseEvent("mousemove", { bubbles: true, clientX: 100 + fraction * width, clientY: 50 })));
  await flush();
}

export const callsOf = (name: string) =>
  callMock.mock.calls.filter((c) => c[0] === name).map((c) => c[1] as any);

export const last = <T,>(xs: T[]): T => xs[xs.length - 1];

export const SVG =
  '<svg width="640" height="220" viewBox="0 0 640 220" xmlns="http://www.w3.org/2000/svg"><rect width="640" height="220" fill="#fff"/><polyline points="0,10 640,20"/></svg>';

/** A history answer: one point a minute over the last hour, with a 5-minute gap. */
export function history(source: string, profile: string, series: { metric: string; label: string; unit: string; value: (i: number) => number }[], toMs: number): HistoryReport {
  const fromMs = toMs - 3_600_000;
  const gap = { from_ms: fromMs + 20 * 60_000, to_ms: fromMs + 25 * 60_000, reason: "connection refused (server down)" };
  return {
    profile,
    source,
    from_ms: fromMs,
    to_ms: toMs,
    interval_seconds: 60,
    series: series.map((s) => ({
      metric: s.metric,
      label: s.label,
      unit: s.unit,
      points: Array.from({ length: 61 }, (_, i) => {
        const t = fromMs + i * 60_000;
        return { t_ms: t, value: t > gap.from_ms && t < gap.to_ms ? null : s.value(i) };
      }),
    })),
    gaps: [gap],
  };
}

/**
 * Per-test setup of a page test: before each test, fresh handlers from `makeHandlers` are installed
 * and a container is added to the document; after it, the root is unmounted, the container removed
 * and the mocks restored. `handlers` is the current test's table (a test may replace one with
 * `handlers.x = ...` before or while it renders); `mount` renders into the container, `render`
 * also waits for the calls to settle.
 */
export function pageHarness(makeHandlers: () => Record<string, Handler>) {
  const handlers: Record<string, Handler> = {};
  let container: HTMLDivElement;
  let root: Root | undefined;

  beforeEach(() => {
    for (const k of Object.keys(handlers)) delete handlers[k];
    Object.assign(handlers, makeHandlers());
    install(handlers);
    container = document.createElement("div");
    document.body.appendChild(container);
  });

  afterEach(() => {
    act(() => root?.unmount());
    root = undefined;
    container.remove();
    vi.restoreAllMocks();
  });

  const mount = (node: React.ReactNode) => {
    root = createRoot(container);
    act(() => root!.render(node));
  };
  const render = async (node: React.ReactNode) => {
    mount(node);
    await flush();
  };
  return { handlers, mount, render };
}
