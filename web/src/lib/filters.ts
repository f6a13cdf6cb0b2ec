// Execution list filters: one source of truth for the URL (?status=…), the API query and the
// client-side check that decides whether a live update belongs in the visible list.
import { RunStatus } from '../../../worker/contracts/vocabulary';
import type { ExecutionSource, ExecutionSummary } from './types';

export const STATUSES: readonly RunStatus[] = RunStatus.options;
export const SOURCES: readonly ExecutionSource[] = ['agnox-hosted', 'external-ci'];
export const SOURCE_LABEL: Record<ExecutionSource, string> = { 'agnox-hosted': 'Agnox hosted', 'external-ci': 'External CI' };

/** `q`: text in the run's name, branch or commit. */
export type ExecutionFilters = { status?: RunStatus; source?: ExecutionSource; projectId?: string; environment?: string; q?: string };

const KEYS = ['status', 'source', 'projectId', 'environment', 'q'] as const;
/** The API's bound on `q` (worker/contracts/runs.ts ExecutionListQuery). */
export const SEARCH_MAX = 100;
const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;

/** Reads filters from a query string; unknown or malformed values are dropped, never passed on. */
export function filtersFromSearch(search: string): ExecutionFilters {
  const q = new URLSearchParams(search);
  const f: ExecutionFilters = {};
  const status = q.get('status');
  if (status && (STATUSES as readonly string[]).includes(status)) f.status = status as RunStatus;
  const source = q.get('source');
  if (source && (SOURCES as readonly string[]).includes(source)) f.source = source as ExecutionSource;
  const projectId = q.get('projectId');
  if (projectId && ID.test(projectId)) f.projectId = projectId;
  const environment = q.get('environment')?.trim();
  if (environment && ID.test(environment)) f.environment = environment;
  const text = q.get('q')?.trim().slice(0, SEARCH_MAX).trim();
  if (text) f.q = text;
  return f;
}

/** Query string for the URL and the API, in a stable order, without empty values. */
export function filtersToSearch(f: ExecutionFilters, extra: Record<string, string | number | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const k of KEYS) if (f[k]) q.set(k, f[k]!);
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

// As the API compares (SQLite's lower() folds ASCII only), so a live update lands where a reload would put it.
const foldAscii = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** Whether the run's name, branch or commit contains `text`, as `?q=` does on the API. */
export function matchesSearch(e: Pick<ExecutionSummary, 'name' | 'ciContext'>, text: string): boolean {
  const needle = foldAscii(text);
  return [e.name, e.ciContext?.branch, e.ciContext?.commitSha].some((v) => typeof v === 'string' && foldAscii(v).includes(needle));
}

export function matchesFilters(
  e: Pick<ExecutionSummary, 'status' | 'source' | 'projectId' | 'environment' | 'name' | 'ciContext'>,
  f: ExecutionFilters,
): boolean {
  return (
    (!f.status || e.status === f.status) &&
    (!f.source || e.source === f.source) &&
    (!f.projectId || e.projectId === f.projectId) &&
    (!f.environment || e.environment === f.environment) &&
    (!f.q || matchesSearch(e, f.q))
  );
}

export const sameFilters = (a: ExecutionFilters, b: ExecutionFilters) => KEYS.every((k) => (a[k] ?? '') === (b[k] ?? ''));

export const activeFilterCount = (f: ExecutionFilters) => KEYS.filter((k) => f[k]).length;
