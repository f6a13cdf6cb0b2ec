// Benchmark of coordination on a real local `wrangler dev` (local D1 and Durable Objects), driven
// only through the public wire (the HTTP API, the agent protocol and the live WebSockets), so that
// it measures any implementation of the queue, the leases, the org hub and the scheduler:
//  1. heartbeat round trip with 40 and with many leased jobs in one org (target: flat, p95 ratio ≤ 1.5×);
//  2. claim: an arm64 agent's poll that finds its job behind many amd64-only jobs (target: p95 < 50 ms),
//     next to the same poll with nothing queued ahead;
//  3. live list: status change → seen by each of the org's dashboards (`/api/live`), during a steady
//     rate of status changes (target: p95 < 1 s), and the messages per second the hub sends;
//  4. schedules: start lag of many schedules due in the same minute, from the cron trigger (target: all < 60 s);
// with /api/health's round trip as the floor. It prints each figure against its target and exits 0:
// it measures, it does not gate.
// Run: npm run bench:coordination   (counts: the BENCH_* variables below). The issue's counts take far
// longer than a few minutes on a 2-core machine: every run request starts a room, and the org's API
// limit (ORG_API_LIMITER, 1,200 requests a minute) caps run requests and tickets at 20/s. So some
// defaults are smaller, and the report says which.
import { loadavg } from 'node:os';
import WebSocket from 'ws';
import { Api } from '../load/api.ts';
import { setUpOrg, startBilling, type LoadOrg } from '../load/setup.ts';
import { startControlPlane } from '../test/support/wrangler.ts';
import type { ExecutionSummary } from '../worker/contracts/live.ts';
import { isFinal } from '../worker/contracts/vocabulary.ts';

const count = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
/** What issue 19 asks for, and what this run uses (BENCH_* overrides; smaller defaults fit a few minutes here). */
const COUNTS = {
  leasedFew: { issue: 40, used: count('BENCH_LEASED_FEW', 40), env: 'BENCH_LEASED_FEW' },
  leasedMany: { issue: 4_000, used: count('BENCH_LEASED', 400), env: 'BENCH_LEASED' },
  queuedAhead: { issue: 10_000, used: count('BENCH_QUEUED_AHEAD', 1_000), env: 'BENCH_QUEUED_AHEAD' },
  dashboards: { issue: 2_000, used: count('BENCH_DASHBOARDS', 1_000), env: 'BENCH_DASHBOARDS' },
  changesPerSecond: { issue: 100, used: count('BENCH_CHANGES_PER_SECOND', 100), env: 'BENCH_CHANGES_PER_SECOND' },
  schedules: { issue: 1_000, used: count('BENCH_SCHEDULES', 1_000), env: 'BENCH_SCHEDULES' },
};
const HEARTBEAT_SAMPLES = count('BENCH_HEARTBEAT_SAMPLES', 200);
const CLAIM_SAMPLES = count('BENCH_CLAIM_SAMPLES', 20);
const LIVE_SECONDS = count('BENCH_LIVE_SECONDS', 5);
/** After the last change, how long dashboards may still be catching up before what is missing counts as never delivered. */
const LIVE_DRAIN_SECONDS = count('BENCH_LIVE_DRAIN_SECONDS', 30);
/** Run requests in flight while filling the queue (the control plane, not the client, is the limit here). */
const SETUP_CONCURRENCY = count('BENCH_SETUP_CONCURRENCY', 8);
/** Status changes in flight at most while driving the live list; past it the offered rate is not reached (reported). */
const LIVE_IN_FLIGHT = count('BENCH_LIVE_IN_FLIGHT', 32);
/** An agent's slots: leases are spread over agents so that none holds more jobs than it could run. */
const AGENT_SLOTS = 64;
/** A lease unrenewed this long is renewed in the background (LEASE_TTL_MS is 60 s), as its agent would. */
const RENEW_AFTER_MS = 20_000;
const SCHEDULE_TARGET_MS = 60_000;

