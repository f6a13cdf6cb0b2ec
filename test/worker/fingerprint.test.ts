// Failure fingerprints: normalisation with known answers, then fingerprints stored with real results and
// grouped across runs and projects ("happened N times since …, first seen in run X").
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { fingerprintOf, normalizeError } from '../../worker/services/fingerprint';
import { api, createProject } from './helpers';
import { lab, recordRun } from './insights-helpers';

describe('normalizeError', () => {
  it('strips ANSI, URLs, ids, durations, quoted values and numbers to a stable text', () => {
    expect(
      normalizeError('\u001b[31mRequest to https://api.example.com/v1/users/42 failed after 1500ms\u001b[39m (request 3f2a9c1d-7b4e-4c2a-9f00-1234567890ab)'),
    ).toBe('Request to <url> failed after <duration> (request <uuid>)');
    expect(normalizeError("ENOENT: no such file or directory, open '/tmp/run-8812/results.json'")).toBe('ENOENT: no such file or directory, open <str>');
    expect(normalizeError('at Object.<anonymous> (/home/ci/work/app/tests/login.spec.ts:12:5)')).toBe('at Object.<anonymous> (<path>)');
    expect(normalizeError('object 0x7ffd5e8c and commit 9fceb02d0ae598e95dc970b74767f19372d61af8 differ by 3.5 units')).toBe(
      'object <hex> and commit <hex> differ by <n> units',
    );
    expect(normalizeError('Timeout   30000ms\n\n exceeded.')).toBe('Timeout <duration> exceeded.');
  });
});

describe('fingerprintOf', () => {
  const same = [
    ['Timeout 30000ms exceeded.', 'Timeout 5000ms exceeded.'],
    ['\u001b[31mExpected: 5\u001b[39m\nReceived: 3', 'Expected: 7\nReceived: 12'],
    [
      'expect(locator).toHaveText(expected)\nLocator: getByRole(\'heading\')\nExpected string: "Welcome"\nReceived string: "Loading"',
      'expect(locator).toHaveText(expected)\nLocator: getByRole(\'banner\')\nExpected string: "Hello"\nReceived string: ""',
    ],
    ['connect ECONNREFUSED 127.0.0.1:5432', 'connect ECONNREFUSED 10.0.3.17:6543'],
  ];
  for (const [a, b] of same) {
    it(`groups "${a!.slice(0, 40).replace(/\s+/g, ' ')}…" with its variant`, () => {
      expect(fingerprintOf({ message: a })).toBe(fingerprintOf({ message: b }));
      expect(fingerprintOf({ message: a })).toMatch(/^[0-9a-f]{20}$/);
    });
  }

  it('keeps different failures apart', () => {
    const prints = new Set(
      [
        'Timeout 30000ms exceeded.',
        'locator.click: Target closed',
        'Expected: 5\nReceived: 3',
        'connect ECONNREFUSED 127.0.0.1:5432',
        "TypeError: Cannot read properties of undefined (reading 'id')",
      ].map((m) => fingerprintOf({ message: m })),
    );
    expect(prints.size).toBe(5);
  });

  it('has no fingerprint without error text, and falls back to the first stack line', () => {
    expect(fingerprintOf(undefined)).toBeNull();
    expect(fingerprintOf({ message: '   ' })).toBeNull();
    expect(fingerprintOf({ message: '', stack: 'Error: boom 12\n    at x (/a/b.ts:1:1)' })).toBe(fingerprintOf({ message: 'Error: boom 99' }));
  });
});

