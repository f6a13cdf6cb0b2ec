// The Worker's JavaScript heap, through its V8 inspector (the DevTools protocol wrangler dev
// exposes): to tell memory the app's code holds (heap) from memory the local runtime holds (RSS).
// A heap snapshot (AGNOX_LOAD_HEAP_SNAPSHOT) is summarised by constructor: what the heap is made of.
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';

/** Objects of one constructor (or one V8 node type) in a heap snapshot. */
export type HeapGroup = { name: string; count: number; selfMb: number };

export class WorkerHeap {
  readonly samples: { at: number; usedMb: number }[] = [];
  private ws: WebSocket | null = null;
  private nextId = 0;
  private readonly pending = new Map<number, (result: any) => void>();
  private timer: NodeJS.Timeout | null = null;
  private snapshotChunks: string[] | null = null;

  private closed = false;

  static async connect(inspectorPort: number): Promise<WorkerHeap> {
    const heap = new WorkerHeap();
    await heap.open(inspectorPort);
    return heap;
  }

  /** One DevTools session; if it drops (another debugger took the target), a new one a second later. */
  private async open(inspectorPort: number) {
    const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string }[];
    const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.on('message', (raw) => {
      const m = JSON.parse(raw.toString());
      if (typeof m.id === 'number') {
        this.pending.get(m.id)?.(m.result);
        this.pending.delete(m.id);
      } else if (m.method === 'HeapProfiler.addHeapSnapshotChunk') this.snapshotChunks?.push(m.params.chunk);
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      if (this.closed) return;
      setTimeout(() => {
        if (!this.closed) this.open(inspectorPort).catch(() => {});
      }, 1000).unref();
    });
    this.ws = ws;
  }

  private call(method: string, params?: object, timeoutMs = 10_000): Promise<any> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws?.send(JSON.stringify({ id, method, params }));
      setTimeout(() => {
        if (this.pending.delete(id)) resolve(null);
      }, timeoutMs).unref();
    });
  }

  async usedMb(): Promise<number | null> {
    const r = await this.call('Runtime.getHeapUsage');
    return r ? r.usedSize / 1024 / 1024 : null;
  }

  /** Heap in use after a full garbage collection: what the code still holds. */
  async usedAfterGcMb(): Promise<number | null> {
    await this.call('HeapProfiler.enable');
    await this.call('HeapProfiler.collectGarbage');
    return this.usedMb();
  }

  /**
   * Takes a heap snapshot (written to `file`, open it in Chrome DevTools' Memory tab) and sums it
   * up: the largest groups by self size — objects by constructor name, the rest by V8 node type.
   */
  async snapshot(file: string, top = 12, watch: string[] = []): Promise<HeapGroup[] | null> {
    await this.call('HeapProfiler.enable');
    this.snapshotChunks = [];
    const done = await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, 120_000);
    const text = this.snapshotChunks.join('');
    this.snapshotChunks = null;
    if (done === null || !text) return null;
    writeFileSync(file, text);
    return summarizeSnapshot(JSON.parse(text), top, watch);
  }

  start(everyMs = 10_000) {
    const sample = async () => {
      const mb = await this.usedMb();
      if (mb !== null) this.samples.push({ at: Date.now(), usedMb: mb });
    };
    void sample();
    this.timer = setInterval(() => void sample(), everyMs);
  }

  close() {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.ws?.close();
  }
}

/** Groups a .heapsnapshot's nodes: objects by constructor name, everything else by node type; the `top` largest, then the `watch` names. */
export function summarizeSnapshot(
  snap: { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] },
  top: number,
  watch: string[] = [],
): HeapGroup[] {
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [TYPE, NAME, SIZE] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const groups = new Map<string, HeapGroup>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + TYPE]!]!;
    const name = type === 'object' ? snap.strings[snap.nodes[i + NAME]!]! : `(${type})`;
    const g = groups.get(name) ?? { name, count: 0, selfMb: 0 };
    g.count++;
    g.selfMb += snap.nodes[i + SIZE]! / 1024 / 1024;
    groups.set(name, g);
  }
  const largest = [...groups.values()].sort((a, b) => b.selfMb - a.selfMb).slice(0, top);
  return [...largest, ...watch.filter((n) => !largest.some((g) => g.name === n)).map((n) => groups.get(n) ?? { name: n, count: 0, selfMb: 0 })];
}
