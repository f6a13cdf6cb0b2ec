// The AI root-cause prompt: built from what the Worker knows about a failed run, with secret values
// (and their encoded forms, worker/lib/secret-masker.ts) masked in every piece and the whole input
// capped in size (≈4 characters a token), so cost is bounded.
import { SchemaType, type ResponseSchema } from './gemini';
import { FailureCategory } from '../contracts/analysis';
import { SecretMasker } from '../lib/secret-masker';

export type FailureForPrompt = {
  title: string;
  file?: string | null;
  status: string;
  retry: number;
  errorMessage?: string | null;
  errorStack?: string | null;
  /** The same test's outcome in this project's previous run that had it. */
  previousOutcome?: { status: string; taskId: string; at: number } | null;
  /** How often this failure's fingerprint was seen before, and since when. */
  history?: { occurrences: number; runs: number; firstSeenAt: number; firstTaskId: string } | null;
  flaky?: { score: number } | null;
};

export type AnalysisInput = {
  project: string;
  image: string;
  environment?: string | null;
  source: string;
  status: string;
  reason?: string | null;
  exitCode?: number | null;
  counts: { total: number; passed: number; failed: number; skipped: number; flaky: number };
  ci?: { branch?: string; commit?: string; provider?: string } | null;
  failures: FailureForPrompt[];
  logTail: string;
  /** Values that must never reach the model (the project's secret variables). */
  secrets: string[];
};

export const SYSTEM_INSTRUCTION = [
  'You are a senior test engineer finding the root cause of a failed automated test run.',
  "Use only the evidence given: failing tests with their errors and stacks, the tail of the run log, the run context and each test's history.",
  'Categories: product_bug (the application misbehaves), test_bug (the test is wrong or brittle), environment (config, data, credentials, dependent service),',
  'infrastructure (runner, Docker, network, resources), flaky (passes and fails without change), unknown.',
  'Answer JSON only. confidence is 0..1. Be concrete and brief; name files, tests and lines from the evidence.',
].join(' ');

/** What the model must answer (mirrors RootCauseAnswer in worker/contracts/analysis.ts). */
export const ROOT_CAUSE_RESPONSE_SCHEMA: ResponseSchema = {
  type: SchemaType.OBJECT,
  properties: {
    summary: { type: SchemaType.STRING, description: 'One or two sentences: what failed and why.' },
    likelyCause: { type: SchemaType.STRING, description: 'The most likely root cause, with the evidence for it.' },
    category: { type: SchemaType.STRING, format: 'enum', enum: [...FailureCategory.options] },
    suggestedFix: { type: SchemaType.STRING, description: 'The next concrete step to fix it.' },
    confidence: { type: SchemaType.NUMBER, description: '0 to 1' },
  },
  required: ['summary', 'likelyCause', 'category', 'suggestedFix', 'confidence'],
};

const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007]*\u0007/g;
export const stripAnsi = (s: string) => s.replace(ANSI, '');

/** Keeps the head of `text` within `max` characters, saying so when it cut. */
function head(text: string, max: number): { text: string; cut: boolean } {
  if (text.length <= max) return { text, cut: false };
  return { text: `${text.slice(0, Math.max(0, max - 12))}\n…[cut]`, cut: true };
}

/** Keeps the tail (the end of a log is where a run died). */
function tail(text: string, max: number): { text: string; cut: boolean } {
  if (text.length <= max) return { text, cut: false };
  return { text: `[cut]…\n${text.slice(text.length - Math.max(0, max - 12))}`, cut: true };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The prompt for one run, at most `maxChars` long. Budgets: failures ~55 %, log tail ~35 %, the rest context.
 * Secrets are masked in each raw piece before it is cut (a cut could otherwise leave a partial secret).
 */
export function buildAnalysisPrompt(input: AnalysisInput, maxChars: number): { prompt: string; truncated: boolean } {
  const masker = new SecretMasker(input.secrets);
  const mask = (s: string | null | undefined) => masker.mask(stripAnsi(s ?? ''));
  let truncated = false;

  const context = [
    `Project: ${mask(input.project)}`,
    `Docker image: ${mask(input.image)}`,
    `Environment: ${mask(input.environment ?? 'unknown')}`,
    `Source: ${input.source}`,
    `Run status: ${input.status}${input.reason ? ` (reason: ${mask(input.reason)})` : ''}${input.exitCode != null ? `, exit code ${input.exitCode}` : ''}`,
    `Tests: ${input.counts.total} total, ${input.counts.passed} passed, ${input.counts.failed} failed, ${input.counts.flaky} flaky, ${input.counts.skipped} skipped`,
    input.ci
      ? `CI: ${[input.ci.provider, input.ci.branch && `branch ${mask(input.ci.branch)}`, input.ci.commit && `commit ${mask(input.ci.commit)}`].filter(Boolean).join(', ')}`
      : '',
  ]
    .filter(Boolean)
    .join('\n');

  const failureBudget = Math.floor(maxChars * 0.55);
  const perFailure = input.failures.length ? Math.max(300, Math.floor(failureBudget / input.failures.length)) : 0;
  const failureParts: string[] = [];
  let used = 0;
  for (const [i, f] of input.failures.entries()) {
    const lines = [
      `### ${i + 1}. ${mask(f.file ? `${f.file} › ${f.title}` : f.title)} — ${f.status}${f.retry ? ` (retry ${f.retry})` : ''}`,
      f.previousOutcome ? `Previous run of this test: ${f.previousOutcome.status} (${iso(f.previousOutcome.at)})` : 'Previous run of this test: none recorded',
      f.history ? `This failure signature was seen ${f.history.occurrences} times in ${f.history.runs} runs since ${iso(f.history.firstSeenAt)}` : '',
      f.flaky ? `Flaky score of this test: ${f.flaky.score.toFixed(2)}` : '',
      `Error: ${mask(f.errorMessage)}`,
      f.errorStack ? `Stack:\n${mask(f.errorStack)}` : '',
    ]
      .filter(Boolean)
      .join('\n');
    const piece = head(lines, Math.min(perFailure, failureBudget - used));
    if (piece.text.length < 40) {
      truncated = true;
      break;
    }
    truncated ||= piece.cut;
    failureParts.push(piece.text);
    used += piece.text.length;
  }
  const logBudget = Math.max(0, maxChars - context.length - used - 400);
  const log = tail(mask(input.logTail).trim(), Math.min(logBudget, Math.floor(maxChars * 0.35) + (failureBudget - used)));
  truncated ||= log.cut;

  const prompt = [
    'Find the root cause of this failed test run.',
    '## Run',
    context,
    `## Failing tests (${input.failures.length})`,
    failureParts.join('\n\n') || 'No per-test results were reported; rely on the log.',
    '## End of the run log',
    log.text || '(empty)',
  ].join('\n\n');
  // Belt and braces: nothing above should hold a secret, and the whole input stays under the cap.
  const final = head(masker.mask(prompt), maxChars);
  return { prompt: final.text, truncated: truncated || final.cut };
}
