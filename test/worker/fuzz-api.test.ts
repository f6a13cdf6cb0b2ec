// Property-based fuzzing of every route in worker/openapi.ts `operations`, inside workerd (real D1,
// Durable Objects, R2). Each route is called with the credential it needs (so the input reaches
// validation and the handler, not only the auth gate), with bodies derived from its zod schema and
// then corrupted, garbage bodies, hostile path segments and query strings. Whatever comes in, the
// answer is < 500, a JSON error envelope for 4xx, and free of internals; nothing hangs; no prototype
// is polluted. The seed is printed; FUZZ_SEED=<n> replays a run, FUZZ_RUNS=<k> runs k times as many cases.
import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { app } from '../../worker/app';
import { jwtSecret } from '../../worker/env';
import { signSession, signWsTicket } from '../../worker/lib/jwt';
import { operations } from '../../worker/openapi';
import { signStripePayload, StripeEvent } from '../../worker/services/stripe';
import { api, createApiKey, createProject, poll, registerAgent, signup, type Org, type TestAgent } from './helpers';
import {
  bodyArb,
  expectNoPollution,
  expectSafe,
  fuzzAssert,
  fuzzSeed,
  fuzzTimeout,
  jsonSchemaOf,
  nastyString,
  prototypeSnapshot,
  queryArb,
  scale,
  segmentArb,
  send,
  type Body,
  type Overrides,
} from './fuzz-support';

type Operation = (typeof operations)[number];

const seed = fuzzSeed();
const STRIPE_SECRET = 'whsec_fuzz_0123456789abcdef';

/** One organization with one of everything, so real ids can be put in paths and bodies. */
type World = {
  admin: Org;
  apiKey: string;
  projectId: string;
  image: string;
  agent: TestAgent;
  spareAgentId: string;
  leasedTaskId: string;
  reportTaskId: string;
  taskId: string;
  bulkTaskId: string;
  testCaseId: string;
  cycleId: string;
  cycleItemId: string;
  scheduleId: string;
  quarantineId: string;
  invitationId: string;
  sessionId: string;
  /** Live-socket tickets (single use: once a case spends one, later cases get 401 for it). */
  tickets: string[];
};

async function created(res: Promise<{ status: number; json: any }>) {
  const { status, json } = await res;
  expect(status, JSON.stringify(json)).toBeLessThan(300);
  return json.data;
}

async function makeWorld(): Promise<World> {
  const admin = await signup();
  const token = admin.token;
  const apiKey = await createApiKey(admin);
  const project = await createProject(token);
  const agent = await registerAgent(admin);
  const spare = await registerAgent(admin);
  const leased = await created(api('POST', '/api/execution-request', { token, body: { projectId: project.id } }));
  const job = await poll(agent);
  expect(job?.taskId).toBe(leased.taskId);
  await created(
    api('PUT', `/api/agent/jobs/${leased.taskId}/artifacts?path=index.html`, {
      headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'text/html' },
      rawBody: '<h1>report</h1>',
    }),
  );
  // Runs no agent can take (a label none has): they stay queued for the read, cancel and bulk routes.
  const unclaimed = { projectId: project.id, labels: { pool: 'nobody' } };
  const run = await created(api('POST', '/api/execution-request', { token, body: unclaimed }));
  const bulkRun = await created(api('POST', '/api/execution-request', { token, body: unclaimed }));
  const testCase = await created(api('POST', '/api/test-cases', { token, body: { projectId: project.id, title: 'Login works' } }));
  const automated = await created(
    api('POST', '/api/test-cases', { token, body: { projectId: project.id, title: 'Checkout', type: 'automated', automatedTest: 'tests/checkout.spec.ts' } }),
  );
  const cycle = await created(
    api('POST', '/api/test-cycles', {
      token,
      body: { projectId: project.id, name: 'Release', items: [{ testCaseId: testCase.id }, { testCaseId: automated.id }] },
    }),
  );
  const schedule = await created(api('POST', '/api/schedules', { token, body: { projectId: project.id, name: 'nightly', cron: '0 3 * * *' } }));
  const quarantine = await created(
    api('POST', '/api/quarantines', {
      token,
      body: { projectId: project.id, title: 'checkout › pays', owner: 'ada', reason: 'flaky', expiresAt: Date.now() + 86_400_000 },
    }),
  );
  const invitation = await created(api('POST', '/api/invitations', { token, body: { email: `fuzz-${crypto.randomUUID()}@example.com` } }));
  await created(api('PUT', `/api/projects/${project.id}/run-settings/staging`, { token, body: { variables: { A: '1' }, secretVariables: { S: 's' } } }));
  const ingest = await created(
    api('POST', '/api/ingest/setup', { apiKey, body: { projectId: project.id, framework: 'playwright', reporterVersion: '1.0.0', totalTests: 3 } }),
  );
  return {
    admin,
    apiKey,
    projectId: project.id,
    image: 'agnox/busybox:test',
    agent,
    spareAgentId: spare.id,
    leasedTaskId: leased.taskId,
    reportTaskId: leased.taskId,
    taskId: run.taskId,
    bulkTaskId: bulkRun.taskId,
    testCaseId: testCase.id,
    cycleId: cycle.id,
    cycleItemId: cycle.items[0].id,
    scheduleId: schedule.id,
    quarantineId: quarantine.id,
    invitationId: invitation.id,
    sessionId: ingest.sessionId,
    tickets: await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        signWsTicket(jwtSecret(env), { organizationId: admin.organizationId, subject: admin.userId, ...(i % 2 ? { taskId: run.taskId } : {}) }),
      ),
    ),
  };
}

