import { useState } from "react";
import type { ApiError } from "../../bindings/ApiError";
import type { CacheStats } from "../../bindings/CacheStats";
import type { Invalidation } from "../../bindings/Invalidation";
import type { NamespaceStats } from "../../bindings/NamespaceStats";
import { call } from "../../platform";
import { bytes } from "../../format";
import { ErrorBox } from "../Overview";
import { asError, type Confirm, nsLabel } from "./util";

type Action = { key: string; label: string; what: Invalidation; preview: string };

const plural = (n: number, one: string, many = one + "s") => `${n} ${n === 1 ? one : many}`;

function affected(list: NamespaceStats[]): string {
  const entries = list.reduce((a, n) => a + n.entries, 0);
  const size = list.reduce((a, n) => a + n.bytes, 0);
  return `${plural(entries, "entry", "entries")} (${bytes(size)}) in ${plural(list.length, "namespace")}`;
}

/** The invalidations offered for the selected namespace and for the whole cache. */
export function invalidationActions(stats: CacheStats, ns: NamespaceStats | null): Action[] {
  const out: Action[] = [];
  if (ns) {
    const { tenant, user, item } = ns.namespace;
    out.push({
      key: "namespace",
      label: "This namespace",
      what: { kind: "namespace", namespace: ns.id },
      preview: `Deletes every entry of namespace ${nsLabel(ns)}: ${affected([ns])}.`,
    });
    const ofUser = stats.namespaces.filter((n) => n.namespace.tenant === tenant && n.namespace.user === user);
    out.push({
      key: "user",
      label: `User ${user}`,
      what: { kind: "user", tenant, user },
      preview: `Deletes everything cached for user ${user} in tenant ${tenant}, global and per item, every model: ${affected(ofUser)}.`,
    });
    if (item !== null) {
      const ofItem = stats.namespaces.filter((n) => n.namespace.tenant === tenant && n.namespace.item === item);
      out.push({
        key: "item",
        label: `Item ${item}`,
        what: { kind: "item", tenant, item },
        preview: `Deletes everything cached about item ${item} in tenant ${tenant}, for every user: ${affected(ofItem)}.`,
      });
    }
  }
  out.push({
    key: "all",
    label: "Everything",
    what: { kind: "all" },
    preview: `Deletes the whole semantic cache: ${affected(stats.namespaces)}. Settings are kept.`,
  });
  return out;
}

export function InvalidatePanel({
  stats,
  ns,
  confirm,
  onDone,
}: {
  stats: CacheStats;
  ns: NamespaceStats | null;
  confirm: Confirm;
  onDone: () => void;
}) {
  const [error, setError] = useState<ApiError | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = (a: Action) => {
    if (!confirm(`${a.preview}\n\nThis cannot be undone. Continue?`)) return;
    setBusy(true);
    call("cache_invalidate", a.what)
      .then((c) => {
        setError(null);
        setResult(`${a.label}: deleted ${plural(c.count, "entry", "entries")}.`);
        onDone();
      })
      .catch((e) => setError(asError(e)))
      .finally(() => setBusy(false));
  };
  return (
    <div data-testid="invalidate-panel">
      {!ns && <div className="muted">Select a namespace to invalidate only its entries or its user's.</div>}
      <table className="actions">
        <tbody>
          {invalidationActions(stats, ns).map((a) => (
            <tr key={a.key}>
              <td>
                <button className="danger" data-testid={`invalidate-${a.key}`} disabled={busy} onClick={() => run(a)}>
                  Invalidate: {a.label}
                </button>
              </td>
              <td className="muted" data-testid={`invalidate-${a.key}-preview`}>
                {a.preview}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {result && (
        <div className="notice" data-testid="invalidate-result">
          {result}
        </div>
      )}
      {error && <ErrorBox error={error} />}
    </div>
  );
}
