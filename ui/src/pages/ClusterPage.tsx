import { useState, type ReactNode } from "react";
import type { DeploymentsReport } from "../bindings/DeploymentsReport";
import type { HpaInfo } from "../bindings/HpaInfo";
import type { HpasReport } from "../bindings/HpasReport";
import type { KubeScope } from "../bindings/KubeScope";
import type { NodesUsage } from "../bindings/NodesUsage";
import type { PanelResult } from "../bindings/PanelResult";
import type { PanelsReport } from "../bindings/PanelsReport";
import type { PodsUsage } from "../bindings/PodsUsage";
import type { Sample } from "../bindings/Sample";
import { call } from "../platform";
import { bytes, cores, pct } from "../format";
import { ErrorBox } from "./Overview";
import { AlertsPanel, ChartsPanel, type ChartDef } from "./monitor/Charts";
import { PerProfilePage, type PerProfileKind, Problem, RefreshBar, num, useAutoRefresh, useProfiles, useReport } from "./monitor/common";
import { PageFindings, type AdviceProps } from "./advisor/PageFindings";

/** A sample as Prometheus writes it: NaN, +Inf and -Inf come as `special` with a null value. */
export function sampleText(s: Sample | undefined, unit: string): string {
  if (!s) return "–";
  if (s.value === null) return s.special ?? "–";
  switch (unit) {
    case "bytes":
      return bytes(Math.round(s.value));
    case "cores":
      return cores(s.value);
    case "ratio":
      return pct(s.value);
    case "s":
      return `${num(s.value, 3)} s`;
    case "req/s":
      return `${num(s.value, 2)}/s`;
    default:
      return num(s.value, Number.isInteger(s.value) ? 0 : 2);
  }
}

/**
 * A small line of the samples over their time span; a sample without a finite value breaks the line
 * (never drawn as 0).
 */
export function Sparkline({ samples, width = 160, height = 32 }: { samples: Sample[]; width?: number; height?: number }) {
  const finite = samples.filter((s) => s.value !== null);
  if (samples.length < 2 || finite.length < 2) return <span className="muted">–</span>;
  const t0 = samples[0].t;
  const span = samples[samples.length - 1].t - t0 || 1;
  const lo = Math.min(...finite.map((s) => s.value as number));
  const hi = Math.max(...finite.map((s) => s.value as number));
  const range = hi - lo || 1;
  const x = (t: number) => (((t - t0) / span) * (width - 2) + 1).toFixed(1);
  const y = (v: number) => (height - 1 - ((v - lo) / range) * (height - 2)).toFixed(1);
  const runs: string[][] = [[]];
  for (const s of samples) {
    if (s.value === null) {
      if (runs[runs.length - 1].length) runs.push([]);
    } else runs[runs.length - 1].push(`${x(s.t)},${y(s.value)}`);
  }
  return (
    <svg data-testid="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} className="sparkline">
      {runs
        .filter((r) => r.length > 0)
        .map((r, i) => (r.length === 1 ? <circle key={i} cx={r[0].split(",")[0]} cy={r[0].split(",")[1]} r={1.5} /> : <polyline key={i} points={r.join(" ")} fill="none" stroke="#2747a5" strokeWidth={1.5} />))}
    </svg>
  );
}

function Labels({ labels }: { labels: { [key in string]?: string } }) {
  const shown = Object.entries(labels).filter(([k]) => k !== "__name__");
  if (shown.length === 0) return <span className="muted">(no labels)</span>;
  return (
    <span>
      {shown.map(([k, v]) => (
        <span key={k} className="badge" title={`${k}="${v}"`}>
          {k}={v}
        </span>
      ))}
    </span>
  );
}

const SERIES_SHOWN = 8;

function Panel({ p }: { p: PanelResult }) {
  const series = p.result?.series ?? [];
  return (
    <section className="card" data-testid="prom-panel" data-panel={p.panel.id}>
      <h3 title={p.panel.expr}>
        {p.panel.title} {!p.panel.default && <span className="badge">changed</span>}
      </h3>
      {p.error && <Problem testid="prom-panel-error" text={p.error.message} />}
      {p.result && series.length === 0 && <div className="muted">no data for this query</div>}
      {series.slice(0, SERIES_SHOWN).map((s) => {
        const last = s.samples[s.samples.length - 1];
        return (
          <div key={s.display} data-testid="prom-series" className="prom-series">
            <div>
              <Labels labels={s.labels} />
            </div>
            <div>
              <strong data-testid="prom-value" className={last?.special ? "warn" : ""}>
                {sampleText(last, p.panel.unit)}
              </strong>{" "}
              <Sparkline samples={s.samples} />
            </div>
          </div>
        );
      })}
      {series.length > SERIES_SHOWN && <div className="muted">… {series.length - SERIES_SHOWN} more series</div>}
      <div className="muted">
        <code>{p.panel.expr}</code>
      </div>
    </section>
  );
}

