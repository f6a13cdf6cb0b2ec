// Ingest throughput of one local `wrangler dev`: concurrent reporters (one API key and one run each,
// as CI jobs would be) send batches of 50 events (logs and test results) to /api/ingest/event as
// fast as the answers come back. Baseline in the same run: the same number of concurrent clients
// calling GET /api/health, the floor for a round trip through wrangler dev.
// Run: npm run bench:ingest   (env: BENCH_STREAMS=8, BENCH_BATCHES=150, BENCH_BATCH_SIZE=50)
// Each stream stays under the ingest tier's 500 requests/min per key.
import { startControlPlane } from '../../test/support/wrangler.ts';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 8);
const BATCHES = Math.min(480, Number(process.env.BENCH_BATCHES ?? 150));
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? 50);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

const cp = await startControlPlane();
try {
  // `wrangler dev` reloads the Worker when files in the repository change (others work in it), which
  // fails the requests in flight; a resend is safe because batches are idempotent by batchId.
  let resends = 0;
  const post = async (route: string, body: unknown, headers: Record<string, string>): Promise<any> => {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`${cp.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      const text = await res.text();
      if (res.ok) return JSON.parse(text).data;
      if (attempt >= 5 || (res.status < 500 && !text.includes('restarted'))) throw new Error(`${route}: ${res.status} ${text.slice(0, 300)}`);
      resends++;
    }
  };
  const { token } = await post(
    '/api/auth/signup',
    { email: `bench-${Date.now()}@example.com`, password: 'bench-password-1', name: 'Bench', organizationName: 'Bench' },
    {},
  );
  const auth = { authorization: `Bearer ${token}` };
  const project = await post('/api/projects', { name: 'ingest-bench', image: 'external', command: 'npx playwright test' }, auth);
  const streams = await Promise.all(
    Array.from({ length: STREAMS }, async (_, i) => {
      const { key } = await post('/api/api-keys', { name: `bench-${i}` }, auth);
      const session = await post(
        '/api/ingest/setup',
        { projectId: project.id, framework: 'playwright', reporterVersion: 'bench', totalTests: BATCHES * 10 },
        { 'x-api-key': key },
      );
      return { key, sessionId: session.sessionId as string };
    }),
  );

  const batch = (stream: number, n: number) =>
    Array.from({ length: BATCH_SIZE }, (_, i) => {
      const seq = n * BATCH_SIZE + i + 1;
      return i % 5 === 4
        ? {
            type: 'test-end',
            testId: `s${stream}-t${seq}`,
            title: `test ${seq}`,
            file: 'bench.spec.ts',
            status: 'passed',
            duration: 12,
            timestamp: Date.now(),
            seq,
          }
        : { type: 'log', chunk: `stream ${stream} line ${seq}: some typical console output of a test\n`, timestamp: Date.now(), seq };
    });

  // Warm-up: compile paths, create rooms.
  await Promise.all(
    streams.map((s, i) => post('/api/ingest/event', { sessionId: s.sessionId, batchId: 'warm', events: batch(i, 10_000) }, { 'x-api-key': s.key })),
  );

  // Baseline: the same concurrency on /api/health.
  const healthStart = performance.now();
  let healthCalls = 0;
  await Promise.all(
    streams.map(async () => {
      for (let i = 0; i < BATCHES; i++) {
        await (await fetch(`${cp.url}/api/health`)).arrayBuffer();
        healthCalls++;
      }
    }),
  );
  const healthSeconds = (performance.now() - healthStart) / 1000;

  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    streams.map(async (s, i) => {
      for (let n = 0; n < BATCHES; n++) {
        const t0 = performance.now();
        await post('/api/ingest/event', { sessionId: s.sessionId, batchId: `b${n}`, events: batch(i, n) }, { 'x-api-key': s.key });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const events = STREAMS * BATCHES * BATCH_SIZE;

  // Every event is stored: one run's log holds its setup line and one line per event (consecutive
  // lines of a stream are stored together, so count lines, not chunks).
  const list = (await fetch(`${cp.url}/api/executions?projectId=${project.id}`, { headers: auth }).then((r) => r.json())) as any;
  const taskId = list.data.items[0].taskId;
  let since = 0;
  let storedLines = 0;
  for (;;) {
    const page = (await fetch(`${cp.url}/api/executions/${taskId}/logs?since=${since}&limit=1000`, { headers: auth }).then((r) => r.json())) as any;
    for (const c of page.data.chunks) storedLines += c.data.split('\n').length - 1;
    if (!page.data.chunks.length || page.data.chunks.at(-1).seq >= page.data.lastSeq) break;
    since = page.data.chunks.at(-1).seq;
  }

  console.log(`ingest: ${STREAMS} concurrent runs × ${BATCHES} batches × ${BATCH_SIZE} events = ${events} events in ${seconds.toFixed(2)} s`);
  console.log(`  events/s ${Math.round(events / seconds)} (target ≥ 5000); batches/s ${Math.round((STREAMS * BATCHES) / seconds)}`);
  console.log(`  batch latency p50 ${pct(latencies, 50).toFixed(1)} ms, p95 ${pct(latencies, 95).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms`);
  console.log(
    `  baseline GET /api/health at the same concurrency: ${Math.round(healthCalls / healthSeconds)} requests/s (ingest: ${Math.round((STREAMS * BATCHES) / seconds)} requests/s)`,
  );
  console.log(`  resent after a wrangler reload: ${resends} requests`);
  console.log(`  one run's stored log: ${storedLines} lines (expected ${1 + (BATCHES + 1) * BATCH_SIZE})`);
} finally {
  await cp.stop();
}
