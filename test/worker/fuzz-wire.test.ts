// What comes over the wire, fuzzed inside workerd: bodies at and over the 1 MB limit, invalid JSON and
// foreign Content-Types on every route that takes a body; agent WebSocket frames (one ack or one
// error per frame, acks as the ordering model says, the socket survives); viewer and hub sockets fed
// garbage; ingest event batches whose results must read back with the right types; keys named
// __proto__/constructor that must neither pollute prototypes nor change stored types.
import { env, exports } from 'cloudflare:workers';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_BODY_BYTES } from '../../worker/app';
import { AgentLogFrame } from '../../worker/contracts/agent';
import { EventBatch, TeardownBody } from '../../worker/contracts/ingest';
import { TestStatus } from '../../worker/contracts/results';
import { jwtSecret } from '../../worker/env';
import { signSession } from '../../worker/lib/jwt';
import { operations } from '../../worker/openapi';
import { agentApi, api, createApiKey, createProject, openSocket, poll, registerAgent, signup, type Org, type TestAgent } from './helpers';
import {
  expectNoPollution,
  expectSafe,
  fromSchema,
  fuzzAssert,
  fuzzSeed,
  fuzzTimeout,
  garbageText,
  jsonOfSize,
  jsonSchemaOf,
  nastyString,
  prototypeSnapshot,
  send,
  toJsonText,
  type Sent,
} from './fuzz-support';

type Operation = (typeof operations)[number];

const seed = fuzzSeed();
let org: Org;
let apiKey: string;
let agent: TestAgent;
let projectId: string;
let pristine: ReturnType<typeof prototypeSnapshot>;

beforeAll(async () => {
  pristine = prototypeSnapshot();
  org = await signup();
  apiKey = await createApiKey(org);
  agent = await registerAgent(org);
  projectId = (await createProject(org.token)).id;
});

/** The credential a route takes (the body checks come after authentication on most routes); logging out spends a session of its own. */
async function credentials(op: Operation): Promise<Record<string, string>> {
  if (op.auth === 'apiKey') return { 'x-api-key': apiKey };
  if (op.auth === 'agent') return { authorization: `Bearer ${agent.token}` };
  if (op.path === '/api/auth/logout')
    return { authorization: `Bearer ${await signSession(jwtSecret(env), { userId: org.userId, organizationId: org.organizationId, role: 'admin' })}` };
  if (op.auth === 'jwt') return { authorization: `Bearer ${org.token}` };
  return {};
}

