// The org's live list at scale (durable-objects/OrgHub.ts): a large org's dashboards are spread over
// the hub's shards and every one hears of every change; a burst of changes reaches a dashboard as one
// message holding each run's latest state; a request that changes a run does not wait for the hub;
// and revoking a member's live access closes their dashboards on every shard.
import { createExecutionContext, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { OrgHub } from '../../durable-objects/OrgHub';
import { app } from '../../worker/app';
import { hubOf } from '../../worker/bindings';
import { LIVE_ACCESS_ENDED, type ExecutionSummary, type HubUpdate } from '../../worker/contracts/live';
import type { Env } from '../../worker/env';
import { hubStats } from '../../worker/services/live-sockets';
import { PASSWORD, addMember, api, createProject, openSocket, signup, wsTicket, type Org } from './helpers';

type Dashboard = Extract<Awaited<ReturnType<typeof openSocket>>, { status: 101 }>;

/** The org's home shard takes one dashboard itself; every later one goes to another shard, by hash of its session. */
const shardAfterOne = (org: Org) =>
  runInDurableObject(hubOf(env, org.organizationId), (hub: OrgHub) => {
    hub.homeCapacity = 1;
  });

/** How many dashboards each shard holds, for the shards that hold some. */
const occupied = async (org: Org) => (await hubStats(env, org.organizationId)).shards.filter((s) => s.dashboards > 0);

async function dashboard(token: string): Promise<Dashboard> {
  const socket = await openSocket(`/api/live?ticket=${await wsTicket(token)}`);
  if (socket.status !== 101) throw new Error(`dashboard not opened: ${socket.status} ${socket.body}`);
  return socket;
}

/** Dashboards of `member`, one per new session (a login), until they sit on the home shard and at least two others. */
async function spreadDashboards(member: Org): Promise<Dashboard[]> {
  const opened = [await dashboard(member.token)];
  for (let i = 0; i < 12 && (await occupied(member)).length < 3; i++) {
    const login = await api('POST', '/api/auth/login', { body: { email: member.email, password: PASSWORD } });
    expect(login.status, JSON.stringify(login.json)).toBe(200);
    opened.push(await dashboard(login.json.data.token));
  }
  expect((await occupied(member)).length).toBeGreaterThanOrEqual(3);
  return opened;
}

const told = (d: Dashboard) => d.messages.filter((m) => m.type === 'executions');

const summary = (org: Org, taskId: string, status: ExecutionSummary['status']): ExecutionSummary => ({
  taskId,
  organizationId: org.organizationId,
  projectId: 'p',
  status,
  source: 'agnox-hosted',
  trigger: 'manual',
  environment: null,
  image: 'img',
  reason: null,
  createdAt: 1,
  startedAt: null,
  finishedAt: null,
  totalTests: 0,
  passed: 0,
  failed: 0,
  skipped: 0,
  flaky: 0,
  durationMs: null,
  ciContext: null,
  name: null,
});

/** Hands `updates` to the home shard one publish call each, all before any can be flushed (no await between them). */
const publishTogether = (org: Org, updates: HubUpdate[]) =>
  runInDurableObject(hubOf(env, org.organizationId), (hub: OrgHub) => {
    for (const u of updates) void hub.publish(org.organizationId, [u]);
  });

describe("a large org's live list", () => {
  it('spreads dashboards over the hub shards, and every one of them hears of a new run; the hub counts its sends', async () => {
    const org = await signup();
    await shardAfterOne(org);
    const dashboards = await spreadDashboards(org);
    const project = await createProject(org.token);
    const run = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id } });
    expect(run.status).toBe(201);
    const taskId = run.json.data.taskId;
    for (const d of dashboards) await d.until((m) => m.some((x) => x.type === 'executions' && x.updated.some((e: ExecutionSummary) => e.taskId === taskId)));
    const stats = await hubStats(env, org.organizationId);
    expect(stats).toMatchObject({ sharded: true, dashboards: dashboards.length });
    expect(stats.sends).toBeGreaterThanOrEqual(dashboards.length);
  });

  it("coalesces a burst: each dashboard, on every shard, gets one message with each run's latest state (an overtaken older update dropped)", async () => {
    const org = await signup();
    await shardAfterOne(org);
    const dashboards = await spreadDashboards(org);
    const statuses = ['PENDING', 'RUNNING', 'PASSED'] as const;
    // 5 runs × 3 statuses, oldest first; then run-0's PENDING again, overtaken in flight (older updatedAt); then run-4 deleted.
    const burst: HubUpdate[] = statuses.flatMap((status, s) =>
      Array.from({ length: 5 }, (_, r) => ({ execution: summary(org, `run-${r}`, status), at: 1000 + s })),
    );
    burst.push({ execution: summary(org, 'run-0', 'PENDING'), at: 1000 }, { deleted: ['run-4'] });
    await publishTogether(org, burst);
    // A later update, in a later message: once it has arrived, anything of the burst has too.
    for (const d of dashboards) await d.until(() => told(d).length >= 1);
    await publishTogether(org, [{ execution: summary(org, 'later', 'PENDING'), at: 2000 }]);
    for (const d of dashboards) await d.until((m) => m.some((x) => x.type === 'executions' && x.updated.some((e: ExecutionSummary) => e.taskId === 'later')));
    for (const d of dashboards) {
      const [batch, later, ...more] = told(d);
      expect(more).toEqual([]);
      expect(batch.updated.map((e: ExecutionSummary) => [e.taskId, e.status]).sort()).toEqual([
        ['run-0', 'PASSED'],
        ['run-1', 'PASSED'],
        ['run-2', 'PASSED'],
        ['run-3', 'PASSED'],
      ]);
      expect(batch.deleted).toEqual(['run-4']);
      expect(later.updated.map((e: ExecutionSummary) => e.taskId)).toEqual(['later']);
    }
  });

  it("closes a removed member's dashboards on every shard, and no one else's", async () => {
    const admin = await signup();
    await shardAfterOne(admin);
    const adminDashboard = await dashboard(admin.token); // the home's one dashboard
    const dev = await addMember(admin, 'developer');
    const devDashboards = await spreadDashboards(dev);
    let adminClosed = false;
    void adminDashboard.closed.then(() => {
      adminClosed = true;
    });
    expect((await api('DELETE', `/api/users/${dev.userId}`, { token: admin.token })).status).toBe(200);
    for (const d of devDashboards) expect(await d.closed).toMatchObject({ code: LIVE_ACCESS_ENDED, reason: 'removed from the organization' });
    expect(adminClosed).toBe(false);
  });
});