/** A job leased to the world's agent now: one left in its org's queue (the fuzz queues runs), or a new one. */
async function freshLease(w: World): Promise<string> {
  const waiting = await poll(w.agent);
  if (waiting) return waiting.taskId as string;
  await created(api('POST', '/api/execution-request', { token: w.admin.token, body: { projectId: w.projectId } }));
  const job = await poll(w.agent);
  expect(job).not.toBeNull();
  return job!.taskId as string;
}

/** The real value of a path parameter, by route (ids of the world's own resources). */
function realParam(op: Operation, name: string, w: World): string {
  const p = op.path;
  if (name === 'environment') return 'staging';
  if (name === 'path') return 'index.html';
  if (name === 'itemId') return w.cycleItemId;
  if (name === 'fingerprint') return 'deadbeefdeadbeef';
  if (name === 'image') return encodeURIComponent(w.image);
  if (name === 'projectId') return w.projectId;
  if (name === 'taskId') return p.startsWith('/api/agent/') ? w.leasedTaskId : p.startsWith('/reports/') ? w.reportTaskId : w.taskId;
  const byPrefix: Array<[string, string]> = [
    ['/api/users/', w.admin.userId],
    ['/api/invitations/', w.invitationId],
    ['/api/projects/', w.projectId],
    ['/api/agents/', w.spareAgentId],
    ['/api/schedules/', w.scheduleId],
    ['/api/quarantines/', w.quarantineId],
    ['/api/test-cases/', w.testCaseId],
    ['/api/test-cycles/', w.cycleId],
  ];
  return byPrefix.find(([prefix]) => p.startsWith(prefix))?.[1] ?? 'unknown';
}

/** Documented query parameters, from the summary's `(?a&b&c)` (and the one route whose summary does not list them). */
const queryKeys = (op: Operation) =>
  op.path === '/api/ingest/attachment'
    ? ['sessionId', 'testId', 'retry', 'name']
    : [...op.summary.matchAll(/\?([\w=&]+)/g)].flatMap((m) => m[1]!.split('&').map((k) => k.split('=')[0]!)).filter(Boolean);

/** The live sockets are public routes that authenticate themselves (ticket, cookie or bearer session). */
const isLiveSocket = (op: Operation) => op.path.endsWith('/live');

/** Valid values by name, so the fuzz also gets past validation. */
function valueOverrides(op: Operation, w: World): Overrides {
  // A cycle item's status is case-insensitive and trimmed (so its JSON Schema says only "string").
  const perRoute: Overrides = op.path.includes('/items/') ? { status: fc.constantFrom('passed', ' FAILED ', 'Blocked', 'pending', 'RUNNING') } : {};
  return {
    ...perRoute,
    projectId: fc.constant(w.projectId),
    sessionId: fc.constant(w.sessionId),
    testCaseId: fc.constant(w.testCaseId),
    taskId: fc.constant(w.taskId),
    taskIds: fc.constant([w.bulkTaskId]),
    cron: fc.constantFrom('*/5 * * * *', '@daily', '0 9 * * 1-5', '0 0 31 2 *', '60 * * * *'),
    timezone: fc.constantFrom('UTC', 'Europe/Berlin', 'America/St_Johns', 'Asia/Kathmandu', 'Mars/Olympus'),
    expiresAt: fc.integer({ min: 3_600_000, max: 100 * 86_400_000 }).map((ms) => Date.now() + ms),
    image: fc.constant(w.image),
    email: fc.oneof(
      fc.uuid().map((u) => `fuzz+${u}@example.com`),
      fc.constantFrom('A@B.CO', "o'brien@example.com", 'x@xn--e1afmkfd.xn--p1ai'),
    ),
    password: fc.constantFrom('correct-horse-42', 'ünïcödé-paß-1', '😀😀😀😀😀😀😀😀a1'),
  };
}

