// Per-test results: status, duration, retries, the error with its stack, and attachments.
import { useState } from 'preact/hooks';
import { duration } from '../lib/format';
import { sortResults } from '../lib/test-results';
import type { TestResult } from '../lib/types';
import { Badge, Empty, focusRing } from './ui';

const STATUS_STYLE: Record<string, string> = {
  passed: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900 dark:text-emerald-200',
  failed: 'bg-red-100 text-red-800 dark:bg-red-900 dark:text-red-200',
  timedOut: 'bg-amber-100 text-amber-800 dark:bg-amber-900 dark:text-amber-200',
  interrupted: 'bg-orange-100 text-orange-800 dark:bg-orange-900 dark:text-orange-200',
  flaky: 'bg-yellow-100 text-yellow-800 dark:bg-yellow-900 dark:text-yellow-200',
  skipped: 'bg-slate-100 text-slate-600 dark:bg-slate-800 dark:text-slate-300',
};

function ResultRow({ r, taskId }: { r: TestResult; taskId: string }) {
  const [open, setOpen] = useState(r.status === 'failed' || r.status === 'timedOut');
  return (
    <li class='px-3 py-2'>
      <div class='flex flex-wrap items-center gap-x-3 gap-y-1'>
        <Badge class={STATUS_STYLE[r.status] ?? STATUS_STYLE.skipped}>{r.status}</Badge>
        <span class='min-w-0 flex-1 text-sm'>
          <span class='font-medium break-words'>{r.title}</span>
          {r.file && <span class='ml-2 text-xs text-slate-500'>{r.file}</span>}
        </span>
        <span class='text-xs text-slate-500 tabular-nums'>{duration(r.durationMs)}</span>
        {r.retry > 0 && (
          <span class='text-xs text-amber-700 dark:text-amber-300'>
            {r.retry} {r.retry === 1 ? 'retry' : 'retries'}
          </span>
        )}
        {r.error && (
          <button
            type='button'
            aria-expanded={open}
            onClick={() => setOpen(!open)}
            class={`text-xs text-indigo-600 underline dark:text-indigo-400 ${focusRing}`}
          >
            {open ? 'Hide error' : 'Show error'}
          </button>
        )}
      </div>
      {open && r.error && (
        <div class='mt-2 rounded bg-red-50 p-2 text-xs dark:bg-red-950/50'>
          <p class='font-medium whitespace-pre-wrap text-red-800 dark:text-red-200'>{r.error.message}</p>
          {r.error.location && <p class='mt-1 text-red-700 dark:text-red-300'>at {r.error.location}</p>}
          {r.error.stack && <pre class='mt-2 max-h-64 overflow-auto whitespace-pre text-red-900 dark:text-red-100'>{r.error.stack}</pre>}
        </div>
      )}
      {r.attachments && r.attachments.length > 0 && (
        <ul class='mt-1 flex flex-wrap gap-2 text-xs'>
          {r.attachments.map((a) => (
            <li key={a.name + (a.key ?? '')}>
              {a.key ? (
                <a
                  class='text-indigo-600 underline dark:text-indigo-400'
                  href={`/reports/${encodeURIComponent(taskId)}/${a.key.split('/').map(encodeURIComponent).join('/')}`}
                  target='_blank'
                  rel='noopener'
                >
                  {a.name}
                </a>
              ) : (
                <span class='text-slate-500'>{a.name}</span>
              )}
              <span class='ml-1 text-slate-400'>({a.contentType})</span>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

export function TestResultsTable({ results, taskId }: { results: TestResult[]; taskId: string }) {
  const [onlyFailures, setOnlyFailures] = useState(false);
  if (!results.length) return <Empty>No test results yet.</Empty>;
  const rows = sortResults(results).filter((r) => !onlyFailures || r.status === 'failed' || r.status === 'timedOut' || r.status === 'interrupted');
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return (
    <div>
      <div class='mb-2 flex flex-wrap items-center gap-3 text-xs text-slate-600 dark:text-slate-400'>
        {Object.entries(counts).map(([s, n]) => (
          <span key={s}>
            {n} {s}
          </span>
        ))}
        <label class='ml-auto flex items-center gap-1.5'>
          <input type='checkbox' checked={onlyFailures} onChange={(e) => setOnlyFailures(e.currentTarget.checked)} /> Failures only
        </label>
      </div>
      <ul class='divide-y divide-slate-200 rounded ring-1 ring-slate-200 dark:divide-slate-800 dark:ring-slate-800' data-testid='test-results'>
        {rows.map((r) => (
          <ResultRow key={r.testId} r={r} taskId={taskId} />
        ))}
      </ul>
    </div>
  );
}
