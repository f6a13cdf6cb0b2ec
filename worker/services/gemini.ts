// The one door to Gemini: the real `@google/genai` client (Google's maintained SDK; its `web` build is the one
// bundled for workerd), pointed at GEMINI_BASE_URL when set (proxies, tests), asked for JSON that matches a
// response schema, and the answer checked with zod. Every failure (no key, 429, 5xx, timeout, blocked,
// malformed JSON) becomes a GeminiError with a code, so callers can record why and carry on — nothing here
// may block a run. Callers build response schemas from the types re-exported here, so no other file imports the SDK.
import { ApiError, FinishReason, GoogleGenAI, Type, type GenerateContentResponse, type Schema } from '@google/genai';
import type { z } from 'zod';
import type { Env } from '../env';

/** Gemini's schema vocabulary, under the names the callers used with the old SDK (values are the API's upper-case enum). */
export { Type as SchemaType };
export type ResponseSchema = Schema;

export const DEFAULT_GEMINI_MODEL = 'gemini-2.5-flash';
export const DEFAULT_GEMINI_TIMEOUT_MS = 30_000;

export type GeminiErrorCode = 'NOT_CONFIGURED' | 'RATE_LIMITED' | 'UPSTREAM_ERROR' | 'TIMEOUT' | 'BLOCKED' | 'MALFORMED';

export class GeminiError extends Error {
  constructor(
    readonly code: GeminiErrorCode,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'GeminiError';
  }
}

export type GeminiConfig = { apiKey: string; model: string; baseUrl?: string };

/** The configuration, or null when the feature is off (no GEMINI_API_KEY). */
export function geminiConfig(env: Pick<Env, 'GEMINI_API_KEY' | 'GEMINI_MODEL' | 'GEMINI_BASE_URL'>): GeminiConfig | null {
  const apiKey = env.GEMINI_API_KEY?.trim();
  if (!apiKey) return null;
  return { apiKey, model: env.GEMINI_MODEL?.trim() || DEFAULT_GEMINI_MODEL, baseUrl: env.GEMINI_BASE_URL?.trim().replace(/\/+$/, '') || undefined };
}

export type GenerateJsonOptions<T> = {
  env: Pick<Env, 'GEMINI_API_KEY' | 'GEMINI_MODEL' | 'GEMINI_BASE_URL'>;
  prompt: string;
  /** Validates the parsed answer; its failure is MALFORMED. */
  schema: z.ZodType<T>;
  /** Gemini's own schema for the answer (generationConfig.responseSchema). */
  responseSchema: ResponseSchema;
  systemInstruction?: string;
  timeoutMs?: number;
  maxOutputTokens?: number;
  temperature?: number;
};

export type GenerateJsonResult<T> = { data: T; model: string; usage?: { promptTokens?: number; outputTokens?: number } };

/** Asks Gemini for one JSON answer. Throws GeminiError (never anything else). */
export async function generateJson<T>(opts: GenerateJsonOptions<T>): Promise<GenerateJsonResult<T>> {
  const config = geminiConfig(opts.env);
  if (!config) throw new GeminiError('NOT_CONFIGURED', 'AI analysis is off: GEMINI_API_KEY is not set');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_GEMINI_TIMEOUT_MS;
  const ai = new GoogleGenAI({
    apiKey: config.apiKey,
    httpOptions: {
      baseUrl: config.baseUrl,
      // The SDK's default for the Gemini API is v1; the old client (and the URL the fake and proxies were set up
      // for) used v1beta, where responseSchema and systemInstruction have always been accepted.
      apiVersion: 'v1beta',
      // Aborts the fetch, and the body read after it, once this many ms have passed.
      timeout: timeoutMs,
      // No retryOptions on purpose: the SDK then makes exactly one attempt, as the old client did. A retry would
      // spend more of the org's AI budget and could outlive the caller's deadline (runs sit in ANALYZING meanwhile).
      // The Worker's own fetch, passed explicitly: without it the SDK sees process.versions.node (nodejs_compat
      // sets it in workerd) and adds a Node/undici `dispatcher` to every request, which workerd only ignores.
      fetch: (input, init) => fetch(input, init),
    },
  });

  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The client's own timeout aborts fetch; this race also covers anything after it that never settles.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new GeminiError('TIMEOUT', `Gemini did not answer within ${timeoutMs} ms`));
    }, timeoutMs + 250);
  });
  let text: string;
  let usage: GenerateJsonResult<T>['usage'];
  try {
    const response = await Promise.race([
      ai.models.generateContent({
        model: config.model,
        contents: opts.prompt,
        config: {
          systemInstruction: opts.systemInstruction,
          responseMimeType: 'application/json',
          responseSchema: opts.responseSchema,
          maxOutputTokens: opts.maxOutputTokens ?? 2048,
          temperature: opts.temperature ?? 0.2,
          abortSignal: controller.signal,
        },
      }),
      deadline,
    ]);
    text = answerText(response);
    const meta = response.usageMetadata;
    usage = meta ? { promptTokens: meta.promptTokenCount, outputTokens: meta.candidatesTokenCount } : undefined;
  } catch (err) {
    throw toGeminiError(err, timeoutMs);
  } finally {
    clearTimeout(timer);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(stripCodeFence(text));
  } catch {
    throw new GeminiError('MALFORMED', `Gemini answered text that is not JSON: ${preview(text)}`);
  }
  const checked = opts.schema.safeParse(parsed);
  if (!checked.success) {
    const issues = checked.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new GeminiError('MALFORMED', `Gemini's answer does not match the expected shape: ${issues}`);
  }
  return { data: checked.data, model: config.model, usage };
}

