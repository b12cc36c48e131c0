export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

export function pct(r: number | null | undefined): string {
  return r === null || r === undefined ? "–" : `${(r * 100).toFixed(1)}%`;
}

export function ms(v: number | null | undefined): string {
  return v === null || v === undefined ? "–" : v < 10 ? v.toFixed(2) : v.toFixed(1);
}

/** CPU in cores as Kubernetes writes it: "250m" under one core, "1.5" above. */
export function cores(c: number | null | undefined): string {
  if (c === null || c === undefined || !Number.isFinite(c)) return "–";
  if (c >= 1) return `${Math.round(c * 100) / 100}`;
  if (c >= 0.001 || c === 0) return `${Math.round(c * 1000)}m`;
  return `${Math.round(c * 1e6)}u`;
}
