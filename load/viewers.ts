// The load's viewers: WebSockets as the dashboard opens them (a single-use ticket, then the socket).
// Run viewers watch one run each from its start (`since=0`: the stored log, then live), record
// every chunk they get, and move to a newer run when theirs ends; a dropped socket resumes with
// `since=<last seq>`, as the dashboard does, and acknowledge what they got about once a second (a
// room drops a viewer that does not: worker/contracts/live.ts). Hub viewers hold the org's live list (`/api/live`)
// for the whole load and record the statuses they are told.
import WebSocket from 'ws';
import type { Api } from './api';
import { chunkDigest } from './read-log';
import { outcomeOf, type HttpStats } from './http-stats';
import { isFinal } from '../worker/contracts/vocabulary';
import { VIEWER_ACK_INTERVAL_MS, type ViewerAck } from '../worker/contracts/live';

const MAX_RECONNECTS = 5;

/** What one viewer saw of one run. */
export type RunView = {
  viewer: number;
  taskId: string;
  chunks: number;
  lastSeq: number;
  /** Sockets that dropped before the run ended (each resumed with since=<last seq>). */
  drops: string[];
  /** Seqs not following the previous one (gap or duplicate), and a run never seen to its end. */
  problems: string[];
  /** SHA-256 over every chunk received, in order: compared with the stored log's. */
  digest: string;
  finalStatus: string | null;
};

type Chunk = { seq: number; stream: string; data: string; ts: number };

export class Viewers {
  /** Job output chunk: sent by the agent (its `ts`) → received by a viewer watching live, ms. */
  readonly lineLatencies: number[] = [];
  readonly views = new Map<string, Promise<RunView>[]>();
  private idle: number[] = [];
  private readonly hubSeen: Map<string, string>[] = [];
  private readonly hubSockets: WebSocket[] = [];
  private readonly open = new Set<WebSocket>();
  readonly hubProblems: string[] = [];
  hubConnectedAt = 0;

  constructor(
    private readonly api: Api,
    private readonly http: HttpStats,
    private readonly token: string,
    private readonly wsUrl: string,
    runViewers: number,
    private readonly perRun: number,
  ) {
    this.idle = Array.from({ length: runViewers }, (_, i) => i + 1);
  }

  private async ticket(taskId?: string): Promise<string> {
    return (await this.api.call('POST', '/api/auth/ws-ticket', { token: this.token, body: taskId ? { taskId } : {} })).ticket;
  }

  private connect(url: string, route: string): WebSocket {
    const ws = new WebSocket(url);
    this.open.add(ws);
    ws.once('upgrade', () => this.http.record(route, '1xx', 101));
    let counted = false;
    ws.on('error', (err) => {
      if (counted) return;
      counted = true;
      const status = /Unexpected server response: (\d{3})/.exec(err.message)?.[1];
      if (status) this.http.record(route, outcomeOf(Number(status)), Number(status), undefined, err.message);
      else this.http.record(route, 'network', 'network', undefined, err.message);
    });
    ws.once('close', () => this.open.delete(ws));
    return ws;
  }

  /** The org's live list, `count` sockets for the whole load. */
  async startHub(count: number) {
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const seen = new Map<string, string>();
        this.hubSeen.push(seen);
        const ws = this.connect(`${this.wsUrl}/api/live?ticket=${await this.ticket()}`, 'WS /api/live');
        ws.on('message', (raw) => {
          const m = JSON.parse(raw.toString());
          if (m.type === 'executions') for (const e of m.updated) seen.set(e.taskId, e.status);
        });
        ws.on('close', (code) => {
          if (!this.stopping) this.hubProblems.push(`hub viewer ${i + 1} closed (${code}) during the load`);
        });
        await new Promise((resolve, reject) => {
          ws.once('open', resolve);
          ws.once('error', reject);
        });
        this.hubSockets.push(ws);
      }),
    );
    this.hubConnectedAt = Date.now();
  }

  /** The final status each hub viewer was told for `taskId` (null: never told). */
  hubStatuses(taskId: string): (string | null)[] {
    return this.hubSeen.map((seen) => seen.get(taskId) ?? null);
  }

  /** A new run: up to `perRun` idle viewers start watching it from its first line. */
  watch(taskId: string) {
    const viewers = this.idle.splice(0, this.perRun);
    if (viewers.length)
      this.views.set(
        taskId,
        viewers.map((v) => this.watchOne(v, taskId).finally(() => this.idle.push(v))),
      );
  }

  private async watchOne(viewer: number, taskId: string): Promise<RunView> {
    const view: RunView = { viewer, taskId, chunks: 0, lastSeq: 0, drops: [], problems: [], digest: '', finalStatus: null };
    const digest = chunkDigest();
    while (!view.finalStatus && view.drops.length <= MAX_RECONNECTS) {
      let ticket: string;
      try {
        ticket = await this.ticket(taskId);
      } catch (err) {
        view.problems.push(`ticket: ${String(err)}`);
        break;
      }
      const ws = this.connect(`${this.wsUrl}/api/executions/${taskId}/live?since=${view.lastSeq}&ticket=${ticket}`, 'WS /api/executions/:id/live');
      let liveAfter = Infinity;
      /** The run was already over at connect: the backlog up to this seq is all there is. */
      let endsAt = Infinity;
      let ackedAt = 0;
      ws.on('message', (raw) => {
        const now = Date.now();
        const m = JSON.parse(raw.toString());
        if (m.type === 'hello') {
          liveAfter = m.lastSeq;
          if (isFinal(m.status)) endsAt = m.lastSeq;
        } else if (m.type === 'log') {
          for (const c of m.chunks as Chunk[]) {
            if (c.seq !== view.lastSeq + 1) view.problems.push(`seq ${c.seq} after ${view.lastSeq}`);
            view.lastSeq = Math.max(view.lastSeq, c.seq);
            view.chunks++;
            digest.add(c);
            if (c.seq > liveAfter && c.stream !== 'system') this.lineLatencies.push(now - c.ts);
          }
          if (now - ackedAt >= VIEWER_ACK_INTERVAL_MS) {
            ackedAt = now;
            ws.send(JSON.stringify({ type: 'ack', seq: view.lastSeq } satisfies ViewerAck));
          }
        }
        if (view.lastSeq >= endsAt && !view.finalStatus) {
          view.finalStatus = 'seen at connect';
          ws.close(1000, 'seen it all');
        } else if (m.type === 'status' && isFinal(m.status)) {
          view.finalStatus = m.status;
          ws.close(1000, 'seen it all');
        }
      });
      const code = await new Promise<number>((resolve) => {
        ws.once('close', (c) => resolve(c));
        ws.once('error', () => {
          /* counted in connect(); close follows */
        });
      });
      if (!view.finalStatus) {
        if (this.stopping) {
          view.problems.push('load stopped before the run ended');
          break;
        }
        view.drops.push(`socket closed (${code}) at seq ${view.lastSeq}`);
      }
    }
    if (!view.finalStatus && !view.problems.length) view.problems.push(`never saw the run end (${view.drops.length} drops: ${view.drops.join('; ')})`);
    view.digest = digest.hex();
    return view;
  }

  private stopping = false;
  /** Closes every socket (hub viewers included). */
  close() {
    this.stopping = true;
    for (const ws of this.open) ws.close(1000, 'load over');
  }
}
