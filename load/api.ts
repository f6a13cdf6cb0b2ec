// The load run's own calls to the control plane (setup, run requests, tickets, read-backs): the
// JSON envelope, and 429 handled as a client should (wait Retry-After, try again). Every answer
// is also counted by the process's HttpStats (http-stats.ts wraps fetch).

export type Auth = { token?: string; apiKey?: string };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Api {
  /** Calls that waited out a 429 and tried again. */
  retriedAfter429 = 0;
  constructor(readonly url: string) {}

  async call<T = any>(method: string, path: string, opts: Auth & { body?: unknown; headers?: Record<string, string> } = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (opts.apiKey) headers['x-api-key'] = opts.apiKey;
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(this.url + path, {
        method,
        headers,
        body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(60_000),
      });
      const text = await res.text();
      if (res.status === 429 && attempt < 6) {
        this.retriedAfter429++;
        await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
        continue;
      }
      let json: { success?: boolean; data?: T; error?: string } | undefined;
      try {
        json = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      if (!res.ok || !json?.success) throw new ApiError(res.status, `${method} ${path} → ${res.status} ${json?.error ?? text.slice(0, 200)}`);
      return json.data as T;
    }
  }
}
