// Gets the run's events to the ingest API without ever holding the test run up.
//
// Events get a sequence number when they happen and wait in a queue; a single pump (never two at
// once, so order holds) cuts the queue into batches of at most `maxBatchSize` events, gives each
// an id and sends them one after the other. A batch keeps its id and content forever, so a resend
// after a timeout is recognised by the server and ignored. A failure backs off (exponentially, or
// as long as 429 Retry-After says) and copies the unsent batches to the spool file; the next
// successful call sends them in order. `finish()` has a time budget, set by what the server did
// during the run: whatever is still undelivered then is left in the spool, with the teardown, for
// `agnox-report upload`.
import { randomUUID } from 'node:crypto';
import { backoffMs, post, type CallOutcome } from './http';
import type { ResolvedOptions } from './options';
import { SpoolFile, type Batch, type SpoolTeardown } from './spool';
import type { EventResponse, IngestEvent, SetupBody, SetupResponse, TeardownResponse } from './wire';

/** Keep a request well under the server's 1 MB body limit. */
const MAX_BATCH_BYTES = 700 * 1024;
/** Failed calls allowed in `finish()` before the rest goes to the spool. */
const FINAL_TRIES = 2;
/** End budget for a server that has not answered at all, or cannot be connected to now: waiting does not help. */
const UNREACHABLE_END_BUDGET_MS = 500;
/** A connection not made in this long is taken as unreachable (refused ones fail at once; dropped ones retry for minutes). */
const CONNECT_TIMEOUT_MS = 2_000;
/** At the end of the run, attachment uploads still going get at most this (and half the budget). */
const END_UPLOADS_MS = 5_000;

export type Outcome = 'delivered' | 'spooled';

type Pending = IngestEvent extends infer E ? (E extends IngestEvent ? Omit<E, 'seq'> : never) : never;

export class Delivery {
  private queue: IngestEvent[] = [];
  private pending: Batch[] = [];
  private session?: SetupResponse;
  private seq = 0;
  private batchNo = 0;
  private failures = 0;
  private notBefore = 0;
  /** Until when the server asked us to wait (429 Retry-After); our own backoff is not this. */
  private serverWaitUntil = 0;
  private finalMode = false;
  /** Set by the flush timer: the next cut may send a batch that is not full. */
  private flushDue = false;
  /** Set when the server refused us for good (bad key, unknown project): stop calling, keep spooling. */
  private stopped?: string;
  private lastError?: string;
  /** The server has answered (with any HTTP status) during the run. */
  private answered = false;
  /** The last call that ended could not get a connection (refused, dropped): the server is down now. */
  private unreachable = false;
  private pumping?: Promise<void>;
  private timer?: ReturnType<typeof setInterval>;
  private readonly endOfRun = new AbortController();
  private readonly instance = randomUUID().slice(0, 12);
  private readonly spool: SpoolFile;
  private readonly uploads = new Set<{ done: boolean; finishNow: () => void; promise?: Promise<void> }>();
  private attachmentBytes = 0;
  readonly stats = { calls: 0, failures: 0, batchesSent: 0, eventsSent: 0 };

  constructor(
    private readonly options: ResolvedOptions,
    private readonly setup: SetupBody,
    spoolFile: string,
    private readonly log: (msg: string) => void,
    private readonly userAgent: string,
  ) {
    this.spool = new SpoolFile(spoolFile, { kind: 'agnox-spool', version: 1, baseUrl: options.baseUrl, setup, createdAt: Date.now() });
  }

