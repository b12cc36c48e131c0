/**
 * Best-candidate similarity of lookups (20 bins over 0–1) as small bars; bins at or above the
 * threshold (would be served) are drawn in the accent colour.
 */
export function Histogram({ bins, threshold }: { bins: number[]; threshold: number }) {
  const total = bins.reduce((a, b) => a + b, 0);
  const max = Math.max(1, ...bins);
  const width = bins.length ? 1 / bins.length : 0;
  return (
    <div data-testid="score-histogram">
      <div className="histogram" role="img" aria-label={`Similarity of ${total} lookups' best candidates`}>
        {bins.map((count, i) => {
          const lo = i * width;
          const hi = (i + 1) * width;
          return (
            <div
              key={i}
              className={"bin" + (lo + 1e-9 >= threshold ? " served" : "")}
              data-testid="hist-bin"
              title={`${lo.toFixed(2)}–${hi.toFixed(2)}: ${count} lookup${count === 1 ? "" : "s"}`}
            >
              <div className="bar" style={{ height: `${(count / max) * 100}%` }} />
            </div>
          );
        })}
        <div className="threshold-line" style={{ left: `${Math.min(1, Math.max(0, threshold)) * 100}%` }} title={`threshold ${threshold}`} />
      </div>
      <div className="histogram-axis muted">
        <span>0</span>
        <span>
          {total === 0 ? "no lookups yet" : `${total} lookups`}, threshold {threshold.toFixed(2)}
        </span>
        <span>1</span>
      </div>
    </div>
  );
}