const urlOf = (op: Operation) => op.path.replace(/\{\w+\}/g, 'x');
const call = async (op: Operation, body: Sent['body'], headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  send({ method: op.method.toUpperCase(), url: urlOf(op), headers: { ...(await credentials(op)), ...headers }, body });
/** Without STRIPE_WEBHOOK_SECRET the Stripe route says so with a 503 before it reads the body. */
const stripeNotConfigured = (op: Operation) => (status: number, code: string | undefined) =>
  op.path === '/api/webhooks/stripe' && status === 503 && code === 'NOT_CONFIGURED';

// Artifact uploads carry files with their own 50 MB limit; every other route with a body takes at most 1 MB.
const bodyRoutes = operations.filter((op) => op.method !== 'get' && !op.path.endsWith('/artifacts'));
const jsonRoutes = operations.filter((op) => op.body);

describe('bodies, JSON and Content-Type on every route that takes a body', () => {
  it('answers 413 PAYLOAD_TOO_LARGE (envelope) to a body one byte over 1 MB, sized or streamed, and reads one of exactly 1 MB', async () => {
    const over = jsonOfSize(MAX_JSON_BODY_BYTES + 1);
    const exact = jsonOfSize(MAX_JSON_BODY_BYTES);
    for (const op of bodyRoutes) {
      const label = `${op.method} ${op.path}`;
      const sized = await call(op, over);
      expectSafe(sized, label);
      expect(sized.status, label).toBe(413);
      expect(JSON.parse(sized.text).code, label).toBe('PAYLOAD_TOO_LARGE');
      // No Content-Length: the limit is enforced while the body is read.
      const streamed = await call(op, new Blob([over]).stream());
      expect(streamed.status, label).toBe(413);
      const atLimit = await call(op, exact);
      expectSafe(atLimit, label, stripeNotConfigured(op));
      // The attachment route has its own, lower limit for the file.
      if (op.path !== '/api/ingest/attachment') expect(atLimit.status, label).not.toBe(413);
    }
  });

  it('answers 400 INVALID_JSON to text that is not JSON on every route with a JSON body', async () => {
    for (const op of jsonRoutes) {
      for (const text of ['{"name": ', "{'a':1}", '{"a":NaN}', '<a/>']) {
        const answer = await call(op, text);
        expectSafe(answer, `${op.method} ${op.path} ${text}`);
        expect(answer.status, `${op.method} ${op.path} ${text}`).toBe(400);
        expect(JSON.parse(answer.text).code, `${op.method} ${op.path} ${text}`).toBe('INVALID_JSON');
      }
    }
  });

  it('reads a JSON body the same whatever its Content-Type says: one answer for application/json, text/plain, a form type or none', async () => {
    for (const op of jsonRoutes) {
      const body = '{"fuzz":true}';
      const answers = [];
      const contentTypes: Array<Record<string, string>> = [
        { 'content-type': 'application/json' },
        { 'content-type': 'text/plain;charset=UTF-8' },
        { 'content-type': 'application/x-www-form-urlencoded' },
        {},
      ];
      for (const headers of contentTypes) {
        const answer = await call(op, body, headers);
        expectSafe(answer, `${op.method} ${op.path} ${JSON.stringify(headers)}`);
        answers.push(`${answer.status} ${answer.status >= 400 ? JSON.parse(answer.text).code : ''}`);
      }
      expect(new Set(answers).size, `${op.method} ${op.path}: ${answers.join(' | ')}`).toBe(1);
    }
  });
});

/**
 * A job leased to the agent just now, so each case starts a fresh log stream: the run queued here, or
 * an earlier case's whose lease lapsed (no heartbeats) and which came back as a new attempt.
 */
async function leasedJob(): Promise<string> {
  const req = await api('POST', '/api/execution-request', { token: org.token, body: { projectId } });
  expect(req.status, JSON.stringify(req.json)).toBe(201);
  const job = await poll(agent);
  expect(job).not.toBeNull();
  return job!.taskId as string;
}

/** What the room must ack: chunks are stored once, in seq order from 1; one after a gap waits for the gap. */
class StreamModel {
  upTo = 0;
  private waiting = new Set<number>();
  apply(seqs: number[]) {
    for (const seq of seqs) if (seq > this.upTo) this.waiting.add(seq);
    while (this.waiting.delete(this.upTo + 1)) this.upTo += 1;
  }
}

/** How workerd delivers a frame's text (UTF-8 on the wire, so lone surrogates arrive replaced). */
const onTheWire = (frame: string | Uint8Array) => new TextDecoder().decode(typeof frame === 'string' ? new TextEncoder().encode(frame) : frame);
const parsedFrame = (frame: string | Uint8Array) => {
  try {
    return AgentLogFrame.safeParse(JSON.parse(onTheWire(frame)));
  } catch {
    return { success: false as const };
  }
};

const frameSchema = jsonSchemaOf(AgentLogFrame);
/** A WebSocket message on Cloudflare holds at most 1 MiB. */
const MAX_FRAME = 1024 * 1024;
const frameValue = fromSchema(frameSchema, { seq: fc.integer({ min: 1, max: 8 }), data: nastyString(0, 30), type: fc.constant('chunks') }).map(toJsonText);
/** Frames: the contract's shape with small seqs (so resends, gaps and fills happen) and corrupted nodes, as text or bytes; garbage text; random bytes. */
const frameArb: fc.Arbitrary<string | Uint8Array> = fc
  .oneof(
    { weight: 8, arbitrary: frameValue },
    { weight: 1, arbitrary: frameValue.map((text) => new TextEncoder().encode(text)) },
    { weight: 2, arbitrary: garbageText },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }) },
  )
  .filter((frame) => frame.length <= MAX_FRAME);

