// Delivery on its own (no Playwright): backoff and Retry-After, recovery during the run, batches the
// server will never take, a refused key, and the end-of-run time budget: long for a server that
// answers slowly, short for one that is down, never answered, or drops connections.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Delivery } from '../src/delivery';
import { resolveOptions, type AgnoxReporterOptions, type ResolvedOptions } from '../src/options';
import { readSpool } from '../src/spool';
import { startBlackhole } from './support/blackhole';
import { deadUrl, startFakeIngest, type FakeIngest } from './support/fake-ingest';
import { until } from './support/until';

const servers: FakeIngest[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function server() {
  const s = await startFakeIngest('ok');
  servers.push(s);
  return s;
}

function delivery(baseUrl: string, opts: AgnoxReporterOptions = {}) {
  const resolved = resolveOptions({ apiKey: 'test-key', projectId: 'p', baseUrl, flushIntervalMs: 50, ...opts }, {});
  if (!('options' in resolved)) throw new Error('options');
  const options: ResolvedOptions = resolved.options;
  const spool = path.join(mkdtempSync(path.join(tmpdir(), 'agnox-delivery-')), 'spool.jsonl');
  const d = new Delivery(
    options,
    { projectId: 'p', framework: 'playwright', reporterVersion: 'test', totalTests: 1, runId: crypto.randomUUID() },
    spool,
    () => {},
    'test',
  );
  return { d, spool };
}

const log = (n: number) => ({ type: 'log' as const, chunk: `line ${n}\n`, timestamp: n });
const teardown = { status: 'PASSED' as const, summary: { total: 1, passed: 1, failed: 0, skipped: 0, duration: 1 } };

describe('Delivery', () => {
  it('sends the last batch with the teardown: one request at the end of the run', async () => {
    const s = await server();
    const { d } = delivery(s.url, { flushIntervalMs: 60_000 });
    d.start();
    await until('the session', () => d.taskId !== undefined);
    for (let n = 1; n <= 3; n++) d.push(log(n));
    const before = s.calls.length;
    expect((await d.finish(teardown)).outcome).toBe('delivered');
    expect(s.calls.slice(before).map((c) => c.path)).toEqual(['/api/ingest/teardown']);
    expect(s.teardowns[0]!.events!.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(s.events().map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(d.stats).toMatchObject({ eventsSent: 3, batchesSent: 1 });
  });

  it('waits as long as 429 Retry-After says before the next call', async () => {
    const s = await server();
    s.retryAfterSeconds = 1;
    s.mode = 'rate-limited';
    const { d } = delivery(s.url, { endTimeoutMs: 5_000 });
    d.start();
    d.push(log(1));
    await until('the setup after the 429', () => s.setups.length === 1);
    const [limited, next] = s.calls;
    expect(limited!.status).toBe(429);
    expect(next!.at - limited!.at).toBeGreaterThanOrEqual(950);
    expect((await d.finish(teardown)).outcome).toBe('delivered');
    expect(s.events().map((e) => e.seq)).toEqual([1]);
  });

  it('backs off while the server fails, then sends the backlog in order once it is back, leaving no spool', async () => {
    const s = await server();
    s.failNext = 3;
    const { d, spool } = delivery(s.url);
    d.start();
    for (let i = 1; i <= 120; i++) d.push(log(i));
    await until('all events', () => s.events().length === 120);
    expect(s.calls.slice(0, 3).map((c) => c.status)).toEqual([500, 500, 500]);
    const gaps = s.calls.slice(1, 4).map((c, i) => c.at - s.calls[i]!.at);
    expect(gaps[1]!).toBeGreaterThan(gaps[0]!); // exponential: each wait longer than the last
    expect(s.events().map((e) => e.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect([...s.batches.values()].every((b) => b.events.length <= 50)).toBe(true);
    expect(existsSync(spool)).toBe(true); // the failed attempts wrote it…
    expect((await d.finish(teardown)).outcome).toBe('delivered');
    expect(existsSync(spool)).toBe(false); // …and delivery removed it
  });

  it('batches by size (full batches at once) and by time (the rest when the flush interval fires)', async () => {
    const s = await server();
    const { d } = delivery(s.url, { flushIntervalMs: 400 });
    d.start();
    await until('the session', () => s.setups.length === 1);
    for (let i = 1; i <= 120; i++) d.push(log(i));
    await until('two full batches', () => s.batches.size === 2);
    const fullAt = Date.now();
    expect([...s.batches.values()].map((b) => b.events.length)).toEqual([50, 50]);
    await until('the rest', () => s.batches.size === 3);
    expect(Date.now() - fullAt).toBeGreaterThan(50); // the last 20 waited for the timer, not sent at once
    expect([...s.batches.values()].map((b) => b.events.length)).toEqual([50, 50, 20]);
    expect((await d.finish(teardown)).outcome).toBe('delivered');
    expect(s.calls.filter((c) => c.path === '/api/ingest/event')).toHaveLength(3);
  });

  it('drops a batch the server will never accept (400) instead of blocking the ones behind it', async () => {
    const s = await server();
    const { d } = delivery(s.url, { maxBatchSize: 1 });
    d.start();
    d.push(log(1));
    d.push({ type: 'test-end', testId: 't', status: 'exploded' as 'passed', duration: 1, timestamp: 2 });
    d.push(log(3));
    expect((await d.finish(teardown)).outcome).toBe('delivered');
    expect(s.events().map((e) => e.seq)).toEqual([1, 3]);
    expect(s.invalid).toHaveLength(1);
  });

  it('stops calling after the key is refused (401) and keeps everything in the spool', async () => {
    const s = await server();
    const { d, spool } = delivery(s.url, { apiKey: 'wrong-key' });
    d.start();
    d.push(log(1));
    d.push(log(2));
    const done = await d.finish(teardown);
    expect(done).toMatchObject({ outcome: 'spooled', reason: expect.stringContaining('HTTP 401') });
    expect(s.calls.map((c) => c.status)).toEqual([401]);
    const saved = readSpool(spool);
    expect(saved.batches.flatMap((b) => b.events).map((e) => e.seq)).toEqual([1, 2]);
    expect(saved.teardown).toEqual(teardown);
    expect(JSON.stringify(saved)).not.toContain('wrong-key'); // the key is never written
  });

  describe('end of run budget, from what the server did', () => {
    const SHORT_MS = 500; // what a server that does not answer gets

    it('waits for a server that answered during the run and is slow now (longer than the short budget), and delivers', async () => {
      const s = await server();
      const { d, spool } = delivery(s.url); // default endTimeoutMs: 30 s
      d.start();
      d.push(log(1));
      await until('the session', () => d.taskId !== undefined);
      s.mode = 'slow';
      s.slowMs = 2_000; // every answer from now on takes 2 s, as under load
      d.push(log(2));
      const started = Date.now();
      const done = await d.finish(teardown);
      expect(done.outcome).toBe('delivered');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
      expect(s.events().map((e) => e.seq)).toEqual([1, 2]);
      expect(s.teardowns).toHaveLength(1);
      expect(existsSync(spool)).toBe(false);
    });

    it('waits no longer than endTimeoutMs for a server that answered, then stopped answering', async () => {
      const s = await server();
      const { d } = delivery(s.url, { endTimeoutMs: 1_500 });
      d.start();
      await until('the session', () => d.taskId !== undefined);
      s.mode = 'slow';
      s.slowMs = 600_000;
      d.push(log(1));
      const started = Date.now();
      expect((await d.finish(teardown)).outcome).toBe('spooled');
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(1_450);
      expect(took).toBeLessThan(2_500);
    });

    it('spools at once when the server is down (port closed), even if it answered during the run', async () => {
      const s = await server();
      const { d, spool } = delivery(s.url);
      d.start();
      d.push(log(1));
      await until('the session', () => d.taskId !== undefined);
      await s.close();
      const started = Date.now();
      const done = await d.finish(teardown);
      expect(Date.now() - started).toBeLessThan(SHORT_MS + 300);
      expect(done).toMatchObject({ outcome: 'spooled', reason: expect.stringContaining('ECONNREFUSED') });
      expect(readSpool(spool).teardown).toEqual(teardown);
    });

    it('spools within the short budget when the server never answered: port closed, or connections dropped (blackhole)', async () => {
      const hole = await startBlackhole();
      try {
        for (const url of [await deadUrl(), hole.url]) {
          const { d, spool } = delivery(url);
          d.start();
          d.push(log(1));
          const started = Date.now();
          expect((await d.finish(teardown)).outcome, url).toBe('spooled');
          expect(Date.now() - started, url).toBeLessThan(SHORT_MS + 300);
          expect(
            readSpool(spool)
              .batches.flatMap((b) => b.events)
              .map((e) => e.seq),
          ).toEqual([1]);
        }
      } finally {
        hole.close();
      }
    });
  });

  it('ends within its time budget while a request hangs', async () => {
    const s = await server();
    s.mode = 'slow';
    const { d, spool } = delivery(s.url, { endTimeoutMs: 400 });
    d.start();
    d.push(log(1));
    await until('the hanging setup call', () => s.calls.length === 0 && d.stats.calls === 1);
    const started = Date.now();
    const done = await d.finish(teardown);
    expect(Date.now() - started).toBeLessThan(700);
    expect(done.outcome).toBe('spooled');
    expect(readSpool(spool).batches).toHaveLength(1);
  });
});
