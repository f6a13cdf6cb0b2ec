// The Worker's JavaScript heap, through its V8 inspector (the DevTools protocol wrangler dev
// exposes): to tell memory the app's code holds (heap) from memory the local runtime holds (RSS).
import WebSocket from 'ws';

export class WorkerHeap {
  readonly samples: { at: number; usedMb: number }[] = [];
  private ws: WebSocket | null = null;
  private nextId = 0;
  private readonly pending = new Map<number, (result: any) => void>();
  private timer: NodeJS.Timeout | null = null;

  static async connect(inspectorPort: number): Promise<WorkerHeap> {
    const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string }[];
    const heap = new WorkerHeap();
    const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.on('message', (raw) => {
      const m = JSON.parse(raw.toString());
      if (typeof m.id === 'number') { heap.pending.get(m.id)?.(m.result); heap.pending.delete(m.id); }
    });
    ws.on('error', () => {});
    heap.ws = ws;
    return heap;
  }

  private call(method: string): Promise<any> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws?.send(JSON.stringify({ id, method }));
      setTimeout(() => { if (this.pending.delete(id)) resolve(null); }, 10_000).unref();
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

  start(everyMs = 10_000) {
    const sample = async () => { const mb = await this.usedMb(); if (mb !== null) this.samples.push({ at: Date.now(), usedMb: mb }); };
    void sample();
    this.timer = setInterval(() => void sample(), everyMs);
  }

  close() {
    if (this.timer) clearInterval(this.timer);
    this.ws?.close();
  }
}
