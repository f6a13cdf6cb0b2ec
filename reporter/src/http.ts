// One HTTP call to the ingest API with a timeout. Never throws: the outcome says whether the call
// can be retried and how long the server asked us to wait (429 Retry-After).
//
// node:http rather than fetch: the reporter runs inside the user's Playwright runner, and fetch's
// first call loads undici, zlib and web streams (about 70 ms of the runner's CPU per run).
import http from 'node:http';
import https from 'node:https';

/** `unreachable`: the call never got a connection (refused, no route, connection attempts unanswered). */
export type CallOutcome<T> =
  | { ok: true; status: number; data: T }
  | { ok: false; status: number; retryable: boolean; retryAfterMs?: number; error: string; unreachable?: true };

/** `connectTimeoutMs`: give up sooner when no connection is made (a dropped SYN is retried for minutes). */
export type CallInit = { apiKey: string; timeoutMs: number; connectTimeoutMs?: number; signal?: AbortSignal; contentType?: string; userAgent: string };

/** Answers larger than this are not read to the end (the API's answers are small). */
const MAX_ANSWER_BYTES = 1024 * 1024;

// Connections are reused between batches; idle ones never keep the user's process alive (Node
// unrefs an agent's free sockets).
const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

/** POST `body` (JSON-encoded unless it is bytes) and unwrap the `{ success, data }` envelope. */
export function post<T>(url: string, body: unknown, init: CallInit): Promise<CallOutcome<T>> {
  const bytes = body instanceof Uint8Array;
  const payload = bytes ? body : Buffer.from(JSON.stringify(body));
  return call<T>('POST', url, init, payload, bytes ? (init.contentType ?? 'application/octet-stream') : 'application/json');
}

/** GET `url` and unwrap the envelope. */
export function get<T>(url: string, init: CallInit): Promise<CallOutcome<T>> {
  return call<T>('GET', url, init);
}

function call<T>(method: string, url: string, init: CallInit, payload?: Uint8Array, contentType?: string): Promise<CallOutcome<T>> {
  return new Promise((resolve) => {
    let req: http.ClientRequest | undefined;
    let settled = false;
    let connected = false;
    const done = (outcome: CallOutcome<T>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(connectTimer);
      init.signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    // A failed call gives up its connection; a finished one leaves it to the agent for the next call.
    const fail = (error: string, status = 0) => {
      if (!settled) req?.destroy();
      done({ ok: false, status, retryable: true, error, ...(status === 0 && !connected ? { unreachable: true as const } : {}) });
    };
    const onAbort = () => fail('aborted');
    const timer = setTimeout(() => fail(`timed out after ${init.timeoutMs} ms`), Math.max(1, init.timeoutMs));
    timer.unref();
    const connectTimer =
      init.connectTimeoutMs !== undefined && init.connectTimeoutMs < init.timeoutMs
        ? setTimeout(
            () => {
              if (!connected) fail(`no connection after ${init.connectTimeoutMs} ms`);
            },
            Math.max(1, init.connectTimeoutMs),
          )
        : undefined;
    connectTimer?.unref();
    if (init.signal?.aborted) return fail('aborted');
    init.signal?.addEventListener('abort', onAbort, { once: true });

    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return done({ ok: false, status: 0, retryable: false, error: `not a URL: ${url}` });
    }
    const secure = target.protocol === 'https:';
    const headers: http.OutgoingHttpHeaders = { 'x-api-key': init.apiKey, 'user-agent': init.userAgent, accept: 'application/json' };
    if (payload) Object.assign(headers, { 'content-type': contentType, 'content-length': payload.byteLength });
    const send = (retry: boolean) => {
      let answered = false;
      const r = (secure ? https : http).request(target, { method, headers, agent: secure ? agents.https : agents.http }, (res) => {
        answered = true;
        const parts: Buffer[] = [];
        let size = 0;
        res.on('data', (d: Buffer) => {
          size += d.length;
          if (size <= MAX_ANSWER_BYTES) parts.push(d);
        });
        res.on('error', (err) => fail(`reading the answer failed: ${describeError(err)}`, res.statusCode ?? 0));
        res.on('end', () => done(outcomeOf<T>(res.statusCode ?? 0, res.headers['retry-after'], Buffer.concat(parts).toString('utf8'))));
        res.on('close', () => {
          if (!res.complete) fail('reading the answer failed: connection closed', res.statusCode ?? 0);
        });
      });
      req = r;
      connected = false;
      r.on('socket', (socket) => {
        if (!socket.connecting)
          connected = true; // a kept-alive connection
        else
          socket.once('connect', () => {
            connected = true;
          });
      });
      r.on('error', (err: NodeJS.ErrnoException) => {
        if (settled) return; // our own destroy() after a timeout or an abort
        // A kept-alive connection the server (or a proxy) closed just as it was reused: the request
        // did not get through, so it goes once more on a fresh connection, as Node's docs advise.
        if (retry && r.reusedSocket && !answered && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) return send(false);
        fail(describeError(err));
      });
      r.end(payload);
    };
    try {
      send(true);
    } catch (err) {
      done({ ok: false, status: 0, retryable: false, error: describeError(err) });
    }
  });
}

function outcomeOf<T>(status: number, retryAfterHeader: string | undefined, text: string): CallOutcome<T> {
  let json: { success?: boolean; data?: T; error?: string } | undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON (a proxy's error page) */
  }
  const ok = status >= 200 && status < 300;
  if (ok && json?.success) return { ok: true, status, data: json.data as T };
  const retryable = status === 408 || status === 429 || status >= 500 || (ok && !json?.success);
  return { ok: false, status, retryable, retryAfterMs: retryAfter(retryAfterHeader ?? null), error: `HTTP ${status}${json?.error ? `: ${json.error}` : ''}` };
}

/** Retry-After as seconds or an HTTP date, in ms. */
export function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Exponential backoff with full jitter: 0.5 s, 1 s, 2 s, … capped. */
export function backoffMs(failures: number, capMs = 30_000): number {
  const base = Math.min(capMs, 500 * 2 ** Math.max(0, failures - 1));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

function describeError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e?.code ?? e?.message ?? String(err);
}
