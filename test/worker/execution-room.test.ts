// The execution room's write path, called directly (RPC on the real Durable Object): its counters
// live in memory between batches, so these check that they stay true to storage when a batch
// fails halfway, when the object is evicted, and when agent chunks arrive out of order; and that
// it refuses agent and reporter writes once the run has ended, and every write once it is purged.
import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ExecutionRoom } from '../../durable-objects/ExecutionRoom';
import { LIVE_RESYNC } from '../../worker/contracts/live';

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
      room.apply({ batchId: 'b1', lines: [line('lost 1\n'), line('lost 2\n')], tests: [bad] }).then(
        () => 'applied',
        (e: Error) => e.message,
      ),
    );
    expect(failed).toMatch(/BigInt/);
    await r.apply({ batchId: 'b1', lines: [line('second\n')] });
    const logs = await r.readLogs();
    expect(logs.chunks.map((c) => [c.seq, c.data])).toEqual([
      [1, 'first\n'],
      [2, 'second\n'],
    ]);
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
    expect(logs.chunks.map((c) => [c.seq, c.data])).toEqual([
      [1, 'a\n'],
      [2, 'b\n'],
      [3, 'c\n'],
    ]);
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

  it('refuses agent and reporter writes once the run has ended, keeps control-plane notes, and never goes back to RUNNING', async () => {
    const r = room(`ended-${crypto.randomUUID()}`);
    await r.init({ taskId: 't', organizationId: 'o', status: 'RUNNING' });
    await r.apply({ attempt: 1, chunks: [chunk(1)], from: 'agent' });
    await r.finish({ status: 'FAILED', retentionDays: 30 });
    expect(await r.apply({ attempt: 1, chunks: [chunk(2)], from: 'agent' })).toEqual({ upTo: 1, duplicate: false, refused: 'RUN_ENDED' });
    expect(await r.apply({ attempt: 1, tests: [{ testId: 'x', title: 'x', status: 'failed', durationMs: 1, retry: 0 }], from: 'agent' })).toMatchObject({
      refused: 'RUN_ENDED',
    });
    expect(await r.apply({ batchId: 'late', lines: [line('late\n')], from: 'reporter' })).toMatchObject({ refused: 'RUN_ENDED' });
    await r.apply({ status: { status: 'RUNNING' } });
    await r.apply({ lines: [line('[agnox] a note\n')] });
    await evictDurableObject(r); // the refusal survives a restart
    expect(await r.apply({ lines: [line('later\n')], from: 'reporter' })).toMatchObject({ refused: 'RUN_ENDED' });
    expect((await r.readLogs()).chunks.map((c) => c.data)).toEqual(['chunk 1\n', '[agnox] a note\n']);
    expect(await r.readTests()).toEqual([]);
    expect(await r.info()).toMatchObject({ status: 'FAILED', closed: 'RUN_ENDED' });
  });

  it('end() (an ingest teardown) stops reporter writes and hands over the results as they stand', async () => {
    const r = room(`end-${crypto.randomUUID()}`);
    const test = { testId: 'a', title: 'a', status: 'passed' as const, durationMs: 1, retry: 0 };
    await r.apply({ tests: [test], from: 'reporter' });
    expect(await r.end()).toEqual({ closed: 'RUN_ENDED', tests: [test] });
    expect(await r.apply({ tests: [{ ...test, testId: 'b' }], from: 'reporter' })).toMatchObject({ refused: 'RUN_ENDED' });
    expect(await r.readTests()).toEqual([test]);
  });

  it('takes no write at all once purged (a tombstone): no log, no results, no new start', async () => {
    const r = room(`purged-${crypto.randomUUID()}`);
    await r.init({ taskId: 't', organizationId: 'o', status: 'RUNNING', lines: [line('old\n')] });
    await r.purge();
    expect(await r.apply({ lines: [line('ghost\n')], from: 'reporter' })).toMatchObject({ refused: 'RUN_DELETED' });
    expect(await r.apply({ lines: [line('[agnox] note\n')], status: { status: 'FAILED' } })).toMatchObject({ refused: 'RUN_DELETED' });
    expect(await r.apply({ attempt: 1, chunks: [chunk(1)], from: 'agent' })).toMatchObject({ refused: 'RUN_DELETED' });
    expect(await r.init({ taskId: 't', organizationId: 'o', status: 'RUNNING', lines: [line('new\n')] })).toEqual({ refused: 'RUN_DELETED' });
    await r.finish({ status: 'FAILED' });
    await evictDurableObject(r);
    expect(await r.end()).toEqual({ closed: 'RUN_DELETED', tests: [] });
    expect(await r.readLogs()).toMatchObject({ chunks: [], lastSeq: 0 });
    expect(await r.info()).toMatchObject({ closed: 'RUN_DELETED', taskId: null });
  });
});