function queryValues(w: World): Record<string, fc.Arbitrary<string>> {
  return {
    projectId: fc.constant(w.projectId),
    sessionId: fc.constant(w.sessionId),
    path: fc.constantFrom('report.html', 'a/b.txt', 'a%2F..%2Fb', '..%2Fx', encodeURIComponent('é'.repeat(500)), encodeURIComponent('😀'.repeat(250))),
    testId: fc.constant('t1'),
    name: fc.constant('shot.png'),
    cron: fc.constantFrom('*%2F5+*+*+*+*', '%40daily', '*+*'),
    timezone: fc.constantFrom('UTC', 'Europe%2FBerlin'),
    days: fc.constantFrom('7', '90', '91', '0'),
    limit: fc.constantFrom('10', '500', '0'),
    since: fc.constantFrom('0', '3'),
    status: fc.constantFrom('PASSED,FAILED', 'running'),
    source: fc.constantFrom('external-ci', 'agnox-hosted'),
    includeExpired: fc.constantFrom('true', 'false', 'yes'),
    count: fc.constantFrom('3', '21'),
    ticket: fc.constantFrom(...w.tickets),
    cursor: fc.constantFrom(btoa('1:x'), 'bm90IGEgY3Vyc29y', '%%%'),
    type: fc.constant('manual'),
    q: fc.constant('log%25in_'),
    token: fc.constant('x'.repeat(20)),
  };
}

/** Credentials: the right one most of the time; sometimes none, another kind, garbage, a JWT with alg "none", or a 64 KB header. */
const AUTH_VARIANTS = ['none', 'other', 'garbage', 'alg-none', 'huge', 'cookie'] as const;
type AuthVariant = 'valid' | (typeof AUTH_VARIANTS)[number];
const authArb = fc.oneof(
  { weight: 14, arbitrary: fc.constant<AuthVariant>('valid') },
  { weight: 1, arbitrary: fc.constantFrom<AuthVariant>(...AUTH_VARIANTS) },
);

const b64url = (s: string) => btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

async function authHeaders(op: Operation, variant: AuthVariant, w: World): Promise<Record<string, string>> {
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const valid = async (): Promise<Record<string, string>> => {
    if (op.auth === 'apiKey') return { 'x-api-key': w.apiKey };
    if (op.auth === 'agent') return bearer(w.agent.token);
    // Logging out revokes the token it is called with: that route gets a fresh session each time.
    if (op.path === '/api/auth/logout')
      return bearer(await signSession(jwtSecret(env), { userId: w.admin.userId, organizationId: w.admin.organizationId, role: 'admin' }));
    return op.auth === 'jwt' || isLiveSocket(op) ? bearer(w.admin.token) : {};
  };
  switch (variant) {
    case 'valid':
      return valid();
    case 'none':
      return {};
    case 'other':
      return op.auth === 'agent'
        ? bearer(w.admin.token)
        : op.auth === 'apiKey'
          ? { 'x-api-key': w.admin.token }
          : { ...bearer(w.agent.token), 'x-api-key': w.agent.token };
    case 'garbage':
      return { ...bearer('a.b.c'), 'x-api-key': 'agx_not-a-key' };
    case 'alg-none':
      return bearer(
        `${b64url('{"alg":"none","typ":"JWT"}')}.${b64url(JSON.stringify({ userId: w.admin.userId, organizationId: w.admin.organizationId, role: 'admin', aud: 'agnox:session', exp: 9_999_999_999, jti: 'x' }))}.`,
      );
    case 'huge':
      return { ...bearer('a'.repeat(65_536)), 'x-api-key': 'k'.repeat(65_536) };
    case 'cookie':
      return { cookie: `agnox_session=${w.admin.token.slice(0, -2)}xx; agnox_session=${w.admin.token}` };
  }
}

type Case = {
  method: string;
  shape: PathShape;
  auth: AuthVariant;
  params: Record<string, string>;
  query: string;
  body?: Body;
  upgrade: boolean;
  signed: boolean;
};

