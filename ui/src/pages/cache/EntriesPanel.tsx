import { type ReactNode, useEffect, useRef, useState } from "react";
import type { ApiError } from "../../bindings/ApiError";
import type { EntryView } from "../../bindings/EntryView";
import type { NamespaceStats } from "../../bindings/NamespaceStats";
import { call } from "../../platform";
import { bytes } from "../../format";
import { ErrorBox } from "../Overview";
import { age, asError, type Confirm, expires, scopeOf, timestamp, truncate } from "./util";

export const PAGE_SIZE = 25;

function EntryTable({
  entries,
  testid,
  now,
  selected,
  onInspect,
  onDelete,
  deleting,
}: {
  entries: EntryView[];
  testid: string;
  now: number;
  selected: string | null;
  onInspect: (e: EntryView) => void;
  onDelete: (e: EntryView) => void;
  deleting: string | null;
}) {
  const withSimilarity = entries.some((e) => e.similarity !== null);
  return (
    <table data-testid={testid} className="clickable">
      <thead>
        <tr>
          {withSimilarity && <th className="num">similarity</th>}
          <th>query</th>
          <th>response</th>
          <th>age</th>
          <th>expires</th>
          <th className="num">hits</th>
          <th className="num">bytes</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e) => (
          <tr
            key={e.id}
            data-testid="entry-row"
            data-id={e.id}
            className={e.id === selected ? "selected" : ""}
            tabIndex={0}
            onClick={() => onInspect(e)}
            onKeyDown={(k) => k.key === "Enter" && onInspect(e)}
          >
            {withSimilarity && <td className="num" data-testid="entry-similarity">{e.similarity === null ? "–" : e.similarity.toFixed(3)}</td>}
            <td title={e.query}>
              {truncate(e.query, 80)} {e.conversation && <span className="badge">conversation</span>}
            </td>
            <td title={e.response}>{truncate(e.response, 60)}</td>
            <td title={timestamp(e.created_at_ms)}>{age(e.created_at_ms, now)}</td>
            <td title={e.expires_at_ms === null ? "" : timestamp(e.expires_at_ms)}>{expires(e.expires_at_ms, now)}</td>
            <td className="num">{e.hits}</td>
            <td className="num">{bytes(e.bytes)}</td>
            <td>
              <button
                className="danger small"
                data-testid="entry-delete"
                disabled={deleting === e.id}
                onClick={(ev) => (ev.stopPropagation(), onDelete(e))}
              >
                {deleting === e.id ? "Deleting…" : "Delete"}
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function EntryDetail({ entry, now, onClose }: { entry: EntryView; now: number; onClose: () => void }) {
  const row = (label: string, value: ReactNode, testid?: string) => (
    <tr>
      <th>{label}</th>
      <td data-testid={testid}>{value}</td>
    </tr>
  );
  return (
    <div className="entry-detail" data-testid="entry-detail">
      <div className="toolbar">
        <h4>Entry {entry.id}</h4>
        <button data-testid="entry-detail-close" onClick={onClose}>
          Close
        </button>
      </div>
      <table className="kv">
        <tbody>
          {row("id", <code>{entry.id}</code>, "entry-detail-id")}
          {row("namespace", <code>{entry.namespace}</code>)}
          {row(
            "conversation",
            entry.context.length === 0 ? (
              "no (asked on its own, or independent of its chat)"
            ) : (
              <pre data-testid="entry-detail-context">{entry.context.map((m) => `${m.role}: ${m.content}`).join("\n")}</pre>
            ),
          )}
          {entry.background.length > 0 &&
            row(
              "earlier turns (details must agree)",
              <pre data-testid="entry-detail-background">{entry.background.map((m) => `${m.role}: ${m.content}`).join("\n")}</pre>,
            )}
          {row("query", <pre>{entry.query}</pre>, "entry-detail-query")}
          {row("response", <pre>{entry.response}</pre>, "entry-detail-response")}
          {row("created", `${timestamp(entry.created_at_ms)} (${age(entry.created_at_ms, now)})`)}
          {row("expires", entry.expires_at_ms === null ? "never" : `${timestamp(entry.expires_at_ms)} (${expires(entry.expires_at_ms, now)})`)}
          {row("last hit", entry.hits === 0 ? "never" : `${timestamp(entry.last_hit_at_ms)} (${age(entry.last_hit_at_ms, now)})`)}
          {row("hits", entry.hits)}
          {row("size", `${bytes(entry.bytes)} (${entry.bytes} B)`)}
          {entry.similarity !== null && row("similarity", entry.similarity.toFixed(4))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * One namespace's entries, most recently used first, a page at a time; search by meaning; inspect
 * and delete. `reload` changes when the page's Refresh is pressed.
 */
export function EntriesPanel({
  ns,
  searchable,
  confirm,
  reload,
  onChanged,
}: {
  ns: NamespaceStats;
  searchable: boolean;
  confirm: Confirm;
  reload: number;
  onChanged: () => void;
}) {
  const [offset, setOffset] = useState(0);
  const [entries, setEntries] = useState<EntryView[] | null>(null);
  const [more, setMore] = useState(false);
  const [loading, setLoading] = useState(false);
  const [inspected, setInspected] = useState<EntryView | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [text, setText] = useState("");
  const [k, setK] = useState(10);
  const [found, setFound] = useState<EntryView[] | null>(null);
  const [searching, setSearching] = useState(false);
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  const now = Date.now();

  useEffect(() => {
    const mine = ++seq.current;
    setLoading(true);
    // One more than a page tells whether there is a next page.
    call("cache_entries", { namespace: ns.id, offset, limit: PAGE_SIZE + 1 })
      .then((list) => {
        if (mine !== seq.current) return;
        if (list.length === 0 && offset > 0) {
          setOffset(Math.max(0, offset - PAGE_SIZE));
          return;
        }
        setEntries(list.slice(0, PAGE_SIZE));
        setMore(list.length > PAGE_SIZE);
        setError(null);
      })
      .catch((e) => mine === seq.current && setError(asError(e)))
      .finally(() => mine === seq.current && setLoading(false));
  }, [ns.id, offset, reload, tick]);

  const search = () => {
    if (!text.trim()) return;
    setSearching(true);
    call("cache_search", { scope: scopeOf(ns), text, k })
      .then((r) => (setFound(r), setError(null)))
      .catch((e) => setError(asError(e)))
      .finally(() => setSearching(false));
  };

  const remove = (e: EntryView) => {
    if (!confirm(`Delete this cache entry?\n\n“${truncate(e.query, 200)}”\n\nid ${e.id} in ${ns.id}`)) return;
    setDeleting(e.id);
    call("cache_delete_entry", { id: e.id })
      .then((c) => {
        setError(null);
        setNotice(c.count === 0 ? `Entry ${e.id} was already gone.` : `Deleted entry ${e.id}.`);
        if (inspected?.id === e.id) setInspected(null);
        setFound((f) => f && f.filter((x) => x.id !== e.id));
        setTick((t) => t + 1);
        onChanged();
      })
      .catch((err) => setError(asError(err)))
      .finally(() => setDeleting(null));
  };

  const first = entries && entries.length ? offset + 1 : 0;
  const last = entries ? offset + entries.length : 0;
  return (
    <div data-testid="entries-panel">
      {error && <ErrorBox error={error} />}
      {notice && (
        <div className="notice" data-testid="entries-notice">
          {notice}
        </div>
      )}
      <div className="toolbar search-box">
        <input
          data-testid="entry-search-text"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => e.key === "Enter" && search()}
          placeholder={searchable ? "search this namespace by meaning…" : "not searchable: embedded with another model"}
          disabled={!searchable}
          size={50}
        />
        <label>
          top{" "}
          <select data-testid="entry-search-k" value={k} onChange={(e) => setK(Number(e.target.value))}>
            {[5, 10, 25, 50, 100].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button data-testid="entry-search" disabled={!searchable || searching || !text.trim()} onClick={search}>
          {searching ? "Searching…" : "Search"}
        </button>
        {found && (
          <button data-testid="entry-search-clear" onClick={() => (setFound(null), setText(""))}>
            Clear search
          </button>
        )}
      </div>
      {found && (
        <div data-testid="entry-search-results">
          <h4>
            {found.length} nearest entr{found.length === 1 ? "y" : "ies"} to “{truncate(text, 60)}”
          </h4>
          {found.length > 0 && (
            <EntryTable
              entries={found}
              testid="search-table"
              now={now}
              selected={inspected?.id ?? null}
              onInspect={setInspected}
              onDelete={remove}
              deleting={deleting}
            />
          )}
        </div>
      )}
      {inspected && <EntryDetail entry={inspected} now={now} onClose={() => setInspected(null)} />}
      <h4>
        Entries <span className="muted">(most recently used first)</span>
      </h4>
      {entries === null ? (
        <div className="muted">{loading ? "loading…" : ""}</div>
      ) : entries.length === 0 ? (
        <div className="muted" data-testid="entries-empty">
          No entries in this namespace.
        </div>
      ) : (
        <EntryTable
          entries={entries}
          testid="entries-table"
          now={now}
          selected={inspected?.id ?? null}
          onInspect={setInspected}
          onDelete={remove}
          deleting={deleting}
        />
      )}
      <div className="toolbar pager">
        <button data-testid="entries-prev" disabled={offset === 0 || loading} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
          ‹ Previous
        </button>
        <span data-testid="entries-range">
          {first}–{last} of {ns.entries}
        </span>
        <button data-testid="entries-next" disabled={!more || loading} onClick={() => setOffset(offset + PAGE_SIZE)}>
          Next ›
        </button>
      </div>
    </div>
  );
}
