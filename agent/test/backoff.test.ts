// Jittered exponential backoff: grows, stays within its bounds, resets; sleep ends early on abort.
import { describe, expect, it } from 'vitest';
import { Backoff, sleep } from '../src/backoff';

describe('Backoff', () => {
  it('doubles its ceiling per attempt up to the cap, never below half the base', () => {
    const high = new Backoff(100, 1000, () => 0.999999);
    expect([1, 2, 3, 4, 5, 6].map(() => high.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    const low = new Backoff(100, 1000, () => 0);
    expect([1, 2, 3].map(() => low.next())).toEqual([50, 50, 50]);
    high.reset();
    expect(high.next()).toBe(100);
  });

  it('spreads retries (jitter) instead of retrying in lockstep', () => {
    const waits = Array.from({ length: 50 }, () => {
      const b = new Backoff(1000, 30_000);
      b.next();
      b.next();
      return b.next();
    });
    expect(new Set(waits).size).toBeGreaterThan(40);
    for (const w of waits) expect(w).toBeGreaterThanOrEqual(500);
    for (const w of waits) expect(w).toBeLessThanOrEqual(4000);
  });

  it('sleep returns early when aborted', async () => {
    const ctl = new AbortController();
    const t0 = Date.now();
    const slept = sleep(10_000, ctl.signal);
    ctl.abort();
    await slept;
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
