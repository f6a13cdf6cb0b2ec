// Human-readable times, durations and sizes.
import { isFinal } from '../../../worker/contracts/vocabulary';

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

const rtf = typeof Intl !== 'undefined' ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }) : null;

export function ago(ts: number | null | undefined, now = Date.now()): string {
  if (!ts) return '—';
  const s = Math.round((ts - now) / 1000);
  const abs = Math.abs(s);
  if (!rtf) return new Date(ts).toLocaleString();
  if (abs < 60) return rtf.format(s, 'second');
  if (abs < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

export const dateTime = (ts: number | null | undefined) => (ts ? new Date(ts).toLocaleString() : '—');

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

type Counts = { status: string; totalTests: number; passed: number; failed: number; skipped: number; flaky: number };

/** "2 passed · 1 failed", or progress ("1/3 done") while a run with a known test count is still going. */
export function testsSummary(e: Counts): string {
  const done = e.passed + e.failed + e.skipped + e.flaky;
  if (!isFinal(e.status) && e.totalTests > 0 && done < e.totalTests) return `${done}/${e.totalTests} done`;
  if (!e.totalTests && !done) return '—';
  const parts = [`${e.passed} passed`];
  if (e.failed) parts.push(`${e.failed} failed`);
  if (e.skipped) parts.push(`${e.skipped} skipped`);
  if (e.flaky) parts.push(`${e.flaky} flaky`);
  return parts.join(' · ');
}