/** Sometimes another method (never DELETE: real ids are in the path) or another spelling of the path: routing edges. */
const PATH_SHAPES = ['as-is', 'trailing-slash', 'double-slash', 'upper-case', 'dot-segment'] as const;
type PathShape = (typeof PATH_SHAPES)[number];
const reshape = (path: string, shape: PathShape) =>
  ({
    'as-is': path,
    'trailing-slash': `${path}/`,
    'double-slash': path.replace('/api/', '//api//'),
    'upper-case': path.toUpperCase(),
    'dot-segment': path.replace('/api/', '/api/./'),
  })[shape];

/** Stripe events of the kinds the handler acts on, for a real organization (or a hostile one). */
function stripeOverrides(w: World): Overrides {
  const plan = fc.constantFrom('team', 'enterprise', 'free', 'gold', '__proto__', 'constructor', 'toString', '');
  const hostile = fc.oneof(fc.constantFrom<unknown>(null, 42, {}, [], ''), nastyString(0, 20));
  return {
    id: fc.uuid().map((u) => `evt_${u}`),
    type: fc.constantFrom(
      'checkout.session.completed',
      'customer.subscription.created',
      'customer.subscription.updated',
      'customer.subscription.deleted',
      'invoice.paid',
    ),
    object: fc.record(
      {
        client_reference_id: fc.oneof(fc.constant(w.admin.organizationId), hostile),
        customer: fc.oneof(fc.constant(`cus_${w.admin.organizationId}`), hostile),
        subscription: fc.oneof(fc.constant('sub_fuzz'), hostile),
        id: fc.oneof(fc.constant('sub_fuzz'), hostile),
        status: fc.oneof(fc.constantFrom('active', 'trialing', 'past_due', 'canceled'), hostile),
        metadata: fc.oneof(fc.record({ plan }), hostile),
        items: fc.oneof(
          fc.record({
            data: fc.array(
              fc.record({
                price: fc.record(
                  { metadata: fc.record({ plan }), lookup_key: fc.constantFrom('team_monthly', 'enterprise-yearly', '_x', '') },
                  { requiredKeys: [] },
                ),
              }),
              { maxLength: 2 },
            ),
          }),
          hostile,
        ),
      },
      { requiredKeys: [] },
    ),
  };
}

function caseArb(op: Operation, w: World): fc.Arbitrary<Case> {
  const params: Record<string, fc.Arbitrary<string>> = {};
  for (const [, name] of op.path.matchAll(/\{(\w+)\}/g)) {
    // DELETE never gets a real id: the world's resources must survive for the other routes.
    params[name!] =
      op.method === 'delete' ? segmentArb : fc.oneof({ weight: 3, arbitrary: fc.constant(realParam(op, name!, w)) }, { weight: 2, arbitrary: segmentArb });
  }
  const stripe = op.path === '/api/webhooks/stripe';
  const bodySchema = stripe ? jsonSchemaOf(StripeEvent) : op.body ? jsonSchemaOf(op.body) : undefined;
  return fc.record({
    method: fc.oneof({ weight: 30, arbitrary: fc.constant(op.method) }, { weight: 1, arbitrary: fc.constantFrom('head', 'options', 'post', 'patch', 'put') }),
    shape: fc.oneof({ weight: 30, arbitrary: fc.constant<PathShape>('as-is') }, { weight: 1, arbitrary: fc.constantFrom(...PATH_SHAPES) }),
    auth: authArb,
    params: fc.record(params),
    query: queryArb(queryKeys(op), queryValues(w)),
    body: bodyArb(bodySchema, stripe ? stripeOverrides(w) : valueOverrides(op, w)),
    upgrade: op.summary.includes('WebSocket') ? fc.boolean() : fc.constant(false),
    signed: fc.boolean(),
  });
}

/** The long poll holds up to 25 s when there is no job: the fuzz asks it not to wait. */
function withoutHold(text: string): string {
  try {
    const body = JSON.parse(text.replace(/^\ufeff/, '')); // the Worker reads past a BOM too
    if (body && typeof body === 'object' && !Array.isArray(body)) {
      const w = body.waitMs;
      if (!(typeof w === 'number' && (w < 0 || w > 25_000 || !Number.isInteger(w)))) body.waitMs = 0;
      return JSON.stringify(body);
    }
  } catch {
    /* not JSON: sent as is */
  }
  return text;
}

