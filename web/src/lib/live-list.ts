// The executions list as state: pages loaded from the API merged with the live `executions` messages
// of the org's hub (runs changed and runs deleted), newest first, no duplicates, filters respected.
import { matchesFilters, type ExecutionFilters } from './filters';
import type { ExecutionSummary, HubMessage } from './types';

export type ListState = {
  items: ExecutionSummary[];
  /** Cursor of the next page; null when the last page is loaded. */
  nextCursor: string | null;
  filters: ExecutionFilters;
  selected: ReadonlySet<string>;
};

export type ListAction =
  | { type: 'page'; items: ExecutionSummary[]; nextCursor: string | null; reset: boolean }
  | { type: 'hub'; message: HubMessage }
  | { type: 'filters'; filters: ExecutionFilters }
  | { type: 'toggle'; taskId: string }
  | { type: 'select-all'; on: boolean };

export const initialList = (filters: ExecutionFilters = {}): ListState => ({ items: [], nextCursor: null, filters, selected: new Set() });

/** Newest first; ties broken by taskId so the order is total and stable. */
export const newerFirst = (a: ExecutionSummary, b: ExecutionSummary) => b.createdAt - a.createdAt || (a.taskId < b.taskId ? 1 : a.taskId > b.taskId ? -1 : 0);

function withoutSelected(selected: ReadonlySet<string>, gone: Iterable<string>) {
  const next = new Set(selected);
  let changed = false;
  for (const id of gone) changed = next.delete(id) || changed;
  return changed ? next : selected;
}

function upsert(state: ListState, e: ExecutionSummary): ListState {
  const i = state.items.findIndex((x) => x.taskId === e.taskId);
  if (!matchesFilters(e, state.filters)) {
    if (i === -1) return state;
    return { ...state, items: state.items.filter((x) => x.taskId !== e.taskId), selected: withoutSelected(state.selected, [e.taskId]) };
  }
  if (i !== -1) {
    const items = state.items.slice();
    items[i] = { ...items[i]!, ...e };
    return { ...state, items };
  }
  // A row older than everything loaded belongs to a page not fetched yet: that page will bring it.
  const oldest = state.items[state.items.length - 1];
  if (state.nextCursor !== null && oldest && newerFirst(e, oldest) > 0) return state;
  return { ...state, items: [...state.items, e].sort(newerFirst) };
}

export function listReducer(state: ListState, action: ListAction): ListState {
  switch (action.type) {
    case 'page': {
      const base = action.reset ? [] : state.items;
      const seen = new Map(base.map((x) => [x.taskId, x] as const));
      // A row already known from the hub may be fresher than the page's copy: keep the hub's.
      for (const item of action.items) if (!seen.has(item.taskId)) seen.set(item.taskId, item);
      const items = [...seen.values()].filter((x) => matchesFilters(x, state.filters)).sort(newerFirst);
      const ids = new Set(items.map((x) => x.taskId));
      const selected = action.reset
        ? new Set<string>()
        : withoutSelected(
            state.selected,
            [...state.selected].filter((id) => !ids.has(id)),
          );
      return { ...state, items, nextCursor: action.nextCursor, selected };
    }
    case 'hub': {
      const m = action.message;
      if (m.type !== 'executions') return state;
      // One message per interval: the runs that changed (latest summary each), then the runs deleted.
      let next = state;
      for (const e of m.updated) next = upsert(next, e);
      const gone = new Set(m.deleted);
      if (!next.items.some((x) => gone.has(x.taskId))) return next;
      return { ...next, items: next.items.filter((x) => !gone.has(x.taskId)), selected: withoutSelected(next.selected, gone) };
    }
    case 'filters':
      return initialList(action.filters);
    case 'toggle': {
      if (!state.items.some((x) => x.taskId === action.taskId)) return state;
      const selected = new Set(state.selected);
      if (!selected.delete(action.taskId)) selected.add(action.taskId);
      return { ...state, selected };
    }
    case 'select-all':
      return { ...state, selected: action.on ? new Set(state.items.map((x) => x.taskId)) : new Set() };
  }
}
