// The org's quarantine list, learned when the run begins: a quarantined test still runs and is reported,
// but when every failing test is quarantined the Agnox run is reported PASSED. Best effort and bounded:
// without the list (server down, slow, old) the run is reported as Playwright ended it.
import type { TestCase } from '@playwright/test/reporter';
import { get } from './http';
import type { ResolvedOptions } from './options';

const FETCH_TIMEOUT_MS = 5_000;

/** Test keys ("file › title", as the control plane keys quarantines) in force for the project; empty on any failure. */
export async function fetchQuarantined(
  o: Pick<ResolvedOptions, 'baseUrl' | 'apiKey' | 'projectId' | 'requestTimeoutMs'>,
  userAgent: string,
  signal: AbortSignal,
): Promise<Set<string>> {
  const res = await get<Array<{ testKey?: unknown }>>(`${o.baseUrl}/api/quarantines?projectId=${encodeURIComponent(o.projectId)}`, {
    apiKey: o.apiKey,
    userAgent,
    signal,
    timeoutMs: Math.min(o.requestTimeoutMs, FETCH_TIMEOUT_MS),
  });
  if (!res.ok || !Array.isArray(res.data)) return new Set();
  return new Set(res.data.map((q) => q?.testKey).filter((k): k is string => typeof k === 'string'));
}

export const testKey = (file: string, title: string) => (file ? `${file} › ${title}` : title);

/** The failing tests (Playwright's "unexpected") when there are some and every one is quarantined; else null. */
export function allFailuresQuarantined(tests: TestCase[], quarantined: Set<string>, fileOf: (test: TestCase) => string): string[] | null {
  const failing = tests.filter((t) => t.outcome() === 'unexpected').map((t) => testKey(fileOf(t), t.title));
  return failing.length && failing.every((k) => quarantined.has(k)) ? failing : null;
}
