// The execution room's write path, called directly (RPC on the real Durable Object): its counters
// live in memory between batches, so these check that they stay true to storage when a batch
// fails halfway, when the object is evicted, and when agent chunks arrive out of order.
import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ExecutionRoom } from '../../durable-objects/ExecutionRoom';

const room = (name: string) => env.EXECUTION_ROOM.get(env.EXECUTION_ROOM.idFromName(name));
const line = (data: string) => ({ stream: 'stdout' as const, data, ts: Date.now() });
const chunk = (seq: number) => ({ seq, stream: 'stdout' as const, data: `chunk ${seq}\n`, ts: Date.now() });

describe('execution room', () => {
  it('rolls a failed batch back whole: no lines, no seq numbers, no bytes, no batch id', async () => {
    const r = room(`rollback-${crypto.randomUUID()}`);
    await r.apply({ lines: [line('first\n')] });
    // JSON.stringify throws on a BigInt: the batch fails after its lines were appended.
    const bad = { testId: 't', title: 't', status: 'passed', durationMs: 1, retry: 0, big: 10n } as never;
    // (Caught inside the object: a rejection crossing RPC is reported as unhandled by the test pool.)
    const failed = await runInDurableObject(r, (room: ExecutionRoom) =>
      room.apply({ batchId: 'b1', lines: [line('lost 1\n'), line('lost 2\n')], tests: [bad] }).then(() => 'applied', (e: Error) => e.message));
    expect(failed).toMatch(/BigInt/);
    await r.apply({ batchId: 'b1', lines: [line('second\n')] });
    const logs = await r.readLogs();
    expect(logs.chunks.map((c) => [c.seq, c.data])).toEqual([[1, 'first\n'], [2, 'second\n']]);
    expect(logs.lastSeq).toBe(2);
    const info = await r.info();
    expect(info.bytes).toBe('first\n'.length + 'second\n'.length);
    expect(await r.readTests()).toEqual([]);
  });

  it('keeps numbering and the byte count across an eviction', async () => {
    const r = room(`evict-${crypto.randomUUID()}`);
    await r.apply({ lines: [line('a\n'), line('b\n')] });
    await evictDurableObject(r);
    await r.apply({ lines: [line('c\n')] });
    const logs = await r.readLogs();
    expect(logs.chunks.map((c) => [c.seq, c.data])).toEqual([[1, 'a\n'], [2, 'b\n'], [3, 'c\n']]);
    expect((await r.info()).bytes).toBe(6);
  });

  it('stores agent chunks once and in order, whatever order and repeats they come in', async () => {
    const r = room(`chunks-${crypto.randomUUID()}`);
    expect((await r.apply({ attempt: 1, chunks: [chunk(1), chunk(2)] })).upTo).toBe(2);
    // 4 and 5 wait for 3.
    expect((await r.apply({ attempt: 1, chunks: [chunk(5), chunk(4)] })).upTo).toBe(2);
    // 3 arrives with a resend of 4: both in order now, and the parked 5 follows.
    expect((await r.apply({ attempt: 1, chunks: [chunk(2), chunk(3), chunk(4)] })).upTo).toBe(5);
    // Nothing parked is left to come back later as a duplicate.
    expect((await r.apply({ attempt: 1, chunks: [chunk(6)] })).upTo).toBe(6);
    // Another attempt numbers its own stream; the room's log numbers everything.
    expect((await r.apply({ attempt: 2, chunks: [chunk(1)] })).upTo).toBe(1);
    expect((await r.apply({ attempt: 1 })).upTo).toBe(6);
    const logs = await r.readLogs();
    expect(logs.chunks.map((c) => c.data)).toEqual([1, 2, 3, 4, 5, 6, 1].map((n) => `chunk ${n}\n`));
    expect(logs.chunks.map((c) => c.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('answers a repeated batch id as a duplicate and stores nothing twice', async () => {
    const r = room(`dup-${crypto.randomUUID()}`);
    expect(await r.apply({ batchId: 'x', lines: [line('once\n')] })).toEqual({ upTo: 0, duplicate: false });
    expect(await r.apply({ batchId: 'x', lines: [line('once\n')] })).toEqual({ upTo: 0, duplicate: true });
    expect((await r.readLogs()).chunks).toHaveLength(1);
  });
});
