import { describe, expect, it } from 'vitest';
import { initialList, listReducer, type ListState } from '../src/lib/live-list';
import type { ExecutionSummary } from '../src/lib/types';

const exec = (taskId: string, createdAt: number, over: Partial<ExecutionSummary> = {}): ExecutionSummary => ({
  taskId,
  organizationId: 'o',
  projectId: 'p1',
  status: 'PENDING',
  source: 'agnox-hosted',
  trigger: 'manual',
  environment: 'staging',
  image: 'img',
  reason: null,
  createdAt,
  startedAt: null,
  finishedAt: null,
  totalTests: 0,
  passed: 0,
  failed: 0,
  skipped: 0,
  flaky: 0,
  durationMs: null,
  ciContext: null,
  name: null,
  ...over,
});
const ids = (s: ListState) => s.items.map((x) => x.taskId);
const updated = (...runs: ExecutionSummary[]) => ({ type: 'hub', message: { type: 'executions', updated: runs, deleted: [] as string[] } }) as const;

describe('live executions list', () => {
  it('puts a new run at the top and changes a status in place', () => {
    let s = listReducer(initialList(), { type: 'page', items: [exec('b', 20), exec('a', 10)], nextCursor: null, reset: true });
    s = listReducer(s, updated(exec('c', 30)));
    expect(ids(s)).toEqual(['c', 'b', 'a']);
    s = listReducer(s, updated(exec('b', 20, { status: 'RUNNING' })));
    expect(ids(s)).toEqual(['c', 'b', 'a']);
    expect(s.items[1]!.status).toBe('RUNNING');
  });

  it('never shows a row twice when a page and the hub both bring it', () => {
    let s = listReducer(initialList(), updated(exec('a', 10, { status: 'RUNNING' })));
    s = listReducer(s, { type: 'page', items: [exec('a', 10), exec('z', 5)], nextCursor: null, reset: false });
    expect(ids(s)).toEqual(['a', 'z']);
    expect(s.items[0]!.status).toBe('RUNNING');
  });

  it('respects filters: ignores non-matching runs and drops rows that stop matching', () => {
    let s = listReducer(initialList(), { type: 'filters', filters: { source: 'external-ci', status: 'RUNNING' } });
    s = listReducer(s, updated(exec('hosted', 10, { status: 'RUNNING' })));
    expect(ids(s)).toEqual([]);
    s = listReducer(s, updated(exec('ci', 11, { source: 'external-ci', status: 'RUNNING' })));
    expect(ids(s)).toEqual(['ci']);
    s = listReducer(s, updated(exec('ci', 11, { source: 'external-ci', status: 'PASSED' })));
    expect(ids(s)).toEqual([]);
  });

  it('leaves a run older than the loaded pages to the page that will bring it', () => {
    let s = listReducer(initialList(), { type: 'page', items: [exec('b', 20), exec('a', 10)], nextCursor: 'cur', reset: true });
    s = listReducer(s, updated(exec('old', 1)));
    expect(ids(s)).toEqual(['b', 'a']);
    s = listReducer(s, { type: 'page', items: [exec('old', 1)], nextCursor: null, reset: false });
    expect(ids(s)).toEqual(['b', 'a', 'old']);
  });

  it('selects, removes deleted rows from the selection, and resets on new filters', () => {
    let s = listReducer(initialList(), { type: 'page', items: [exec('b', 20), exec('a', 10)], nextCursor: null, reset: true });
    s = listReducer(s, { type: 'toggle', taskId: 'a' });
    s = listReducer(s, { type: 'toggle', taskId: 'missing' });
    expect([...s.selected]).toEqual(['a']);
    s = listReducer(s, { type: 'select-all', on: true });
    expect(s.selected.size).toBe(2);
    s = listReducer(s, { type: 'hub', message: { type: 'executions', updated: [], deleted: ['a'] } });
    expect(ids(s)).toEqual(['b']);
    expect([...s.selected]).toEqual(['b']);
    s = listReducer(s, { type: 'filters', filters: { status: 'FAILED' } });
    expect(s.items).toEqual([]);
    expect(s.selected.size).toBe(0);
  });

  it("applies one coalesced message: every run's latest summary, new ones placed in order, then the deletions", () => {
    let s = listReducer(initialList(), { type: 'page', items: [exec('b', 20), exec('a', 10)], nextCursor: null, reset: true });
    s = listReducer(s, {
      type: 'hub',
      message: { type: 'executions', updated: [exec('c', 30), exec('a', 10, { status: 'PASSED' }), exec('d', 25)], deleted: ['b'] },
    });
    expect(ids(s)).toEqual(['c', 'd', 'a']);
    expect(s.items.find((x) => x.taskId === 'a')!.status).toBe('PASSED');
  });
});
