// The paper model behind docs/SCALING.md: load on each Cloudflare part for N concurrent runs and V
// viewers, from the per-request costs read out of the code, against the documented limits.
// Run: node docs/scaling-model.ts [runs] [viewers]   (Node 22 strips the types; no dependencies)
// Every figure is one of: CF (a Cloudflare limit, cited in SCALING.md), CODE (a constant in this
// repository), MEASURED (node:sqlite on the dev machine, not on Cloudflare) or ASSUMED (a guess, said so).

const CF = {
  doSoftRps: 1000, // requests/s per Durable Object (soft)
  doMaxSockets: 32_768, // hibernatable WebSockets per Durable Object
  d1MaxBytes: 10e9, // per D1 database
  limiterPerLocation: true, // rate-limit bindings count per Cloudflare location
};
const CODE = {
  heartbeatS: 10, // HEARTBEAT_INTERVAL_MS
  pollWaitS: 25, // POLL_WAIT_MS
  agentFramesPerS: 4, // agent LogStreamer flushes every 250 ms (or at 64 KB)
  agentChunkBytes: 64 * 1024,
  reporterFlushS: 2, // reporter flushIntervalMs default
  reporterBatch: 50, // reporter maxBatchSize default
  resultsPerInsert: 5, // floor(100 bound parameters / 18 columns of test_results)
  ingestPerKeyPerS: 500 / 60, // INGEST_LIMITER, per API key
  orgApiPerS: 1200 / 60, // ORG_API_LIMITER, per organization
  schedulesPerMinute: 50, // scheduler BATCH per cron invocation
  enterpriseRunsPerMonth: 1_000_000,
};
const MEASURED = {
  heartbeatBaseMs: 0.18, // Dispatcher.heartbeat SQL: 0.46 ms with 1,000 leased jobs,
  heartbeatPerLeasedMs: 0.000285, // 3.03 ms with 10,000 (scheduleAlarm scans every leased row)
  // npm run bench:storage (a 200-test run, 1 in 10 failing; statements counted from the Worker's statement log):
  agentRunStatements: 17, // run request → poll → heartbeat → complete → final (was 63, 40 of them result inserts)
  ingestRunStatements: 22, // setup → events → teardown → final (was 63)
  roomConnectStatements: 3, // ticket (session 2, run 1); the socket itself reads nothing (the hub admits the ticket)
  agentRunBytes: 410, // left in D1 per finished agent run: the run row and its share of pages (was 136,806 with test_results)
  ingestRunBytes: 1_229, // the same for an ingest run, with its test cycle, cycle item and session rows (was 137,626)
  projectDayBytes: 81_920, // a project's first run of a UTC day: its 200 tests' test_daily and fingerprint_daily rows
};
const ASSUMED = {
  runSeconds: 600, // a run lasts 10 minutes
  testsPerRun: 200,
  agentShare: Number(process.env.AGENT_SHARE ?? 0.5), // half the runs on agents, half reported from external CI
  slotsPerAgent: 4,
  idleAgentShare: 0.1, // agents with free slots, long-polling
  logBytesPerS: 2_000, // ~20 lines/s of 100 bytes
  ingestEventsPerS: 6, // log lines + test-begin/test-end events per external run
  statusChangesPerRun: 3.3, // PENDING, RUNNING, final (+ANALYZING for a share of failures)
  dashboardShare: 0.5, // half the viewers watch the live list (OrgHub), half a run's log (room)
  watchedRunShare: 0.2, // a fifth of the runs have anyone watching
  hotRunViewers: 2_000, // one run everybody watches (a release)
  viewerSessionS: 600, // a viewer (re)connects every 10 minutes on average
  d1StatementMs: 0.5, // D1 time per simple statement (docs: "1 ms → about 1,000 queries/s")
  sendUs: 10, // CPU per ws.send() of a small frame in a DO (not documented anywhere)
  projectsPerOrg: 5, // projects running something on a given day
  reportFilesPerAgentRun: 20, // artifact PUTs per agent run
  scheduledShare: 0.1, // a tenth of the agent runs come from schedules (the cron)
  attachmentsPerExternalRun: 5,
};

type Row = { part: string; load: string; limit: string; use: number };
const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
const n = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(x >= 10 ? 0 : 1));

