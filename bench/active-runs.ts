// Benchmark of the active-run spine on a real local `wrangler dev`:
//  1. dispatch: a run request → the waiting agent's long poll answers (p50/p95), against a plain
//     HTTP round trip to /api/health as the floor;
//  2. fan-out: an agent streams 2,000 lines/s over its WebSocket to an execution watched by 50
//     viewers; chunk → viewer latency (p50/p95/p99), against two floors: a plain `ws` broadcast
//     server on loopback, and a bare Durable Object relay (bench/relay/) served by wrangler dev
//     like Agnox, which shows what the dev server and workerd cost before any Agnox code runs;
//     and the stored log's completeness.
// Run: npm run bench (or: npx node bench/active-runs.ts). Prints numbers; exits non-zero only if
// the log is incomplete.
import { WebSocketServer, WebSocket } from 'ws';
import { startControlPlane } from '../test/support/wrangler.ts';

const VIEWERS = Number(process.env.BENCH_VIEWERS ?? 50);
const LINES_PER_SECOND = Number(process.env.BENCH_LINES_PER_SECOND ?? 2000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const DISPATCH_SAMPLES = Number(process.env.BENCH_DISPATCH_SAMPLES ?? 30);
const LINES_PER_CHUNK = 20; // 100 chunks/s at 2,000 lines/s

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(1)} ms, p95 ${pct(xs, 95).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms (n=${xs.length})`;

async function json(url: string, init: RequestInit & { token?: string; agentToken?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.agentToken) headers.authorization = `Bearer ${init.agentToken}`;
  const res = await fetch(url, { ...init, headers });
  const text = await res.text();
  if (!res.ok && res.status !== 204) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text}`);
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The same traffic shape against a ws server that only broadcasts: the floor. */
async function floorBroadcast(): Promise<{ latencies: number[]; received: number }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const port = (wss.address() as { port: number }).port;
  const viewers = new Set<WebSocket>();
  wss.on('connection', (ws, req) => {
    if (req.url === '/agent')
      ws.on('message', (data) => {
        for (const v of viewers) v.send(data.toString());
      });
    else viewers.add(ws);
  });
  const result = await drive(
    `ws://127.0.0.1:${port}/agent`,
    {},
    () => `ws://127.0.0.1:${port}/viewer`,
    (msg) => JSON.parse(msg).chunks,
  );
  wss.close();
  return result;
}

/** The same traffic through a bare Durable Object relay under wrangler dev: the same-runtime floor. */
async function floorRelay(): Promise<{ latencies: number[]; received: number }> {
  const relay = await startControlPlane({ config: 'bench/relay/wrangler.toml' });
  try {
    const ws = relay.url.replace('http', 'ws');
    return await drive(
      `${ws}/agent`,
      {},
      () => `${ws}/viewer`,
      (msg) => JSON.parse(msg).chunks,
    );
  } finally {
    await relay.stop();
  }
}

type ChunkOut = { seq: number; stream: 'stdout'; data: string; ts: number };

/**
 * Connects VIEWERS sockets, then streams SECONDS × LINES_PER_SECOND lines from the agent socket in
 * chunks of LINES_PER_CHUNK, and measures, for each chunk and each viewer, send → receive.
 */
