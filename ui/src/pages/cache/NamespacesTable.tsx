import type { CacheStats } from "../../bindings/CacheStats";
import { bytes, pct } from "../../format";
import { nsLabel, ttl } from "./util";

/** Every namespace with its figures and settings; a click selects one. */
export function NamespacesTable({
  stats,
  selected,
  onSelect,
}: {
  stats: CacheStats;
  selected: string | null;
  onSelect: (id: string) => void;
}) {
  if (stats.namespaces.length === 0) {
    return (
      <div className="muted" data-testid="ns-empty">
        The cache has no entries yet.
      </div>
    );
  }
  return (
    <div className="scroll-x">
      <table data-testid="ns-table" className="clickable">
        <thead>
          <tr>
            <th>namespace</th>
            <th className="num">entries</th>
            <th className="num">memory</th>
            <th className="num" title="hits / (hits + misses) since the cache started">hit rate</th>
            <th className="num" title="over the last five minutes">recent</th>
            <th className="num">evictions</th>
            <th className="num">expirations</th>
            <th className="num" title="would-be hits recorded in shadow mode">shadow hits</th>
            <th className="num">threshold</th>
            <th className="num">TTL</th>
            <th className="num">max entries</th>
          </tr>
        </thead>
        <tbody>
          {stats.namespaces.map((n) => (
            <tr
              key={n.id}
              data-testid="ns-row"
              data-ns={n.id}
              className={n.id === selected ? "selected" : ""}
              tabIndex={0}
              aria-selected={n.id === selected}
              onClick={() => onSelect(n.id)}
              onKeyDown={(e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), onSelect(n.id))}
            >
              <td title={n.id}>
                {nsLabel(n)}{" "}
                {n.namespace.model !== stats.embedding_model && (
                  <span className="badge" title="embedded with another model than the engine's">
                    {n.namespace.model}
                  </span>
                )}
                {n.settings.shadow_mode && <span className="badge">shadow</span>}
              </td>
              <td className="num">{n.entries}</td>
              <td className="num">{bytes(n.bytes)}</td>
              <td className="num" title={`${n.hits} hits, ${n.misses} misses`}>
                {pct(n.hit_rate)}
              </td>
              <td className="num">{pct(n.recent_hit_rate)}</td>
              <td className="num">{n.evictions}</td>
              <td className="num">{n.expirations}</td>
              <td className="num">{n.shadow_hits}</td>
              <td className="num">{n.settings.similarity_threshold.toFixed(2)}</td>
              <td className="num">{ttl(n.settings.ttl_seconds)}</td>
              <td className="num">{n.settings.max_entries}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