  get spoolPath() {
    return this.spool.file;
  }
  get taskId() {
    return this.session?.taskId;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.flushDue = true;
      this.kick();
    }, this.options.flushIntervalMs);
    this.timer.unref?.();
    this.kick();
  }

  push(event: Pending): void {
    this.queue.push({ ...event, seq: ++this.seq } as IngestEvent);
    if (this.queue.length >= this.options.maxBatchSize) this.kick();
  }

  /**
   * Uploads a test's attachments (within the byte budget), then pushes its test-end event with the
   * keys. If the run ends first, the event goes out without the keys that did not make it.
   */
  pushAfterUploads(event: Pending & { type: 'test-end' }, files: Array<{ index: number; bytes: () => Promise<Uint8Array | undefined> }>): void {
    if (!files.length || !this.session || this.stopped || this.finalMode) {
      this.push(event);
      return;
    }
    const job: { done: boolean; finishNow: () => void; promise?: Promise<void> } = {
      done: false,
      finishNow: () => {
        if (!job.done) {
          job.done = true;
          this.push(event);
        }
      },
    };
    this.uploads.add(job);
    job.promise = (async () => {
      for (const file of files) {
        if (job.done) return;
        const bytes = await file.bytes().catch(() => undefined);
        const att = event.attachments?.[file.index];
        if (!bytes || !att || this.attachmentBytes + bytes.byteLength > this.options.attachmentBudgetBytes) continue;
        this.attachmentBytes += bytes.byteLength;
        const q = new URLSearchParams({ sessionId: this.session!.sessionId, testId: event.testId, retry: String(event.retry ?? 0), name: att.name });
        const r = await this.call<{ key: string }>(`/api/ingest/attachment?${q}`, bytes, Infinity, att.contentType);
        if (r.ok && !job.done) att.key = r.data.key;
      }
    })().finally(() => {
      job.finishNow();
      this.uploads.delete(job);
    });
  }

  private kick(): void {
    if (!this.pumping)
      this.pumping = this.pump(Infinity).finally(() => {
        this.pumping = undefined;
      });
  }

  /**
   * Moves queued events into numbered batches (by count and by size). Only full batches, unless the
   * flush timer has fired, the run is ending, or `all` (a failure: everything goes to the spool), so
   * that a busy run sends few large requests rather than many small ones.
   */
  private cut(all = false): void {
    const partial = all || this.flushDue || this.finalMode;
    if (partial) this.flushDue = false;
    while (this.queue.length >= this.options.maxBatchSize || (partial && this.queue.length)) {
      let bytes = 0;
      let n = 0;
      while (n < this.queue.length && n < this.options.maxBatchSize) {
        bytes += JSON.stringify(this.queue[n]).length;
        if (n > 0 && bytes > MAX_BATCH_BYTES) break;
        n++;
      }
      this.pending.push({ batchId: `${this.instance}-${++this.batchNo}`, events: this.queue.splice(0, n) });
    }
  }

  /** `holdLast`: at the end of the run the last batch is left for the teardown, which carries it. */
  private async pump(deadline: number, holdLast = false): Promise<void> {
    while (!this.stopped && Date.now() >= this.notBefore) {
      if (!this.session) {
        const r = await this.call<SetupResponse>('/api/ingest/setup', this.setup, deadline);
        if (!r.ok) return this.failed(r, 'setup');
        this.session = r.data;
        this.failures = 0;
        this.log(`session ${r.data.sessionId.slice(0, 12)}… → execution ${r.data.taskId}`);
      }
      this.cut();
      const batch = this.pending[0];
      if (!batch || (holdLast && this.pending.length === 1 && !this.queue.length)) return;
      const r = await this.call<EventResponse>(
        '/api/ingest/event',
        { sessionId: this.session.sessionId, batchId: batch.batchId, events: batch.events },
        deadline,
      );
      if (r.ok) {
        this.pending.shift();
        this.failures = 0;
        this.stats.batchesSent++;
        this.stats.eventsSent += batch.events.length;
        continue;
      }
      if (r.status === 400 || r.status === 413) {
        // The server will never take this batch; resending would block every batch behind it.
        this.log(`dropping batch ${batch.batchId} (${batch.events.length} events): ${r.error}`);
        this.pending.shift();
        continue;
      }
      if (r.status === 404) this.session = undefined; // expired session: setup joins the same run again by runId
      return this.failed(r, 'event');
    }
  }

  private failed(r: CallOutcome<unknown> & { ok: false }, what: string): void {
    this.failures++;
    this.lastError = `${what}: ${r.error}`;
    this.stats.failures++;
    if (r.status === 401 || r.status === 403 || (what === 'setup' && (r.status === 400 || r.status === 404))) {
      this.stopped = `${what} refused: ${r.error}`;
      warn(`[agnox] ${this.stopped}; results are kept in the spool file`);
    }
    if (r.retryAfterMs !== undefined) this.serverWaitUntil = Date.now() + r.retryAfterMs;
    const wait = r.retryAfterMs ?? backoffMs(this.failures);
    this.notBefore = Date.now() + (this.finalMode && r.retryAfterMs === undefined ? Math.min(wait, 100) : wait);
    this.log(`${what} failed (${r.error}); next try in ${this.notBefore - Date.now()} ms`);
    this.cut(true);
    try {
      this.spool.append(this.pending);
    } catch (err) {
      this.log(`cannot write the spool file ${this.spool.file}: ${String(err)}`);
    }
  }

  private async call<T>(pathAndQuery: string, body: unknown, deadline: number, contentType?: string): Promise<CallOutcome<T>> {
    this.stats.calls++;
    const left = deadline - Date.now();
    if (left <= 0) return { ok: false, status: 0, retryable: true, error: 'out of time' };
    const r = await post<T>(`${this.options.baseUrl}${pathAndQuery}`, body, {
      apiKey: this.options.apiKey,
      timeoutMs: Math.min(this.options.requestTimeoutMs, left),
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      signal: this.endOfRun.signal,
      contentType,
      userAgent: this.userAgent,
    });
    // What the end of the run's budget is decided from. A call that timed out on an open connection
    // (a slow server) changes neither.
    if (r.ok || r.status > 0) {
      this.answered = true;
      this.unreachable = false;
    } else if (r.unreachable) {
      this.unreachable = true;
    }
    return r;
  }

  /**
   * Delivers what is left and tears the session down. A server that has answered during the run and
   * can still be connected to is slow, not down (under load answers take seconds): it gets up to
   * `endTimeoutMs`. One that never answered, or refuses or drops connections now, gets 0.5 s, and
   * the rest goes to the spool. Whatever could not be delivered is in the spool file (returned),
   * with the teardown.
   */
  async finish(teardown: SpoolTeardown): Promise<{ outcome: Outcome; taskId?: string; spool?: string; reason?: string }> {
    clearInterval(this.timer);
    this.finalMode = true;
    const started = Date.now();
    const shortBudget = Math.min(this.options.endTimeoutMs, UNREACHABLE_END_BUDGET_MS);
    const budget = this.answered && !this.unreachable ? this.options.endTimeoutMs : shortBudget;
    this.log(
      `end of run: ${budget === shortBudget ? 'the server has not answered or cannot be reached' : 'the server has answered'}; waiting at most ${budget} ms`,
    );
    let deadline = started + budget;
    // In-flight calls (a hanging server) are cut at the deadline at the latest.
    let cutoff = setTimeout(() => this.endOfRun.abort(), budget);
    /** The server went down during the end of the run: the short budget applies from now on. */
    const shorten = () => {
      if (!this.unreachable || deadline <= Date.now() + shortBudget) return;
      deadline = Date.now() + shortBudget;
      clearTimeout(cutoff);
      cutoff = setTimeout(() => this.endOfRun.abort(), shortBudget);
    };
    let reason: string | undefined;
    try {
      // A test whose attachment upload is still going is reported without it.
      if (this.uploads.size) {
        const wait = cancellableSleep(Math.min(budget / 2, END_UPLOADS_MS));
        await Promise.race([Promise.allSettled([...this.uploads].map((u) => u.promise)), wait.done]);
        wait.cancel();
      }
      for (const u of this.uploads) u.finishNow();
      await this.pumping;
      shorten();
      // Our own backoff from the run does not apply now; a server's Retry-After still does.
      this.notBefore = this.serverWaitUntil > Date.now() ? this.serverWaitUntil : 0;
      const failuresAtStart = this.stats.failures;
      // A few quick tries, not a busy loop: a server that is down stays down for the next second.
      while (!this.stopped && Date.now() < deadline && this.stats.failures - failuresAtStart < FINAL_TRIES) {
        const wait = this.notBefore - Date.now();
        if (wait > 0) {
          if (Date.now() + wait >= deadline) {
            reason = 'the server asked to wait past the time budget';
            break;
          }
          await sleep(wait);
        }
        await this.pump(deadline, true);
        shorten();
        if (this.stopped || !this.session || this.queue.length || this.pending.length > 1) continue;
        // The last batch rides with the teardown: one request fewer on the run's critical path.
        const last = this.pending[0];
        const r = await this.call<TeardownResponse>(
          '/api/ingest/teardown',
          {
            sessionId: this.session.sessionId,
            ...teardown,
            ...(last ? { batchId: last.batchId, events: last.events } : {}),
          },
          deadline,
        );
        if (r.ok) {
          if (last) {
            this.pending.shift();
            this.stats.batchesSent++;
            this.stats.eventsSent += last.events.length;
          }
          this.spool.remove();
          return { outcome: 'delivered', taskId: r.data.taskId };
        }
        if (r.status === 400 && last) {
          // As in pump: a batch the server will never take must not block the teardown behind it.
          this.log(`dropping batch ${last.batchId} (${last.events.length} events) sent with the teardown: ${r.error}`);
          this.pending.shift();
          continue;
        }
        if (r.status === 404) this.session = undefined;
        this.failed(r, 'teardown');
        shorten();
      }
      reason ??= this.stopped ?? this.lastError ?? 'out of time';
    } finally {
      clearTimeout(cutoff);
      this.endOfRun.abort();
    }
    this.cut();
    try {
      this.spool.finalize(this.pending, teardown);
    } catch (err) {
      warn(`[agnox] could not deliver the run (${reason ?? 'out of time'}) nor write ${this.spool.file}: ${String(err)}`);
      return { outcome: 'spooled', reason: reason ?? 'out of time' };
    }
    return { outcome: 'spooled', taskId: this.session?.taskId, spool: this.spool.file, reason: reason ?? 'out of time' };
  }
}

// Not unref'd: Playwright awaits onEnd, and these waits are bounded by the end budget.
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
function cancellableSleep(ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<void>((r) => {
    timer = setTimeout(r, ms);
  });
  return { done, cancel: () => clearTimeout(timer) };
}

export function warn(msg: string): void {
  try {
    process.stderr.write(`${msg}\n`);
  } catch {
    /* stderr closed: nothing to do */
  }
}