describe('agent and viewer WebSockets', () => {
  it(
    'answers every agent frame with exactly one ack (as the ordering model says) or one error, and keeps the socket open',
    async () => {
      let frames = 0;
      await fuzzAssert(
        fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 8 }), async (batch) => {
          const taskId = await leasedJob();
          const sock = await openSocket(`/api/agent/jobs/${taskId}/stream`, { authorization: `Bearer ${agent.token}` });
          if (sock.status !== 101) throw new Error(`stream refused: ${sock.status} ${sock.body}`);
          await sock.until((m) => m.length === 1);
          expect(sock.messages[0]).toEqual({ type: 'ack', upTo: 0 });
          const model = new StreamModel();
          for (const frame of batch) {
            frames++;
            const before = sock.messages.length;
            sock.ws.send(frame);
            await sock.until((m) => m.length > before);
            const parsed = parsedFrame(frame);
            if (parsed.success) {
              model.apply(parsed.data.chunks.map((c) => c.seq));
              expect(sock.messages[before]).toEqual({ type: 'ack', upTo: model.upTo });
            } else {
              expect(sock.messages[before]).toMatchObject({ type: 'error', error: expect.stringContaining('invalid frame') });
            }
          }
          // Still open and still in order: the next chunk is acked (with any waiting after it).
          const before = sock.messages.length;
          const next = model.upTo + 1;
          sock.ws.send(JSON.stringify({ type: 'chunks', chunks: [{ seq: next, data: 'still here\n' }] }));
          model.apply([next]);
          await sock.until((m) => m.length > before);
          expect(sock.messages[before]).toEqual({ type: 'ack', upTo: model.upTo });
          sock.ws.close(1000, 'done');
        }),
        20,
        6_000,
        seed,
      );
      console.log(`fuzz-wire: ${frames} agent frames`);
    },
    fuzzTimeout(),
  );

  it("ignores what a viewer or a dashboard sends (text, bytes, 512 KB), and still delivers the run's log and the hub's pong", async () => {
    const taskId = await leasedJob();
    const viewer = await openSocket(`/api/executions/${taskId}/live`, { authorization: `Bearer ${org.token}` });
    // The hub answers "ping" with the text "pong" (not JSON): its socket is read raw.
    const hubRes = await exports.default.fetch(
      new Request('http://agnox.test/api/live', { headers: { upgrade: 'websocket', authorization: `Bearer ${org.token}` } }),
    );
    if (viewer.status !== 101 || hubRes.status !== 101) throw new Error('sockets refused');
    const hub = { ws: hubRes.webSocket! };
    const pong = new Promise<string>((resolve) =>
      hub.ws.addEventListener('message', (e) => {
        if (e.data === 'pong') resolve(e.data);
      }),
    );
    hub.ws.accept();
    const junk: Array<string | Uint8Array> = [
      '',
      'ping ',
      '{"type":"chunks","chunks":[{"seq":1,"data":"forged"}]}',
      '\u0000\ud800',
      'x'.repeat(512 * 1024),
      new Uint8Array([0xff, 0xfe, 0x00]),
    ];
    for (const frame of junk) {
      viewer.ws.send(frame);
      hub.ws.send(frame);
    }
    const posted = await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/logs`, { type: 'chunks', chunks: [{ seq: 1, data: 'real line\n' }] });
    expect(posted.status).toBe(200);
    const stdout = (m: any[]) =>
      m
        .filter((x) => x.type === 'log')
        .flatMap((x) => x.chunks)
        .filter((c: any) => c.stream === 'stdout')
        .map((c: any) => c.data);
    expect(stdout(await viewer.until((m) => stdout(m).length > 0))).toEqual(['real line\n']);
    hub.ws.send('ping');
    expect(await pong).toBe('pong');
    viewer.ws.close(1000);
    hub.ws.close(1000);
  });
});

describe('ingest event batches', () => {
  const batchSchema = jsonSchemaOf(EventBatch);
  const testIds = fc.constantFrom('t1', 't2', 'a › b', '\u0000', '\ud800', '😀');
  const SESSION = '<session>';

  it(
    'answers any batch with 200 (accepted = its events) or a 4xx envelope, and what the run stores reads back with the right types',
    async () => {
      // The session id is known only once the case runs: batches carry a placeholder for it.
      const batchArb = fromSchema(batchSchema, { sessionId: fc.constant(SESSION), testId: testIds, retry: fc.integer({ min: 0, max: 2 }) }).map(toJsonText);
      let batches = 0;
      await fuzzAssert(
        fc.asyncProperty(fc.uuid(), fc.array(batchArb, { minLength: 1, maxLength: 3 }), async (runId, texts) => {
          const setup = await api('POST', '/api/ingest/setup', {
            apiKey,
            body: { projectId, framework: 'playwright', reporterVersion: '1.0.0', totalTests: 3, runId },
          });
          expect(setup.status, JSON.stringify(setup.json)).toBe(201);
          const { sessionId, taskId } = setup.json.data as { sessionId: string; taskId: string };
          for (const text of texts.map((t) => t.replaceAll(JSON.stringify(SESSION), JSON.stringify(sessionId)))) {
            batches++;
            const answer = await send({
              method: 'POST',
              url: '/api/ingest/event',
              headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
              body: text,
            });
            expectSafe(answer, `event ${text.slice(0, 300)}`);
            if (answer.status === 200) {
              const { accepted, duplicate } = JSON.parse(answer.text).data;
              expect(accepted, text.slice(0, 300)).toBe(duplicate ? 0 : JSON.parse(text).events.length);
            }
          }
          const teardown = TeardownBody.parse({ sessionId, status: 'FAILED', summary: { total: 3, passed: 1, failed: 1, skipped: 1, duration: 10 } });
          const done = await api('POST', '/api/ingest/teardown', { apiKey, body: teardown });
          expect(done.status, JSON.stringify(done.json)).toBe(200);
          // What the fuzz stored (hostile titles, ids, errors) comes back from D1 and the room as the contract's types.
          for (const path of [
            `/api/executions/${taskId}/tests`,
            `/api/executions/${taskId}/logs`,
            `/api/executions/${taskId}`,
            `/api/insights/executions/${taskId}/failures`,
          ]) {
            const res = await send({ method: 'GET', url: path, headers: { authorization: `Bearer ${org.token}` } });
            expectSafe(res, path);
            expect(res.status, path).toBe(200);
          }
          const tests = (await api('GET', `/api/executions/${taskId}/tests`, { token: org.token })).json.data as any[];
          for (const t of tests) {
            expect(
              typeof t.testId === 'string' && typeof t.title === 'string' && Number.isInteger(t.durationMs) && Number.isInteger(t.retry),
              JSON.stringify(t),
            ).toBe(true);
            expect(TestStatus.options).toContain(t.status);
          }
        }),
        12,
        6_000,
        seed,
      );
      console.log(`fuzz-wire: ${batches} ingest batches`);
    },
    fuzzTimeout(),
  );
});

describe('prototype keys', () => {
  it('neither pollute prototypes nor change what is stored when a body names __proto__, constructor or prototype', async () => {
    const created = await send({
      method: 'POST',
      url: '/api/projects',
      headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json' },
      body: '{"name":"proto-check","image":"busybox","timeoutSeconds":60,"__proto__":{"polluted":"yes","timeoutSeconds":"sixty","isAdmin":true},"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"}}',
    });
    expect(created.status, created.text).toBe(201);
    const project = JSON.parse(created.text).data;
    const stored = await env.DB.prepare('SELECT * FROM projects WHERE id = ?').bind(project.id).first<Record<string, unknown>>();
    expect(stored).toMatchObject({ name: 'proto-check', timeout_seconds: 60 });
    expect(Object.keys(stored!)).not.toContain('polluted');

    const settings = await send({
      method: 'PUT',
      url: `/api/projects/${project.id}/run-settings/staging`,
      headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json' },
      body: '{"variables":{"__proto__":"x","constructor":"c","toString":"t","A":"1"},"secretVariables":{"__proto__":"s","hasOwnProperty":"h"}}',
    });
    expect(settings.status, settings.text).toBe(200);
    const row = await env.DB.prepare('SELECT variables, secret_variables FROM project_run_settings WHERE project_id = ?')
      .bind(project.id)
      .first<{ variables: string; secret_variables: string }>();
    // `__proto__` is dropped (it cannot be a plain key of a JS object); the others are plain string entries.
    expect(JSON.parse(row!.variables)).toEqual({ constructor: 'c', toString: 't', A: '1' });
    expect(JSON.parse(row!.secret_variables)).toEqual({ hasOwnProperty: 'h' });

    const registered = await api('POST', '/api/agents/registration-tokens', { token: org.token, body: {} });
    const protoAgent = await send({
      method: 'POST',
      url: '/api/agent/register',
      headers: { 'content-type': 'application/json' },
      body: `{"token":"${registered.json.data.token}","name":"p","arch":"arm64","os":"linux","version":"1","labels":{"__proto__":"x","constructor":"gpu","pool":"a"}}`,
    });
    expect(protoAgent.status, protoAgent.text).toBe(201);
    expect(JSON.parse(protoAgent.text).data.labels).toEqual({ constructor: 'gpu', pool: 'a', arch: 'arm64', os: 'linux' });
    expectNoPollution(pristine);
  });
});