export function PanelsView({ r }: { r: PanelsReport }) {
  return (
    <>
      <div className="muted" data-testid="prom-header">
        Prometheus <code>{r.prometheus}</code>: the last {Math.round(r.range_seconds / 60)} min every {Math.round(r.step_seconds)} s; values are the last sample.
      </div>
      <div className="cards">
        {r.panels.map((p) => (
          <Panel key={p.panel.id} p={p} />
        ))}
      </div>
    </>
  );
}

function ScopeLine({ s }: { s: KubeScope }) {
  return (
    <div className="muted">
      <code>{s.server}</code> via {s.via}, {s.namespace ? `namespace ${s.namespace}` : "all namespaces"}
      {s.authenticated ? "" : ", no token"}
    </div>
  );
}

function ratioCell(r: number | null, warnAt: number) {
  return <td className={"num" + (r !== null && r >= warnAt ? " warn" : "")}>{pct(r)}</td>;
}

export function NodesTable({ r }: { r: NodesUsage }) {
  return (
    <section className="card wide" data-testid="k8s-nodes">
      <h3>Nodes</h3>
      <ScopeLine s={r.scope} />
      <table>
        <thead>
          <tr>
            <th>node</th>
            <th className="num">CPU</th>
            <th className="num">of allocatable</th>
            <th className="num">memory</th>
            <th className="num">of allocatable</th>
          </tr>
        </thead>
        <tbody>
          {r.nodes.map((n) => (
            <tr key={n.name} data-testid="node-row" data-node={n.name}>
              <td>
                <code>{n.name}</code>
              </td>
              <td className="num">{cores(n.cpu_cores)}</td>
              {ratioCell(n.cpu_ratio, 0.9)}
              <td className="num">{bytes(n.memory_bytes)}</td>
              {ratioCell(n.memory_ratio, 0.9)}
            </tr>
          ))}
        </tbody>
      </table>
      {r.warnings.map((w, i) => (
        <Problem key={i} testid="k8s-warning" text={w} />
      ))}
    </section>
  );
}

