// Benchmark of what runs leave in, and ask of, the one shared D1 database, on a real local `wrangler dev`:
//  1. bytes left in D1 per finished 200-test run, through ingest (the reporter's wire) and through an
//     agent (the agent protocol: request → poll → heartbeat → complete with results), read from the
//     local D1 SQLite file itself: (page_count − freelist_count) × page_size, before and after N runs;
//  2. D1 statements per run lifecycle (request or setup → final status), split by kind and table;
//  3. D1 statements per viewer connect (ticket, then the run's live socket up to its first frame).
// Statements are counted from the Worker's statement log (D1_STATEMENT_LOG=true: one line per executed
// statement, worker/lib/d1-statement-log.ts), not from a model of the code.
// Run: npm run bench:storage   (BENCH_RUNS=10 runs per path, BENCH_TESTS=200 tests per run)
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import WebSocket from 'ws';
import { startControlPlane } from '../test/support/wrangler.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const TESTS = Number(process.env.BENCH_TESTS ?? 200);
const FAILED_EVERY = 10; // one test in ten fails, with an error and a stack, as real suites do

type Answer = { status: number; body: any };
async function call(url: string, method: string, body: unknown, auth: Record<string, string>): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...auth },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok && res.status !== 204) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The bytes D1's tables and indexes use, from the local database file (wrangler keeps it under the state folder). */
function d1Bytes(stateDir: string): number {
  const dir = path.join(stateDir, 'v3/d1/miniflare-D1DatabaseObject');
  const file = readdirSync(dir).find((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite');
  if (!file) throw new Error(`no D1 database file in ${dir}`);
  const db = new DatabaseSync(path.join(dir, file), { readOnly: true });
  try {
    const one = (pragma: string) => Number(Object.values(db.prepare(`PRAGMA ${pragma}`).get() as object)[0]);
    return (one('page_count') - one('freelist_count')) * one('page_size');
  } finally {
    db.close();
  }
}

/** The statement log so far, and a way to wait until the Worker has stopped writing to it (background work included). */
function statementLog(output: () => string) {
  const lines = () => output().match(/^d1-statement .+$/gm) ?? [];
  return {
    mark: () => lines().length,
    since: (mark: number) =>
      lines()
        .slice(mark)
        .map((l) => l.slice('d1-statement '.length)),
    /** Resolves once no new statement was logged for `quietMs`: waitUntil work after a response lands in the count. */
    async settle(quietMs = 500) {
      let seen = -1;
      for (;;) {
        const now = lines().length;
        if (now === seen) return;
        seen = now;
        await new Promise((r) => setTimeout(r, quietMs));
      }
    },
  };
}

const testIds = Array.from({ length: TESTS }, (_, i) => `spec-${Math.floor(i / 20)}.spec.ts > suite > test number ${i}`);
const failed = (i: number) => i % FAILED_EVERY === FAILED_EVERY - 1;
const errorText = (i: number) => `Error: expect(received).toBe(expected)\n\nExpected: "ok"\nReceived: "broken ${i}"`;
const stackText = (i: number) => `${errorText(i)}\n    at tests/spec-${Math.floor(i / 20)}.spec.ts:${10 + (i % 20)}:5\n    at runTest (node_modules/x.js:1:1)`;

async function ingestRun(url: string, apiKey: string, projectId: string, n: number) {
  const auth = { 'x-api-key': apiKey };
  const t0 = Date.now();
  const setup = await call(
    `${url}/api/ingest/setup`,
    'POST',
    { projectId, runName: `storage bench ${n}`, framework: 'playwright', reporterVersion: 'bench', totalTests: TESTS },
    auth,
  );
  const sessionId = setup.body.data.sessionId as string;
  let seq = 0;
  const events = testIds.flatMap((testId, i) => [
    { type: 'log', testId, chunk: `running ${testId}\n`, timestamp: t0 + i, seq: ++seq },
    {
      type: 'test-end',
      testId,
      title: testId.split(' > ').at(-1),
      file: testId.split(' > ')[0],
      status: failed(i) ? 'failed' : 'passed',
      duration: 100 + i,
      timestamp: t0 + i,
      seq: ++seq,
      retry: 0,
      ...(failed(i) ? { error: errorText(i), errorStack: stackText(i) } : {}),
    },
  ]);
  for (let i = 0; i < events.length; i += 500)
    await call(`${url}/api/ingest/event`, 'POST', { sessionId, events: events.slice(i, i + 500), batchId: `b${i}` }, auth);
  const fails = testIds.filter((_, i) => failed(i)).length;
  await call(
    `${url}/api/ingest/teardown`,
    'POST',
    { sessionId, status: fails ? 'FAILED' : 'PASSED', summary: { total: TESTS, passed: TESTS - fails, failed: fails, skipped: 0, duration: 1000 } },
    auth,
  );
  return setup.body.data.taskId as string;
}

async function agentRun(url: string, token: string, agentToken: string, projectId: string) {
  const user = { authorization: `Bearer ${token}` };
  const agent = { authorization: `Bearer ${agentToken}` };
  const run = await call(`${url}/api/execution-request`, 'POST', { projectId }, user);
  const taskId = run.body.data.taskId as string;
  const polled = await call(`${url}/api/agent/poll`, 'POST', { capacity: 1, waitMs: 5000 }, agent);
  if (polled.body?.data?.job?.taskId !== taskId) throw new Error('the poll did not hand out the requested run');
  await call(`${url}/api/agent/jobs/${taskId}/heartbeat`, 'POST', {}, agent);
  const tests = testIds.map((testId, i) => ({
    testId,
    title: testId.split(' > ').at(-1),
    file: testId.split(' > ')[0],
    status: failed(i) ? 'failed' : 'passed',
    durationMs: 100 + i,
    ...(failed(i) ? { error: { message: errorText(i), stack: stackText(i) } } : {}),
  }));
  await call(`${url}/api/agent/jobs/${taskId}/complete`, 'POST', { status: 'FAILED', exitCode: 1, tests }, agent);
  return taskId;
}

/** A dashboard opening a run: a ticket, then the run's live socket until its first frame. */
async function viewerConnect(url: string, token: string, taskId: string) {
  const ticket = (await call(`${url}/api/auth/ws-ticket`, 'POST', { taskId }, { authorization: `Bearer ${token}` })).body.data.ticket as string;
  const ws = new WebSocket(`${url.replace('http', 'ws')}/api/executions/${taskId}/live?since=0&ticket=${ticket}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('message', () => resolve());
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`viewer socket closed (${code}) before its first frame`)));
  });
  ws.removeAllListeners('close');
  ws.close();
}

function tally(kinds: string[]) {
  const by = new Map<string, number>();
  for (const k of kinds) by.set(k, (by.get(k) ?? 0) + 1);
  return [...by].sort((a, b) => b[1] - a[1]);
}

function report(label: string, kinds: string[], runs: number) {
  const verbs = tally(kinds.map((k) => k.split(' ')[0]!));
  console.log(`${label}: ${(kinds.length / runs).toFixed(1)} D1 statements each (${verbs.map(([v, n]) => `${v} ${(n / runs).toFixed(1)}`).join(', ')})`);
  for (const [kind, n] of tally(kinds)) console.log(`    ${(n / runs).toFixed(1).padStart(6)}  ${kind}`);
}

async function main() {
  console.log(`agnox bench: storage — ${RUNS} runs per path, ${TESTS} tests per run (1 in ${FAILED_EVERY} failed)`);
  const cp = await startControlPlane({ vars: { D1_STATEMENT_LOG: 'true' } });
  const log = statementLog(cp.output);
  try {
    const url = cp.url;
    const signup = await call(
      `${url}/api/auth/signup`,
      'POST',
      { email: `storage-${Date.now()}@example.com`, password: 'bench-password-1', name: 'Bench', organizationName: 'Bench' },
      {},
    );
    const token = signup.body.data.token as string;
    const user = { authorization: `Bearer ${token}` };
    const project = (await call(`${url}/api/projects`, 'POST', { name: 'storage', image: 'busybox', command: 'true' }, user)).body.data.id as string;
    const apiKey = (await call(`${url}/api/api-keys`, 'POST', { name: 'bench' }, user)).body.data.key as string;
    const reg = (await call(`${url}/api/agents/registration-tokens`, 'POST', {}, user)).body.data.token as string;
    const agentToken = (await call(`${url}/api/agent/register`, 'POST', { token: reg, name: 'bench', arch: 'amd64', os: 'linux', version: 'bench' }, {})).body
      .data.agentToken as string;
    // One run of each path first: the first of anything pays for table pages and index roots.
    await ingestRun(url, apiKey, project, -1);
    await agentRun(url, token, agentToken, project);
    await log.settle();

    const measure = async (label: string, one: (n: number) => Promise<string>) => {
      const [bytes, mark] = [d1Bytes(cp.stateDir), log.mark()];
      const taskIds: string[] = [];
      for (let n = 0; n < RUNS; n++) taskIds.push(await one(n));
      await log.settle();
      const kinds = log.since(mark);
      const grown = d1Bytes(cp.stateDir) - bytes;
      console.log(`${label}: ${Math.round(grown / RUNS).toLocaleString('en')} bytes left in D1 per finished run (${grown.toLocaleString('en')} for ${RUNS})`);
      report(`${label} lifecycle`, kinds, RUNS);
      return taskIds;
    };
    const ingested = await measure('ingest', (n) => ingestRun(url, apiKey, project, n));
    await measure('agent ', () => agentRun(url, token, agentToken, project));

    // Per-test aggregates are one row per test, project and day: a project's first run of the day
    // writes its tests' rows, later runs that day update them in place. That cost, once per day:
    for (const [label, one] of [
      ['ingest', (p: string) => ingestRun(url, apiKey, p, 1_000)],
      ['agent ', (p: string) => agentRun(url, token, agentToken, p)],
    ] as const) {
      const fresh = (await call(`${url}/api/projects`, 'POST', { name: `fresh ${label.trim()}`, image: 'busybox', command: 'true' }, user)).body.data
        .id as string;
      const bytes = d1Bytes(cp.stateDir);
      await one(fresh);
      await log.settle();
      const grown = d1Bytes(cp.stateDir) - bytes;
      console.log(
        `${label}: ${grown.toLocaleString('en')} bytes for a project's first run of the day (its ${TESTS} tests' daily rows), once per project and UTC day`,
      );
    }

    const mark = log.mark();
    for (const taskId of ingested) await viewerConnect(url, token, taskId);
    await log.settle();
    report('viewer connect', log.since(mark), ingested.length);
  } finally {
    await cp.stop();
  }
}

await main();
