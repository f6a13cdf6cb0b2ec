// The reporter's one HTTP call (node:http, not fetch) against a local server that misbehaves in the
// ways networks do: every outcome is a value, never a throw or a hang, and connections are reused.
import { subscribe } from 'node:diagnostics_channel';
import { type ClientRequest, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, post } from '../src/http';
import { startBlackhole } from './support/blackhole';
import { until } from './support/until';

const sockets = new Set<Socket>();
let base = '';
const seenBodies: unknown[] = [];
const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  switch (req.url) {
    case '/ok':
      seenBodies.push({ body: body ? JSON.parse(body) : null, key: req.headers['x-api-key'], type: req.headers['content-type'] });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ success: true, data: { port: req.socket.remotePort } }));
      return;
    case '/busy':
      res.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' }).end(JSON.stringify({ success: false, error: 'slow down' }));
      return;
    case '/proxy-page':
      res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad gateway</html>');
      return;
    case '/refused':
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ success: false, error: 'Invalid or revoked API key' }));
      return;
    case '/cut':
      // Headers and half an answer, then the connection dies.
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"success":tr');
      setImmediate(() => req.socket.destroy());
      return;
    case '/hang':
      hangs++;
      return; // never answers
    case '/silent':
      return; // never answers (not counted)
    case '/drops-idle': {
      // Answers the first request of a connection; drops the connection at the second, as a server
      // that timed out an idle keep-alive connection just as the client reused it.
      const served = servedOn.get(req.socket) ?? 0;
      servedOn.set(req.socket, served + 1);
      if (served > 0) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ success: true, data: { port: req.socket.remotePort } }));
      return;
    }
  }
});
const servedOn = new WeakMap<Socket, number>();
let hangs = 0;

// Every /hang request the client makes, and how many of them have closed: a copy sent after the
// call gave up would start before the given-up request's 'close'.
const hangCalls = { started: 0, closed: 0 };
subscribe('http.client.request.start', (message) => {
  const request = (message as { request: ClientRequest }).request;
  if (request.path !== '/hang') return;
  hangCalls.started++;
  request.once('close', () => {
    hangCalls.closed++;
  });
});
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

const init = { apiKey: 'k-1', userAgent: 'test', timeoutMs: 5_000 };

describe('reporter http', () => {
  it('posts JSON with the key, unwraps the envelope, and reuses one connection for calls in a row', async () => {
    const a = await post<{ port: number }>(`${base}/ok`, { n: 1 }, init);
    const b = await post<{ port: number }>(`${base}/ok`, { n: 2 }, init);
    const c = await get<{ port: number }>(`${base}/ok`, init);
    expect(a.ok && b.ok && c.ok).toBe(true);
    if (!a.ok || !b.ok || !c.ok) return;
    expect(new Set([a.data.port, b.data.port, c.data.port]).size).toBe(1);
    expect(seenBodies.slice(-3)).toEqual([
      { body: { n: 1 }, key: 'k-1', type: 'application/json' },
      { body: { n: 2 }, key: 'k-1', type: 'application/json' },
      { body: null, key: 'k-1', type: undefined },
    ]);
  });

  it('says what failed and whether to retry: 429 with Retry-After, a proxy page, a refused key, a dead port', async () => {
    expect(await post(`${base}/busy`, {}, init)).toEqual({ ok: false, status: 429, retryable: true, retryAfterMs: 7_000, error: 'HTTP 429: slow down' });
    expect(await post(`${base}/proxy-page`, {}, init)).toMatchObject({ ok: false, status: 502, retryable: true, error: 'HTTP 502' });
    expect(await post(`${base}/refused`, {}, init)).toMatchObject({ ok: false, status: 401, retryable: false, error: 'HTTP 401: Invalid or revoked API key' });
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect(await post(`http://127.0.0.1:${port}/x`, {}, init)).toEqual({ ok: false, status: 0, retryable: true, error: 'ECONNREFUSED', unreachable: true });
  });

  it('tells a server it cannot connect to (dropped connection attempts) from one that is slow to answer', async () => {
    const hole = await startBlackhole();
    try {
      const t0 = performance.now();
      expect(await post(`${hole.url}/x`, {}, { ...init, connectTimeoutMs: 300 })).toEqual({
        ok: false,
        status: 0,
        retryable: true,
        error: 'no connection after 300 ms',
        unreachable: true,
      });
      expect(performance.now() - t0).toBeLessThan(2_000);
    } finally {
      hole.close();
    }
    // Connected, no answer: a timeout, not unreachable (connectTimeoutMs does not cut a slow answer).
    expect(await post(`${base}/silent`, {}, { ...init, timeoutMs: 400, connectTimeoutMs: 100 })).toEqual({
      ok: false,
      status: 0,
      retryable: true,
      error: 'timed out after 400 ms',
    });
  });

  it('sends once more on a fresh connection when a kept-alive one was dropped as it was reused', async () => {
    const first = await post<{ port: number }>(`${base}/drops-idle`, { n: 1 }, init);
    const second = await post<{ port: number }>(`${base}/drops-idle`, { n: 2 }, init);
    expect(first.ok && second.ok).toBe(true);
    if (first.ok && second.ok) expect(second.data.port).not.toBe(first.data.port);
  });

  it('turns an answer cut off midway into a retryable failure', async () => {
    const out = await post(`${base}/cut`, {}, init);
    expect(out).toMatchObject({ ok: false, retryable: true });
    expect(out.ok ? '' : out.error).toMatch(/reading the answer failed|ECONNRESET|socket hang up/);
  });

  it('gives up at its timeout, and at once when its signal aborts, and sends no copy after giving up', async () => {
    // Each call goes out on a kept-alive connection, the case where a failure may be answered by a resend.
    expect((await post(`${base}/ok`, {}, init)).ok).toBe(true);
    const t0 = performance.now();
    expect(await post(`${base}/hang`, {}, { ...init, timeoutMs: 300 })).toEqual({ ok: false, status: 0, retryable: true, error: 'timed out after 300 ms' });
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(5_000);
    expect((await post(`${base}/ok`, {}, init)).ok).toBe(true);
    const abort = new AbortController();
    const pending = post(`${base}/hang`, {}, { ...init, signal: abort.signal });
    await until('the server to get the request', () => hangs === 2, 10_000);
    abort.abort();
    expect(await pending).toEqual({ ok: false, status: 0, retryable: true, error: 'aborted' });
    await until('both requests to close', () => hangCalls.closed === hangCalls.started, 10_000);
    expect(hangCalls.started).toBe(2);
  });
});
