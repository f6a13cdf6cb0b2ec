// Tenant isolation, driven by the operations list (worker/openapi.ts). Every route that names a resource
// (a path parameter, or an id in its body or query) is called against org A's real resources with each
// kind of credential org B holds: a JWT per role, an API key, an agent token, an ingest session token and
// a WebSocket ticket. A kind the route accepts gets 404 (a list filtered by A's project id too; a list
// that names A's resources otherwise gets an answer scoped to org B);
// a kind it does not accept gets 401/403. No answer carries org A's ids, names, log lines or secrets, and
// org A reads back exactly what it had. A new route that names a resource fails the first test until it
// has a fixture below.
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { operations } from '../../worker/openapi';
import { addMember, agentApi, api, logText, openSocket, poll, registerAgent, signup, wsTicket, type Json, type Org, type TestAgent } from './helpers';

type Op = (typeof operations)[number];
const KINDS = ['admin', 'developer', 'viewer', 'apiKey', 'agent', 'ingestSession', 'wsTicket'] as const;
type Kind = (typeof KINDS)[number];
const RANK = { viewer: 0, developer: 1, admin: 2 } as const;
type Role = keyof typeof RANK;

/** One organization with one of everything, created through the real API. */
type World = {
  tag: string;
  admin: Org;
  developer: Org;
  viewer: Org;
  apiKey: { id: string; key: string };
  agent: TestAgent;
  project: { id: string; name: string; image: string };
  invitationId: string;
  doneTaskId: string;
  liveTaskId: string;
  fingerprint: string;
  scheduleId: string;
  quarantineId: string;
  testCaseId: string;
  cycleId: string;
  cycleItemId: string;
  ingest: { sessionId: string; taskId: string; cycleId: string; runId: string };
  /** Strings that belong to this org only: an answer to another org must not contain them. */
  markers: string[];
};