/** Finish reasons that mean the answer was withheld. The old SDK refused text for the first three; the others are
 * the same refusal under names Gemini added since (a truncated answer, MAX_TOKENS, is left to fail as MALFORMED). */
const BLOCKED_FINISH_REASONS: ReadonlySet<string> = new Set([
  FinishReason.SAFETY,
  FinishReason.RECITATION,
  FinishReason.LANGUAGE,
  FinishReason.BLOCKLIST,
  FinishReason.PROHIBITED_CONTENT,
  FinishReason.SPII,
]);

/** The first candidate's text; a blocked prompt or a withheld candidate is BLOCKED, as the old SDK's text() threw. */
function answerText(response: GenerateContentResponse): string {
  const first = response.candidates?.[0];
  if (!first) {
    const feedback = response.promptFeedback;
    if (feedback) {
      const why = `${feedback.blockReason ? ` due to ${feedback.blockReason}` : ''}${feedback.blockReasonMessage ? `: ${feedback.blockReasonMessage}` : ''}`;
      throw new GeminiError('BLOCKED', `Gemini gave no usable answer: the prompt was blocked${preview(why)}`);
    }
    // No candidate and no feedback: the empty text fails as MALFORMED below, as it did with the old SDK.
    return '';
  }
  if (first.finishReason && BLOCKED_FINISH_REASONS.has(first.finishReason)) {
    throw new GeminiError(
      'BLOCKED',
      `Gemini gave no usable answer: the answer was blocked due to ${first.finishReason}${first.finishMessage ? `: ${preview(first.finishMessage)}` : ''}`,
    );
  }
  return response.text ?? '';
}

function toGeminiError(err: unknown, timeoutMs: number): GeminiError {
  if (err instanceof GeminiError) return err;
  // The SDK's timeout and our abort both reject the fetch (or the body read) with an AbortError.
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) {
    return new GeminiError('TIMEOUT', `Gemini did not answer within ${timeoutMs} ms`);
  }
  if (err instanceof ApiError) {
    const status = err.status ?? 0;
    const detail = upstreamMessage(err.message);
    if (status === 429) return new GeminiError('RATE_LIMITED', `Gemini quota or rate limit reached (429)${detail}`, 429);
    return new GeminiError('UPSTREAM_ERROR', `Gemini answered HTTP ${status || 'error'}${detail}`, status || undefined);
  }
  return new GeminiError('UPSTREAM_ERROR', `Gemini could not be reached: ${preview(err instanceof Error ? err.message : String(err))}`);
}

/** The upstream's own message: the SDK's ApiError carries the error body as JSON ({"error":{"message":…}}), or text. */
function upstreamMessage(message: string): string {
  let detail = message;
  try {
    const body = JSON.parse(message) as { error?: { message?: unknown } };
    if (typeof body?.error?.message === 'string') detail = body.error.message;
  } catch {
    // Not JSON: the raw text is the message.
  }
  detail = detail.trim();
  return detail ? `: ${preview(detail)}` : '';
}

const preview = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…` : s);

/** Some models wrap JSON in ```json fences even in JSON mode. */
function stripCodeFence(text: string): string {
  const m = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(text);
  return m ? m[1]! : text;
}
