// `npm run load`: the whole platform under load, on the real local stack (wrangler dev, fresh
// state), for AGNOX_LOAD_SECONDS (default 300):
//   - 20 agents (separate processes, the real agent with simulated containers) kept busy by runs
//     asked for continuously (member API and CI trigger, alternately);
//   - 200 viewer WebSockets: most watch runs from their first line, the rest hold the org's live list;
//   - 50 external-CI pipelines reporting through the real reporter at 20 events/s each.
// Then it checks that nothing was lost or doubled anywhere, prints PASS/FAIL per check and the
// figures (throughput, latency percentiles, workerd memory), and exits non-zero on any FAIL.
// Knobs: AGNOX_LOAD_SECONDS, AGNOX_LOAD_AGENTS, AGNOX_LOAD_VIEWERS, AGNOX_LOAD_INGEST_SESSIONS,
// AGNOX_LOAD_INGEST_EVENTS_PER_SECOND, AGNOX_LOAD_LINES_PER_SECOND (each job's log rate),
// AGNOX_LOAD_IDLE_SECONDS (how long memory is watched after the load, default 90),
// AGNOX_LOAD_HEAP_SNAPSHOT (a file prefix: Worker heap snapshots at the end of the load and after idle).
import os from 'node:os';
import { startControlPlane } from '../test/support/wrangler.ts';
import { AgentFleet } from './agents';
import { Api } from './api';
import { HttpStats } from './http-stats';
import { IngestSessions } from './ingest-sessions';
import { jobPlan } from './job-log';
import { latencyLine, percentile, perMinutePeaks, printChecks, section, type Check } from './report';
import { RunChecks } from './run-checks';
import { RunRequester } from './run-requester';
import { setUpOrg, startBilling } from './setup';
import { Viewers } from './viewers';
import { WorkerHeap, type HeapGroup } from './worker-heap';
import { findWorkerd, MemorySampler, openFds, schedSeconds } from './process-usage';
import { isFinal } from '../worker/contracts/vocabulary';

const num = (name: string, fallback: number, min = 1) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v < min) throw new Error(`${name} must be a number ≥ ${min}`);
  return v;
};
const SECONDS = num('AGNOX_LOAD_SECONDS', 300);
const AGENTS = num('AGNOX_LOAD_AGENTS', 20, 0);
const VIEWERS = num('AGNOX_LOAD_VIEWERS', 200);
const HUB_VIEWERS = Math.round(VIEWERS / 10);
const INGEST_SESSIONS = num('AGNOX_LOAD_INGEST_SESSIONS', 50, 0);
const INGEST_EVENTS_PER_SECOND = num('AGNOX_LOAD_INGEST_EVENTS_PER_SECOND', 20);
const INGEST_TESTS_PER_RUN = num('AGNOX_LOAD_INGEST_TESTS', 150);
const LINES_PER_SECOND = num('AGNOX_LOAD_LINES_PER_SECOND', 30);
// 90 s: local Durable Objects are evicted 10 s after their last request, 70 s after their last client
// went away; before that their state is still in the heap and would read as a leak.
const IDLE_SECONDS = num('AGNOX_LOAD_IDLE_SECONDS', 90, 0);
const HEAP_SNAPSHOT = process.env.AGNOX_LOAD_HEAP_SNAPSHOT;
/** Looked for in heap snapshots: many of these alive at once would be state kept per room or socket. */
const HEAP_WATCH = ['ExecutionRoom', 'Dispatcher', 'OrgHub', 'WebSocket'];

