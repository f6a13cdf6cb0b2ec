// A proxy in front of the real control plane that rewrites the job in poll answers: the stand-in for a
// control plane (compromised, misconfigured or newer) that sends a payload the agent must not trust.
// Every other request, and the WebSocket upgrades, pass through unchanged, unless `intercept` (for
// tests that need a request to fail or wait at a moment they choose) says otherwise.
import http from 'node:http';
import net from 'node:net';

type JobPayload = Record<string, unknown>;
export type JobRewritingProxy = { url: string; close: () => Promise<void> };
/**
 * What to do with one request (`intercept` may first wait on a promise the test controls, holding
 * the request): pass it on; answer `status` without passing it on; or pass it on at once and hold
 * the answer until `answerAfter` settles (the control plane has acted on it; the caller waits).
 */
export type Interception = 'pass' | { status: number } | { answerAfter: Promise<unknown> };

const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade']);

/**
 * `onAnswer` sees every proxied request's method, path and status (for tests that count answers);
 * `intercept` may answer a request itself or hold it (for tests of late or failed answers);
 * `onRequest` sees every request's method, path and body as the agent sent it (for tests of what leaves the agent).
 */
export async function startJobRewritingProxy(
  target: string,
  rewrite: (job: JobPayload) => JobPayload,
  onAnswer?: (method: string, path: string, status: number) => void,
  intercept?: (method: string, path: string) => Interception | Promise<Interception>,
  onRequest?: (method: string, path: string, body: Buffer) => void,
): Promise<JobRewritingProxy> {
  const { hostname, port } = new URL(target);
  const server = http.createServer(async (req, res) => {
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      onRequest?.(req.method ?? 'GET', req.url ?? '', Buffer.concat(chunks));
      const action = (await intercept?.(req.method ?? 'GET', req.url ?? '')) ?? 'pass';
      if (typeof action === 'object' && 'status' in action) {
        onAnswer?.(req.method ?? 'GET', req.url ?? '', action.status);
        res.writeHead(action.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ success: false, error: 'injected by the test proxy', code: 'TEST_INJECTED' }));
        return;
      }
      const headers = Object.fromEntries(
        Object.entries(req.headers)
          .filter(([k]) => !HOP_BY_HOP.has(k))
          .map(([k, v]) => [k, String(v)]),
      );
      const up = await fetch(target + req.url, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined, redirect: 'manual' });
      let body = Buffer.from(await up.arrayBuffer());
      if (req.url === '/api/agent/poll' && up.status === 200) {
        const envelope = JSON.parse(body.toString('utf8')) as { data: { job: JobPayload } };
        envelope.data.job = rewrite(envelope.data.job);
        body = Buffer.from(JSON.stringify(envelope));
      }
      onAnswer?.(req.method ?? 'GET', req.url ?? '', up.status);
      if (typeof action === 'object') await action.answerAfter;
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
      res.end(body);
    } catch (err) {
      res.writeHead(502).end(String(err));
    }
  });
  const tunnels = new Set<net.Socket>();
  server.on('upgrade', (req, socket, head) => {
    tunnels.add(socket as net.Socket);
    socket.on('close', () => tunnels.delete(socket as net.Socket));
    const upstream = net.connect(Number(port), hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port: own } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${own}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of tunnels) s.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
