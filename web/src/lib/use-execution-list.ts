// The executions list for one set of filters, kept live: pages fetched from the API by cursor, merged
// with the org's hub feed (new runs appear, statuses change, deleted runs go) by listReducer. A change
// of filters starts again from the first page; an answer to an older request (filters changed since)
// is dropped. After the hub reconnects the first page is fetched again, to catch what was missed.
import { useCallback, useEffect, useReducer, useRef, useState } from 'preact/hooks';
import { api, errorMessage } from './api';
import { filtersToSearch, type ExecutionFilters } from './filters';
import { initialList, listReducer } from './live-list';
import { openLive, type LiveState } from './live-socket';
import type { ExecutionSummary, HubMessage } from './types';

const PAGE_SIZE = 50;

type ExecutionPage = { items: ExecutionSummary[]; nextCursor: string | null };

export function useExecutionList(filters: ExecutionFilters) {
  const filterKey = filtersToSearch(filters);
  const [state, dispatch] = useReducer(listReducer, filters, initialList);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [connection, setConnection] = useState<LiveState>('connecting');
  /** Counts first-page loads: only the latest one may write the list. */
  const generation = useRef(0);

  /** Loads the page after `cursor`, or the first page (and replaces the list) when it is null. */
  const load = useCallback(
    async (cursor: string | null) => {
      const mine = cursor === null ? ++generation.current : generation.current;
      setLoading(true);
      try {
        const page = await api<ExecutionPage>(`/api/executions${filtersToSearch(filters, { limit: PAGE_SIZE, cursor: cursor ?? undefined })}`);
        if (mine !== generation.current) return;
        dispatch({ type: 'page', items: page.items, nextCursor: page.nextCursor, reset: cursor === null });
        setError(null);
      } catch (err) {
        if (mine === generation.current) setError(errorMessage(err));
      } finally {
        if (mine === generation.current) setLoading(false);
      }
    },
    [filterKey],
  );

  useEffect(() => {
    dispatch({ type: 'filters', filters });
    void load(null);
  }, [filterKey]);

  // The socket lives across filter changes; it reloads with the filters of the moment.
  const reloadFirstPage = useRef(load);
  reloadFirstPage.current = load;
  useEffect(() => {
    let wasOpen = false;
    const socket = openLive<HubMessage>({
      path: '/api/live',
      onMessage: (message) => dispatch({ type: 'hub', message }),
      onState: (s) => {
        setConnection(s);
        if (s === 'open') {
          if (wasOpen) void reloadFirstPage.current(null);
          wasOpen = true;
        }
      },
    });
    return () => socket.close();
  }, []);

  return { state, dispatch, loading, error, load, connection };
}
