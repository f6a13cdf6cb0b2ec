// Counts every HTTP answer a load process gets, by status class and by route, and times the calls.
// The agent and the viewers call the global fetch (wrapped once per process); the reporter calls
// node:http, seen through Node's diagnostics channels. WebSocket handshakes are recorded by their
// owners through `record`.
import type { ClientRequest, IncomingMessage } from 'node:http';
import { subscribe } from 'node:diagnostics_channel';

export type Outcome = '1xx' | '2xx' | '3xx' | '4xx' | '429' | '5xx' | 'network' | 'timeout' | 'aborted';

export type HttpSnapshot = {
  byOutcome: Partial<Record<Outcome, number>>;
  /** "POST /api/agent/poll 204" → count. */
  byRouteStatus: Record<string, number>;
  /** route → durations (ms) of the timed routes. */
  latencies: Record<string, number[]>;
  /** A few examples of 4xx/5xx/network answers, for the report. */
  samples: string[];
};

export const emptySnapshot = (): HttpSnapshot => ({ byOutcome: {}, byRouteStatus: {}, latencies: {}, samples: [] });

/** Path segments that are ids (task ids, agent ids, keys) become `:id`, so routes group. */
export function routeOf(method: string, url: string): string {
  const path = new URL(url).pathname
    .split('/')
    .map((s) => (s.length >= 12 && /[\dA-Z]/.test(s) ? ':id' : s))
    .join('/');
  return `${method.toUpperCase()} ${path}`;
}

export function outcomeOf(status: number): Outcome {
  if (status === 429) return '429';
  return `${Math.min(5, Math.max(1, Math.floor(status / 100)))}xx` as Outcome;
}

export class HttpStats {
  readonly data: HttpSnapshot = emptySnapshot();
  constructor(private readonly timed: string[] = []) {}

  record(route: string, outcome: Outcome, status: number | string, ms?: number, detail?: string) {
    this.data.byOutcome[outcome] = (this.data.byOutcome[outcome] ?? 0) + 1;
    const key = `${route} ${status}`;
    this.data.byRouteStatus[key] = (this.data.byRouteStatus[key] ?? 0) + 1;
    if (ms !== undefined && this.timed.includes(route)) {
      this.data.latencies[route] ??= [];
      this.data.latencies[route].push(ms);
    }
    if (outcome !== '2xx' && outcome !== '1xx' && outcome !== 'aborted' && this.data.samples.length < 20)
      this.data.samples.push(`${key}${detail ? `: ${detail.slice(0, 200)}` : ''}`);
  }

  /** Adds another process's counts (sent over IPC). */
  merge(other: HttpSnapshot) {
    for (const [k, v] of Object.entries(other.byOutcome)) this.data.byOutcome[k as Outcome] = (this.data.byOutcome[k as Outcome] ?? 0) + v;
    for (const [k, v] of Object.entries(other.byRouteStatus)) this.data.byRouteStatus[k] = (this.data.byRouteStatus[k] ?? 0) + v;
    for (const [k, v] of Object.entries(other.latencies)) {
      this.data.latencies[k] ??= [];
      this.data.latencies[k].push(...v);
    }
    for (const s of other.samples) if (this.data.samples.length < 40) this.data.samples.push(s);
  }

  /** Wraps the global fetch of this process. */
  instrumentFetch() {
    const original = globalThis.fetch;
    globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
      const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
      const url = input instanceof Request ? input.url : String(input);
      const route = routeOf(method, url);
      const started = performance.now();
      try {
        const res = await original(input, init);
        const ms = performance.now() - started;
        const outcome = outcomeOf(res.status);
        if (outcome === '2xx' || outcome === '1xx' || outcome === '3xx') this.record(route, outcome, res.status, ms);
        else {
          // Peek at the error envelope for the report; the caller still reads the body.
          const text = await res
            .clone()
            .text()
            .catch(() => '');
          this.record(route, outcome, res.status, ms, text);
        }
        return res;
      } catch (err) {
        const name = (err as Error)?.name;
        const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
        const outcome: Outcome = name === 'TimeoutError' ? 'timeout' : name === 'AbortError' || signal?.aborted ? 'aborted' : 'network';
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        this.record(route, outcome, outcome, undefined, cause ?? (err as Error)?.message);
        throw err;
      }
    };
  }

  /** Sees node:http client calls of this process (the reporter's) through diagnostics channels. */
  instrumentNodeHttp() {
    subscribe('http.client.request.start', (message) => {
      const request = (message as { request: ClientRequest }).request;
      // WebSocket handshakes (the `ws` package uses node:http) are recorded by their owners.
      if (request.getHeader('upgrade')) return;
      const route = routeOf(request.method, `http://${request.host}${request.path}`);
      const started = performance.now();
      let answered = false;
      let sent = false;
      request.once('finish', () => {
        sent = true;
      });
      // Where a connection failed: a kept-alive connection closed by the server just as it was
      // reused (the reporter resends those once) differs from a reset of a call under way.
      const where = (phase: string) =>
        `${phase}, ${request.reusedSocket ? 'kept-alive' : 'new'} connection, after ${Math.round(performance.now() - started)} ms`;
      request.once('response', (res: IncomingMessage) => {
        answered = true;
        const status = res.statusCode ?? 0;
        res.once('end', () => this.record(route, outcomeOf(status), status, performance.now() - started));
        res.once('aborted', () => this.record(route, 'network', 'network', undefined, `answer cut off (${where('reading the answer')})`));
      });
      request.once('error', (err: NodeJS.ErrnoException) => {
        if (answered) return;
        answered = true;
        this.record(
          route,
          'network',
          'network',
          undefined,
          `${err.code ?? err.message} (${where(sent ? 'request sent, waiting for the answer' : 'sending the request')})`,
        );
      });
      // Destroyed before an answer without an error: the caller's timeout or abort.
      request.once('close', () => {
        if (!answered) this.record(route, 'aborted', 'aborted');
      });
    });
  }
}