// ── figures ──────────────────────────────────────────────────────────────────────────────────
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const ms = (x: number) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(1) : Math.round(x).toLocaleString('en')} ms` : x > 0 ? 'never' : 'n/a');
const spread = (xs: number[]) => `p50 ${ms(pct(xs, 50))}, p95 ${ms(pct(xs, 95))} (n=${xs.length})`;
const verdict = (pass: boolean) => (pass ? 'PASS' : 'FAIL');
const n = (x: number) => x.toLocaleString('en');
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

/** Times `one` sequentially, `samples` times: round trips, not throughput. */
async function roundTrips(samples: number, one: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await one(i);
    out.push(performance.now() - t);
  }
  return out;
}

/** Runs `task` for 0..count-1 with at most `concurrency` at once. */
async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

// ── the org's agents and their leases ────────────────────────────────────────────────────────
type Agent = { token: string; arch: string; held: number };
/** `ending`: its complete is under way (neither renewed nor ended twice). */
type Lease = { agent: Agent; renewedAt: number; ending?: boolean };

class Fleet {
  readonly leases = new Map<string, Lease>();
  /** Leases found gone when renewed (lapsed, or put back): they distort what is measured, so they are reported. */
  lost = 0;
  private keeping = false;
  private keeper: Promise<void> | undefined;

  constructor(
    private readonly api: Api,
    private readonly org: LoadOrg,
  ) {}

  private tokensUsed = 0;
  async register(arch: string): Promise<Agent> {
    const token = this.org.registrationTokens[this.tokensUsed++];
    if (!token) throw new Error('not enough registration tokens for the agents this bench needs');
    const reg = await this.api.call('POST', '/api/agent/register', {
      body: { token, name: `bench-${arch}-${this.tokensUsed}`, arch, os: 'linux', version: 'bench', concurrency: AGENT_SLOTS },
    });
    return { token: reg.agentToken, arch, held: 0 };
  }

  /** One poll that does not wait: the job it got, or null (204). */
  async poll(agent: Agent): Promise<string | null> {
    const res = await fetch(`${this.api.url}/api/agent/poll`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ capacity: AGENT_SLOTS - agent.held, waitMs: 0 }),
    });
    const text = await res.text();
    if (res.status === 204) return null;
    if (!res.ok) throw new Error(`poll: ${res.status} ${text}`);
    const taskId = JSON.parse(text).data.job.taskId as string;
    agent.held++;
    this.leases.set(taskId, { agent, renewedAt: Date.now() });
    return taskId;
  }

  async heartbeat(taskId: string): Promise<void> {
    const lease = this.leases.get(taskId);
    if (!lease || lease.ending) return;
    const res = await fetch(`${this.api.url}/api/agent/jobs/${taskId}/heartbeat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${lease.agent.token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    await res.text();
    if (res.status === 404) {
      this.lost++;
      this.forget(taskId);
    } else if (!res.ok) throw new Error(`heartbeat: ${res.status}`);
    else lease.renewedAt = Date.now();
  }

  async complete(taskId: string): Promise<void> {
    const lease = this.leases.get(taskId);
    if (!lease || lease.ending) throw new Error(`no lease of ${taskId} here`);
    lease.ending = true;
    await this.api.call('POST', `/api/agent/jobs/${taskId}/complete`, { token: lease.agent.token, body: { status: 'PASSED', exitCode: 0 } });
    this.forget(taskId);
  }

  private forget(taskId: string) {
    const lease = this.leases.get(taskId);
    if (lease) lease.agent.held--;
    this.leases.delete(taskId);
  }

  /** Renews, in the background, leases nobody renewed for RENEW_AFTER_MS: their agents would be heartbeating. */
  keepLeases() {
    this.keeping = true;
    this.keeper = (async () => {
      while (this.keeping) {
        const stale = [...this.leases].filter(([, l]) => Date.now() - l.renewedAt > RENEW_AFTER_MS).map(([id]) => id);
        await inParallel(stale.length, 8, async (i) => {
          if (this.keeping) await this.heartbeat(stale[i]!).catch(() => undefined);
        });
        await sleep(500);
      }
    })();
  }

  async stop() {
    this.keeping = false;
    await this.keeper;
  }
}

