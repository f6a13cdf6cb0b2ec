// The facts of one run in a row of small tiles: environment, trigger, when it was queued, how long it
// took (counting up while it runs), its tests and its image.
import { dateTime, duration, testsSummary } from '../../lib/format';
import type { Execution } from '../../lib/types';

/** `now` is the clock a running run's duration counts up against. */
export function RunFacts({ execution: e, now }: { execution: Execution; now: number }) {
  const facts = [
    ['Environment', e.environment ?? '—'],
    ['Trigger', e.trigger],
    ['Queued', dateTime(e.createdAt)],
    ['Duration', duration(e.durationMs ?? (e.startedAt ? (e.finishedAt ?? now) - e.startedAt : null))],
    ['Tests', testsSummary(e)],
    ['Image', e.image],
  ] as const;
  return (
    <dl class='grid grid-cols-2 gap-3 text-sm sm:grid-cols-3 lg:grid-cols-6'>
      {facts.map(([k, v]) => (
        <div key={k} class='min-w-0 rounded-md bg-white p-2 ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800'>
          <dt class='text-xs text-slate-500 dark:text-slate-400'>{k}</dt>
          <dd class='truncate' title={String(v)}>
            {v}
          </dd>
        </div>
      ))}
    </dl>
  );
}
