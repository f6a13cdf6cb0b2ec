// The error half of the API envelope: `{ success: false, error, code }` with the right status.
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const notFound = (what = 'Resource') => new ApiError(404, 'NOT_FOUND', `${what} not found`);
export const forbidden = (message = 'Your role does not allow this action') => new ApiError(403, 'FORBIDDEN', message);
export const unauthorized = (message = 'Authentication required') => new ApiError(401, 'UNAUTHORIZED', message);
/** The agent protocol's answer to an agent touching a job it does not hold: for it, the job does not exist. */
export const leaseNotHeld = () =>
  new ApiError(404, 'LEASE_NOT_HELD', 'This job is not leased to this agent (it was cancelled, finished, or given to another agent)');
export const conflict = (code: string, message: string) => new ApiError(409, code, message);
export const tooManyRequests = (retryAfterSeconds: number, code = 'RATE_LIMITED', message = 'Too many requests') =>
  new ApiError(429, code, message, { retryAfter: retryAfterSeconds }, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });

export function errorBody(err: ApiError) {
  return { success: false as const, error: err.message, code: err.code, ...err.extra };
}

/** The same envelope as a Response, for a Durable Object answering a request the Worker forwarded. */
export const errorResponse = (err: ApiError) => Response.json(errorBody(err), { status: err.status, headers: err.headers });
