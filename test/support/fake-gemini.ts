// A local stand-in for Gemini's `generateContent` endpoint, speaking its real wire format, so the real
// `@google/genai` client can be pointed at it (GEMINI_BASE_URL → httpOptions.baseUrl). It records every request and
// answers what a test scripted for requests whose body contains a marker (e.g. a project name), so test
// files running in parallel do not see each other's answers.
//
// Two halves:
// - `startFakeGemini()` (Node only): the HTTP server; started by the worker project's globalSetup.
// - `fakeGemini(url)`: a fetch-only control client, usable from workerd tests too.
//
// Control endpoints (JSON): POST /__fake/script {match, reply}; GET /__fake/requests?match=…; POST /__fake/release
// (answers every held request, and later ones at once); POST /__fake/reset.

/** What the fake answers to a matching generateContent request. */
import { startLoopbackServer } from './loopback-server';

export type GeminiReply =
  /** A good answer: `value` is serialised as the JSON text of the candidate. */
  | { kind: 'json'; value: unknown }
  /** Raw candidate text (e.g. malformed JSON). */
  | { kind: 'text'; text: string }
  /** A 200 with no usable text, as Gemini answers a refusal: the prompt blocked (promptFeedback.blockReason, no
   * candidate) or the candidate withheld (finishReason, no content). */
  | { kind: 'blocked'; reason: string; stage: 'prompt' | 'answer' }
  /** An error in Gemini's error format, e.g. 429 RESOURCE_EXHAUSTED or 500 INTERNAL. */
  | { kind: 'status'; status: number; message?: string }
  /** Waits `ms` before answering `then` (default: a good empty object), to exercise timeouts. */
  | { kind: 'delay'; ms: number; then?: GeminiReply }
  /** Holds the answer `then` until POST /__fake/release, so a test can watch a run sit in ANALYZING. */
  | { kind: 'hold'; then: GeminiReply };

export type RecordedGeminiRequest = {
  at: number;
  method: string;
  path: string;
  model: string;
  apiKey: string | null;
  /** The raw request body as received. */
  body: string;
  /** All text parts of the request, joined (what the model would read). */
  promptText: string;
};

type Script = { match: string; reply: GeminiReply };

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

export type FakeGeminiServer = { url: string; requests: RecordedGeminiRequest[]; stop(): Promise<void> };

/** Starts the fake on 127.0.0.1 (port 0 = any free port). */
export async function startFakeGemini(opts: { port?: number } = {}): Promise<FakeGeminiServer> {
  const requests: RecordedGeminiRequest[] = [];
  let scripts: Script[] = [];
  let held: Array<() => void> = [];
  let released = false;

  const server = await startLoopbackServer(opts.port, ({ req, res, body, url }) => {
    const send = (status: number, value: unknown) => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };

    if (url.pathname === '/__fake/script' && req.method === 'POST') {
      const script = JSON.parse(body) as Script;
      scripts = [script, ...scripts.filter((s) => s.match !== script.match)];
      return send(200, { ok: true });
    }
    if (url.pathname === '/__fake/requests' && req.method === 'GET') {
      const match = url.searchParams.get('match');
      return send(200, match ? requests.filter((r) => r.body.includes(match)) : requests);
    }
    if (url.pathname === '/__fake/release' && req.method === 'POST') {
      released = true;
      for (const answerHeld of held.splice(0)) answerHeld();
      return send(200, { ok: true });
    }
    if (url.pathname === '/__fake/reset' && req.method === 'POST') {
      requests.length = 0;
      scripts = [];
      held = [];
      released = false;
      return send(200, { ok: true });
    }

    const m = /^\/(v1beta|v1)\/models\/([^/:]+):generateContent$/.exec(url.pathname);
    if (!m || req.method !== 'POST') return send(404, { error: { code: 404, message: `Not found: ${req.method} ${url.pathname}`, status: 'NOT_FOUND' } });
    requests.push({
      at: Date.now(),
      method: req.method,
      path: url.pathname,
      model: m[2]!,
      apiKey: (req.headers['x-goog-api-key'] as string | undefined) ?? null,
      body,
      promptText: promptTextOf(body),
    });
    const script = scripts.find((s) => body.includes(s.match));
    if (!script) return send(500, { error: { code: 500, message: 'fake-gemini: no reply scripted for this request', status: 'INTERNAL' } });
    answer(script.reply);

    function answer(reply: GeminiReply) {
      switch (reply.kind) {
        case 'json':
          return send(200, candidate(JSON.stringify(reply.value)));
        case 'text':
          return send(200, candidate(reply.text));
        case 'blocked':
          return send(200, refusal(reply.reason, reply.stage));
        case 'status':
          return send(reply.status, {
            error: { code: reply.status, message: reply.message ?? `fake ${reply.status}`, status: STATUS_NAMES[reply.status] ?? 'UNKNOWN' },
          });
        case 'hold':
          if (released) return answer(reply.then);
          held.push(() => answer(reply.then));
          return;
        case 'delay': {
          const timer = setTimeout(() => answer(reply.then ?? { kind: 'json', value: {} }), reply.ms);
          res.on('close', () => clearTimeout(timer));
          return;
        }
      }
    }
  });
  return { url: server.url, requests, stop: server.stop };
}

/** Gemini's generateContent answer with one candidate. */
function candidate(text: string) {
  return {
    candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 50, totalTokenCount: 150 },
    modelVersion: 'fake-gemini',
  };
}

/** Gemini's generateContent answer when it refuses: the shapes the API sends for a blocked prompt or answer. */
function refusal(reason: string, stage: 'prompt' | 'answer') {
  const usageMetadata = { promptTokenCount: 100, totalTokenCount: 100 };
  return stage === 'prompt'
    ? { promptFeedback: { blockReason: reason }, usageMetadata, modelVersion: 'fake-gemini' }
    : { candidates: [{ finishReason: reason, index: 0 }], usageMetadata, modelVersion: 'fake-gemini' };
}

function promptTextOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { contents?: Array<{ parts?: Array<{ text?: string }> }>; systemInstruction?: { parts?: Array<{ text?: string }> } };
    const parts = [...(parsed.systemInstruction?.parts ?? []), ...(parsed.contents ?? []).flatMap((c) => c.parts ?? [])];
    return parts.map((p) => p.text ?? '').join('\n');
  } catch {
    return '';
  }
}

/** Control client for a running fake (fetch only: works in Node and in workerd). */
export function fakeGemini(baseUrl: string) {
  return {
    url: baseUrl,
    /** From now on, requests whose body contains `match` get `reply`. */
    async script(match: string, reply: GeminiReply): Promise<void> {
      const res = await fetch(`${baseUrl}/__fake/script`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ match, reply }),
      });
      if (!res.ok) throw new Error(`fake-gemini script failed: ${res.status}`);
    },
    /** Answers every held request (`hold` replies), and later ones at once. */
    async release(): Promise<void> {
      const res = await fetch(`${baseUrl}/__fake/release`, { method: 'POST' });
      if (!res.ok) throw new Error(`fake-gemini release failed: ${res.status}`);
    },
    /** The generateContent requests received whose body contains `match` (all when omitted). */
    async requests(match?: string): Promise<RecordedGeminiRequest[]> {
      const res = await fetch(`${baseUrl}/__fake/requests${match ? `?match=${encodeURIComponent(match)}` : ''}`);
      return (await res.json()) as RecordedGeminiRequest[];
    },
  };
}
