// One HTTP call to the ingest API with a timeout. Never throws: the outcome says whether the call
// can be retried and how long the server asked us to wait (429 Retry-After).

export type CallOutcome<T> =
  | { ok: true; status: number; data: T }
  | { ok: false; status: number; retryable: boolean; retryAfterMs?: number; error: string };

export type CallInit = { apiKey: string; timeoutMs: number; signal?: AbortSignal; contentType?: string; userAgent: string };

/** POST `body` (JSON-encoded unless it is bytes) and unwrap the `{ success, data }` envelope. */
export async function post<T>(url: string, body: unknown, init: CallInit): Promise<CallOutcome<T>> {
  const timeout = AbortSignal.timeout(Math.max(1, init.timeoutMs));
  const signal = init.signal ? AbortSignal.any([timeout, init.signal]) : timeout;
  const bytes = body instanceof Uint8Array;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': bytes ? init.contentType ?? 'application/octet-stream' : 'application/json',
        'x-api-key': init.apiKey,
        'user-agent': init.userAgent,
      },
      body: bytes ? body : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    const why = timeout.aborted ? `timed out after ${init.timeoutMs} ms` : init.signal?.aborted ? 'aborted' : describe(err);
    return { ok: false, status: 0, retryable: true, error: why };
  }
  let text = '';
  try {
    text = await res.text();
  } catch (err) {
    return { ok: false, status: res.status, retryable: true, error: `reading the answer failed: ${describe(err)}` };
  }
  let json: { success?: boolean; data?: T; error?: string } | undefined;
  try { json = text ? JSON.parse(text) : undefined; } catch { /* not JSON (a proxy's error page) */ }
  if (res.ok && json?.success) return { ok: true, status: res.status, data: json.data as T };
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500 || (res.ok && !json?.success);
  return {
    ok: false,
    status: res.status,
    retryable,
    retryAfterMs: retryAfter(res.headers.get('retry-after')),
    error: `HTTP ${res.status}${json?.error ? `: ${json.error}` : ''}`,
  };
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

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}