// Organizations share the routes, so the per-org API rate limit (1200/min) is not what answers.
const WORLDS = 4 * scale();
const worlds: World[] = [];
let pristine: ReturnType<typeof prototypeSnapshot>;
let cases = 0;
/** Answers by status: how much of the fuzz got past validation (2xx, 101) and what refused the rest. */
const tally: Record<string, number> = {};

/** Routes that answer 5xx on purpose, with a documented code. */
const allowedServerError = (op: Operation) => (status: number, code: string | undefined) =>
  (op.path === '/api/test-cases/generate-steps' && status === 503 && code === 'AI_NOT_CONFIGURED') ||
  (op.path === '/api/billing/checkout' && status === 503 && code === 'NOT_CONFIGURED');

async function run(op: Operation, w: World, c: Case) {
  const path = reshape(
    op.path.replace(/\{(\w+)\}/g, (_, name: string) => c.params[name]!),
    c.shape,
  );
  const method = c.method.toUpperCase();
  const headers: Record<string, string> = await authHeaders(op, c.auth, w);
  if (c.upgrade) headers.upgrade = 'websocket';
  let body = method === 'GET' || method === 'HEAD' ? undefined : c.body?.text;
  if (c.body?.contentType !== undefined && body !== undefined) headers['content-type'] = c.body.contentType;
  if (op.path === '/api/agent/poll' && body !== undefined) body = withoutHold(body);
  const stripe = op.path === '/api/webhooks/stripe';
  if (stripe) headers['stripe-signature'] = c.signed ? await signStripePayload(STRIPE_SECRET, body ?? '') : 't=1,v1=00';
  const fetcher = stripe ? (r: Request) => app.fetch(r, { ...env, STRIPE_WEBHOOK_SECRET: STRIPE_SECRET }, createExecutionContext()) : undefined;
  // An empty body without a Content-Type is sent as no body at all.
  const answer = await send({ method, url: path + c.query, headers, body: body === '' && c.body?.contentType === undefined ? undefined : body }, fetcher);
  const kind = answer.status === 101 ? '101' : answer.status < 300 ? '2xx' : String(answer.status);
  tally[kind] = (tally[kind] ?? 0) + 1;
  const label = `${method} ${path.slice(0, 300)}${c.query.slice(0, 200)} body=${(body ?? '').slice(0, 300)}`;
  // A HEAD answer has no body to hold an envelope.
  if (method === 'HEAD') expect(answer.status, label).toBeLessThan(500);
  else expectSafe(answer, label, allowedServerError(op));
}

/** Cases per route: more where a body schema gives the fuzz more to corrupt; each route stops after MS_PER_ROUTE. */
const runsFor = (op: Operation) => (op.body ? 24 : op.method === 'get' && !op.path.includes('{') ? 8 : 12);
const MS_PER_ROUTE = 350;

beforeAll(async () => {
  pristine = prototypeSnapshot();
  worlds.push(...(await Promise.all(Array.from({ length: WORLDS }, makeWorld))));
}, 120_000);

describe('every route answers hostile input with a 4xx envelope, never a 5xx, a leak or a hang', () => {
  it.each(operations.map((op, i) => [`${op.method.toUpperCase()} ${op.path}`, op, i] as const))(
    '%s',
    async (_name, op, i) => {
      const w = worlds[i % WORLDS]!;
      // A lease lapses 30 s after its last heartbeat: each job route gets a job leased just now, so the fuzz reaches its handler.
      if (op.path.startsWith('/api/agent/jobs/')) w.leasedTaskId = await freshLease(w);
      await fuzzAssert(
        fc.asyncProperty(caseArb(op, w), async (c) => {
          cases++;
          await run(op, w, c);
        }),
        runsFor(op),
        MS_PER_ROUTE,
        seed + i,
      );
    },
    fuzzTimeout(),
  );

  it('left no prototype polluted, and each organization and project reads back with its types', async () => {
    expectNoPollution(pristine);
    for (const w of worlds) {
      const project = await api('GET', `/api/projects/${w.projectId}`, { token: w.admin.token });
      expect(project.status, JSON.stringify(project.json)).toBe(200);
      expect(project.json.data).toMatchObject({ id: w.projectId, timeoutSeconds: expect.any(Number), defaultEnvironment: expect.any(String) });
      const organization = await api('GET', '/api/organization', { token: w.admin.token });
      expect(organization.json.data).toMatchObject({ id: w.admin.organizationId, plan: expect.any(String), aiAnalysisEnabled: expect.any(Boolean) });
    }
    console.log(`fuzz-api: ${operations.length} routes, ${cases} cases; answers by status: ${JSON.stringify(tally)}`);
  });
});