const log = (msg: string) => console.log(`[load ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitUntil = async (check: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await sleep(200);
  return check();
};

const http = new HttpStats(['POST /api/ingest/event']);

// wrangler dev's local observability (on by default) streams a trace of every invocation to a
// collector worker that keeps them all in a SQLite store (~250 MB in 10 minutes of this load) and
// costs the server CPU and memory that a deployment does not have. Off unless asked for
// (X_LOCAL_OBSERVABILITY=true), so the figures are the app's.
process.env.X_LOCAL_OBSERVABILITY ??= 'false';

log(
  `starting: ${SECONDS} s, ${AGENTS} agents (${LINES_PER_SECOND} log lines/s per job), ${VIEWERS} viewers (${HUB_VIEWERS} on the org hub), ${INGEST_SESSIONS} ingest sessions at ${INGEST_EVENTS_PER_SECOND} events/s; wrangler's local observability ${process.env.X_LOCAL_OBSERVABILITY === 'false' ? 'off' : 'on'}; ${os.availableParallelism()} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}`,
);
const billing = await startBilling();
const cp = await startControlPlane({ vars: billing.vars });
http.instrumentFetch(); // after start-up: its health polls are not part of the load
http.instrumentNodeHttp();
const fleet = new AgentFleet(http);
let exitCode = 1;
try {
  const { app: workerd, proxy } = findWorkerd(cp.process.pid!);
  if (!workerd || !proxy) throw new Error(`expected two workerd processes (app and proxy) under wrangler (pid ${cp.process.pid})`);
  const memory = new MemorySampler(workerd);
  const proxyMemory = new MemorySampler(proxy);
  memory.start();
  proxyMemory.start();
  const heap = await WorkerHeap.connect(cp.inspectorPort);
  heap.start();
  const heapAtStart = await heap.usedAfterGcMb();
  log(`control plane at ${cp.url} (workerd: app pid ${workerd}, wrangler's proxy pid ${proxy})`);

  const api = new Api(cp.url);
  const org = await setUpOrg(api, { agents: AGENTS, ingestPipelines: INGEST_SESSIONS });
  await fleet.start(cp.url, org.registrationTokens, LINES_PER_SECOND);
  log(`${AGENTS} agents registered and polling`);

  const viewers = new Viewers(
    api,
    http,
    org.token,
    cp.url.replace(/^http/, 'ws'),
    VIEWERS - HUB_VIEWERS,
    Math.ceil((VIEWERS - HUB_VIEWERS) / Math.max(1, AGENTS)),
  );
  await viewers.startHub(HUB_VIEWERS);
  log(`${HUB_VIEWERS} viewers on the org hub`);

  const requester = new RunRequester(api, org, AGENTS);
  const checks = new RunChecks(api, org.token);
  requester.onRequested = (r) => viewers.watch(r.taskId);
  fleet.onDone = (d) => {
    requester.finishedRun(d.taskId);
    if (requester.requested.has(d.taskId)) checks.check(d.taskId, viewers.views.get(d.taskId) ?? []);
  };
  const ingest = new IngestSessions(api, {
    url: cp.url,
    token: org.token,
    projectId: org.projectId,
    keys: org.ingestKeys,
    eventsPerSecond: INGEST_EVENTS_PER_SECOND,
    testsPerRun: INGEST_TESTS_PER_RUN,
  });

  const started = Date.now();
  const fdsAtStart = openFds(workerd);
  const schedAtStart = { app: schedSeconds(workerd), proxy: schedSeconds(proxy), driver: process.cpuUsage() };
  void requester.start();
  ingest.start();
  const progress = setInterval(() => {
    const mem = memory.samples.at(-1)?.mb.toFixed(0) ?? '?';
    log(
      `${Math.round((Date.now() - started) / 1000)} s: ${fleet.done.size} runs done, ${requester.outstanding} in flight, ${ingest.runs.length} ingest runs done, ${ingest.eventsSent} events; 5xx ${http.data.byOutcome['5xx'] ?? 0}, 429 ${http.data.byOutcome['429'] ?? 0}; workerd ${mem} MB`,
    );
  }, 15_000);
  await sleep(SECONDS * 1000);

  log('load time over: no new runs or ingest sessions; waiting for those under way');
  requester.stop();
  const maxJobMs = (Number(process.env.AGNOX_LOAD_LINES_MAX ?? 1500) / LINES_PER_SECOND) * 1000;
  const [runsDrained] = await Promise.all([waitUntil(() => requester.outstanding === 0, maxJobMs + 120_000), ingest.stop()]);
  const activeSeconds = (Date.now() - started) / 1000;
  clearInterval(progress);
  const driverCpu = process.cpuUsage(schedAtStart.driver);
  const [appSched, proxySched] = [schedSeconds(workerd), schedSeconds(proxy)];
  const cpu = {
    workerd: appSched.cpu - schedAtStart.app.cpu,
    waited: appSched.waited - schedAtStart.app.waited,
    proxy: proxySched.cpu - schedAtStart.proxy.cpu,
    driver: (driverCpu.user + driverCpu.system) / 1e6,
  };
  const agentExit = await fleet.drain(60_000);
  const runChecks = await checks.results();
  viewers.close();
  const rssAtEnd = memory.samples.at(-1)?.mb ?? NaN;
  const idleFrom = Date.now();
  const snapshots: { when: string; file: string; groups: HeapGroup[] | null }[] = [];
  const snapshot = async (when: string) => {
    if (!HEAP_SNAPSHOT) return;
    const file = `${HEAP_SNAPSHOT}-${when.replace(/\W+/g, '-')}.heapsnapshot`;
    snapshots.push({ when, file, groups: await heap.snapshot(file, 10, HEAP_WATCH) });
  };
  await snapshot('end of load');
  // Memory that stays after the load (not just backlog being worked off) would be a leak; idle
  // Durable Objects take up to 70 s to leave (IDLE_SECONDS).
  await sleep(IDLE_SECONDS * 1000);
  memory.stop();
  proxyMemory.stop();
  const heapAtEnd = await heap.usedAfterGcMb();
  await snapshot(`after ${IDLE_SECONDS} s idle`);
  const fdsAtEnd = openFds(workerd);
  heap.close();

  // Everything the org has, from the list API: the final word on statuses and on strays.
  const listed = new Map<string, { status: string; source: string; passed: number; failed: number; totalTests: number }>();
  for (let cursor: string | null = null; ; ) {
    const page: { items: any[]; nextCursor: string | null } = await api.call(
      'GET',
      `/api/executions?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      { token: org.token },
    );
    for (const e of page.items) listed.set(e.taskId, e);
    cursor = page.nextCursor;
    if (!cursor) break;
  }

  // ── checks ────────────────────────────────────────────────────────────────────────────────
  const requested = [...requester.requested.values()];
  const receiptsOf = new Map<string, typeof fleet.receipts>();
  for (const r of fleet.receipts) receiptsOf.set(r.taskId, [...(receiptsOf.get(r.taskId) ?? []), r]);
  const once: string[] = [];
  if (!runsDrained) once.push(`${requester.outstanding} runs still in flight ${Math.round(maxJobMs / 1000) + 120} s after the load ended`);
  for (const r of requested) {
    const got = receiptsOf.get(r.taskId) ?? [];
    const done = fleet.done.get(r.taskId) ?? [];
    const row = listed.get(r.taskId);
    const expected = jobPlan(r.taskId).exitCode === 0 ? 'PASSED' : 'FAILED';
    if (got.length !== 1) once.push(`${r.taskId}: handed to agents ${got.length} times (${got.map((g) => `${g.agent} attempt ${g.attempt}`).join(', ')})`);
    else if (done.length !== 1 || done[0]!.status !== expected)
      once.push(`${r.taskId}: agent reported ${done.map((d) => d.status).join(', ') || 'nothing'}, expected ${expected}`);
    else if (row?.status !== expected) once.push(`${r.taskId}: stored status ${row?.status ?? 'missing'}, expected ${expected}`);
  }
  for (const [taskId, got] of receiptsOf) if (!requester.requested.has(taskId)) once.push(`${taskId}: handed to ${got[0]!.agent} but never requested`);

  const storage = runChecks.filter((c) => c.logProblem).map((c) => `${c.taskId}: ${c.logProblem}`);
  const viewerProblems = runChecks.flatMap((c) => c.viewProblems);
  const views = runChecks.flatMap((c) => c.views);
  const drops = views.reduce((n, v) => n + v.drops.length, 0);

  const hub: string[] = [...viewers.hubProblems];
  for (const r of requested) {
    const row = listed.get(r.taskId);
    if (!row || !isFinal(row.status) || r.requestedAt < viewers.hubConnectedAt) continue;
    const told = viewers.hubStatuses(r.taskId);
    const missed = told.filter((s) => s !== row.status).length;
    if (missed)
      hub.push(
        `${r.taskId}: ${missed} of ${told.length} hub viewers were not told it ended ${row.status} (last told: ${told.find((s) => s !== row.status) ?? 'nothing'})`,
      );
  }

  const ingestProblems: string[] = [];
  for (const run of ingest.runs) {
    for (const p of run.problems) ingestProblems.push(`pipeline ${run.pipeline} ${run.taskId ?? '(no run)'}: ${p}`);
    const row = run.taskId ? listed.get(run.taskId) : undefined;
    if (
      run.taskId &&
      row &&
      (row.status !== run.expectedStatus || row.totalTests !== run.tests || row.failed !== run.failed || row.passed !== run.tests - run.failed)
    ) {
      ingestProblems.push(
        `${run.taskId}: stored ${row.status} ${row.passed}/${row.failed}/${row.totalTests}, expected ${run.expectedStatus} ${run.tests - run.failed}/${run.failed}/${run.tests}`,
      );
    }
  }

  const known = new Set([...requester.requested.keys(), ...ingest.runs.map((r) => r.taskId)]);
  const strays = [...listed.keys()].filter((t) => !known.has(t)).map((t) => `${t}: ${listed.get(t)!.status}, never asked for`);

  const o = http.data.byOutcome;
  const unexpected4xx = Object.entries(http.data.byRouteStatus)
    .filter(([k]) => / 4\d\d$/.test(k) && !k.endsWith(' 429'))
    .map(([k, n]) => `${k} × ${n}`);
  const network = Object.entries(http.data.byRouteStatus)
    .filter(([k]) => / network$/.test(k))
    .map(([k, n]) => `${k} × ${n}`);
  const timeouts = Object.entries(http.data.byRouteStatus)
    .filter(([k]) => / timeout$/.test(k))
    .map(([k, n]) => `${k} × ${n}`);
  const fiveXX = Object.entries(http.data.byRouteStatus)
    .filter(([k]) => / 5\d\d$/.test(k))
    .map(([k, n]) => `${k} × ${n}`);
  const results: Check[] = [
    {
      name: 'every job ran exactly once (none lost, none doubled), with the status its exit code asks for',
      problems: once,
      detail: `${requested.length} runs, ${fleet.receipts.length} hand-outs`,
    },
    {
      name: 'every job log complete and in order in storage (read back via the API)',
      problems: storage,
      detail: `${runChecks.length} logs, ${runChecks.reduce((n, c) => n + c.lines, 0)} job lines`,
    },
    {
      name: "every viewer got its run's whole log, gap-free and duplicate-free (replay + live)",
      problems: viewerProblems,
      detail: `${views.length} viewer sessions, ${drops} socket drops resumed`,
    },
    { name: "every org-hub viewer was told every run's final status", problems: hub, detail: `${HUB_VIEWERS} viewers` },
    {
      name: 'every ingest result stored (tests, log lines and summary per session)',
      problems: ingestProblems,
      detail: `${ingest.runs.length} sessions, ${ingest.eventsSent} events (${ingest.runs.filter((r) => r.spooled).length} of them through the spool upload)`,
    },
    {
      name: 'the reporter delivered every run live (none left in its spool)',
      warn: true,
      problems: ingest.runs.filter((r) => r.spooled).map((r) => `pipeline ${r.pipeline} ${r.taskId}: spooled (${r.spooled}), uploaded afterwards`),
      detail:
        'the reporter waits at the end of a run for a server that has answered (up to its endTimeoutMs, 120 s here), and spools at once for one that does not answer or cannot be connected to',
    },
    { name: 'no execution that was not asked for', problems: strays, detail: `${listed.size} executions listed` },
    { name: 'zero 5xx answers', problems: fiveXX, detail: `${Object.values(o).reduce((a, b) => a + b, 0)} answers` },
    { name: 'no connection failures', problems: network },
    {
      name: 'no client timeouts (answers slower than the client waits)',
      problems: timeouts,
      warn: true,
      detail: 'not a failure when the server is starved of CPU (see CPU below); every client retries',
    },
    { name: 'no 4xx answers (other than 429)', problems: unexpected4xx },
    { name: 'agents drained and exited cleanly', problems: [...agentExit, ...requester.failures.map((f) => `run request failed: ${f}`)] },
  ];

  // ── figures ───────────────────────────────────────────────────────────────────────────────
  const dispatch = requested.map((r) => (receiptsOf.get(r.taskId)?.[0]?.at ?? NaN) - r.requestedAt).filter(Number.isFinite);
  const jobLines = runChecks.reduce((n, c) => n + c.lines, 0);
  const mb = memory.samples.map((s) => s.mb);
  const peak = memory.samples.reduce((a, b) => (b.mb > a.mb ? b : a), memory.samples[0]!);
  const minutes = perMinutePeaks(started, memory.samples.at(-1)!.at, {
    rss: memory.samples.map((s) => ({ at: s.at, v: s.mb })),
    heap: heap.samples.map((s) => ({ at: s.at, v: s.usedMb })),
    fds: memory.samples.filter((s) => s.fds !== null).map((s) => ({ at: s.at, v: s.fds! })),
    load: memory.samples.map((s) => ({ at: s.at, v: s.load })),
  });
  const loadEnd = started + SECONDS * 1000;
  const phaseOf = (minuteStart: number) =>
    minuteStart >= idleFrom ? 'idle' : minuteStart >= loadEnd ? 'drain' : minuteStart + 60_000 > loadEnd ? 'load/drain' : 'load';
  const fmt = (v: number | null, digits = 0) => (v === null ? '–' : v.toFixed(digits));
  const curve = minutes.map(
    (m, i) =>
      `${String(i + 1).padStart(6)}  ${phaseOf(started + i * 60_000).padEnd(10)} ${fmt(m.rss).padStart(7)} ${fmt(m.heap, 1).padStart(11)} ${fmt(m.fds).padStart(11)} ${fmt(m.load, 1).padStart(9)}`,
  );
  section(`Throughput (${activeSeconds.toFixed(0)} s from the first request to the last run's end; ${SECONDS} s of load)`, [
    `runs:         ${requested.length} requested, ${fleet.done.size} done: ${((fleet.done.size / activeSeconds) * 60).toFixed(1)} runs/min`,
    `job log:      ${jobLines} lines stored: ${(jobLines / activeSeconds).toFixed(0)} lines/s`,
    `ingest:       ${ingest.runs.length} sessions, ${ingest.eventsSent} events accepted: ${(ingest.eventsSent / activeSeconds).toFixed(0)} events/s`,
    `viewers:      ${views.length} run-viewer sessions, ${viewers.lineLatencies.length} live chunks delivered`,
  ]);
  section('Latency', [
    latencyLine('dispatch (request → agent has job)', dispatch),
    latencyLine(
      'run request (POST → its answer)',
      requested.map((r) => r.answeredAt - r.requestedAt),
    ),
    latencyLine('log chunk (agent sends → viewer)', viewers.lineLatencies),
    latencyLine('ingest batch (POST /api/ingest/event)', http.data.latencies['POST /api/ingest/event'] ?? []),
  ]);
  const pm = proxyMemory.samples.map((s) => s.mb);
  section('workerd (app) memory (RSS)', [
    `start ${mb[0]!.toFixed(0)} MB, peak ${peak.mb.toFixed(0)} MB (at ${Math.round((peak.at - started) / 1000)} s), end of load ${rssAtEnd.toFixed(0)} MB, after ${IDLE_SECONDS} s idle ${mb.at(-1)!.toFixed(0)} MB; median ${percentile(mb, 50).toFixed(0)} MB`,
    `peak per minute: ${minutes.map((m) => fmt(m.rss)).join(' → ')} MB`,
    `the Worker's JS heap: ${heapAtStart?.toFixed(1)} MB after GC at the start, peak ${Math.max(...heap.samples.map((s) => s.usedMb)).toFixed(1)} MB, ${heapAtEnd?.toFixed(1) ?? '?'} MB after GC after ${IDLE_SECONDS} s idle; open files and sockets ${fdsAtStart} at the start, ${fdsAtEnd} at the end`,
    "per minute from the first request (peaks; load average is this machine's, 1 min):",
    'minute  phase          RSS MB  JS heap MB  open files  load avg',
    ...curve,
    `(wrangler's proxy workerd: start ${pm[0]!.toFixed(0)} MB, peak ${Math.max(...pm).toFixed(0)} MB, end ${pm.at(-1)!.toFixed(0)} MB)`,
  ]);
  for (const s of snapshots) {
    section(
      `Worker heap snapshot, ${s.when} (${s.file}): largest by self size, then ${HEAP_WATCH.join(', ')}`,
      s.groups
        ? s.groups.map((g) => `${g.name.slice(0, 40).padEnd(40)} ${String(g.count).padStart(8)} objects ${g.selfMb.toFixed(1).padStart(7)} MB`)
        : ['(no snapshot: the inspector did not answer)'],
    );
  }
  section(`CPU over the ${activeSeconds.toFixed(0)} s (this machine: ${os.availableParallelism()} CPUs, shared)`, [
    `workerd app ${cpu.workerd.toFixed(0)} s on a CPU (${((100 * cpu.workerd) / activeSeconds).toFixed(0)}% of one), and ${cpu.waited.toFixed(0)} s runnable but waiting for one (the run queue of this shared machine)`,
    `wrangler's proxy workerd ${cpu.proxy.toFixed(0)} s (${((100 * cpu.proxy) / activeSeconds).toFixed(0)}%)`,
    `${AGENTS} agent processes ${fleet.cpuSeconds.toFixed(0)} s (whole life), load driver (viewers, reporter sessions, checks) ${cpu.driver.toFixed(0)} s`,
  ]);
  section('HTTP answers (all clients: agents, reporter, viewers, the run itself)', [
    Object.entries(o)
      .sort()
      .map(([k, n]) => `${k}: ${n}`)
      .join(', '),
    ...(o.aborted
      ? [
          `aborted by the client (a poll ended, the run shut down): ${Object.entries(http.data.byRouteStatus)
            .filter(([k]) => k.endsWith(' aborted'))
            .map(([k, n]) => `${k.slice(0, -8)} × ${n}`)
            .join(', ')}`,
        ]
      : []),
    `429 (rate limited, retried after Retry-After): ${o['429'] ?? 0}${
      o['429']
        ? ` — ${Object.entries(http.data.byRouteStatus)
            .filter(([k]) => k.endsWith(' 429'))
            .map(([k, n]) => `${k.slice(0, -4)} × ${n}`)
            .join(', ')}`
        : ''
    }`,
    ...(http.data.samples.length ? ['examples of non-2xx answers:', ...http.data.samples.slice(0, 10).map((s) => `  ${s}`)] : []),
  ]);
  if (fleet.warnings.length) section(`Agent warnings (${fleet.warnings.length}${fleet.warnings.length >= 200 ? '+' : ''})`, fleet.warnings.slice(0, 10));

  exitCode = printChecks(results) ? 0 : 1;
  console.log(`\n${exitCode === 0 ? 'PASS' : 'FAIL'}: load ${SECONDS} s`);
} catch (err) {
  console.error(`load run failed: ${(err as Error).stack ?? String(err)}`);
  console.error(cp.output().slice(-4000));
} finally {
  fleet.kill();
  await cp.stop();
  await billing.stop();
}
process.exit(exitCode);
