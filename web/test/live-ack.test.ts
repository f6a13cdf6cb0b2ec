import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { roomAcks } from '../src/lib/live-ack';

describe('roomAcks', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('acks at once, then at most once a second while log arrives, and once more after it stops', () => {
    const sent: number[] = [];
    const acks = roomAcks((text) => sent.push(JSON.parse(text).seq), 1000);
    acks.applied(3);
    expect(sent).toEqual([3]);
    for (let seq = 4; seq <= 50; seq++) {
      vi.advanceTimersByTime(20);
      acks.applied(seq);
    }
    // 47 batches over 940 ms: one more ack, at the 1 s mark, for what was applied by then.
    vi.advanceTimersByTime(60);
    expect(sent).toEqual([3, 50]);
    vi.advanceTimersByTime(5000);
    expect(sent).toEqual([3, 50]); // nothing new: no ack
    acks.applied(51);
    expect(sent).toEqual([3, 50, 51]);
    acks.applied(52);
    acks.stop();
    vi.advanceTimersByTime(5000);
    expect(sent).toEqual([3, 50, 51]); // stopped with the socket: the trailing ack is dropped
  });
});
