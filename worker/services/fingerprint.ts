// Failure fingerprints: the same failure across runs, tests and projects shares one signature. An error
// message is normalised (ANSI colours, numbers, ids, paths, URLs, durations and quoted values stripped),
// then hashed. Synchronous (node:crypto through nodejs_compat) so it can run where rows are built.
import { createHash } from 'node:crypto';
import type { TestResult } from '../contracts/results';

/** Only the head of a message decides the signature: long dumps (DOM snapshots, diffs) vary in their tail. */
const SIGNATURE_CHARS = 600;
const FINGERPRINT_HEX = 20;

// Order matters: wider patterns (UUIDs, URLs, paths) go before the numbers inside them.
const RULES: Array<[RegExp, string]> = [
  [/\u001b\[[0-9;?]*[ -/]*[@-~]/g, ''], // ANSI escape sequences
  [/\u001b\][^\u0007]*\u0007/g, ''], // OSC sequences (hyperlinks)
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"`<>)\]]+/gi, '<url>'],
  [/(?:[a-z]:)?(?:[\\/][\w@.+~-]+){2,}(?::\d+)*/gi, '<path>'], // /a/b/c.ts:12:3, C:\a\b
  [/\b[\w.-]+\.(?:[cm]?[jt]sx?|py|rb|go|java|kt|cs|spec|test)(?::\d+)+/gi, '<path>'], // file.ts:12:3
  [/\b0x[0-9a-f]+\b/gi, '<hex>'],
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<hex>'], // commit shas, object ids
  [/\b\d+(?:\.\d+)?\s?(?:ns|µs|us|ms|s|sec|seconds?|m|min|minutes?|h|hours?)\b/gi, '<duration>'],
  [/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\\n]|\\.)*`/g, '<str>'],
  [/\d+(?:\.\d+)?/g, '<n>'],
  [/\s+/g, ' '],
];

/** The normalised text of an error, the input of its fingerprint. */
export function normalizeError(message: string): string {
  let text = message.slice(0, SIGNATURE_CHARS * 4);
  for (const [pattern, replacement] of RULES) text = text.replace(pattern, replacement);
  return text.trim().slice(0, SIGNATURE_CHARS);
}

/** A stable signature of a failure, or null when there is no error text to sign. */
export function fingerprintOf(error: { message?: string | null; stack?: string | null } | null | undefined): string | null {
  // The message says what failed; when a runner puts everything in the stack, its first line is the message.
  const source = error?.message?.trim() || error?.stack?.split('\n')[0]?.trim();
  if (!source) return null;
  const normalized = normalizeError(source);
  if (!normalized) return null;
  return createHash('sha256').update(normalized).digest('hex').slice(0, FINGERPRINT_HEX);
}

const FAILED = new Set<TestResult['status']>(['failed', 'timedOut', 'interrupted', 'flaky']);

/** Failing attempts get a fingerprint; passing ones do not (a passing retry carries no failure). */
export const fingerprintOfResult = (t: Pick<TestResult, 'status' | 'error'>) => (FAILED.has(t.status) ? fingerprintOf(t.error) : null);

/** A test's identity across runs (quarantine key, flaky grouping): its file and title. */
export const testKeyOf = (t: { title: string; file?: string | null }) => (t.file ? `${t.file} › ${t.title}` : t.title);
