// The success half of the envelope, and input parsing that turns bad input into 400s with zod's issues.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { ApiError } from './errors';

export function ok<T>(c: Context, data: T, status: ContentfulStatusCode = 200) {
  return c.json({ success: true as const, data }, status);
}

function validationError(error: z.ZodError, where: string): ApiError {
  const first = error.issues[0];
  const path = first?.path.length ? `${first.path.join('.')}: ` : '';
  return new ApiError(400, 'VALIDATION_ERROR', `Invalid ${where}: ${path}${first?.message ?? 'invalid'}`, {
    issues: error.issues.map((i) => ({ path: i.path.map(String), message: i.message, code: i.code })),
  });
}

export function parse<S extends z.ZodType>(schema: S, value: unknown, where = 'input'): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, where);
  return result.data;
}

/** Reads and validates a JSON body, as UTF-8 whatever the Content-Type says (decoded here, so workerd does not warn about it). */
export async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  let raw: unknown;
  const text = new TextDecoder().decode(await c.req.arrayBuffer());
  try {
    raw = text.length ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(400, 'INVALID_JSON', 'Request body is not valid JSON');
  }
  if (raw === undefined) {
    const empty = schema.safeParse(undefined);
    if (empty.success) return empty.data;
    throw new ApiError(400, 'VALIDATION_ERROR', 'Request body is required', { issues: [] });
  }
  return parse(schema, raw, 'request body');
}

export const readQuery = <S extends z.ZodType>(c: Context, schema: S): z.output<S> => parse(schema, c.req.query(), 'query');

/** Client address: on Cloudflare the edge sets CF-Connecting-IP. */
export const clientIp = (c: Context) => c.req.header('cf-connecting-ip') ?? 'unknown';

/**
 * Responses from a Durable Object stub have immutable headers; copying them lets middleware add
 * headers. A 101 keeps its webSocket.
 */
export function relay(res: Response): Response {
  if (res.status === 101) return new Response(null, { status: 101, webSocket: res.webSocket });
  return new Response(res.body, res);
}
