// The HTTP plumbing the local fakes (Gemini, Slack, SendGrid) share: read the whole body, listen on
// 127.0.0.1, stop. `node:http` is imported lazily because workerd tests import the fakes' fetch-only
// control clients from the same files.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type LoopbackRequest = { req: IncomingMessage; res: ServerResponse; body: string; url: URL };
export type LoopbackServer = { url: string; stop(): Promise<void> };

/** Starts a server on 127.0.0.1 (`port` undefined or 0: any free port) calling `handle` with each full request. */
export async function startLoopbackServer(port: number | undefined, handle: (request: LoopbackRequest) => void): Promise<LoopbackServer> {
  const http = await import('node:http');
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle({ req, res, body: Buffer.concat(chunks).toString('utf8'), url: new URL(req.url ?? '/', 'http://fake') }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port ?? 0, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