describe('publishing', () => {
  it("is not awaited by the request: a run request and its cancel answer while the org's hub holds every publish", async () => {
    const org = await signup();
    const project = await createProject(org.token);
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let publishes = 0;
    // The hub's stubs, with publish answering only once released.
    const ORG_HUB = new Proxy(env.ORG_HUB, {
      get(target, prop) {
        if (prop !== 'get') {
          const value = Reflect.get(target, prop);
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return (id: DurableObjectId) => {
          const stub = target.get(id) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
          return new Proxy(
            {},
            {
              get:
                (_, method: string) =>
                (...args: unknown[]) => {
                  if (method !== 'publish') return stub[method]!(...args);
                  publishes++;
                  return held.then(() => stub.publish!(...args));
                },
            },
          );
        };
      },
    });
    const heldEnv = { ...env, ORG_HUB } as Env;
    const call = async (method: string, path: string, body: unknown) => {
      const res = await app.fetch(
        new Request(`http://agnox.test${path}`, {
          method,
          headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json', 'cf-connecting-ip': '10.98.0.1' },
          body: JSON.stringify(body),
        }),
        heldEnv,
        createExecutionContext(),
      );
      return { status: res.status, json: (await res.json()) as any };
    };
    // A watchdog, not a measure: on a route that awaits the hub, the answer never comes while it is held.
    const unlessHeld = <T>(answer: Promise<T>) =>
      Promise.race([answer, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the request is waiting for the hub')), 10_000))]);
    const created = await unlessHeld(call('POST', '/api/execution-request', { projectId: project.id }));
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const cancelled = await unlessHeld(call('POST', `/api/executions/${created.json.data.taskId}/cancel`, {}));
    expect(cancelled.status, JSON.stringify(cancelled.json)).toBe(200);
    expect(publishes).toBe(2); // both were published, and both are still held
    const list = await dashboard(org.token);
    release();
    await list.until((m) => m.some((x) => x.type === 'executions' && x.updated.some((e: ExecutionSummary) => e.status === 'CANCELLED')));
  });
});