async function requestRuns(api: Api, org: LoadOrg, count: number, labels: Record<string, string>): Promise<string[]> {
  const ids: string[] = [];
  await inParallel(count, SETUP_CONCURRENCY, async () => {
    ids.push((await api.call('POST', '/api/execution-request', { token: org.token, body: { projectId: org.projectId, labels } })).taskId);
  });
  return ids;
}

// ── the live list, as dashboards read it ─────────────────────────────────────────────────────
/**
 * The run summaries one hub frame carries. Handled: today's `execution-updated`, one run per frame
 * (worker/contracts/live.ts HubMessage). A hub that coalesces changes sends one frame with several
 * runs; name its shape below, e.g. `if (frame.type === 'executions-updated') return frame.executions;`.
 * Until then a frame of another type carrying an array of run summaries is read anyway, and reported.
 */
function summariesIn(frame: any, unknownTypes: Map<string, number>): ExecutionSummary[] {
  if (frame?.type === 'executions') return frame.updated; // the hub's coalesced batch (worker/contracts/live.ts)
  if (frame?.type === 'execution-updated') return [frame.execution]; // the single update, before the hub coalesced
  if (frame?.type === 'hello' || frame?.type === 'execution-deleted') return [];
  unknownTypes.set(String(frame?.type), (unknownTypes.get(String(frame?.type)) ?? 0) + 1);
  const isSummary = (x: any) => typeof x?.taskId === 'string' && typeof x?.status === 'string';
  const list = Object.values(frame ?? {}).find((v) => Array.isArray(v) && v.length > 0 && v.every(isSummary));
  return (list as ExecutionSummary[] | undefined) ?? [];
}

/** When the status a summary shows was written (the control plane's clock, which is this machine's). */
function changedAt(s: ExecutionSummary): number | null {
  if (isFinal(s.status)) return s.finishedAt;
  if (s.status === 'RUNNING') return s.startedAt;
  if (s.status === 'PENDING' && s.startedAt === null) return s.createdAt;
  return null;
}

class Dashboards {
  /** Status change (server time) → received here, ms, for every dashboard and change. */
  readonly latencies: number[] = [];
  /** `${taskId} ${status}` → dashboards that received it. */
  readonly deliveries = new Map<string, number>();
  readonly unknownTypes = new Map<string, number>();
  frames = 0;
  lastFrameAt = 0;
  closedEarly = 0;
  private readonly sockets: WebSocket[] = [];
  private closing = false;
  // Every dashboard gets the same text for one publish: parse it once.
  private readonly parsed = new Map<string, ExecutionSummary[]>();

  constructor(
    private readonly api: Api,
    private readonly token: string,
  ) {}

  async open(count: number) {
    await inParallel(count, 16, async () => {
      const { ticket } = await this.api.call('POST', '/api/auth/ws-ticket', { token: this.token, body: {} });
      const ws = new WebSocket(`${this.api.url.replace('http', 'ws')}/api/live?ticket=${ticket}`);
      ws.on('message', (raw) => this.receive(raw.toString()));
      ws.on('close', () => {
        if (!this.closing) this.closedEarly++;
      });
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      this.sockets.push(ws);
    });
  }

  private receive(text: string) {
    const now = Date.now();
    let summaries = this.parsed.get(text);
    if (!summaries) {
      summaries = summariesIn(JSON.parse(text), this.unknownTypes);
      this.parsed.set(text, summaries);
      if (this.parsed.size > 256) this.parsed.delete(this.parsed.keys().next().value!);
    }
    if (!summaries.length) return;
    this.frames++;
    this.lastFrameAt = now;
    for (const s of summaries) {
      const at = changedAt(s);
      if (at !== null) this.latencies.push(now - at);
      const key = `${s.taskId} ${s.status}`;
      this.deliveries.set(key, (this.deliveries.get(key) ?? 0) + 1);
    }
  }

