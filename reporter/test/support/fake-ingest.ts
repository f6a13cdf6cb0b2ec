// A loopback server speaking the ingest API's wire format, for the failure modes the real control
// plane cannot be made to show on demand (answers after 10 s, 500s, 429 with Retry-After). It
// validates every body with the control plane's own zod contracts, ignores batch ids it has seen
// (as the real server does), and records what arrived.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBatch, SetupBody, TeardownBody } from '../../../worker/contracts/ingest';

export type Mode = 'ok' | 'slow' | 'error' | 'rate-limited';

export type FakeIngest = {
  url: string;
  mode: Mode;
  /** Fail this many more calls (500) before answering normally. */
  failNext: number;
  slowMs: number;
  retryAfterSeconds: number;
  setups: SetupBody[];
  batches: Map<string, EventBatch>;
  events: () => EventBatch['events'];
  teardowns: TeardownBody[];
  /** Test keys GET /api/quarantines answers (the project's quarantined tests). */
  quarantined: string[];
  calls: Array<{ path: string; at: number; status: number }>;
  invalid: string[];
  close: () => Promise<void>;
};

const read = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });

export async function startFakeIngest(mode: Mode = 'ok'): Promise<FakeIngest> {
  const state: FakeIngest = {
    url: '',
    mode,
    failNext: 0,
    slowMs: 10_000,
    retryAfterSeconds: 1,
    setups: [],
    batches: new Map(),
    teardowns: [],
    quarantined: [],
    calls: [],
    invalid: [],
    events: () => [...state.batches.values()].flatMap((b) => b.events),
    close: async () => {},
  };
  const server: Server = createServer(async (req, res) => {
    const body = await read(req);
    const url = new URL(req.url ?? '/', 'http://x');
    const answer = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      state.calls.push({ path: url.pathname, at: Date.now(), status });
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(json));
    };
    if (state.mode === 'slow') await new Promise((r) => setTimeout(r, state.slowMs));
    if (state.mode === 'error' || state.failNext > 0) {
      state.failNext = Math.max(0, state.failNext - 1);
      return answer(500, { success: false, error: 'Internal server error', code: 'INTERNAL' });
    }
    if (state.mode === 'rate-limited') {
      state.mode = 'ok'; // one 429, then normal service
      return answer(429, { success: false, error: 'Too many requests', code: 'RATE_LIMITED' }, { 'retry-after': String(state.retryAfterSeconds) });
    }
    if (req.headers['x-api-key'] !== 'test-key') return answer(401, { success: false, error: 'Invalid or revoked API key', code: 'UNAUTHORIZED' });
    if (url.pathname === '/api/quarantines' && req.method === 'GET')
      return answer(200, { success: true, data: state.quarantined.map((testKey) => ({ testKey })) });
    if (url.pathname === '/api/ingest/attachment') return answer(200, { success: true, data: { key: `fake/${url.searchParams.get('name')}` } });
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return answer(400, { success: false, error: 'bad json', code: 'INVALID_JSON' });
    }
    const check = <T>(schema: { safeParse: (v: unknown) => { success: true; data: T } | { success: false; error: { message: string } } }) => {
      const r = schema.safeParse(json);
      if (!r.success) {
        state.invalid.push(`${url.pathname}: ${r.error.message}`);
        return undefined;
      }
      return r.data;
    };
    if (url.pathname === '/api/ingest/setup') {
      const setup = check(SetupBody);
      if (!setup) return answer(400, { success: false, error: 'invalid', code: 'VALIDATION_ERROR' });
      state.setups.push(setup);
      return answer(201, { success: true, data: { sessionId: `s-${setup.runId}`, taskId: `t-${setup.runId}`, cycleId: 'c-1' } });
    }
    if (url.pathname === '/api/ingest/event') {
      const batch = check(EventBatch);
      if (!batch) return answer(400, { success: false, error: 'invalid', code: 'VALIDATION_ERROR' });
      const duplicate = !!batch.batchId && state.batches.has(batch.batchId);
      if (!duplicate) state.batches.set(batch.batchId ?? `anon-${state.batches.size}`, batch);
      return answer(200, { success: true, data: { accepted: duplicate ? 0 : batch.events.length, duplicate } });
    }
    if (url.pathname === '/api/ingest/teardown') {
      const teardown = check(TeardownBody);
      if (!teardown) return answer(400, { success: false, error: 'invalid', code: 'VALIDATION_ERROR' });
      state.teardowns.push(teardown);
      // As the real server: the last events a teardown carries count as one more batch.
      if (teardown.events && !(teardown.batchId && state.batches.has(teardown.batchId))) {
        state.batches.set(teardown.batchId ?? `anon-${state.batches.size}`, {
          sessionId: teardown.sessionId,
          batchId: teardown.batchId,
          events: teardown.events,
        });
      }
      return answer(200, { success: true, data: { taskId: teardown.sessionId.replace(/^s-/, 't-'), status: teardown.status } });
    }
    return answer(404, { success: false, error: 'no route', code: 'NOT_FOUND' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

/** A port nobody listens on: "the server is down". */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return `http://127.0.0.1:${port}`;
}