function model(runs: number, viewers: number, orgs: number, queue: 'hosted' | 'org') {
  const A = ASSUMED;
  const agentRuns = runs * A.agentShare,
    extRuns = runs - agentRuns;
  const agentStarts = agentRuns / A.runSeconds,
    extStarts = extRuns / A.runSeconds,
    starts = agentStarts + extStarts;
  const busyAgents = agentRuns / A.slotsPerAgent,
    idleAgents = busyAgents * A.idleAgentShare,
    agents = busyAgents + idleAgents;
  const rows: Row[] = [];

  // Dispatcher: one per queue (`hosted`, or `org:<id>`); heartbeats carry the weight.
  const queues = queue === 'hosted' ? 1 : orgs;
  const leased = agentRuns / queues;
  const hb = leased / CODE.heartbeatS;
  const dReq = hb + (agentStarts / queues) * 4 /* enqueue, claiming poll, leaseOf at stream connect, complete */ + idleAgents / queues / CODE.pollWaitS;
  const dCpu = (hb * (MEASURED.heartbeatBaseMs + MEASURED.heartbeatPerLeasedMs * leased)) / 1000;
  rows.push({
    part: `Dispatcher (${queue === 'hosted' ? 'the one `hosted`' : 'busiest `org:`'}) requests`,
    load: `${n(dReq)}/s`,
    limit: `${n(CF.doSoftRps)}/s soft`,
    use: dReq / CF.doSoftRps,
  });
  rows.push({ part: 'Dispatcher CPU (heartbeat SQL, measured)', load: `${n(dCpu * 1000)} ms/s`, limit: '1,000 ms/s (one thread)', use: dCpu });

  // ExecutionRoom: one per run. Agent frames or ingest batches in, one flush per batch out to every viewer.
  const framesIn = Math.max(Math.min(CODE.agentFramesPerS, A.logBytesPerS / 100), A.logBytesPerS / CODE.agentChunkBytes);
  const roomViewers = viewers * (1 - A.dashboardShare);
  const watched = runs * A.watchedRunShare;
  const perWatched = Math.max(0, roomViewers - A.hotRunViewers) / Math.max(1, watched - 1);
  rows.push({
    part: 'ExecutionRoom, typical watched run: messages in',
    load: `${n(framesIn)}/s`,
    limit: `${n(CF.doSoftRps)}/s soft`,
    use: framesIn / CF.doSoftRps,
  });
  const hotSends = framesIn * A.hotRunViewers;
  rows.push({
    part: `ExecutionRoom, hot run: ${n(A.hotRunViewers)} sockets`,
    load: `${n(A.hotRunViewers)}`,
    limit: `${n(CF.doMaxSockets)} sockets`,
    use: A.hotRunViewers / CF.doMaxSockets,
  });
  rows.push({
    part: 'ExecutionRoom, hot run: fan-out CPU (assumed 10 µs/send)',
    load: `${n(hotSends)} sends/s`,
    limit: '1,000 ms/s',
    use: (hotSends * A.sendUs) / 1e6,
  });

  // OrgHub: one per org; every status change goes to every dashboard of the org.
  const dashboards = (viewers * A.dashboardShare) / orgs;
  const publishes = (starts / orgs) * A.statusChangesPerRun;
  rows.push({ part: 'OrgHub (per org) sockets', load: n(dashboards), limit: `${n(CF.doMaxSockets)} sockets`, use: dashboards / CF.doMaxSockets });
  rows.push({
    part: 'OrgHub fan-out CPU (assumed 10 µs/send)',
    load: `${n(publishes * dashboards)} sends/s`,
    limit: '1,000 ms/s',
    use: (publishes * dashboards * A.sendUs) / 1e6,
  });

  // D1: the one database. Statements per second by source (a db.batch() counts each statement).
  const connects = viewers / A.viewerSessionS,
    roomConnects = connects * (1 - A.dashboardShare),
    hubConnects = connects - roomConnects;
  const d1 = {
    'agents: token refill (1 per 30 s per isolate), lastSeenAt (≤ 1 per 60 s)': agents / 30 + agents / 60,
    'agent runs, request to final (measured)': agentStarts * MEASURED.agentRunStatements,
    'external CI runs, setup to final (measured), event heartbeats': extStarts * MEASURED.ingestRunStatements + extRuns / 60,
    'viewer connects (run: measured; list: ticket 2 + list refetch 3)': roomConnects * MEASURED.roomConnectStatements + hubConnects * 5,
  };
  const statements = Object.values(d1).reduce((a, b) => a + b, 0);
  const d1Busy = (statements * A.d1StatementMs) / 1000;
  rows.push({
    part: 'D1 statements (all sources)',
    load: `${n(statements)}/s`,
    limit: `~${n(1000 / A.d1StatementMs)}/s at ${A.d1StatementMs} ms each`,
    use: (statements * A.d1StatementMs) / 1000,
  });
  const runBytesPerS = agentStarts * MEASURED.agentRunBytes + extStarts * MEASURED.ingestRunBytes;
  const bytesPerDay = runBytesPerS * 86_400 + orgs * A.projectsPerOrg * MEASURED.projectDayBytes;
  const hoursToFull = (CF.d1MaxBytes / bytesPerDay) * 24;
  rows.push({
    part: 'D1 storage written per day (runs + per-test daily aggregates; kept for the retention)',
    load: `${n(bytesPerDay / 1e9)} GB/day`,
    limit: `10 GB (full in ${n(hoursToFull)} h)`,
    use: 24 / hoursToFull,
  });

  // Rate limiters (per Cloudflare location: a spread-out org gets more).
  const ingestPerKey = (extRuns / orgs) * Math.max(1 / CODE.reporterFlushS, A.ingestEventsPerS / CODE.reporterBatch);
  rows.push({
    part: 'INGEST_LIMITER, one API key per org',
    load: `${n(ingestPerKey)} req/s`,
    limit: `${n(CODE.ingestPerKeyPerS)}/s per location`,
    use: ingestPerKey / CODE.ingestPerKeyPerS,
  });
  const orgApi = (connects + hubConnects + agentStarts) / orgs; // ws-ticket per connect, list refetch per dashboard, run requests
  rows.push({ part: 'ORG_API_LIMITER, per org', load: `${n(orgApi)} req/s`, limit: `${n(CODE.orgApiPerS)}/s per location`, use: orgApi / CODE.orgApiPerS });
  const scheduled = agentStarts * A.scheduledShare * 60;
  rows.push({
    part: 'cron: scheduled run starts per minute',
    load: `${n(scheduled)}/min`,
    limit: `${CODE.schedulesPerMinute}/min`,
    use: scheduled / CODE.schedulesPerMinute,
  });

  const invocations =
    agentRuns / CODE.heartbeatS +
    idleAgents / CODE.pollWaitS +
    agentStarts * (3 + A.reportFilesPerAgentRun) +
    extRuns * Math.max(1 / CODE.reporterFlushS, A.ingestEventsPerS / CODE.reporterBatch) +
    extStarts * (2 + A.attachmentsPerExternalRun) +
    connects * 2 +
    hubConnects;
  const storm = (roomConnects * MEASURED.roomConnectStatements + hubConnects * 5) * A.viewerSessionS; // every viewer at once, after a deploy
  return { rows, d1, statements, d1Busy, invocations, stormSeconds: (storm * A.d1StatementMs) / 1000, perWatched, hoursToFull };
}

