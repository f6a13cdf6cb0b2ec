// JSON calls to the Worker. The session lives in an HttpOnly cookie, so no token is ever held by page
// scripts: every call is same-origin with credentials. Failures become ApiError with the server's
// message; a 401 on anything but the login form means the session ended, and the app goes to log in.
// Every answer carries D1's bookmark (x-d1-bookmark); sending the newest one back lets the server read
// from any replica that has this tab's own writes (worker/middleware/d1-session.ts).

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: Array<{ path: string[]; message: string }>,
  ) {
    super(message);
  }
}

type Options = { method?: string; body?: unknown; signal?: AbortSignal };

let onSessionEnded: (() => void) | null = null;
/** Called when the server says the session is gone (expired, revoked, user removed). */
export const setSessionEndedHandler = (fn: (() => void) | null) => {
  onSessionEnded = fn;
};

const BOOKMARK_HEADER = 'x-d1-bookmark';
/** Kept for the tab (sessionStorage), so that a reload still reads this tab's own writes. */
const stored = (): string | null => {
  try {
    return sessionStorage.getItem(BOOKMARK_HEADER);
  } catch {
    return null; // storage refused (privacy settings): the bookmark lives in memory only
  }
};
let bookmark: string | null = stored();
/** The newest of two D1 bookmarks (they order as strings); a reply may arrive after a newer one. */
const newer = (a: string | null, b: string | null) => (a === null ? b : b === null || a > b ? a : b);
function keepBookmark(received: string | null) {
  const next = newer(bookmark, received);
  if (next === bookmark) return;
  bookmark = next;
  try {
    if (next) sessionStorage.setItem(BOOKMARK_HEADER, next);
  } catch {
    /* memory only */
  }
}

const AUTH_FORMS = ['/api/auth/login', '/api/auth/signup', '/api/invitations/accept', '/api/auth/me'];

export async function api<T>(path: string, { method = 'GET', body, signal }: Options = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(bookmark ? { [BOOKMARK_HEADER]: bookmark } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, 'NETWORK', 'Cannot reach the server; check your connection and try again');
  }
  keepBookmark(res.headers.get(BOOKMARK_HEADER));
  let json: { success?: boolean; data?: T; error?: string; code?: string; issues?: ApiError['issues'] } | null = null;
  try {
    json = await res.json();
  } catch {
    /* not JSON (a proxy error page) */
  }
  if (res.ok && json?.success) return json.data as T;
  if (res.status === 401 && !AUTH_FORMS.includes(path)) onSessionEnded?.();
  let message = json?.error ?? `Request failed (${res.status})`;
  const retry = res.headers.get('retry-after');
  if (res.status === 429 && retry && !/\d+ ?(s|sec|min)/.test(message)) message += ` (retry in ${retry} s)`;
  throw new ApiError(res.status, json?.code ?? 'HTTP_ERROR', message, json?.issues);
}

export const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));
