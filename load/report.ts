// What the load run prints: PASS/FAIL per check (with the first few problems), and the figures.

/** `warn`: reported, but not a failure (e.g. client timeouts when this shared machine starves the server of CPU). */
export type Check = { name: string; problems: string[]; detail?: string; warn?: boolean };

export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export const latencyLine = (label: string, xs: number[]) =>
  `${label.padEnd(34)} p50 ${percentile(xs, 50).toFixed(0).padStart(6)} ms   p95 ${percentile(xs, 95).toFixed(0).padStart(6)} ms   p99 ${percentile(xs, 99).toFixed(0).padStart(6)} ms   (n=${xs.length})`;

/** Prints the checks; true when every one passed. */
export function printChecks(checks: Check[]): boolean {
  console.log('\nChecks');
  for (const c of checks) {
    console.log(`  ${c.problems.length ? (c.warn ? 'WARN' : 'FAIL') : 'PASS'}  ${c.name}${c.detail ? ` — ${c.detail}` : ''}`);
    for (const p of c.problems.slice(0, 8)) console.log(`          ${p}`);
    if (c.problems.length > 8) console.log(`          … and ${c.problems.length - 8} more`);
  }
  return checks.every((c) => c.warn || !c.problems.length);
}

export function section(title: string, lines: string[]) {
  console.log(`\n${title}`);
  for (const l of lines) console.log(`  ${l}`);
}

/**
 * One row per minute from `from`: the peak of each series in that minute (null when it has no
 * sample), so a run's memory curve reads as "levels off or keeps growing" at a glance.
 */
export function perMinutePeaks<K extends string>(from: number, until: number, series: Record<K, { at: number; v: number }[]>): Record<K, number | null>[] {
  const rows: Record<K, number | null>[] = [];
  for (let t = from; t < until; t += 60_000) {
    const row = {} as Record<K, number | null>;
    for (const k of Object.keys(series) as K[]) {
      const inMinute = series[k].filter((s) => s.at >= t && s.at < t + 60_000).map((s) => s.v);
      row[k] = inMinute.length ? Math.max(...inMinute) : null;
    }
    rows.push(row);
  }
  return rows;
}
