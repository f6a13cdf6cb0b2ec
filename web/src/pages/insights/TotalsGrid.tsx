// The window's totals at a glance: runs, pass rate, and duration p50 and p95.
import { duration } from '../../lib/format';
import type { DayPoint } from './types';

const pct = (v: number | null) => (v === null ? '—' : `${Math.round(v * 100)}%`);

export function TotalsGrid({ totals }: { totals: DayPoint }) {
  return (
    <dl class='grid grid-cols-2 gap-2 text-sm sm:grid-cols-4' data-testid='insight-totals'>
      {(
        [
          ['Runs', String(totals.runs)],
          ['Pass rate', pct(totals.passRate)],
          ['Duration p50', duration(totals.p50Ms)],
          ['Duration p95', duration(totals.p95Ms)],
        ] as const
      ).map(([k, v]) => (
        <div key={k} class='rounded-md bg-white p-2 ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800'>
          <dt class='text-xs text-slate-500 dark:text-slate-400'>{k}</dt>
          <dd class='text-lg font-semibold'>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