async function must(method: string, path: string, token: string, body?: unknown) {
  const res = await api(method, path, { token, body });
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.json)}`).toBeLessThan(300);
  return res.json.data;
}

async function buildWorld(label: string): Promise<World> {
  const tag = `${label}-${crypto.randomUUID().slice(0, 8)}`;
  const admin = await signup(`Org ${tag}`);
  const developer = await addMember(admin, 'developer');
  const viewer = await addMember(admin, 'viewer');
  const apiKey = await must('POST', '/api/api-keys', admin.token, { name: `key-${tag}` });
  const project = await must('POST', '/api/projects', admin.token, { name: `project-${tag}`, image: `registry.example.com/${tag}:1`, command: 'npm test' });
  await must('PUT', `/api/projects/${project.id}/run-settings/staging`, admin.token, {
    variables: { PLAIN: `plain-${tag}` },
    secretVariables: { SECRET: `secret-${tag}` },
  });
  const invitation = await must('POST', '/api/invitations', admin.token, { email: `invitee-${tag}@example.com`, role: 'viewer' });
  const agent = await registerAgent(admin, { pool: tag });

  // A finished run (a log line, a report file, a failing test and so a failure fingerprint) and a run its agent holds.
  const done = await must('POST', '/api/execution-request', admin.token, { projectId: project.id });
  expect((await poll(agent, 0))?.taskId).toBe(done.taskId);
  expect(
    (await agentApi(agent, 'POST', `/api/agent/jobs/${done.taskId}/logs`, { type: 'chunks', chunks: [{ seq: 1, data: `log-line-${tag}\n` }] })).status,
  ).toBe(200);
  const upload = await api('PUT', `/api/agent/jobs/${done.taskId}/artifacts?path=report/index.html`, {
    headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'text/html' },
    rawBody: `<h1>report-${tag}</h1>`,
  });
  expect(upload.status, JSON.stringify(upload.json)).toBe(201);
  const completed = await agentApi(agent, 'POST', `/api/agent/jobs/${done.taskId}/complete`, {
    status: 'FAILED',
    exitCode: 1,
    tests: [{ testId: `t-${tag}`, title: `test-${tag}`, status: 'failed', error: { message: `boom-${tag}` } }],
  });
  expect(completed.status, JSON.stringify(completed.json)).toBe(200);
  const failures = await must('GET', `/api/insights/executions/${done.taskId}/failures`, admin.token);
  const live = await must('POST', '/api/execution-request', admin.token, { projectId: project.id });
  expect((await poll(agent, 0))?.taskId).toBe(live.taskId);

  const schedule = await must('POST', '/api/schedules', admin.token, { projectId: project.id, name: `schedule-${tag}`, cron: '0 3 * * *' });
  const quarantine = await must('POST', '/api/quarantines', admin.token, {
    projectId: project.id,
    title: `flaky-${tag}`,
    owner: `owner-${tag}`,
    reason: 'flaky',
    expiresAt: Date.now() + 86_400_000,
  });
  const testCase = await must('POST', '/api/test-cases', admin.token, { projectId: project.id, title: `case-${tag}` });
  const cycle = await must('POST', '/api/test-cycles', admin.token, { projectId: project.id, name: `cycle-${tag}`, items: [{ testCaseId: testCase.id }] });

  const runId = `run-${tag}`;
  const setup = await api('POST', '/api/ingest/setup', {
    apiKey: apiKey.key,
    body: { projectId: project.id, framework: 'playwright', reporterVersion: '1.0.0', totalTests: 1, runId },
  });
  expect(setup.status, JSON.stringify(setup.json)).toBe(201);
  const event = await api('POST', '/api/ingest/event', {
    apiKey: apiKey.key,
    body: { sessionId: setup.json.data.sessionId, events: [{ type: 'log', chunk: `ingest-line-${tag}\n`, timestamp: Date.now() }] },
  });
  expect(event.status, JSON.stringify(event.json)).toBe(200);

  const world = {
    tag,
    admin,
    developer,
    viewer,
    apiKey: { id: apiKey.id, key: apiKey.key },
    agent,
    project: { id: project.id, name: project.name, image: project.image },
    invitationId: invitation.id,
    doneTaskId: done.taskId,
    liveTaskId: live.taskId,
    fingerprint: failures.failures[0].fingerprint,
    scheduleId: schedule.id,
    quarantineId: quarantine.id,
    testCaseId: testCase.id,
    cycleId: cycle.id,
    cycleItemId: cycle.items[0].id,
    ingest: { ...setup.json.data, runId },
  };
  expect(world.fingerprint).toMatch(/^[0-9a-f]{8,64}$/);
  return {
    ...world,
    markers: [
      tag,
      admin.organizationId,
      admin.userId,
      developer.userId,
      viewer.userId,
      admin.email,
      developer.email,
      viewer.email,
      apiKey.id,
      apiKey.key,
      agent.id,
      agent.token,
      project.id,
      invitation.id,
      invitation.token,
      done.taskId,
      live.taskId,
      world.fingerprint,
      schedule.id,
      quarantine.id,
      testCase.id,
      cycle.id,
      world.cycleItemId,
      world.ingest.sessionId,
      world.ingest.taskId,
      world.ingest.cycleId,
    ],
  };
}

/** What a call must get from a caller the route accepts. */
type Outcome =
  | { expect: 'notFound'; code?: string }
  /** A 2xx about the caller's own org only (e.g. the metrics of an image name both orgs use). */
  | { expect: 'scoped' }
  /** A 2xx whose every per-item result is NOT_FOUND. */
  | { expect: 'bulkNotFound' };
type Case = { path: string; body?: unknown; rawBody?: string; socket?: boolean } & Outcome;
type Fixture = (a: World, b: World) => Case[];

const notFound = (path: string, body?: unknown, code?: string): Case => ({ path, body, expect: 'notFound', code });
const scoped = (path: string, body?: unknown): Case => ({ path, body, expect: 'scoped' });
const LEASE = 'LEASE_NOT_HELD'; // the agent protocol's 404: the same answer for a job that does not exist
const SESSION = 'SESSION_NOT_FOUND'; // the ingest API's 404: the same answer for a session that does not exist

/** Every route that names a resource, with org A's ids filled in (B's where a variant mixes both). */
const FIXTURES: Record<string, Fixture> = {
  'PATCH /api/users/{id}': (a) => [notFound(`/api/users/${a.developer.userId}`, { role: 'admin' })],
  'DELETE /api/users/{id}': (a) => [notFound(`/api/users/${a.viewer.userId}`)],
  'DELETE /api/invitations/{id}': (a) => [notFound(`/api/invitations/${a.invitationId}`)],
  'DELETE /api/api-keys/{id}': (a) => [notFound(`/api/api-keys/${a.apiKey.id}`)],
  'GET /api/projects/{id}': (a) => [notFound(`/api/projects/${a.project.id}`)],
  'PATCH /api/projects/{id}': (a) => [notFound(`/api/projects/${a.project.id}`, { name: 'taken-over' })],
  'DELETE /api/projects/{id}': (a) => [notFound(`/api/projects/${a.project.id}`)],
  'GET /api/projects/{id}/run-settings': (a) => [notFound(`/api/projects/${a.project.id}/run-settings`)],
  'PUT /api/projects/{id}/run-settings/{environment}': (a) => [
    notFound(`/api/projects/${a.project.id}/run-settings/staging`, { variables: { PLAIN: 'x' }, secretVariables: { SECRET: null } }),
  ],
  'DELETE /api/projects/{id}/run-settings/{environment}': (a) => [notFound(`/api/projects/${a.project.id}/run-settings/staging`)],
  'POST /api/execution-request': (a) => [notFound('/api/execution-request', { projectId: a.project.id })],
  'POST /api/ci/trigger': (a) => [notFound('/api/ci/trigger', { projectId: a.project.id })],
  'GET /api/executions': (a) => [notFound(`/api/executions?projectId=${a.project.id}`)],
  'GET /api/executions/{taskId}': (a) => [a.doneTaskId, a.liveTaskId, a.ingest.taskId].map((t) => notFound(`/api/executions/${t}`)),
  'GET /api/executions/{taskId}/logs': (a) => [a.doneTaskId, a.ingest.taskId].map((t) => notFound(`/api/executions/${t}/logs`)),
  'GET /api/executions/{taskId}/tests': (a) => [notFound(`/api/executions/${a.doneTaskId}/tests`)],
  'GET /api/executions/{taskId}/artifacts': (a) => [notFound(`/api/executions/${a.doneTaskId}/artifacts`)],
  'POST /api/executions/{taskId}/cancel': (a) => [a.liveTaskId, a.ingest.taskId].map((t) => notFound(`/api/executions/${t}/cancel`)),
  'POST /api/executions/bulk': (a) =>
    ['cancel', 'delete'].map((action) => ({
      path: '/api/executions/bulk',
      body: { action, taskIds: [a.doneTaskId, a.liveTaskId, a.ingest.taskId] },
      expect: 'bulkNotFound' as const,
    })),
  'POST /api/auth/ws-ticket': (a) => [notFound('/api/auth/ws-ticket', { taskId: a.liveTaskId })],
  'GET /api/executions/{taskId}/live': (a) =>
    [a.liveTaskId, a.ingest.taskId].map((t) => ({ path: `/api/executions/${t}/live?since=0`, socket: true, expect: 'notFound' as const })),
  'PATCH /api/agents/{id}': (a) => [notFound(`/api/agents/${a.agent.id}`, { disabled: true })],
  'DELETE /api/agents/{id}': (a) => [notFound(`/api/agents/${a.agent.id}`)],
  // An agent reporting another org's task as running is just a presence ping: no job, nothing of A's.
  'POST /api/agent/poll': (a) => [scoped('/api/agent/poll', { capacity: 0, waitMs: 0, running: [a.liveTaskId] })],
  'POST /api/agent/jobs/{taskId}/heartbeat': (a) => [notFound(`/api/agent/jobs/${a.liveTaskId}/heartbeat`, { lastSeq: 1 }, LEASE)],
  'GET /api/agent/jobs/{taskId}/stream': (a) => [{ path: `/api/agent/jobs/${a.liveTaskId}/stream`, socket: true, expect: 'notFound', code: LEASE }],
  'POST /api/agent/jobs/{taskId}/logs': (a) => [
    notFound(`/api/agent/jobs/${a.liveTaskId}/logs`, { type: 'chunks', chunks: [{ seq: 2, data: 'injected\n' }] }, LEASE),
  ],
  'PUT /api/agent/jobs/{taskId}/artifacts': (a) => [
    { path: `/api/agent/jobs/${a.liveTaskId}/artifacts?path=report/index.html`, rawBody: '<h1>overwritten</h1>', expect: 'notFound', code: LEASE },
  ],
  'POST /api/agent/jobs/{taskId}/complete': (a) => [notFound(`/api/agent/jobs/${a.liveTaskId}/complete`, { status: 'PASSED', exitCode: 0 }, LEASE)],
  'GET /reports/{taskId}/{path}': (a) => [notFound(`/reports/${a.doneTaskId}/report/index.html`)],
  'POST /api/ingest/setup': (a, b) => [
    notFound('/api/ingest/setup', { projectId: a.project.id, framework: 'playwright', reporterVersion: '1.0.0', totalTests: 1, runId: a.ingest.runId }),
    // A's run key in B's own project starts B's own run: the ids are derived per organization.
    scoped('/api/ingest/setup', { projectId: b.project.id, framework: 'playwright', reporterVersion: '1.0.0', totalTests: 1, runId: a.ingest.runId }),
  ],
  'POST /api/ingest/event': (a) => [
    notFound('/api/ingest/event', { sessionId: a.ingest.sessionId, events: [{ type: 'log', chunk: 'injected\n', timestamp: Date.now() }] }, SESSION),
  ],
  'POST /api/ingest/teardown': (a) => [
    notFound(
      '/api/ingest/teardown',
      { sessionId: a.ingest.sessionId, status: 'PASSED', summary: { total: 1, passed: 1, failed: 0, skipped: 0, duration: 1 } },
      SESSION,
    ),
  ],
  'POST /api/ingest/attachment': (a) => [
    {
      path: `/api/ingest/attachment?sessionId=${a.ingest.sessionId}&testId=t1&retry=0&name=trace.zip`,
      rawBody: 'overwritten',
      expect: 'notFound',
      code: SESSION,
    },
  ],
  'GET /api/schedules': (a) => [notFound(`/api/schedules?projectId=${a.project.id}`)],
  'POST /api/schedules': (a) => [notFound('/api/schedules', { projectId: a.project.id, name: 'stolen', cron: '0 4 * * *' })],
  'GET /api/schedules/{id}': (a) => [notFound(`/api/schedules/${a.scheduleId}`)],
  'PATCH /api/schedules/{id}': (a) => [notFound(`/api/schedules/${a.scheduleId}`, { enabled: false })],
  'DELETE /api/schedules/{id}': (a) => [notFound(`/api/schedules/${a.scheduleId}`)],
  'GET /api/quarantines': (a) => [notFound(`/api/quarantines?projectId=${a.project.id}&includeExpired=true`)],
  'POST /api/quarantines': (a) => [
    notFound('/api/quarantines', { projectId: a.project.id, title: 'x', owner: 'o', reason: 'r', expiresAt: Date.now() + 86_400_000 }),
  ],
  'PATCH /api/quarantines/{id}': (a) => [notFound(`/api/quarantines/${a.quarantineId}`, { owner: 'stolen' })],
  'DELETE /api/quarantines/{id}': (a) => [notFound(`/api/quarantines/${a.quarantineId}`)],
  'GET /api/agent/quarantines': (a) => [notFound(`/api/agent/quarantines?projectId=${a.project.id}`)],
  'GET /api/insights/projects/{projectId}': (a) => [notFound(`/api/insights/projects/${a.project.id}`)],
  'GET /api/insights/projects/{projectId}/flaky': (a) => [notFound(`/api/insights/projects/${a.project.id}/flaky`)],
  'GET /api/insights/fingerprints': (a) => [notFound(`/api/insights/fingerprints?projectId=${a.project.id}`)],
  'GET /api/insights/fingerprints/{fingerprint}': (a) => [notFound(`/api/insights/fingerprints/${a.fingerprint}`)],
  'GET /api/insights/executions/{taskId}/failures': (a) => [notFound(`/api/insights/executions/${a.doneTaskId}/failures`)],
  // An image is a name, not an id: B sees its own (empty) metrics for it.
  'GET /api/metrics/{image}': (a) => [scoped(`/api/metrics/${encodeURIComponent(a.project.image)}`)],
  'GET /api/test-cases': (a) => [notFound(`/api/test-cases?projectId=${a.project.id}`)],
  'GET /api/test-cases/facets': (a) => [notFound(`/api/test-cases/facets?projectId=${a.project.id}`)],
  'POST /api/test-cases/generate-steps': (a) => [notFound('/api/test-cases/generate-steps', { title: 'x', projectId: a.project.id })],
  'POST /api/test-cases': (a) => [notFound('/api/test-cases', { projectId: a.project.id, title: 'stolen' })],
  'GET /api/test-cases/{id}': (a) => [notFound(`/api/test-cases/${a.testCaseId}`)],
  'PATCH /api/test-cases/{id}': (a) => [notFound(`/api/test-cases/${a.testCaseId}`, { title: 'stolen' })],
  'DELETE /api/test-cases/{id}': (a) => [notFound(`/api/test-cases/${a.testCaseId}`)],
  'GET /api/test-cycles': (a) => [notFound(`/api/test-cycles?projectId=${a.project.id}`)],
  'POST /api/test-cycles': (a, b) => [
    notFound('/api/test-cycles', { projectId: a.project.id, name: 'stolen', items: [{ testCaseId: a.testCaseId }] }),
    // A's test case in B's own project: refused as unknown in B's project.
    {
      path: '/api/test-cycles',
      body: { projectId: b.project.id, name: 'mixed', items: [{ testCaseId: a.testCaseId }] },
      expect: 'notFound',
      code: 'UNKNOWN_TEST_CASE',
    },
  ],
  'GET /api/test-cycles/{id}': (a) => [a.cycleId, a.ingest.cycleId].map((id) => notFound(`/api/test-cycles/${id}`)),
  'DELETE /api/test-cycles/{id}': (a) => [notFound(`/api/test-cycles/${a.cycleId}`)],
  'PATCH /api/test-cycles/{id}/items/{itemId}': (a, b) => [
    notFound(`/api/test-cycles/${a.cycleId}/items/${a.cycleItemId}`, { status: 'PASSED' }),
    // A's item through B's own cycle.
    notFound(`/api/test-cycles/${b.cycleId}/items/${a.cycleItemId}`, { status: 'PASSED' }),
  ],
  'POST /api/test-cycles/{id}/run': (a) => [notFound(`/api/test-cycles/${a.cycleId}/run`, {})],
};

const key = (op: Op) => `${op.method.toUpperCase()} ${op.path}`;

/** Names of id-like fields anywhere in a body schema (projectId, taskIds, items[].testCaseId, …). */
function idFields(schema: z.ZodType | undefined): string[] {
  if (!schema) return [];
  const found: string[] = [];
  const walk = (node: any) => {
    if (!node || typeof node !== 'object') return;
    for (const [name, child] of Object.entries<any>(node.properties ?? {})) {
      if (/(^id|Id|Ids)$/.test(name)) found.push(name);
      walk(child);
    }
    walk(node.items);
    for (const part of [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])]) walk(part);
  };
  walk(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }));
  return found;
}
/** Id-like query parameters a route documents in its summary (`?projectId&…`). */
const queryIds = (op: Op) => [...op.summary.matchAll(/[?&](\w+)/g)].map((m) => m[1]!).filter((n) => /Id$/.test(n));
const namesResources = (op: Op) => /\{\w+\}/.test(op.path) || idFields(op.body).length > 0 || queryIds(op).length > 0;

/** Member routes that also take an API key (requireUserOrApiKey): the CLI and the reporter read them. */
const takesApiKeyToo = (op: Op) => op.auth === 'jwt' && /^\/api\/(executions|quarantines|auth\/ws-ticket)(\/|$)/.test(op.path);
/** The public sockets authenticate themselves: a member's session, or a ticket in the query. */
const isLiveSocket = (op: Op) => op.auth === 'public' && op.path.endsWith('/live');

/** accept: the kind authenticates here (so the answer must be 404/scoped); forbidden: its role is too low; refuse: 401/403. */
function verdict(op: Op, kind: Kind): 'accept' | 'forbidden' | 'refuse' {
  const minRole: Role = op.role ?? 'viewer';
  const roleVerdict = (role: Role) => (RANK[role] >= RANK[minRole] ? 'accept' : 'forbidden');
  if (kind === 'admin' || kind === 'developer' || kind === 'viewer') return op.auth === 'jwt' || isLiveSocket(op) ? roleVerdict(kind) : 'refuse';
  if (kind === 'apiKey') return op.auth === 'apiKey' ? 'accept' : takesApiKeyToo(op) ? roleVerdict('developer') : 'refuse';
  if (kind === 'agent') return op.auth === 'agent' ? 'accept' : 'refuse';
  if (kind === 'wsTicket') return isLiveSocket(op) ? 'accept' : 'refuse';
  return 'refuse'; // an ingest session token is a body field of the ingest API, never a credential
}

/** Sends `c` as org B with credential `kind`: Bearer, x-api-key, or (live sockets) ?ticket=. */
async function callAs(b: World, kind: Kind, op: Op, c: Case) {
  const headers: Record<string, string> = c.socket ? { upgrade: 'websocket' } : {};
  let path = c.path;
  if (kind === 'admin' || kind === 'developer' || kind === 'viewer') headers.authorization = `Bearer ${b[kind].token}`;
  if (kind === 'apiKey') headers['x-api-key'] = b.apiKey.key;
  if (kind === 'agent') headers.authorization = `Bearer ${b.agent.token}`;
  if (kind === 'ingestSession') headers.authorization = `Bearer ${b.ingest.sessionId}`;
  if (kind === 'wsTicket') {
    const ticket = await wsTicket(b.viewer.token);
    if (isLiveSocket(op)) path += `${path.includes('?') ? '&' : '?'}ticket=${ticket}`;
    else headers.authorization = `Bearer ${ticket}`;
  }
  if (c.rawBody !== undefined) headers['content-type'] = 'application/octet-stream';
  return api(op.method.toUpperCase(), path, { headers, body: c.body, rawBody: c.rawBody });
}

/** Why an answer is wrong, or null. */
function problem(v: ReturnType<typeof verdict>, c: Case, res: { status: number; json: Json }): string | null {
  const { status, json } = res;
  if (v === 'refuse') return [401, 403].includes(status) && json.success === false ? null : `expected 401/403, got ${status}`;
  if (v === 'forbidden') return status === 403 && json.code === 'FORBIDDEN' ? null : `expected 403 FORBIDDEN, got ${status} ${json.code}`;
  if (c.expect === 'notFound') {
    const code = c.code ?? 'NOT_FOUND';
    const wantStatus = code === 'UNKNOWN_TEST_CASE' ? 400 : 404;
    return status === wantStatus && json.success === false && json.code === code && typeof json.error === 'string'
      ? null
      : `expected ${wantStatus} ${code}, got ${status} ${json.code}`;
  }
  if (status < 200 || status >= 300) return `expected a 2xx scoped to org B, got ${status} ${json.code}`;
  if (c.expect === 'bulkNotFound') {
    const results = json.data?.results as Array<{ ok: boolean; code?: string }> | undefined;
    return results?.length && results.every((r) => !r.ok && r.code === 'NOT_FOUND') ? null : `expected every item NOT_FOUND, got ${JSON.stringify(results)}`;
  }
  return null;
}

/** Everything org A sees of itself, read as A's admin (and its agent's lease): must not change under B's calls. */
async function snapshot(a: World) {
  const read = async (path: string) => {
    const res = await api('GET', path, { token: a.admin.token });
    expect(res.status, `${path}: ${JSON.stringify(res.json)}`).toBe(200);
    return res.json.data;
  };
  const paths = [
    '/api/users',
    '/api/invitations',
    '/api/api-keys',
    '/api/organization',
    '/api/organization/audit-logs',
    '/api/projects',
    `/api/projects/${a.project.id}/run-settings`,
    '/api/schedules',
    '/api/quarantines?includeExpired=true',
    '/api/test-cases',
    `/api/test-cycles/${a.cycleId}`,
    `/api/test-cycles/${a.ingest.cycleId}`,
    '/api/executions?limit=200',
    ...[a.doneTaskId, a.liveTaskId, a.ingest.taskId].flatMap((t) => [
      `/api/executions/${t}`,
      `/api/executions/${t}/logs`,
      `/api/executions/${t}/tests`,
      `/api/executions/${t}/artifacts`,
    ]),
  ];
  const state: Record<string, unknown> = {};
  for (const path of paths) state[path] = await read(path);
  // Agents: everything but the presence fields, which A's own agent moves.
  state['/api/agents'] = (await read('/api/agents')).map(({ lastSeenAt: _l, online: _o, ...rest }: Record<string, unknown>) => rest);
  const report = await api('GET', `/reports/${a.doneTaskId}/report/index.html`, { token: a.admin.token });
  state.report = [report.status, report.json.raw];
  const heartbeat = await agentApi(a.agent, 'POST', `/api/agent/jobs/${a.liveTaskId}/heartbeat`, {});
  state.lease = [heartbeat.status, heartbeat.json.data?.cancel];
  return state;
}

async function mustOpen(path: string) {
  const socket = await openSocket(path);
  if (socket.status !== 101) throw new Error(`${path}: ${socket.status} ${socket.body}`);
  return socket;
}

describe('tenant isolation, every route × every credential kind of another org', () => {
  it('has a fixture for every route that names a resource (so a new route cannot be forgotten)', () => {
    const needing = operations.filter(namesResources).map(key);
    expect(
      needing.filter((k) => !FIXTURES[k]),
      'routes that name a resource but have no fixture in FIXTURES',
    ).toEqual([]);
    expect(
      Object.keys(FIXTURES).filter((k) => !operations.some((op) => key(op) === k)),
      'fixtures for routes that no longer exist',
    ).toEqual([]);
    expect(needing.length).toBeGreaterThan(50);
  });

  it("answers org B's every credential with 404 or 401/403 on org A's resources, leaks nothing and changes nothing", async () => {
    const [a, b] = [await buildWorld('alpha'), await buildWorld('bravo')];
    const before = await snapshot(a);
    expect(before.lease).toEqual([200, false]);
    expect(JSON.stringify(before)).toContain(`log-line-${a.tag}`);

    const failures: string[] = [];
    const tally = { accept: 0, forbidden: 0, refuse: 0 };
    for (const op of operations.filter((o) => FIXTURES[key(o)])) {
      for (const c of FIXTURES[key(op)]!(a, b)) {
        // The kinds run side by side: each is refused, so none can disturb another.
        const answers = await Promise.all(KINDS.map((kind) => callAs(b, kind, op, c)));
        for (const [i, kind] of KINDS.entries()) {
          const v = verdict(op, kind);
          tally[v]++;
          const res = answers[i]!;
          const label = `${key(op)} ${c.path}${c.body ? ` ${JSON.stringify(c.body).slice(0, 80)}` : ''} as B's ${kind}`;
          const wrong = problem(v, c, res);
          if (wrong) failures.push(`${label}: ${wrong}: ${JSON.stringify(res.json).slice(0, 300)}`);
          // Nothing of A's in the answer, except what the request itself said.
          const said = `${c.path} ${JSON.stringify(c.body ?? '')}`;
          const text = JSON.stringify(res.json);
          const leaked = a.markers.filter((m) => text.includes(m) && !said.includes(m));
          if (leaked.length) failures.push(`${label}: answer contains org A's ${leaked.join(', ')}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(await snapshot(a)).toEqual(before);
    console.info(
      `isolation matrix: ${tally.accept + tally.forbidden + tally.refuse} calls (${tally.accept} accepted → 404/scoped, ${tally.forbidden} → 403 by role, ${tally.refuse} refused 401/403)`,
    );
  }, 60_000);

  it("org B's ticket opens only org B's live list and never org A's execution room", async () => {
    const [a, b] = [await buildWorld('alpha'), await buildWorld('bravo')];
    const aList = await mustOpen(`/api/live?ticket=${await wsTicket(a.viewer.token)}`);
    const bList = await mustOpen(`/api/live?ticket=${await wsTicket(b.viewer.token)}`);
    // B's viewer may watch B's own run, but a ticket it was given for that run does not open A's.
    const ticketForB = await wsTicket(b.viewer.token, b.liveTaskId);
    const crossed = await openSocket(`/api/executions/${a.liveTaskId}/live?ticket=${ticketForB}`);
    expect(crossed.status).toBe(401);
    const own = await mustOpen(`/api/executions/${b.liveTaskId}/live?ticket=${await wsTicket(b.viewer.token, b.liveTaskId)}`);

    // A run changes in A, then in B; each list hears its own, and B's never hears A's.
    const aRun = await must('POST', '/api/execution-request', a.developer.token, { projectId: a.project.id });
    await aList.until((m) => m.some((x) => x.type === 'executions' && x.updated.some((e: { taskId: string }) => e.taskId === aRun.taskId)));
    const bRun = await must('POST', '/api/execution-request', b.developer.token, { projectId: b.project.id });
    await bList.until((m) => m.some((x) => x.type === 'executions' && x.updated.some((e: { taskId: string }) => e.taskId === bRun.taskId)));
    // A's agent writes to A's room while B watches its own room: B's socket sees only B's run.
    expect(
      (await agentApi(a.agent, 'POST', `/api/agent/jobs/${a.liveTaskId}/logs`, { type: 'chunks', chunks: [{ seq: 1, data: `second-${a.tag}\n` }] })).status,
    ).toBe(200);
    expect(
      (await agentApi(b.agent, 'POST', `/api/agent/jobs/${b.liveTaskId}/logs`, { type: 'chunks', chunks: [{ seq: 1, data: `mine-${b.tag}\n` }] })).status,
    ).toBe(200);
    await own.until((m) => logText(m).some((l: { data: string }) => l.data.includes(`mine-${b.tag}`)));
    for (const socket of [bList, own]) {
      const heard = JSON.stringify(socket.messages);
      expect(a.markers.filter((m) => heard.includes(m))).toEqual([]);
      expect(heard).not.toContain(aRun.taskId);
    }
    for (const s of [aList, bList, own]) s.ws.close();
  }, 30_000);
});
