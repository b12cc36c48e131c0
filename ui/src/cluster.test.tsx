import { describe, expect, it, vi } from "vitest";
import type { ProfileView } from "./bindings/ProfileView";

vi.mock("./platform", async (importOriginal) => {
  const real = await importOriginal<typeof import("./platform")>();
  return { ...real, call: vi.fn() };
});

import { ClusterPage, Sparkline, sampleText } from "./pages/ClusterPage";
import { SVG, callsOf, click, dom, history, last, pageHarness, refused, type } from "./monitor-harness";
import { deploymentsReport, hpasReport, nodesUsage, panelsReport, podsUsage } from "./fixtures/cluster";
import { act } from "react";
import { createRoot } from "react-dom/client";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const profiles: ProfileView[] = [
  { name: "embedded", read_only: false, origin: "embedded", endpoints: [] },
  {
    name: "prod",
    read_only: true,
    origin: "file",
    endpoints: [
      { service: "prometheus", url: "http://127.0.0.1:9090/", has_secret: false },
      { service: "kubernetes", url: "https://10.0.0.1:6443/", has_secret: true },
    ],
  },
  { name: "metrics-only", read_only: false, origin: "file", endpoints: [{ service: "prometheus", url: "http://10.0.0.9:9090/", has_secret: false }] },
  { name: "cache", read_only: false, origin: "file", endpoints: [{ service: "redis", url: "redis://127.0.0.1:6379/0", has_secret: false }] },
];

const { $, $$, byId, text } = dom(document.body);

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const clusterHistory = history(
  "kubernetes",
  "prod",
  [
    { metric: "cpu_used_cores", label: "Pod CPU used", unit: "cores", value: (i) => 1 + 0.1 * i },
    { metric: "cpu_requests_cores", label: "Pod CPU requested", unit: "cores", value: () => 4 },
    { metric: "hpa_replicas", label: "HPA replicas", unit: "count", value: (i) => Math.min(10, 2 + i) },
  ],
  NOW,
);

const page = pageHarness(() => ({
  list_profiles: () => profiles,
  history_series: () => clusterHistory,
  history_chart: (a: { metrics: string[] }) => ({ format: "svg", mime: "image/svg+xml", file_name: `kubernetes-${a.metrics[0]}.svg`, content: SVG }),
  alerts: () => ({
    profile: "prod",
    evaluated_ms: NOW,
    alerts: [
      {
        rule: "k8s_hpa_pinned_at_max",
        source: "kubernetes",
        state: "firing",
        severity: "warning",
        title: "More than 0 HPA(s) at maxReplicas with a metric over its target for 5 min",
        detail: "1.0 HPAs at maxReplicas and over target for 7.0 min (threshold 0): prod/api",
        since_ms: NOW - 420_000,
        value: 1,
        threshold: 0,
      },
    ],
  }),
  sampler_status: () => ({ interval_seconds: 10, retention_days: 7, profiles: [{ profile: "prod", sources: ["kubernetes"], last_sample_ms: NOW - 5000, last_error: null, samples: 60 }] }),
  prom_panels: () => panelsReport,
  k8s_nodes: () => nodesUsage,
  k8s_pods: (a: { namespace: string | null }) => podsUsage(a.namespace),
  k8s_hpas: () => hpasReport,
  k8s_deployments: () => deploymentsReport,
}));
const { handlers } = page;
const render = (profile?: string) => page.render(<ClusterPage profile={profile} />);

const panelCard = (id: string) => $(`[data-testid="prom-panel"][data-panel="${id}"]`)!;

