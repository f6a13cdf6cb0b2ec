// A stand-in for Gemini (unreachable from here): a local HTTP server speaking generateContent's wire
// format, so the Worker's real @google/generative-ai client talks to it through GEMINI_BASE_URL.
// Answers are held until release(), so a test can watch the run sit in ANALYZING first.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RootCause = { summary: string; likelyCause: string; category: string; suggestedFix: string; confidence: number };

export type FakeGemini = { url: string; prompts: string[]; release: () => void; close: () => Promise<void> };

export async function startFakeGemini(answer: RootCause): Promise<FakeGemini> {
  const prompts: string[] = [];
  let held: Array<() => void> = [];
  let released = false;
  const reply = (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: JSON.stringify(answer) }] }, finishReason: 'STOP', index: 0 }] }));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.method !== 'POST' || !/:generateContent$/.test(req.url ?? '')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 404, message: `no route ${req.method} ${req.url}` } }));
        return;
      }
      prompts.push(body);
      if (released) reply(res);
      else held.push(() => reply(res));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    prompts,
    release: () => { released = true; held.forEach((fn) => fn()); held = []; },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
