// How long the end of a run waits, and whether the run is delivered or left in the spool, for each
// way a server can behave: fast, answering slowly (every answer delayed), down (port closed),
// blackhole (connection attempts dropped), hanging (connects, never answers), and gone at the end
// (answered during the run, port closed before its end). Each run sends 10 events/s for 6 s through
// the reporter's Delivery, then finishes with the reporter's default options.
// Run: npx tsx reporter/bench/end-of-run.ts   (env: BENCH_RUNS=3)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Delivery } from '../src/delivery';
import { resolveOptions } from '../src/options';
import { startBlackhole } from '../test/support/blackhole';
import { deadUrl, startFakeIngest } from '../test/support/fake-ingest';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const RUN_MS = 6_000;

type Scenario = { name: string; start: () => Promise<{ url: string; beforeEnd?: () => Promise<void>; close: () => Promise<void> | void }> };

const slow = (ms: number): Scenario => ({
  name: `answers after ${ms / 1000} s`,
  start: async () => {
    const s = await startFakeIngest('slow');
    s.slowMs = ms;
    return s;
  },
});

const scenarios: Scenario[] = [
  { name: 'fast', start: () => startFakeIngest('ok') },
  slow(500),
  slow(2_000),
  slow(5_000),
  { name: 'down (port closed)', start: async () => ({ url: await deadUrl(), close: () => {} }) },
  { name: 'blackhole', start: () => startBlackhole() },
  {
    name: 'hangs (connects, never answers)',
    start: async () => {
      const s = await startFakeIngest('slow');
      s.slowMs = 600_000;
      return s;
    },
  },
  {
    name: 'gone at the end (answered, then port closed)',
    start: async () => {
      const s = await startFakeIngest('ok');
      return { url: s.url, beforeEnd: () => s.close(), close: () => {} };
    },
  },
];

async function oneRun(url: string, beforeEnd?: () => Promise<void>) {
  const resolved = resolveOptions({ apiKey: 'test-key', projectId: 'p', baseUrl: url }, {});
  if (!('options' in resolved)) throw new Error('options');
  const spool = path.join(mkdtempSync(path.join(tmpdir(), 'agnox-bench-end-')), 'spool.jsonl');
  const d = new Delivery(
    resolved.options,
    { projectId: 'p', framework: 'playwright', reporterVersion: 'bench', totalTests: 1, runId: crypto.randomUUID() },
    spool,
    () => {},
    'bench',
  );
  d.start();
  const runStart = Date.now();
  for (let n = 1; Date.now() - runStart < RUN_MS; n++) {
    d.push({ type: 'log', chunk: `line ${n}\n`, timestamp: Date.now() });
    await new Promise((r) => setTimeout(r, 100));
  }
  await beforeEnd?.();
  const t0 = performance.now();
  const done = await d.finish({ status: 'PASSED', summary: { total: 1, passed: 1, failed: 0, skipped: 0, duration: RUN_MS } });
  return { ms: Math.round(performance.now() - t0), outcome: done.outcome };
}

console.log(`end of run, ${RUNS} runs per server (${RUN_MS / 1000} s of events at 10/s each, default options)`);
console.log('| server | outcome | end of run (ms) |\n| --- | --- | --- |');
for (const s of scenarios) {
  const results: Array<{ ms: number; outcome: string }> = [];
  for (let i = 0; i < RUNS; i++) {
    const server = await s.start();
    try {
      results.push(await oneRun(server.url, server.beforeEnd));
    } finally {
      await server.close();
    }
  }
  const outcomes = [...new Set(results.map((r) => r.outcome))].map((o) => `${results.filter((r) => r.outcome === o).length}× ${o}`).join(', ');
  console.log(`| ${s.name} | ${outcomes} | ${results.map((r) => r.ms).join(', ')} |`);
}
process.exit(0);
