// AI step generation for test cases: Gemini proposes steps from a title and a short description,
// through the shared Gemini client (structured JSON, checked with zod). The user then accepts or
// edits them; nothing is saved here. Off (503) when no GEMINI_API_KEY is set, refused (403 OPTED_OUT) when the org
// turned AI off, and it spends from the org's AI budget shared with failure analysis (429 when spent).
import type { z } from 'zod';
import { GeneratedSteps, type GenerateStepsBody } from '../contracts/test-cases';
import type { Env } from '../env';
import { ApiError, tooManyRequests } from '../lib/errors';
import { analysisLimits, analysisSkipReason, claimOrgAiSlot } from './analysis';
import { GeminiError, generateJson, SchemaType, type ResponseSchema } from './gemini';

const RESPONSE_SCHEMA: ResponseSchema = {
  type: SchemaType.OBJECT,
  properties: {
    preconditions: { type: SchemaType.STRING, description: 'What must be true before the first step (may be empty).' },
    steps: {
      type: SchemaType.ARRAY,
      description: 'The steps a tester performs, in order (3 to 12).',
      items: {
        type: SchemaType.OBJECT,
        properties: {
          action: { type: SchemaType.STRING, description: 'One concrete action, imperative mood.' },
          expected: { type: SchemaType.STRING, description: 'The observable result that shows the step passed.' },
        },
        required: ['action', 'expected'],
      },
    },
  },
  required: ['steps'],
};

const SYSTEM =
  'You are a senior QA engineer writing manual test cases. Answer only with JSON matching the schema. ' +
  'Each step is one concrete user action with one observable expected result. Do not invent product features the description does not imply.';

export function stepsPrompt(body: z.output<typeof GenerateStepsBody>): string {
  return [`Test case title: ${body.title}`, body.description ? `Description: ${body.description}` : 'Description: (none)', 'Write the test steps.'].join('\n');
}

const STATUS: Record<GeminiError['code'], { status: 429 | 502 | 503 | 504; code: string }> = {
  NOT_CONFIGURED: { status: 503, code: 'AI_NOT_CONFIGURED' },
  RATE_LIMITED: { status: 429, code: 'AI_RATE_LIMITED' },
  TIMEOUT: { status: 504, code: 'AI_TIMEOUT' },
  UPSTREAM_ERROR: { status: 502, code: 'AI_UPSTREAM_ERROR' },
  BLOCKED: { status: 502, code: 'AI_NO_ANSWER' },
  MALFORMED: { status: 502, code: 'AI_MALFORMED' },
};

export async function generateSteps(env: Env, organizationId: string, body: z.output<typeof GenerateStepsBody>) {
  // The same checks, in the same order, as a failed run's analysis: configured, not opted out, budget left.
  const skip = await analysisSkipReason(env, organizationId);
  if (skip?.code === 'OPTED_OUT') throw new ApiError(403, 'OPTED_OUT', skip.error);
  if (!skip) {
    const { orgIntervalMs } = analysisLimits(env);
    if (!(await claimOrgAiSlot(env, organizationId, orgIntervalMs))) {
      throw tooManyRequests(
        orgIntervalMs / 1000,
        'AI_RATE_LIMITED',
        `Another AI call (analysis or step generation) ran for this organization less than ${orgIntervalMs / 1000} s ago`,
      );
    }
  }
  try {
    const { data, model } = await generateJson({
      env,
      prompt: stepsPrompt(body),
      schema: GeneratedSteps,
      responseSchema: RESPONSE_SCHEMA,
      systemInstruction: SYSTEM,
      timeoutMs: 20_000,
      temperature: 0.3,
    });
    return { steps: data.steps, preconditions: data.preconditions?.trim() || null, model };
  } catch (err) {
    if (!(err instanceof GeminiError)) throw err;
    const mapped = STATUS[err.code];
    const message = err.code === 'NOT_CONFIGURED' ? 'AI step generation is off: the server has no GEMINI_API_KEY' : `AI step generation failed: ${err.message}`;
    throw new ApiError(mapped.status, mapped.code, message, {}, err.code === 'RATE_LIMITED' ? { 'Retry-After': '30' } : {});
  }
}
