// HTTP to the control plane: the JSON envelope, Bearer/x-api-key auth, and retries with jittered
// backoff for what is worth retrying (network errors, 5xx, 429 with Retry-After). 4xx are final.
import { Backoff, sleep } from './backoff';

export class ControlPlaneError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ControlPlaneError';
  }
  /** Network failures (status 0), 5xx and 429 may succeed later. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export type RequestOptions = {
  body?: unknown;
  /** Raw bytes instead of JSON (artifact uploads). */
  raw?: Uint8Array;
  /** Content type of `raw` (default application/octet-stream). */
  contentType?: string;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
  /** Attempts in total (1 = no retry). */
  attempts?: number;
  /** Per-attempt timeout. */
  timeoutMs?: number;
  /** Told of each failed attempt that will be retried (for the caller's log). */
  onRetry?: (err: ControlPlaneError, attempt: number, waitMs: number) => void;
};

export type Auth = { bearer?: string; apiKey?: string };

export class ControlPlaneClient {
  readonly baseUrl: string;
  constructor(
    baseUrl: string,
    public auth: Auth = {},
    private readonly userAgent = 'agnox-agent',
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  url(path: string, query?: RequestOptions['query']): string {
    const u = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /** The WebSocket URL of a path (http→ws, https→wss). */
  wsUrl(path: string, query?: RequestOptions['query']): string {
    return this.url(path, query).replace(/^http/, 'ws');
  }

  headers(): Record<string, string> {
    const h: Record<string, string> = { 'user-agent': this.userAgent };
    if (this.auth.bearer) h.authorization = `Bearer ${this.auth.bearer}`;
    if (this.auth.apiKey) h['x-api-key'] = this.auth.apiKey;
    return h;
  }

  /** Returns `data` of the envelope, or null for 204. Throws ControlPlaneError. */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T | null> {
    const attempts = opts.attempts ?? 4;
    const backoff = new Backoff(300, 10_000);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(method, path, opts);
      } catch (err) {
        const e = err instanceof ControlPlaneError ? err : new ControlPlaneError(0, 'NETWORK', String(err));
        if (!e.retryable || attempt >= attempts || opts.signal?.aborted) throw e;
        const waitMs = e.retryAfterMs ?? backoff.next();
        opts.onRetry?.(e, attempt, waitMs);
        await sleep(waitMs, opts.signal);
        if (opts.signal?.aborted) throw e;
      }
    }
  }

  private async once<T>(method: string, path: string, opts: RequestOptions): Promise<T | null> {
    const headers = this.headers();
    let body: RequestInit['body'];
    if (opts.raw) {
      body = opts.raw as unknown as RequestInit['body'];
      headers['content-type'] = opts.contentType ?? 'application/octet-stream';
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const signals = [opts.signal, opts.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : undefined].filter((s): s is AbortSignal => !!s);
    let res: Response;
    try {
      res = await fetch(this.url(path, opts.query), { method, headers, body, signal: signals.length ? AbortSignal.any(signals) : undefined });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new ControlPlaneError(0, 'NETWORK', `${method} ${path}: ${cause ?? (err as Error).message}`);
    }
    if (res.status === 204) return null;
    const text = await res.text();
    let json: { success?: boolean; data?: T; error?: string; code?: string } | undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.ok && json?.success !== false) return (json?.data ?? null) as T | null;
    const retryAfter = Number(res.headers.get('retry-after'));
    throw new ControlPlaneError(
      res.status,
      json?.code ?? `HTTP_${res.status}`,
      `${method} ${path}: ${res.status} ${json?.error ?? text.slice(0, 300)}`,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
    );
  }
}
