import { useState } from "react";
import type { ApiError } from "../../bindings/ApiError";
import type { Lookup } from "../../bindings/Lookup";
import type { NamespaceStats } from "../../bindings/NamespaceStats";
import { call } from "../../platform";
import { ErrorBox } from "../Overview";
import { asError, duration } from "./util";

/** Runs a real lookup (it counts in the statistics, like any other). */
export function LookupCard({ ns, onLooked }: { ns: NamespaceStats | null; onLooked: () => void }) {
  const [tenant, setTenant] = useState("default");
  const [user, setUser] = useState("admin");
  const [query, setQuery] = useState("");
  const [lookup, setLookup] = useState<Lookup | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const scope = { tenant, user, item: null, conversation: [] };
  const run = () =>
    call("cache_lookup", { scope, query })
      .then((l) => (setLookup(l), setError(null), onLooked()))
      .catch((e) => setError(asError(e)));
  return (
    <div className="card wide">
      <h3>Try a lookup</h3>
      <div className="toolbar">
        <input data-testid="cache-tenant" value={tenant} onChange={(e) => setTenant(e.target.value)} placeholder="tenant" size={10} />
        <input data-testid="cache-user" value={user} onChange={(e) => setUser(e.target.value)} placeholder="user" size={10} />
        <input
          data-testid="cache-query"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => e.key === "Enter" && query.trim() && run()}
          placeholder="query"
          size={60}
        />
        <button data-testid="cache-lookup" onClick={run}>
          Look up
        </button>
        {ns && (
          <button
            data-testid="cache-lookup-use-ns"
            title="Use the selected namespace's tenant and user"
            onClick={() => (setTenant(ns.namespace.tenant), setUser(ns.namespace.user))}
          >
            Use selected namespace
          </button>
        )}
      </div>
      {error && <ErrorBox error={error} />}
      {lookup && (
        <div data-testid="cache-lookup-result">
          {lookup.outcome === "hit"
            ? `HIT (${lookup.similarity.toFixed(3)}, ${duration(lookup.entry_age_ms)} old) “${lookup.matched_query}”: ${lookup.response}`
            : `MISS: ${lookup.reason}` +
              (lookup.best_similarity === null ? "" : ` (best candidate ${lookup.best_similarity.toFixed(3)})`) +
              (lookup.shadow_hit === null ? "" : `; shadow mode would have served: ${lookup.shadow_hit}`)}
        </div>
      )}
    </div>
  );
}