describe('a viewer joining', () => {
  it('gets the stored log before any live batch, even when a batch is broadcast while the room tells the hub of its session', async () => {
    const taskId = `join-${crypto.randomUUID()}`;
    const r = room(taskId);
    await r.init({ taskId, organizationId: 'org-join', status: 'RUNNING', lines: [line('stored 1\n'), line('stored 2\n')] });
    const seqs = await runInDurableObject(r, async (instance: ExecutionRoom) => {
      // The hub's answer to track() is held until a live batch has gone out to the room's viewers.
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const self = instance as unknown as { env: typeof env; broadcastUpTo: number };
      self.env = { ...env, ORG_HUB: { idFromName: (n: string) => n, get: () => ({ track: () => held, untrack: async () => {} }) } as never };
      const joining = instance.fetch(
        new Request(`http://room/viewer?org=org-join&task=${taskId}&session=s1&user=u1&since=0`, { headers: { upgrade: 'websocket' } }),
      );
      await instance.apply({ lines: [line('live 3\n')] });
      for (let i = 0; i < 200 && self.broadcastUpTo < 3; i++) await new Promise((r) => setTimeout(r, 5));
      expect(self.broadcastUpTo).toBe(3);
      release();
      const ws = (await joining).webSocket!;
      const got: number[] = [];
      ws.addEventListener('message', (e) => {
        const m = JSON.parse(e.data as string);
        if (m.type === 'log') got.push(...m.chunks.map((c: { seq: number }) => c.seq));
      });
      ws.accept();
      for (let i = 0; i < 200 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
      ws.close();
      return got;
    });
    expect(seqs).toEqual([1, 2, 3]);
  });
});

/** Polls `done` (no fixed sleep stands in for the condition); fails the test if it never holds. */
async function until(done: () => boolean, what: string) {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!done()) throw new Error(`timed out waiting for ${what}`);
}

describe('a slow viewer', () => {
  it('is sent resync and closed once too much is unacknowledged, while a viewer that acks gets everything in order; its reconnect gets what it missed', async () => {
    const taskId = `slow-${crypto.randomUUID()}`;
    const r = room(taskId);
    await r.init({ taskId, organizationId: 'org-slow', status: 'RUNNING' });
    const LINES = 64;
    const seen = await runInDurableObject(r, async (instance: ExecutionRoom) => {
      // 64 lines of 64 KiB: 4 MiB of output, twice what a viewer may leave unacknowledged (the tests' log cap is 64 KiB).
      (instance as unknown as { env: typeof env }).env = { ...env, LOG_MAX_BYTES: String(64 * 1024 * 1024) };
      const connect = async (since: number, acks: boolean) => {
        const res = await instance.fetch(new Request(`http://room/viewer?org=org-slow&since=${since}`, { headers: { upgrade: 'websocket' } }));
        const ws = res.webSocket!;
        const view = { seqs: [] as number[], types: [] as string[], closed: null as number | null };
        ws.addEventListener('message', (e) => {
          const m = JSON.parse(e.data as string);
          view.types.push(m.type);
          if (m.type !== 'log') return;
          view.seqs.push(...m.chunks.map((c: { seq: number }) => c.seq));
          if (acks) ws.send(JSON.stringify({ type: 'ack', seq: view.seqs.at(-1) }));
        });
        ws.addEventListener('close', (e) => {
          view.closed = e.code;
        });
        ws.accept();
        return { ws, view };
      };
      const steady = await connect(0, true);
      const stalled = await connect(0, false);
      const big = 'x'.repeat(64 * 1024);
      for (let i = 1; i <= LINES; i++) {
        await instance.apply({ lines: [line(`${big}\n`)] });
        await until(() => steady.view.seqs.at(-1) === i, `seq ${i} at the steady viewer`);
      }
      await until(() => stalled.view.closed !== null, 'the stalled viewer to be closed');
      const missedFrom = stalled.view.seqs.at(-1) ?? 0;
      const back = await connect(missedFrom, false);
      await until(() => back.view.seqs.at(-1) === LINES, 'the reconnected viewer to catch up');
      steady.ws.close();
      back.ws.close();
      return { steady: steady.view, stalled: stalled.view, back: back.view };
    });
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    expect(seen.steady.seqs).toEqual(range(1, LINES));
    expect(seen.steady.types).not.toContain('resync');
    expect(seen.steady.closed).toBeNull();
    // The stalled viewer got an in-order prefix of at most 2 MiB (32 lines), then resync as its last message, then the close.
    const got = seen.stalled.seqs.length;
    expect(seen.stalled.seqs).toEqual(range(1, got));
    expect(got).toBeGreaterThan(16);
    expect(got).toBeLessThan(32);
    expect(seen.stalled.types.at(-1)).toBe('resync');
    expect(seen.stalled.types.filter((t) => t === 'resync')).toHaveLength(1);
    expect(seen.stalled.closed).toBe(LIVE_RESYNC);
    // Reconnecting with since=<its last seq> brings exactly what it missed.
    expect(seen.back.seqs).toEqual(range(got + 1, LINES));
  });
});