  close() {
    this.closing = true;
    for (const ws of this.sockets) ws.close(1000, 'bench over');
  }
}

// ── scenarios ────────────────────────────────────────────────────────────────────────────────
async function healthFloor(url: string) {
  const xs = await roundTrips(50, async () => (await fetch(`${url}/api/health`)).text());
  // Other work on the machine slows every figure alike: the load average says how busy it was.
  console.log(`floor: /api/health round trip ${spread(xs)}; load average ${loadavg()[0]!.toFixed(1)}`);
}

/** An org with its agents: one arm64, and amd64 ones enough for `slots` jobs. */
type Side = { label: string; org: LoadOrg; fleet: Fleet; arm: Agent; amd: Agent[] };

async function side(api: Api, label: string, slots: number): Promise<Side> {
  const amdAgents = Math.ceil(slots / AGENT_SLOTS);
  const org = await setUpOrg(api, { agents: amdAgents + 1, ingestPipelines: 0 });
  const fleet = new Fleet(api, org);
  const arm = await fleet.register('arm64');
  const amd: Agent[] = [];
  for (let i = 0; i < amdAgents; i++) amd.push(await fleet.register('amd64'));
  return { label, org, fleet, arm, amd };
}

/**
 * The two orgs' samples alternate (and which goes first alternates too), so that whatever else the
 * machine is doing meanwhile weighs on both alike: the ratio compares the orgs, not two moments.
 */
async function alternating(a: Side, b: Side, samples: number, one: (s: Side, i: number) => Promise<number | null>) {
  const out = new Map<Side, number[]>([
    [a, []],
    [b, []],
  ]);
  for (let i = 0; i < samples; i++)
    for (const s of i % 2 ? [a, b] : [b, a]) {
      const took = await one(s, i);
      if (took !== null) out.get(s)!.push(took);
    }
  return [out.get(a)!, out.get(b)!] as const;
}

/** Each amd64 agent polls, one poll at a time as a real agent does, until the org holds `target` leases. */
async function leaseUpTo(s: Side, target: number) {
  let claimed = s.fleet.leases.size;
  await Promise.all(
    s.amd.map(async (agent) => {
      while (claimed < target && agent.held < AGENT_SLOTS) {
        claimed++;
        if (!(await s.fleet.poll(agent))) throw new Error(`${s.label}: the queue ran dry at ${s.fleet.leases.size} leases`);
      }
    }),
  );
}

async function heartbeats(few: Side, many: Side) {
  const ids = new Map([few, many].map((s) => [s, [...s.fleet.leases.keys()]]));
  const [a, b] = await alternating(few, many, HEARTBEAT_SAMPLES, async (s, i) => {
    const list = ids.get(s)!;
    const taskId = list[Math.floor((i * list.length) / HEARTBEAT_SAMPLES)]!;
    const t = performance.now();
    await s.fleet.heartbeat(taskId);
    return performance.now() - t;
  });
  console.log(`heartbeat round trip, ${n(few.fleet.leases.size)} jobs leased in the org: ${spread(a)}`);
  console.log(`heartbeat round trip, ${n(many.fleet.leases.size)} jobs leased in the org: ${spread(b)}`);
  const ratio = (p: number) => pct(b, p) / pct(a, p);
  console.log(
    `  ratio ${n(COUNTS.leasedMany.used)}/${n(COUNTS.leasedFew.used)} leased: p50 ${ratio(50).toFixed(2)}×, p95 ${ratio(95).toFixed(2)}× — target p95 ≤ 1.5× (flat): ${verdict(ratio(95) <= 1.5)}`,
  );
}

/**
 * Claim: the arm64 agent's poll that finds the arm64 job just requested, in an org with nothing queued
 * ahead of it and in one with `ahead` amd64-only jobs queued ahead of it. A poll that finds no job
 * (answered 204) counts as never.
 */
