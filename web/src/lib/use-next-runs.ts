// The next run times of a CRON expression in a time zone, from the server: its parser decides, so its
// message is what the user sees for a bad expression. A newer question aborts the one in flight.
import { useEffect, useState } from 'preact/hooks';
import { api, errorMessage } from './api';

/** Next run times for an expression, or the parser's complaint; asks the server after typing pauses. */
export function useNextRuns(cron: string, timezone: string) {
  const [state, setState] = useState<{ runs: number[]; error: string | null }>({ runs: [], error: null });
  useEffect(() => {
    if (!cron.trim()) {
      setState({ runs: [], error: null });
      return;
    }
    const ctrl = new AbortController();
    const timer = setTimeout(() => {
      api<{ nextRuns: number[] }>(`/api/schedules/next-runs?cron=${encodeURIComponent(cron)}&timezone=${encodeURIComponent(timezone)}&count=3`, {
        signal: ctrl.signal,
      })
        .then((r) => setState({ runs: r.nextRuns, error: null }))
        .catch((err) => {
          if (!ctrl.signal.aborted) setState({ runs: [], error: errorMessage(err) });
        });
    }, 300);
    return () => {
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [cron, timezone]);
  return state;
}