describe("Cluster page", () => {
  it("offers profiles with Prometheus or Kubernetes and asks every source once", async () => {
    await render("cache");
    expect($$('[data-testid="cluster-profile"] option').map((o) => o.textContent)).toEqual(["prod", "metrics-only"]);
    expect(callsOf("prom_panels")).toEqual([{ profile: "prod", range_minutes: null }]);
    for (const c of ["k8s_nodes", "k8s_pods", "k8s_hpas", "k8s_deployments"]) expect(callsOf(c)).toEqual([{ profile: "prod", namespace: null, kubeconfig: false }]);
  });

  it("charts the cluster's history and shows its firing alerts", async () => {
    await render("prod");
    expect(callsOf("history_series")[0]).toMatchObject({ profile: "prod", source: "kubernetes", range_seconds: 3600 });
    const charts = callsOf("history_chart").map((c: { metrics: string[] }) => c.metrics.join("+"));
    expect(charts).toEqual(
      expect.arrayContaining(["cpu_used_cores+cpu_requests_cores+cpu_limits_cores", "memory_used+memory_requests+memory_limits", "hpa_replicas+hpa_desired_replicas+hpa_max_replicas", "hpas_pinned"]),
    );
    expect(last(callsOf("alerts"))).toEqual({ profile: "prod" });
    expect(text("alert-firing")).toContain("HPA(s) at maxReplicas");
    expect(text("alert-firing")).toContain("prod/api");
  });

  it("asks no history of a profile without Kubernetes", async () => {
    await render("metrics-only");
    expect(callsOf("history_series")).toEqual([]);
    expect(callsOf("alerts")).toEqual([]);
  });

  it("says so when no profile has either", async () => {
    handlers.list_profiles = () => profiles.filter((p) => p.name === "embedded" || p.name === "cache");
    await render();
    expect(text("cluster-no-profile")).toContain("No profile has a Prometheus or Kubernetes URL");
    expect(callsOf("prom_panels")).toEqual([]);
  });

  it("shows panels with labels, values now, sparklines, NaN as NaN, and a failed panel's error", async () => {
    await render("prod");
    const clients = panelCard("redis_clients");
    expect(clients.textContent).toContain("changed");
    expect(clients.textContent).toContain("instance=127.0.0.1:9121");
    expect(clients.textContent).toContain("job=redis");
    expect(clients.textContent).not.toContain("__name__");
    expect(clients.querySelector('[data-testid="prom-value"]')!.textContent).toBe("8");
    const line = clients.querySelector('[data-testid="sparkline"] polyline')!;
    expect(line.getAttribute("points")!.split(" ").length).toBe(6);

    // The hit rate's last samples are NaN (an idle Redis): shown as NaN, the line broken, never 0.
    const hit = panelCard("cache_hit_rate");
    expect(hit.querySelector('[data-testid="prom-value"]')!.textContent).toBe("NaN");
    expect(hit.querySelector('[data-testid="prom-value"]')!.className).toBe("warn");
    expect(hit.querySelector("polyline")!.getAttribute("points")!.split(" ").length).toBe(3);

    expect(panelCard("request_rate").textContent).toContain("no data");
    expect(panelCard("pod_memory").querySelector('[data-testid="prom-panel-error"]')!.textContent).toContain("parse error");
    expect(text("prom-header")).toContain("the last 5 min every 60 s");
  });

  it("flags the HPA pinned at max, and shows Deployments, nodes and pods", async () => {
    await render("prod");
    const pinned = $('[data-testid="hpa-row"][data-hpa="simba-intelligence-hpa"]')!;
    expect(pinned.className).toBe("flag");
    expect(pinned.querySelector('[data-testid="hpa-pinned"]')!.textContent).toBe("pinned at max");
    expect(pinned.querySelector('[data-testid="hpa-metric"]')!.textContent).toBe("cpu: 93% / 70% (over target)");
    expect(pinned.textContent).toContain("ScalingLimited=True");
    expect(pinned.textContent).toContain("2–10");
    const calm = $('[data-testid="hpa-row"][data-hpa="worker-hpa"]')!;
    expect(calm.className).toBe("");
    expect(calm.querySelector('[data-testid="hpa-pinned"]')).toBeNull();
    expect(calm.textContent).toContain("2 → 3");
    expect($$('[data-testid="hpa-pinned"]').length).toBe(1);

    const web = $('[data-testid="deployment-row"][data-deployment="web"]')!;
    const cells = Array.from(web.querySelectorAll("td")).map((td) => td.textContent);
    expect(cells[1]).toBe("2/2");
    expect(cells[2]).toBe("100m / 500m");
    expect(cells[3]).toBe("200m");
    expect(cells[4]).toBe("200.0%");
    expect(cells[5]).toBe("256.0 MiB / 1.0 GiB");
    expect(cells[7]).toBe("94.9%");
    expect($$('[data-testid="deployment-finding"]').map((f) => f.textContent)[0]).toContain("OOM kill");

    const nodeA = $('[data-testid="node-row"][data-node="node-a"]')!;
    expect(Array.from(nodeA.querySelectorAll("td")).map((td) => td.textContent)).toEqual(["node-a", "488m", "12.4%", "715.1 MiB", "4.8%"]);
    const nodeB = $('[data-testid="node-row"][data-node="node-b"]')!;
    expect(nodeB.querySelectorAll("td")[2].className).toBe("num warn");
    expect($('[data-testid="pod-row"][data-pod="other-1"]')!.textContent).toContain("12u");
  });

  it("narrows Kubernetes to one namespace", async () => {
    await render("prod");
    await type(byId("cluster-namespace"), "simba");
    await click(byId("cluster-namespace-apply"));
    expect(last(callsOf("k8s_pods"))).toEqual({ profile: "prod", namespace: "simba", kubeconfig: false });
    expect(last(callsOf("k8s_hpas"))).toEqual({ profile: "prod", namespace: "simba", kubeconfig: false });
    expect($$('[data-testid="pod-row"]').length).toBe(2);
    expect(text("k8s-pods")).toContain("namespace simba");
  });

  it("keeps the rest working when one source fails", async () => {
    handlers.k8s_hpas = refused("refused", "the Kubernetes API at https://10.0.0.1:6443 forbids this (403 Forbidden: …); the token needs permission to list horizontalpodautoscalers.autoscaling");
    handlers.prom_panels = refused("unreachable", "cannot reach Prometheus at http://127.0.0.1:9090/ (Connection refused)");
    await render("prod");
    const errors = $$('[data-testid="error-box"]').map((e) => e.textContent ?? "");
    expect(errors.some((e) => e.includes("403 Forbidden"))).toBe(true);
    expect(errors.some((e) => e.includes("cannot reach Prometheus"))).toBe(true);
    expect(byId("k8s-hpas")).toBeNull();
    expect(byId("k8s-deployments")).not.toBeNull();
    expect(byId("k8s-nodes")).not.toBeNull();
  });

  it("asks only the sources a profile has", async () => {
    await render("metrics-only");
    expect(callsOf("prom_panels")).toEqual([{ profile: "metrics-only", range_minutes: null }]);
    expect(callsOf("k8s_pods")).toEqual([]);
    expect(text("cluster-no-kubernetes")).toContain("has no Kubernetes URL");
    expect(byId("cluster-namespace")).toBeNull();
  });

  it("formats values by unit and draws nothing for fewer than two finite samples", () => {
    expect(sampleText({ t: 1, value: null, special: "+Inf" }, "ratio")).toBe("+Inf");
    expect(sampleText({ t: 1, value: 0.25, special: null }, "ratio")).toBe("25.0%");
    expect(sampleText({ t: 1, value: 0.25, special: null }, "cores")).toBe("250m");
    expect(sampleText({ t: 1, value: 1.5, special: null }, "req/s")).toBe("1.50/s");
    expect(sampleText(undefined, "count")).toBe("–");
    const div = document.createElement("div");
    const root = createRoot(div);
    act(() => root.render(<Sparkline samples={[{ t: 1, value: 1, special: null }, { t: 2, value: null, special: "NaN" }]} />));
    expect(div.querySelector("svg")).toBeNull();
    act(() => root.unmount());
  });
});