async function drive(
  agentUrl: string,
  agentHeaders: Record<string, string>,
  viewerUrl: () => string | Promise<string>,
  chunksOf: (msg: string) => ChunkOut[] | undefined,
) {
  const latencies: number[] = [];
  const sentAt = new Map<string, number>();
  let received = 0;
  const viewers: WebSocket[] = [];
  for (let i = 0; i < VIEWERS; i++) {
    const ws = new WebSocket(await viewerUrl());
    ws.on('message', (data) => {
      const now = performance.now();
      for (const c of chunksOf(data.toString()) ?? []) {
        const key = c.data.slice(0, c.data.indexOf(' '));
        const t = sentAt.get(key);
        if (t !== undefined) {
          latencies.push(now - t);
          received += 1;
        }
      }
    });
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    viewers.push(ws);
  }
  const agent = new WebSocket(agentUrl, { headers: agentHeaders });
  await new Promise((r, j) => {
    agent.once('open', r);
    agent.once('error', j);
  });
  const totalChunks = (SECONDS * LINES_PER_SECOND) / LINES_PER_CHUNK;
  const interval = 1000 / (LINES_PER_SECOND / LINES_PER_CHUNK);
  const start = performance.now();
  for (let seq = 1; seq <= totalChunks; seq++) {
    const due = start + (seq - 1) * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const key = `c${seq}`;
    const data = Array.from({ length: LINES_PER_CHUNK }, (_, i) => `${key} line ${(seq - 1) * LINES_PER_CHUNK + i + 1} ${'x'.repeat(60)}\n`).join('');
    sentAt.set(key, performance.now());
    agent.send(JSON.stringify({ type: 'chunks', chunks: [{ seq, stream: 'stdout', data, ts: Date.now() }] }));
  }
  // Wait until every viewer has every chunk (or 10 s).
  const deadline = performance.now() + 10_000;
  while (received < totalChunks * VIEWERS && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  agent.close();
  for (const v of viewers) v.close();
  return { latencies, received };
}

async function main() {
  console.log(`agnox bench: active runs — ${VIEWERS} viewers, ${LINES_PER_SECOND} lines/s for ${SECONDS} s, ${DISPATCH_SAMPLES} dispatch samples`);
  const cp = await startControlPlane();
  try {
    const url = cp.url;
    const email = `bench-${Date.now()}@example.com`;
    const signup = await json(`${url}/api/auth/signup`, {
      method: 'POST',
      body: JSON.stringify({ email, password: 'bench-password-1', name: 'Bench', organizationName: 'Bench' }),
    });
    const token = signup.body.data.token as string;
    const project = await json(`${url}/api/projects`, { method: 'POST', token, body: JSON.stringify({ name: 'bench', image: 'busybox', command: 'true' }) });
    const reg = await json(`${url}/api/agents/registration-tokens`, { method: 'POST', token, body: '{}' });
    const agent = await json(`${url}/api/agent/register`, {
      method: 'POST',
      body: JSON.stringify({ token: reg.body.data.token, name: 'bench', arch: 'amd64', os: 'linux', version: 'bench' }),
    });
    const agentToken = agent.body.data.agentToken as string;

    // 1. Dispatch latency.
    const health: number[] = [];
    for (let i = 0; i < DISPATCH_SAMPLES; i++) {
      const t = performance.now();
      await fetch(`${url}/api/health`).then((r) => r.text());
      health.push(performance.now() - t);
    }
    const dispatch: number[] = [];
    let lastTaskId = '';
    for (let i = 0; i < DISPATCH_SAMPLES; i++) {
      const polling = json(`${url}/api/agent/poll`, { method: 'POST', agentToken, body: JSON.stringify({ capacity: 1, waitMs: 20_000 }) });
      // Give the poll time to reach the dispatcher and wait there (50 ms on loopback is ample).
      await new Promise((r) => setTimeout(r, 50));
      const t = performance.now();
      const run = await json(`${url}/api/execution-request`, { method: 'POST', token, body: JSON.stringify({ projectId: project.body.data.id }) });
      const got = await polling;
      dispatch.push(performance.now() - t);
      if (got.body?.data?.job?.taskId !== run.body.data.taskId) throw new Error('poll answered with another job');
      lastTaskId = run.body.data.taskId;
      await json(`${url}/api/agent/jobs/${lastTaskId}/complete`, { method: 'POST', agentToken, body: JSON.stringify({ status: 'PASSED', exitCode: 0 }) });
    }
    console.log(`floor    GET /api/health round trip:        ${fmt(health)}`);
    console.log(`dispatch request → waiting poll answered:   ${fmt(dispatch)}   (target p95 < 50 ms and < 3× the floor)`);
    console.log(`ratio    dispatch/health p50 ${(pct(dispatch, 50) / pct(health, 50)).toFixed(2)}×, p95 ${(pct(dispatch, 95) / pct(health, 95)).toFixed(2)}×`);

    // 2. Fan-out, on a fresh running job.
    const run = await json(`${url}/api/execution-request`, { method: 'POST', token, body: JSON.stringify({ projectId: project.body.data.id }) });
    const taskId = run.body.data.taskId as string;
    await json(`${url}/api/agent/poll`, { method: 'POST', agentToken, body: JSON.stringify({ capacity: 1, waitMs: 5000 }) });
    const before = (await json(`${url}/api/executions/${taskId}/logs`, { token })).body.data.lastSeq as number;
    const wsUrl = url.replace('http', 'ws');
    const ticket = async () =>
      `${wsUrl}/api/executions/${taskId}/live?since=${before}&ticket=${(await json(`${url}/api/auth/ws-ticket`, { method: 'POST', token, body: JSON.stringify({ taskId }) })).body.data.ticket}`;
    const agnox = await drive(`${wsUrl}/api/agent/jobs/${taskId}/stream`, { authorization: `Bearer ${agentToken}` }, ticket, (msg) => {
      const m = JSON.parse(msg);
      return m.type === 'log' ? m.chunks : undefined;
    });
    const floor = await floorBroadcast();
    const relay = await floorRelay();
    const expected = (SECONDS * LINES_PER_SECOND) / LINES_PER_CHUNK;
    const ratio = (name: string, f: number[]) =>
      console.log(
        `ratio    agnox/${name} p50 ${(pct(agnox.latencies, 50) / pct(f, 50)).toFixed(2)}×, p95 ${(pct(agnox.latencies, 95) / pct(f, 95)).toFixed(2)}×`,
      );
    console.log(`floor    plain ws broadcast, chunk → viewer: ${fmt(floor.latencies)}`);
    console.log(`floor    bare DO relay (wrangler dev):       ${fmt(relay.latencies)}   (${relay.received} of ${expected * VIEWERS} deliveries)`);
    console.log(`agnox    agent chunk → viewer:               ${fmt(agnox.latencies)}   (target p95 < 100 ms and ≤ 3× the ws floor)`);
    ratio('ws floor   ', floor.latencies);
    ratio('relay floor', relay.latencies);
    console.log(
      `delivery ${agnox.received} of ${expected * VIEWERS} chunk deliveries reached viewers (${((100 * agnox.received) / (expected * VIEWERS)).toFixed(2)}%)`,
    );

    // 3. Completeness of the stored log.
    let since = before;
    const lines: string[] = [];
    for (;;) {
      const page = (await json(`${url}/api/executions/${taskId}/logs?since=${since}&limit=20000`, { token })).body.data;
      if (!page.chunks.length) break;
      for (const c of page.chunks) if (c.stream === 'stdout') lines.push(...c.data.split('\n').filter(Boolean));
      since = page.chunks.at(-1).seq;
    }
    const wanted = SECONDS * LINES_PER_SECOND;
    const inOrder = lines.every((l, i) => l.includes(` line ${i + 1} `));
    const complete = lines.length === wanted && inOrder;
    console.log(
      `stored   ${lines.length} of ${wanted} lines, ${inOrder ? 'in order' : 'OUT OF ORDER'}: ${((100 * lines.length) / wanted).toFixed(2)}% complete`,
    );
    if (!complete) process.exitCode = 1;
  } finally {
    await cp.stop();
  }
}

await main();
