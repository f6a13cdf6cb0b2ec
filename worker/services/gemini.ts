// The one door to Gemini: the real `@google/generative-ai` client, pointed at GEMINI_BASE_URL when set
// (proxies, tests), asked for JSON that matches a response schema, and the answer checked with zod.
// Every failure (no key, 429, 5xx, timeout, blocked, malformed JSON) becomes a GeminiError with a code,
// so callers can record why and carry on — nothing here may block a run.
import { GoogleGenerativeAI, GoogleGenerativeAIAbortError, GoogleGenerativeAIFetchError, GoogleGenerativeAIResponseError, type ResponseSchema } from '@google/generative-ai';
import type { z } from 'zod';
import type { Env } from '../env';

export const DEFAULT_GEMINI_MODEL = 'gemini-2.5-flash';
export const DEFAULT_GEMINI_TIMEOUT_MS = 30_000;

export type GeminiErrorCode = 'NOT_CONFIGURED' | 'RATE_LIMITED' | 'UPSTREAM_ERROR' | 'TIMEOUT' | 'BLOCKED' | 'MALFORMED';

export class GeminiError extends Error {
  constructor(readonly code: GeminiErrorCode, message: string, readonly status?: number) {
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
  const model = new GoogleGenerativeAI(config.apiKey).getGenerativeModel(
    {
      model: config.model,
      systemInstruction: opts.systemInstruction,
      generationConfig: {
        responseMimeType: 'application/json',
        responseSchema: opts.responseSchema,
        maxOutputTokens: opts.maxOutputTokens ?? 2048,
        temperature: opts.temperature ?? 0.2,
      },
    },
    { baseUrl: config.baseUrl, timeout: timeoutMs },
  );

  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The client's own timeout aborts fetch; this race also covers a body that never finishes.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new GeminiError('TIMEOUT', `Gemini did not answer within ${timeoutMs} ms`));
    }, timeoutMs + 250);
  });
  let text: string;
  let usage: GenerateJsonResult<T>['usage'];
  try {
    const result = await Promise.race([model.generateContent(opts.prompt, { signal: controller.signal }), deadline]);
    text = result.response.text();
    const meta = result.response.usageMetadata;
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
    const issues = checked.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new GeminiError('MALFORMED', `Gemini's answer does not match the expected shape: ${issues}`);
  }
  return { data: checked.data, model: config.model, usage };
}

function toGeminiError(err: unknown, timeoutMs: number): GeminiError {
  if (err instanceof GeminiError) return err;
  if (err instanceof GoogleGenerativeAIAbortError || (err instanceof Error && err.name === 'AbortError')) {
    return new GeminiError('TIMEOUT', `Gemini did not answer within ${timeoutMs} ms`);
  }
  if (err instanceof GoogleGenerativeAIFetchError) {
    const status = err.status ?? 0;
    const detail = upstreamMessage(err.message);
    if (status === 429) return new GeminiError('RATE_LIMITED', `Gemini quota or rate limit reached (429)${detail}`, 429);
    return new GeminiError('UPSTREAM_ERROR', `Gemini answered HTTP ${status || 'error'}${detail}`, status || undefined);
  }
  if (err instanceof GoogleGenerativeAIResponseError) return new GeminiError('BLOCKED', `Gemini gave no usable answer: ${preview(err.message)}`);
  return new GeminiError('UPSTREAM_ERROR', `Gemini could not be reached: ${preview(err instanceof Error ? err.message : String(err))}`);
}

/** The upstream's own message after "[status statusText]", without the URL the client prepends. */
function upstreamMessage(message: string): string {
  const m = /\]\s*(.+)$/s.exec(message);
  return m?.[1] ? `: ${preview(m[1])}` : '';
}

const preview = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…` : s);

/** Some models wrap JSON in ```json fences even in JSON mode. */
function stripCodeFence(text: string): string {
  const m = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(text);
  return m ? m[1]! : text;
}
