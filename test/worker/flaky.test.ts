// Flaky tests with known answers: first the scoring on hand-built attempts, then the same rules on runs
// recorded through the real agent protocol (with CI commits) and read back from the insights API.
import { describe, expect, it } from 'vitest';
import { computeFlaky, runOutcome, type Attempt } from '../../worker/services/flaky';
import { api, signup } from './helpers';
import { lab, recordRun, type RecordedTest } from './insights-helpers';

type O = 'P' | 'F' | 'R' | 'S' | 'K'; // passed, failed, failed-then-passed-on-retry, skipped, reported 'flaky'

/** Attempts of one test over runs, one letter per run, optional commit per run. */
function attemptsOf(title: string, outcomes: O[], commits: Array<string | null> = []): Attempt[] {
  return outcomes.flatMap((o, i) => {
    const base = { taskId: `run-${i}`, title, file: 'spec.ts', createdAt: 1_000 + i * 10, commit: commits[i] ?? null };
    switch (o) {
      case 'P':
        return [{ ...base, status: 'passed', retry: 0 }];
      case 'F':
        return [{ ...base, status: 'failed', retry: 0 }];
      case 'R':
        return [
          { ...base, status: 'failed', retry: 0 },
          { ...base, status: 'passed', retry: 1, createdAt: base.createdAt + 1 },
        ];
      case 'S':
        return [{ ...base, status: 'skipped', retry: 0 }];
      case 'K':
        return [{ ...base, status: 'flaky', retry: 0 }];
      default:
        throw new Error(`unknown outcome ${o satisfies never}`);
    }
  });
}

describe('runOutcome', () => {
  it('classifies one run of one test from its attempts', () => {
    expect(
      runOutcome([
        { status: 'failed', retry: 0 },
        { status: 'passed', retry: 1 },
      ]),
    ).toBe('flaky');
    expect(runOutcome([{ status: 'flaky', retry: 0 }])).toBe('flaky');
    expect(
      runOutcome([
        { status: 'timedOut', retry: 0 },
        { status: 'failed', retry: 1 },
      ]),
    ).toBe('failed');
    expect(runOutcome([{ status: 'passed', retry: 0 }])).toBe('passed');
    expect(runOutcome([{ status: 'skipped', retry: 0 }])).toBeNull();
  });
});

describe('computeFlaky', () => {
  const commits = ['c1', 'c1', 'c2', 'c3', 'c4', 'c5'];
  const result = computeFlaky([
    ...attemptsOf('retried once', ['P', 'R', 'P', 'P', 'P', 'P'], commits),
    ...attemptsOf('same commit', ['P', 'F', 'P', 'P', 'P', 'P'], commits),
    ...attemptsOf('broke then fixed', ['P', 'P', 'F', 'F', 'F', 'P'], commits),
    ...attemptsOf('flip flop', ['P', 'F', 'P', 'F', 'P', 'F']),
    ...attemptsOf('stable', ['P', 'P', 'P', 'P']),
    ...attemptsOf('reported flaky', ['K', 'P', 'P', 'P']),
    ...attemptsOf('only skipped', ['S', 'S']),
  ]);
  const byTitle = Object.fromEntries(result.map((t) => [t.title, t]));

  it('scores each test with the known answer', () => {
    expect(byTitle['retried once']).toMatchObject({
      runs: 6,
      retriedPasses: 1,
      flips: 0,
      sameCommitFlips: 1,
      score: 0.33,
      flaky: true,
      lastFlakyTaskId: 'run-1',
    });
    expect(byTitle['same commit']).toMatchObject({ runs: 6, retriedPasses: 0, flips: 2, sameCommitFlips: 1, score: 0.33, flaky: true, passed: 5, failed: 1 });
    expect(byTitle['broke then fixed']).toMatchObject({ runs: 6, flips: 2, sameCommitFlips: 0, score: 0.17, flaky: false });
    expect(byTitle['flip flop']).toMatchObject({ runs: 6, flips: 5, sameCommitFlips: 0, score: 0.42, flaky: true });
    expect(byTitle.stable).toMatchObject({ runs: 4, flips: 0, score: 0, flaky: false });
    expect(byTitle['reported flaky']).toMatchObject({ runs: 4, retriedPasses: 1, score: 0.25, flaky: true });
    expect(byTitle['only skipped']).toBeUndefined();
  });

  it('orders flaky tests first, by score', () => {
    expect(result.map((t) => t.title)).toEqual(['flip flop', 'retried once', 'same commit', 'reported flaky', 'broke then fixed', 'stable']);
  });

  it('does not depend on the order attempts arrive in', () => {
    const shuffled = computeFlaky([...attemptsOf('flip flop', ['P', 'F', 'P', 'F', 'P', 'F'])].reverse());
    expect(shuffled[0]).toMatchObject({ flips: 5, score: 0.42 });
  });
});

describe('flaky tests of recorded runs', () => {
  it('lists the flakiest tests of a project with the known scores, and hides them from other orgs', async () => {
    const l = await lab();
    const commits = ['c1', 'c1', 'c2', 'c3', 'c4', 'c5'];
    const plan: Record<string, O[]> = {
      a: ['P', 'R', 'P', 'P', 'P', 'P'],
      b: ['P', 'F', 'P', 'P', 'P', 'P'],
      c: ['P', 'P', 'F', 'F', 'F', 'P'],
      d: ['P', 'F', 'P', 'F', 'P', 'F'],
      e: ['P', 'P', 'P', 'P', 'P', 'P'],
    };
    for (let i = 0; i < 6; i++) {
      const tests: RecordedTest[] = Object.entries(plan).flatMap(([name, outcomes]): RecordedTest[] => {
        const t = { title: `test ${name}`, file: `tests/${name}.spec.ts` };
        switch (outcomes[i]) {
          case 'P':
            return [{ ...t, status: 'passed' }];
          case 'F':
            return [{ ...t, status: 'failed', error: `expected ${name} to work` }];
          case 'R':
            return [
              { ...t, status: 'failed', error: 'socket hang up', retry: 0 },
              { ...t, status: 'passed', retry: 1 },
            ];
          default:
            return [];
        }
      });
      await recordRun(l, tests, { commit: commits[i] });
    }
    const res = await api('GET', `/api/insights/projects/${l.project.id}/flaky`, { token: l.org.token });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    // d: 5 flips + same commit → (1 + 2.5) / 6; a: a retry + same commit → 2 / 6; b: 2 flips + same commit → 2 / 6.
    expect(res.json.data.map((t: any) => [t.title, t.score])).toEqual([
      ['test d', 0.58],
      ['test a', 0.33],
      ['test b', 0.33],
    ]);

    const stranger = await signup();
    expect((await api('GET', `/api/insights/projects/${l.project.id}/flaky`, { token: stranger.token })).status).toBe(404);
    const bad = await api('GET', `/api/insights/projects/${l.project.id}/flaky?days=0`, { token: l.org.token });
    expect(bad.status).toBe(400);
  });
});
