import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiError } from "../bindings/ApiError";
import type { QueryStats } from "../bindings/QueryStats";
import type { WorkStats } from "../bindings/WorkStats";
import { call } from "../platform";
import { asError } from "./cache/util";
import { QueryPanel } from "./querylab/QueryPanel";
import { ReplayPanel } from "./querylab/ReplayPanel";
import { StatsPanel } from "./querylab/StatsPanel";
import { WorkPanel } from "./querylab/WorkPanel";

/**
 * The Query Lab: one query through the local engine as the platform would run it (session cache,
 * semantic cache, model) with its whole decision trace; the engine's per-level figures and its
 * in-process work queues; and the replay of a query log under one setup or two side by side.
 */
export function QueryLabPage() {
  const [stats, setStats] = useState<QueryStats | null>(null);
  const [statsError, setStatsError] = useState<ApiError | null>(null);
  const [statsLoading, setStatsLoading] = useState(false);
  const [work, setWork] = useState<WorkStats | null>(null);
  const [workError, setWorkError] = useState<ApiError | null>(null);
  const [replaying, setReplaying] = useState(false);
  const live = useRef(true);

  const refresh = useCallback(() => {
    setStatsLoading(true);
    call("query_stats", {})
      .then((s) => live.current && (setStats(s), setStatsError(null)))
      .catch((e) => live.current && setStatsError(asError(e)))
      .finally(() => live.current && setStatsLoading(false));
    call("work_stats", {})
      .then((w) => live.current && (setWork(w), setWorkError(null)))
      .catch((e) => live.current && setWorkError(asError(e)));
  }, []);

  useEffect(() => {
    live.current = true;
    refresh();
    return () => {
      live.current = false;
    };
  }, [refresh]);

  return (
    <div data-testid="querylab-page">
      <QueryPanel onAnswered={refresh} busyElsewhere={replaying} />
      <StatsPanel stats={stats} error={statsError} loading={statsLoading} onRefresh={refresh} />
      <WorkPanel work={work} error={workError} />
      <ReplayPanel onBusy={setReplaying} />
    </div>
  );
}