describe('stored fingerprints', () => {
  it('groups one failure across runs and projects, with its first run, and leaves passing results unsigned', async () => {
    const l = await lab();
    const other = await createProject(l.org.token);
    const first = await recordRun(l, [
      { title: 'checkout pays', file: 'tests/pay.spec.ts', status: 'failed', error: 'Timeout 30000ms exceeded waiting for order 1041' },
      { title: 'home loads', file: 'tests/home.spec.ts', status: 'passed' },
    ]);
    await recordRun(l, [{ title: 'checkout pays', file: 'tests/pay.spec.ts', status: 'failed', error: 'Timeout 15000ms exceeded waiting for order 2077' }]);
    await recordRun(l, [{ title: 'cart empties', file: 'tests/cart.spec.ts', status: 'failed', error: 'TypeError: cart is undefined' }]);
    const last = await recordRun(
      l,
      [{ title: 'refund pays back', file: 'tests/refund.spec.ts', status: 'failed', error: 'Timeout 5000ms exceeded waiting for order 9' }],
      { projectId: other.id },
    );

    // D1 keeps the fingerprint per project per day (fingerprint_daily), not per test result; a passing result carries none.
    const signed = fingerprintOf({ message: 'Timeout 1ms exceeded waiting for order 1' });
    const stored = (
      await env.DB.prepare(
        'SELECT project_id, occurrences, runs, first_task_id FROM fingerprint_daily WHERE organization_id = ? AND fingerprint = ? ORDER BY project_id = ? DESC',
      )
        .bind(l.org.organizationId, signed, l.project.id)
        .all()
    ).results;
    expect(stored).toEqual([
      { project_id: l.project.id, occurrences: 2, runs: 2, first_task_id: first.taskId },
      { project_id: other.id, occurrences: 1, runs: 1, first_task_id: last.taskId },
    ]);
    const firstFailures = (await api('GET', `/api/insights/executions/${first.taskId}/failures`, { token: l.org.token })).json.data.failures;
    expect(firstFailures.map((f: any) => [f.title, f.fingerprint])).toEqual([['checkout pays', signed]]);

    const res = await api('GET', `/api/insights/executions/${last.taskId}/failures`, { token: l.org.token });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const [failure, ...rest] = res.json.data.failures;
    expect(rest).toHaveLength(0);
    expect(failure.fingerprint).toBe(fingerprintOf({ message: 'Timeout 1ms exceeded waiting for order 1' }));
    expect(failure.history).toMatchObject({ occurrences: 3, runs: 3, projects: 2, firstTaskId: first.taskId, lastTaskId: last.taskId });
    expect(failure.history.firstSeenAt).toBeLessThanOrEqual(failure.history.lastSeenAt);

    const detail = await api('GET', `/api/insights/fingerprints/${failure.fingerprint}`, { token: l.org.token });
    expect(detail.status).toBe(200);
    expect(detail.json.data.recent.map((r: any) => r.taskId)).toHaveLength(3);
    expect(detail.json.data.recent[0].taskId).toBe(last.taskId);
    expect(detail.json.data.sampleMessage).toBe('Timeout 5000ms exceeded waiting for order 9');

    const top = await api('GET', `/api/insights/fingerprints?projectId=${l.project.id}`, { token: l.org.token });
    expect(top.json.data.map((t: any) => [t.inWindow, t.occurrences])).toEqual([
      [2, 3],
      [1, 1],
    ]);
  });

  it("hides another org's runs and fingerprints (404), and rejects a malformed fingerprint (400)", async () => {
    const a = await lab();
    const b = await lab();
    const run = await recordRun(a, [{ title: 't', status: 'failed', error: 'unique failure for isolation 1' }]);
    const fp = fingerprintOf({ message: 'unique failure for isolation 1' });
    expect((await api('GET', `/api/insights/executions/${run.taskId}/failures`, { token: b.org.token })).status).toBe(404);
    expect((await api('GET', `/api/insights/fingerprints/${fp}`, { token: b.org.token })).status).toBe(404);
    expect((await api('GET', `/api/insights/fingerprints/${fp}`, { token: a.org.token })).status).toBe(200);
    const bad = await api('GET', '/api/insights/fingerprints/NOT-HEX', { token: a.org.token });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('VALIDATION_ERROR');
  });
});
