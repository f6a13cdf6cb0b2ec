// A cycle's outcome as one stacked bar with counts: passed, failed, blocked, skipped, pending.
import type { CycleSummary } from './types';

const PARTS = [
  ['passed', 'bg-emerald-500'],
  ['failed', 'bg-red-500'],
  ['blocked', 'bg-amber-500'],
  ['skipped', 'bg-slate-400'],
  ['pending', 'bg-slate-200 dark:bg-slate-700'],
] as const;

export function CycleSummaryBar({ summary }: { summary: CycleSummary }) {
  const total = Math.max(1, summary.total);
  return (
    <div class='min-w-48' data-testid='cycle-summary'>
      <div class='flex h-2 overflow-hidden rounded bg-slate-100 dark:bg-slate-800' aria-hidden='true'>
        {PARTS.map(([k, cls]) => summary[k] > 0 && <div key={k} class={cls} style={{ width: `${(summary[k] / total) * 100}%` }} />)}
      </div>
      <p class='mt-1 text-xs text-slate-500 tabular-nums'>
        {summary.total} items · {summary.passed} passed · {summary.failed} failed · {summary.blocked} blocked · {summary.skipped} skipped · {summary.pending}{' '}
        pending
      </p>
    </div>
  );
}
