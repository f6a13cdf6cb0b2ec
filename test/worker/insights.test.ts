// Insights with known answers: recorded runs (real agent protocol) → pass rate, duration p50/p95 per day,
// slowest and most failing tests, flaky list, per-image metrics (seed 000's /api/metrics/:image), AI status.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { percentile, trend } from '../../worker/services/insights';
import { api, signup } from './helpers';
import { lab, recordRun } from './insights-helpers';

describe('percentile and trend', () => {
  it('uses nearest rank', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([4000, 1000, 3000, 2000], 50)).toBe(2000);
    expect(percentile([4000, 1000, 3000, 2000], 95)).toBe(4000);
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        95,
      ),
    ).toBe(95);
  });

  it('buckets runs by UTC day and keeps empty days', () => {
    const day = Date.UTC(2026, 10, 20);
    const { series, totals } = trend(
      [
        { status: 'PASSED', durationMs: 100, createdAt: day + 1000 },
        { status: 'FAILED', durationMs: 300, createdAt: day + 2000 },
        { status: 'PASSED', durationMs: 200, createdAt: day + 2 * 86_400_000 },
      ],
      day,
      day + 2 * 86_400_000 + 5000,
    );
    expect(series.map((p) => [p.day, p.runs, p.passRate, p.p50Ms])).toEqual([
      ['2026-11-20', 2, 0.5, 100],
      ['2026-11-21', 0, null, null],
      ['2026-11-22', 1, 1, 200],
    ]);
    expect(totals).toMatchObject({ runs: 3, passed: 2, failed: 1, passRate: 0.667, p50Ms: 200, p95Ms: 300 });
  });
});

describe('project insights', () => {
  it('answers pass rate, p50/p95, slowest, most failing and flaky tests for recorded runs', async () => {
    const l = await lab();
    const slow = { title: 'renders report', file: 'tests/report.spec.ts' };
    const breaks = { title: 'exports csv', file: 'tests/export.spec.ts' };
    await recordRun(
      l,
      [
        { ...slow, status: 'passed', durationMs: 900 },
        { ...breaks, status: 'passed', durationMs: 20 },
      ],
      { durationMs: 1000 },
    );
    await recordRun(
      l,
      [
        { ...slow, status: 'passed', durationMs: 700 },
        { ...breaks, status: 'failed', durationMs: 30, error: 'csv has 0 rows' },
      ],
      { durationMs: 3000 },
    );
    await recordRun(
      l,
      [
        { ...slow, status: 'passed', durationMs: 800 },
        { ...breaks, status: 'failed', durationMs: 40, error: 'csv has 0 rows' },
        { ...breaks, status: 'passed', retry: 1, durationMs: 50 },
      ],
      { durationMs: 2000 },
    );
    await recordRun(
      l,
      [
        { ...slow, status: 'passed', durationMs: 800 },
        { ...breaks, status: 'passed', durationMs: 10 },
      ],
      { durationMs: 4000 },
    );

    const res = await api('GET', `/api/insights/projects/${l.project.id}?days=7`, { token: l.org.token });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const d = res.json.data;
    // Runs: PASSED 1000, FAILED 3000, PASSED 2000 (the retry passed but the run reported failure → FAILED), PASSED 4000.
    expect(d.totals).toMatchObject({ runs: 4, passed: 2, failed: 2, passRate: 0.5, p50Ms: 2000, p95Ms: 4000 });
    expect(d.series).toHaveLength(8);
    expect(d.series.at(-1)).toMatchObject({ day: new Date().toISOString().slice(0, 10), runs: 4 });
    expect(d.series.slice(0, 7).every((p: any) => p.runs === 0)).toBe(true);
    expect(d.slowestTests[0]).toMatchObject({ testKey: 'tests/report.spec.ts › renders report', avgMs: 800, maxMs: 900, runs: 4, failures: 0 });
    expect(d.mostFailing).toEqual([expect.objectContaining({ testKey: 'tests/export.spec.ts › exports csv', failures: 2, runs: 4 })]);
    expect(d.flaky.map((t: any) => [t.testKey, t.retriedPasses, t.flips])).toEqual([['tests/export.spec.ts › exports csv', 1, 2]]);
  });

  it("404s another org's project and 400s a bad window", async () => {
    const l = await lab();
    const stranger = await signup();
    expect((await api('GET', `/api/insights/projects/${l.project.id}`, { token: stranger.token })).status).toBe(404);
    expect((await api('GET', `/api/insights/projects/${l.project.id}?days=365`, { token: l.org.token })).status).toBe(400);
    expect((await api('GET', `/api/insights/projects/${l.project.id}`)).status).toBe(401);
  });
});

describe('GET /api/metrics/:image', () => {
  it("reports one image's runs of this org only (image URL-encoded)", async () => {
    const l = await lab();
    await recordRun(l, [{ title: 'a', status: 'passed' }], { durationMs: 1000 });
    await recordRun(l, [{ title: 'a', status: 'failed', error: 'x' }], { durationMs: 3000 });
    const image = encodeURIComponent('agnox/busybox:test');
    const res = await api('GET', `/api/metrics/${image}?days=1`, { token: l.org.token });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.data).toMatchObject({
      image: 'agnox/busybox:test',
      avgDurationMs: 2000,
      totals: { runs: 2, passed: 1, passRate: 0.5, p50Ms: 1000, p95Ms: 3000 },
    });
    expect(res.json.data.recent.map((r: any) => r.status)).toEqual(['FAILED', 'PASSED']);
    const other = await signup();
    expect((await api('GET', `/api/metrics/${image}`, { token: other.token })).json.data.totals.runs).toBe(0);
  });
});

describe('GET /api/insights/ai-status', () => {
  it('says whether AI analysis is on, off for lack of a key, or opted out', async () => {
    const org = await signup();
    expect((await api('GET', '/api/insights/ai-status', { token: org.token })).json.data).toMatchObject({ enabled: false, reason: 'NOT_CONFIGURED' });
    env.GEMINI_API_KEY = 'k';
    try {
      expect((await api('GET', '/api/insights/ai-status', { token: org.token })).json.data).toMatchObject({ enabled: true, oneAnalysisPerSeconds: 30 });
      await api('PATCH', '/api/organization', { token: org.token, body: { aiAnalysisEnabled: false } });
      expect((await api('GET', '/api/insights/ai-status', { token: org.token })).json.data).toMatchObject({ enabled: false, reason: 'OPTED_OUT' });
    } finally {
      delete env.GEMINI_API_KEY;
    }
  });
});