export function PodsTable({ r }: { r: PodsUsage }) {
  return (
    <section className="card wide" data-testid="k8s-pods">
      <h3>Pods</h3>
      <ScopeLine s={r.scope} />
      <table>
        <thead>
          <tr>
            <th>namespace</th>
            <th>pod</th>
            <th className="num">CPU</th>
            <th className="num">memory</th>
          </tr>
        </thead>
        <tbody>
          {r.pods.map((p) => (
            <tr key={`${p.namespace}/${p.name}`} data-testid="pod-row" data-pod={p.name}>
              <td>{p.namespace}</td>
              <td>
                <code>{p.name}</code>
              </td>
              <td className="num" data-testid="pod-cpu">
                {cores(p.cpu_cores)}
              </td>
              <td className="num" data-testid="pod-memory">
                {bytes(p.memory_bytes)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {r.warnings.map((w, i) => (
        <Problem key={i} testid="k8s-warning" text={w} />
      ))}
    </section>
  );
}

function metricText(h: HpaInfo) {
  return h.metrics.map((m) => {
    const util = m.target_utilization !== null;
    const cur = util ? (m.current_utilization === null ? "?" : `${m.current_utilization}%`) : num(m.current_value, 3);
    const target = util ? `${m.target_utilization}%` : num(m.target_value, 3);
    return (
      <div key={`${m.kind}/${m.name}`} className={m.over_target ? "warn" : ""} data-testid="hpa-metric">
        {m.name}: {cur} / {target}
        {m.over_target ? " (over target)" : ""}
      </div>
    );
  });
}

export function HpasTable({ r }: { r: HpasReport }) {
  return (
    <section className="card wide" data-testid="k8s-hpas">
      <h3>Horizontal Pod Autoscalers</h3>
      <ScopeLine s={r.scope} />
      {r.hpas.length === 0 ? (
        <div className="muted">No HorizontalPodAutoscaler here.</div>
      ) : (
        <table>
          <thead>
            <tr>
              <th>HPA</th>
              <th>target</th>
              <th className="num">replicas</th>
              <th className="num">min–max</th>
              <th>utilisation / target</th>
              <th>conditions</th>
            </tr>
          </thead>
          <tbody>
            {r.hpas.map((h) => (
              <tr key={`${h.namespace}/${h.name}`} data-testid="hpa-row" data-hpa={h.name} className={h.pinned_at_max ? "flag" : ""}>
                <td>
                  <code>{h.name}</code> <span className="muted">{h.namespace}</span>
                  {h.pinned_at_max && (
                    <>
                      {" "}
                      <span className="badge sev-warning" data-testid="hpa-pinned" title="at maxReplicas and still over target: raise maxReplicas or make pods cheaper">
                        pinned at max
                      </span>
                    </>
                  )}
                  {!h.pinned_at_max && h.at_max_replicas && (
                    <>
                      {" "}
                      <span className="badge" data-testid="hpa-at-max">
                        at max
                      </span>
                    </>
                  )}
                </td>
                <td>{h.target}</td>
                <td className="num" data-testid="hpa-replicas">
                  {num(h.current_replicas)}
                  {h.desired_replicas !== h.current_replicas && ` → ${num(h.desired_replicas)}`}
                </td>
                <td className="num">
                  {num(h.min_replicas)}–{num(h.max_replicas)}
                </td>
                <td>{metricText(h)}</td>
                <td>
                  {h.conditions.map((c) => (
                    <div key={c.type} title={c.message ?? ""} className={(c.type === "ScalingLimited" && c.status === "True") || (c.type === "AbleToScale" && c.status !== "True") ? "warn" : ""}>
                      {c.type}={c.status} <span className="muted">{c.reason}</span>
                    </div>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function DeploymentsTable({ r }: { r: DeploymentsReport }) {
  return (
    <section className="card wide" data-testid="k8s-deployments">
      <h3>Deployments: requests and limits against usage</h3>
      <ScopeLine s={r.scope} />
      {r.usage_error && <Problem testid="k8s-usage-error" text={`No pod usage: ${r.usage_error.message}`} />}
      <table>
        <thead>
          <tr>
            <th>deployment</th>
            <th className="num">ready</th>
            <th className="num">CPU request / limit</th>
            <th className="num">CPU used (avg)</th>
            <th className="num">of request</th>
            <th className="num">memory request / limit</th>
            <th className="num">memory used (max)</th>
            <th className="num">of limit</th>
            <th>findings</th>
          </tr>
        </thead>
        <tbody>
          {r.deployments.map((d) => (
            <tr key={`${d.namespace}/${d.name}`} data-testid="deployment-row" data-deployment={d.name} className={d.findings.length ? "flag" : ""}>
              <td>
                <code>{d.name}</code> <span className="muted">{d.namespace}</span>
              </td>
              <td className="num">
                {d.ready_replicas}/{num(d.replicas)}
              </td>
              <td className="num">
                {cores(d.pod_cpu_request_cores)} / {cores(d.pod_cpu_limit_cores)}
              </td>
              <td className="num">{cores(d.cpu_usage_avg_cores)}</td>
              {ratioCell(d.cpu_of_request, 1)}
              <td className="num">
                {bytes(d.pod_memory_request_bytes)} / {bytes(d.pod_memory_limit_bytes)}
              </td>
              <td className="num">{bytes(d.memory_usage_max_bytes)}</td>
              {ratioCell(d.memory_of_limit, 0.9)}
              <td>
                {d.findings.map((f, i) => (
                  <div key={i} className="warn" data-testid="deployment-finding">
                    {f}
                  </div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="muted">Per pod: requests and limits summed over its containers; usage from metrics.k8s.io, pods matched by the Deployment's selector.</div>
    </section>
  );
}

const CLUSTER_PAGE: PerProfileKind = {
  service: ["prometheus", "kubernetes"],
  testid: "cluster-page",
  prefix: "cluster",
  label: "Prometheus or Kubernetes",
  flag: "prometheus",
};

/** The Kubernetes history (the sampler reads the API every interval, as it does Redis and PostgreSQL). */
export const CLUSTER_CHARTS: ChartDef[] = [
  { id: "cpu", title: "Pod CPU: used, requested, limits (cores)", metrics: ["cpu_used_cores", "cpu_requests_cores", "cpu_limits_cores"] },
  { id: "memory", title: "Pod memory: used, requested, limits", metrics: ["memory_used", "memory_requests", "memory_limits"] },
  { id: "memory_of_limit", title: "Tightest pod memory against its limit", metrics: ["memory_of_limit_max"] },
  { id: "hpa", title: "HPA replicas: current, desired, max", metrics: ["hpa_replicas", "hpa_desired_replicas", "hpa_max_replicas"] },
  { id: "pinned", title: "HPAs pinned at maxReplicas", metrics: ["hpas_pinned"] },
];

/** The Cluster page: a profile's Prometheus panels and its Kubernetes usage, HPAs and Deployments. */
export function ClusterPage({ profile, advice, onOpenAdvisor }: { profile?: string } & AdviceProps) {
  return (
    <PerProfilePage
      kind={CLUSTER_PAGE}
      preferred={profile}
      render={(p, picker) => (
        <>
          <PageFindings system="cluster" profile={p} advice={advice} onOpenAdvisor={onOpenAdvisor} />
          <ClusterForProfile profile={p} picker={picker} />
        </>
      )}
    />
  );
}

function ClusterForProfile({ profile, picker }: { profile: string; picker: ReactNode }) {
  const { profiles } = useProfiles();
  const endpoints = profiles?.find((p) => p.name === profile)?.endpoints ?? [];
  const hasProm = endpoints.some((e) => e.service === "prometheus");
  const hasKube = endpoints.some((e) => e.service === "kubernetes");
  const [every, setEvery] = useState(10);
  const [auto, setAuto] = useState(true);
  const [nsInput, setNsInput] = useState("");
  const [namespace, setNamespace] = useState<string | null>(null);
  // Each source on its own: one that fails shows its error, the others keep working.
  const none = () => Promise.resolve(null);
  const panels = useReport(() => (hasProm ? call("prom_panels", { profile, range_minutes: null }) : none()), [profile, hasProm]);
  const kube = { profile, namespace, kubeconfig: false };
  const nodes = useReport(() => (hasKube ? call("k8s_nodes", kube) : none()), [profile, hasKube, namespace]);
  const pods = useReport(() => (hasKube ? call("k8s_pods", kube) : none()), [profile, hasKube, namespace]);
  const hpas = useReport(() => (hasKube ? call("k8s_hpas", kube) : none()), [profile, hasKube, namespace]);
  const deployments = useReport(() => (hasKube ? call("k8s_deployments", kube) : none()), [profile, hasKube, namespace]);
  const all = [panels, nodes, pods, hpas, deployments];
  const loadAll = () => all.forEach((r) => r.load());
  useAutoRefresh(loadAll, every, auto);
  const updated = all.map((r) => r.updated).reduce<Date | null>((a, b) => (a && b ? (a > b ? a : b) : a ?? b), null);
  return (
    <>
      <div className="toolbar">
        {picker}
        {hasKube && (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              setNamespace(nsInput.trim() || null);
            }}
          >
            <label>
              Namespace{" "}
              <input data-testid="cluster-namespace" value={nsInput} placeholder="all" onChange={(e) => setNsInput(e.target.value)} size={14} />
            </label>{" "}
            <button data-testid="cluster-namespace-apply" type="submit">
              Show
            </button>
          </form>
        )}
        <RefreshBar prefix="cluster" onRefresh={loadAll} every={every} setEvery={setEvery} auto={auto} setAuto={setAuto} updated={updated} loading={all.some((r) => r.loading)} />
      </div>
      <h2>Prometheus</h2>
      {!hasProm && <div className="muted" data-testid="cluster-no-prometheus">{`Profile ${profile} has no Prometheus URL (simba-tuner profile add ${profile} --prometheus URL).`}</div>}
      {panels.error && <ErrorBox error={panels.error} />}
      {panels.report && <PanelsView r={panels.report} />}
      <h2>Kubernetes</h2>
      {!hasKube && <div className="muted" data-testid="cluster-no-kubernetes">{`Profile ${profile} has no Kubernetes URL (simba-tuner profile add ${profile} --kubernetes URL, the token from SIMBA_KUBERNETES_TOKEN).`}</div>}
      {hasKube && <AlertsPanel profile={profile} source="kubernetes" tick={hpas.tick} />}
      {[nodes, pods, hpas, deployments].map((r, i) => r.error && <ErrorBox key={i} error={r.error} />)}
      {hpas.report && <HpasTable r={hpas.report} />}
      {deployments.report && <DeploymentsTable r={deployments.report} />}
      {nodes.report && <NodesTable r={nodes.report} />}
      {pods.report && <PodsTable r={pods.report} />}
      {hasKube && <ChartsPanel profile={profile} source="kubernetes" charts={CLUSTER_CHARTS} tick={hpas.tick} />}
    </>
  );
}