async function claims(api: Api, none: Side, busy: Side, ahead: number) {
  const missed: number[] = [];
  const [a, b] = await alternating(none, busy, CLAIM_SAMPLES, async (s) => {
    const [mine] = await requestRuns(api, s.org, 1, { arch: 'arm64' });
    const t = performance.now();
    const got = await s.fleet.poll(s.arm);
    const took = performance.now() - t;
    if (got === null) {
      missed.push(took);
      return Number.POSITIVE_INFINITY;
    }
    if (got !== mine && !missed.length) throw new Error(`the arm64 agent got ${got}, not the arm64 job ${mine}`);
    await s.fleet.complete(got);
    return took;
  });
  console.log(`claim, arm64 agent, nothing queued ahead: ${spread(a)}`);
  console.log(
    `claim, arm64 agent, ${n(ahead)} amd64-only jobs queued ahead: ${spread(b)}${missed.length ? ` — ${missed.length} polls found no job (answered 204: ${spread(missed)})` : ''}`,
  );
  console.log(`  p95 ${ms(pct(b, 95))} — target p95 < 50 ms: ${verdict(pct(b, 95) < 50)}`);
}

async function liveList(fleet: Fleet, dashboards: Dashboards, agents: Agent[]) {
  const rate = COUNTS.changesPerSecond.used;
  const total = Math.round(rate * LIVE_SECONDS);
  const changes: string[] = [];
  let inFlight = 0;
  let skipped = 0;
  let failed = 0;
  let firstFailure = '';
  const framesBefore = dashboards.frames;
  const started = performance.now();
  const startedAt = Date.now();
  const pending: Promise<void>[] = [];
  // Open loop: a change is due every 1/rate s, whatever the answers; one whose turn finds LIVE_IN_FLIGHT calls open is skipped.
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    if (inFlight >= LIVE_IN_FLIGHT) {
      skipped++;
      continue;
    }
    inFlight++;
    // Alternately a queued job is picked up (→ RUNNING) and the oldest leased one ends (→ PASSED).
    const change = async () => {
      if (i % 2 === 0) {
        const agent = agents.find((a) => a.held < AGENT_SLOTS);
        const taskId = agent && (await fleet.poll(agent));
        if (taskId) changes.push(`${taskId} RUNNING`);
        else failed++;
      } else {
        const oldest = [...fleet.leases].find(([, l]) => !l.ending)?.[0];
        if (!oldest) return void failed++;
        await fleet.complete(oldest);
        changes.push(`${oldest} PASSED`);
      }
    };
    pending.push(
      change()
        .catch((err) => {
          failed++;
          firstFailure ||= String(err?.message ?? err).slice(0, 160);
        })
        .finally(() => inFlight--),
    );
  }
  await Promise.all(pending);
  const driven = (performance.now() - started) / 1000;
  // Drain: until every change reached every dashboard, or nothing arrived for LIVE_DRAIN_SECONDS.
  const complete = () => changes.every((k) => (dashboards.deliveries.get(k) ?? 0) >= COUNTS.dashboards.used);
  const drainStart = Date.now();
  while (!complete() && Date.now() - Math.max(dashboards.lastFrameAt, drainStart) < LIVE_DRAIN_SECONDS * 1000) await sleep(200);
  const windowSeconds = (Math.max(dashboards.lastFrameAt, startedAt) - startedAt) / 1000;
  const missing = changes.reduce((sum, k) => sum + Math.max(0, COUNTS.dashboards.used - (dashboards.deliveries.get(k) ?? 0)), 0);
  const latencies = [...dashboards.latencies, ...Array.from({ length: missing }, () => Number.POSITIVE_INFINITY)];
  const frames = dashboards.frames - framesBefore;
  const p95 = pct(latencies, 95);
  console.log(
    `live list, ${n(COUNTS.dashboards.used)} dashboards, ${rate} status changes/s asked: ${n(changes.length)} changes in ${driven.toFixed(1)} s = ${(changes.length / driven).toFixed(1)}/s achieved` +
      `${skipped ? ` (${n(skipped)} not sent: ${LIVE_IN_FLIGHT} calls already open)` : ''}${failed ? `, ${failed} failed (${firstFailure || 'no job to pick up or end'})` : ''}`,
  );
  console.log(
    `  status change → dashboard ${spread(latencies)}${missing ? `, ${n(missing)} of ${n(changes.length * COUNTS.dashboards.used)} never arrived (counted as never)` : ''} — target p95 < 1 s: ${verdict(p95 < 1000)}`,
  );
  console.log(
    `  the hub sent ${n(Math.round(frames / Math.max(windowSeconds, 0.001)))} messages/s over ${windowSeconds.toFixed(1)} s (${n(frames)} messages, ${(frames / Math.max(changes.length, 1)).toFixed(0)} per change)` +
      `${dashboards.closedEarly ? `; ${dashboards.closedEarly} dashboards were disconnected` : ''}`,
  );
  if (dashboards.unknownTypes.size)
    console.log(
      `  hub frames of a type this bench does not name (read as lists of runs if they hold one): ${[...dashboards.unknownTypes].map(([t, k]) => `${t} ×${k}`).join(', ')}`,
    );
}

