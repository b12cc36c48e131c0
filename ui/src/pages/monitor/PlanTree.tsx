// EXPLAIN (ANALYZE, BUFFERS) through the core's `explain`: a box for a statement and the plan
// as a tree with the node that spent the most time of its own marked.
import { useEffect, useState } from "react";
import type { ApiError } from "../../bindings/ApiError";
import type { ExplainReport } from "../../bindings/ExplainReport";
import type { PlanNode } from "../../bindings/PlanNode";
import { call } from "../../platform";
import { ms } from "../../format";
import { ErrorBox } from "../Overview";
import { asError, num } from "./common";

function Node({ node, total, path }: { node: PlanNode; total: number; path: string }) {
  const share = total > 0 ? node.self_ms / total : 0;
  const misestimate = node.plan_rows > 0 && node.actual_rows > 0 ? Math.max(node.plan_rows / node.actual_rows, node.actual_rows / node.plan_rows) : 1;
  return (
    <li>
      <div className={"plan-node" + (node.slowest ? " slowest" : "")} data-testid={node.slowest ? "plan-slowest" : "plan-node"} data-path={path}>
        <b>{node.node_type}</b>
        {node.relation && (
          <>
            {" "}
            on <code>{node.relation}</code>
          </>
        )}
        {node.index && (
          <>
            {" "}
            using <code>{node.index}</code>
          </>
        )}
        {node.slowest && <span className="badge"> slowest: {(share * 100).toFixed(0)}% of the time</span>}
        <div className="details">
          {ms(node.total_ms)} ms total, {ms(node.self_ms)} ms in this node; rows {num(node.actual_rows)} × {num(node.loops)} loop
          {node.loops === 1 ? "" : "s"} (planner guessed {num(node.plan_rows)}
          {misestimate >= 10 ? `, off ${num(misestimate)}×` : ""}); buffers {num(node.shared_hit_blocks)} hit, {num(node.shared_read_blocks)} read; cost{" "}
          {num(node.total_cost, 2)}
        </div>
        {node.details.map((d, i) => (
          <div key={i} className="details">
            <code>{d}</code>
          </div>
        ))}
      </div>
      {node.children.length > 0 && (
        <ul>
          {node.children.map((c, i) => (
            <Node key={i} node={c} total={total} path={`${path}.${i}`} />
          ))}
        </ul>
      )}
    </li>
  );
}

export function PlanTree({ report }: { report: ExplainReport }) {
  return (
    <div className="plan-tree" data-testid="plan-tree">
      <div data-testid="plan-summary">
        Planning {ms(report.planning_ms)} ms, execution {ms(report.execution_ms)} ms (run in a read-only transaction that was rolled back)
      </div>
      <ul>
        <Node node={report.plan} total={report.plan.total_ms} path="0" />
      </ul>
    </div>
  );
}

/** `$1`, `$2`… left in a statement from pg_stat_statements: values must be filled in first. */
export function placeholders(sql: string): string[] {
  return [...new Set(sql.match(/\$\d+/g) ?? [])];
}

export function ExplainPanel({ profile, request }: { profile: string; request: { sql: string; n: number } | null }) {
  const [sql, setSql] = useState("");
  const [report, setReport] = useState<ExplainReport | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [running, setRunning] = useState(false);

  const run = (text: string) => {
    setRunning(true);
    setError(null);
    call("explain", { profile, sql: text, timeout_ms: null })
      .then((r) => (setReport(r), setError(null)))
      .catch((e) => (setReport(null), setError(asError(e))))
      .finally(() => setRunning(false));
  };

  // A statement chosen in the tables above: run it at once unless it still has parameters.
  useEffect(() => {
    if (!request) return;
    setSql(request.sql);
    setReport(null);
    setError(null);
    if (placeholders(request.sql).length === 0) run(request.sql);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [request]);

  const missing = placeholders(sql);
  return (
    <div className="sql-box" data-testid="explain-panel">
      <textarea
        data-testid="explain-sql"
        value={sql}
        placeholder="SELECT … (one read-only statement; it runs with EXPLAIN ANALYZE in a rolled-back read-only transaction)"
        onChange={(e) => setSql(e.target.value)}
      />
      <div className="toolbar">
        <button data-testid="explain-run" disabled={running || sql.trim() === "" || missing.length > 0} onClick={() => run(sql)}>
          {running ? "Running…" : "Explain (analyze)"}
        </button>
        {missing.length > 0 && (
          <span className="warn" data-testid="explain-params">
            Replace {missing.join(", ")} with values first (pg_stat_statements keeps statements without their parameters).
          </span>
        )}
      </div>
      {error &&
        (error.code === "read_only" ? (
          <div className="error warning" data-testid="explain-refused">
            Not run: {error.message}
          </div>
        ) : (
          <ErrorBox error={error} />
        ))}
      {report && <PlanTree report={report} />}
    </div>
  );
}