function print(title: string, m: ReturnType<typeof model>) {
  console.log(`\n### ${title}\n\n| part | load | limit | use |\n| --- | --- | --- | --- |`);
  for (const r of m.rows) console.log(`| ${r.part} | ${r.load} | ${r.limit} | ${r.use >= 1 ? `**${pct(r.use)}**` : pct(r.use)} |`);
  console.log(
    `\nWorker invocations: ${n(m.invocations)}/s (no documented per-account ceiling on Workers Paid). ` +
      `Viewers per watched run: ${n(m.perWatched)}. Reconnect storm after a deploy: ${n(m.stormSeconds)} s of D1 time.`,
  );
  const first = [...m.rows]
    .sort((a, b) => b.use - a.use)
    .filter((r) => r.use >= 1)
    .map((r) => r.part);
  console.log(`Over the limit: ${first.length ? first.join('; ') : 'nothing'}.`);
}

const runs = Number(process.argv[2] ?? 10_000),
  viewers = Number(process.argv[3] ?? 100_000);
console.log(`# ${n(runs)} concurrent runs, ${n(viewers)} viewers`);
print('A. 1,000 orgs, self-hosted agents (one Dispatcher per org)', model(runs, viewers, 1000, 'org'));
print('B. 1,000 orgs, hosted fleet (one `hosted` Dispatcher)', model(runs, viewers, 1000, 'hosted'));
print('C. one organization with everything', model(runs, viewers, 1, 'org'));

// Where each part tips over, from the same constants (the "what shards when" of SCALING.md).
const A = ASSUMED;
const c1 = MEASURED.heartbeatPerLeasedMs / 1000,
  c0 = MEASURED.heartbeatBaseMs / 1000,
  k = 1 / CODE.heartbeatS;
const leasedAtHalfCpu = (-k * c0 + Math.sqrt((k * c0) ** 2 + 4 * k * c1 * 0.5)) / (2 * k * c1);
const perViewerPerS = (1 + A.dashboardShare) / A.viewerSessionS;
console.log('\nThresholds (one part, everything else unchanged):');
console.log(
  `- Dispatcher: 50% CPU at ${n(leasedAtHalfCpu)} leased jobs in one queue; the 1,000 req/s soft limit at ${n(CF.doSoftRps * CODE.heartbeatS)} (heartbeats alone)`,
);
console.log(
  `- D1 storage: 10 GB holds ${n(CF.d1MaxBytes / ((MEASURED.agentRunBytes + MEASURED.ingestRunBytes) / 2))} runs of ${A.testsPerRun} tests (aggregates aside)`,
);
console.log(
  `- ExecutionRoom: ${n(CF.doMaxSockets)} viewers per run (hard); 50% CPU at ${n(0.5e6 / A.sendUs / CODE.agentFramesPerS)} viewers (assumed send cost)`,
);
console.log(`- OrgHub: ${n(CF.doMaxSockets)} dashboards per org (hard)`);
console.log(`- INGEST_LIMITER: ${n(CODE.ingestPerKeyPerS * CODE.reporterFlushS)} concurrent reporter runs per API key and location`);
console.log(`- ORG_API_LIMITER: ${n(CODE.orgApiPerS / perViewerPerS)} viewers per org and location (ticket per connect, list refetch per dashboard)`);
console.log(`- cron: ${CODE.schedulesPerMinute} scheduled runs started per minute`);
const d = model(runs, viewers, 1000, 'org').d1;
console.log('\nD1 statements/s by source (A):');
for (const [k, v] of Object.entries(d)) console.log(`- ${k}: ${n(v)}`);
