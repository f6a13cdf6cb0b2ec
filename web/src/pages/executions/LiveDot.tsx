// Whether the executions list is receiving the org's live updates: a green dot when it is.
import type { LiveState } from '../../lib/live-socket';

export function LiveDot({ state }: { state: LiveState }) {
  const label = state === 'open' ? 'Live' : state === 'closed' ? 'Offline' : 'Connecting…';
  return (
    <span class='inline-flex items-center gap-1.5 text-xs text-slate-500 dark:text-slate-400' role='status' data-testid='live-state'>
      <span class={`size-2 rounded-full ${state === 'open' ? 'bg-emerald-500' : 'bg-amber-500'}`} aria-hidden='true' />
      {label}
    </span>
  );
}