/** The schedules were created at the start (`* * * * *`): by now their minute has come. The cron trigger fires once, as Cloudflare would at the minute. */
async function scheduleStarts(api: Api, org: LoadOrg, cpUrl: string, dueAt: number) {
  const total = COUNTS.schedules.used;
  if (Date.now() < dueAt) await sleep(dueAt - Date.now() + 50);
  const watcher = new Dashboards(api, org.token);
  await watcher.open(1);
  const tick = Date.now();
  const fired = fetch(`${cpUrl}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent('* * * * *')}`).then(async (r) => `${r.status} ${await r.text()}`);
  const started = () => [...watcher.deliveries.keys()].filter((k) => k.endsWith(' PENDING')).length;
  while (started() < total && Date.now() - tick < SCHEDULE_TARGET_MS) await sleep(250);
  const answer = await Promise.race([fired, sleep(10_000).then(() => '200 (still running)')]);
  watcher.close();
  // The run list is the record: each scheduled run's createdAt, against the trigger.
  const lags: number[] = [];
  let cursor: string | null = null;
  do {
    const page: any = await api.call('GET', `/api/executions?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: org.token });
    for (const run of page.items) if (run.trigger === 'schedule') lags.push(run.createdAt - tick);
    cursor = page.nextCursor;
  } while (cursor);
  const inTime = lags.filter((l) => l < SCHEDULE_TARGET_MS).length;
  const all = [...lags, ...Array.from({ length: total - lags.length }, () => Number.POSITIVE_INFINITY)];
  console.log(
    `schedules: ${n(total)} due in the same minute, one cron trigger: ${n(inTime)} started within 60 s, ${n(lags.length)} by ${((Date.now() - tick) / 1000).toFixed(0)} s; start lag ${spread(all)}, last ${ms(Math.max(...all))} — target all started < 60 s: ${verdict(inTime === total)}`,
  );
  if (!answer.startsWith('200')) console.log(`  the cron trigger answered ${answer.slice(0, 200)}`);
}

// ── main ─────────────────────────────────────────────────────────────────────────────────────
async function main() {
  const began = Date.now();
  const elapsed = () => `${((Date.now() - began) / 1000).toFixed(0)} s`;
  console.log('agnox bench: coordination (local wrangler dev, local D1 and Durable Objects)');
  for (const [what, c] of Object.entries(COUNTS))
    console.log(`  ${what}: ${n(c.used)}${c.used === c.issue ? '' : ` (issue 19 asks ${n(c.issue)}; ${c.env}=${c.issue} for that)`}`);

  const billing = await startBilling();
  const cp = await startControlPlane({ vars: billing.vars });
  const api = new Api(cp.url);
  const spareSlots = Math.ceil((COUNTS.changesPerSecond.used * LIVE_SECONDS) / 2);
  const sides: Side[] = [];
  let lostBefore = 0;
  /** Leases that lapsed although renewed every RENEW_AFTER_MS: their requeue (a status change each) weighs on what follows. */
  const lostSoFar = (phase: string) => {
    const lost = sides.reduce((sum, s) => sum + s.fleet.lost, 0);
    if (lost > lostBefore) console.log(`  note: ${lost - lostBefore} leases lapsed by the end of ${phase} (renewals came too late; the jobs were requeued)`);
    lostBefore = lost;
  };
  try {
    console.log(`control plane up (${elapsed()})`);
    await healthFloor(cp.url);
    // Three orgs (Enterprise, so the plan's runs per month do not refuse the load): the schedules' org
    // stays quiet until its minute; `quiet` holds few jobs, `busy` many, and the dashboards.
    const scheduled = await setUpOrg(api, { agents: 0, ingestPipelines: 0 });
    let dueAt = 0;
    await inParallel(COUNTS.schedules.used, SETUP_CONCURRENCY, async (i) => {
      const s = await api.call('POST', '/api/schedules', {
        token: scheduled.token,
        body: { projectId: scheduled.projectId, name: `bench ${i}`, cron: '* * * * *', timezone: 'UTC' },
      });
      dueAt = Math.max(dueAt, s.nextRunAt);
    });
    console.log(`${n(COUNTS.schedules.used)} schedules created, due at ${new Date(dueAt).toISOString()} (${elapsed()})`);

    const quiet = await side(api, 'quiet', COUNTS.leasedFew.used);
    const busy = await side(api, 'busy', COUNTS.leasedMany.used + spareSlots);
    sides.push(quiet, busy);
    const pool = Math.max(COUNTS.queuedAhead.used, COUNTS.leasedMany.used + spareSlots);
    await requestRuns(api, busy.org, pool, { arch: 'amd64' });
    console.log(`${n(pool)} amd64-only runs requested in one org (${elapsed()})`);
    await claims(api, quiet, busy, pool);
    await requestRuns(api, quiet.org, COUNTS.leasedFew.used, { arch: 'amd64' });

    for (const s of sides) s.fleet.keepLeases();
    await leaseUpTo(quiet, COUNTS.leasedFew.used);
    await leaseUpTo(busy, COUNTS.leasedMany.used);
    console.log(`${n(COUNTS.leasedMany.used)} jobs leased in one org, ${n(COUNTS.leasedFew.used)} in another (${elapsed()})`);
    await heartbeats(quiet, busy);
    lostSoFar('the heartbeats');

    const org = busy.org;
    const dashboards = new Dashboards(api, org.token);
    const connecting = Date.now();
    await dashboards.open(COUNTS.dashboards.used);
    const connectSeconds = (Date.now() - connecting) / 1000;
    console.log(
      `${n(COUNTS.dashboards.used)} dashboards connected (a ticket, then /api/live) in ${connectSeconds.toFixed(0)} s, ${(COUNTS.dashboards.used / connectSeconds).toFixed(0)}/s (${elapsed()})`,
    );
    lostSoFar('connecting the dashboards');
    await liveList(busy.fleet, dashboards, busy.amd);
    dashboards.close();
    console.log(`(${elapsed()})`);
    lostSoFar('the live list');

    await scheduleStarts(api, scheduled, cp.url, dueAt);
    lostSoFar('the schedules');
    if (api.retriedAfter429)
      console.log(`note: ${api.retriedAfter429} calls were refused 429 (ORG_API_LIMITER, 1,200 a minute per org) and retried after Retry-After`);
    await healthFloor(cp.url);
    console.log(`done in ${elapsed()}`);
  } finally {
    for (const s of sides) await s.fleet.stop();
    await cp.stop();
    await billing.stop();
  }
}

await main();
