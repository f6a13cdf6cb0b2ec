// The load's external-CI traffic: concurrent Playwright-like runs reported through the real
// reporter's delivery (reporter/src/delivery.ts: numbered events, batches with ids, retries with
// backoff and Retry-After, spool on failure), each at a steady event rate, one API key per CI
// pipeline. A pipeline starts its next run when one ends. Each run is checked as soon as it is
// torn down: every test result stored in D1 and every log line stored in order.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Delivery } from '../reporter/src/delivery';
import type { ResolvedOptions } from '../reporter/src/options';
import { uploadSpool } from '../reporter/src/upload';
import type { IngestEvent } from '../reporter/src/wire';
import type { Api } from './api';
import { readLog } from './read-log';

const TICK_MS = 200;
const EVENTS_PER_TEST = 4; // test-begin, two log lines, test-end

export type IngestRun = {
  pipeline: number;
  taskId: string | null;
  tests: number;
  failed: number;
  expectedStatus: 'PASSED' | 'FAILED';
  /** Why the reporter left the run in its spool file (then uploaded as `agnox-report upload` does), if it did. */
  spooled: string | null;
  eventsSent: number;
  problems: string[];
};

type Pending = IngestEvent extends infer E ? (E extends IngestEvent ? Omit<E, 'seq'> : never) : never;

export class IngestSessions {
  readonly runs: IngestRun[] = [];
  private stopped = false;
  private readonly spoolDir = mkdtempSync(path.join(tmpdir(), 'agnox-load-spool-'));
  private pipelines: Promise<void>[] = [];
  /** Events of runs that reached the server, live or from a spool. */
  eventsSent = 0;

  constructor(
    private readonly api: Api,
    private readonly opts: { url: string; token: string; projectId: string; keys: string[]; eventsPerSecond: number; testsPerRun: number },
  ) {}

  start() {
    // CI pipelines do not all start in the same second: spread over the first 10 s.
    this.pipelines = this.opts.keys.map((key, i) =>
      new Promise<void>((r) => setTimeout(r, (i * 10_000) / this.opts.keys.length)).then(() => this.pipeline(i + 1, key)),
    );
  }

  /** No new runs; resolves when the runs under way have ended and been checked. */
  async stop() {
    this.stopped = true;
    await Promise.all(this.pipelines);
  }

  private async pipeline(n: number, key: string) {
    for (let runNo = 1; !this.stopped; runNo++) this.runs.push(await this.oneRun(n, runNo, key));
  }

  private async oneRun(pipeline: number, runNo: number, apiKey: string): Promise<IngestRun> {
    const { testsPerRun, eventsPerSecond } = this.opts;
    const options: ResolvedOptions = {
      apiKey,
      projectId: this.opts.projectId,
      baseUrl: this.opts.url,
      flushIntervalMs: 2000,
      maxBatchSize: 50,
      debug: false,
      endTimeoutMs: 120_000,
      requestTimeoutMs: 30_000,
      uploadAttachments: false,
      attachmentBudgetBytes: 0,
    };
    const runId = `load-p${pipeline}-r${runNo}-${Date.now()}`;
    const delivery = new Delivery(
      options,
      { projectId: this.opts.projectId, framework: 'playwright', reporterVersion: 'load', totalTests: testsPerRun, runId, runName: runId },
      path.join(this.spoolDir, `${runId}.jsonl`),
      () => {},
      'agnox-load',
    );
    delivery.start();
    // One run in three has a failing test.
    const failing = runNo % 3 === 0 ? new Set([7]) : new Set<number>();
    const logText: string[] = [];
    const perTick = Math.max(1, Math.round((eventsPerSecond * TICK_MS) / 1000 / EVENTS_PER_TEST));
    const started = Date.now();
    let test = 0;
    while (test < testsPerRun) {
      for (let k = 0; k < perTick && test < testsPerRun; k++) {
        test++;
        const testId = `spec-${test}`;
        const now = Date.now();
        const events: Pending[] = [
          { type: 'test-begin', testId, title: `test ${test}`, file: 'load.spec.ts', timestamp: now },
          { type: 'log', testId, chunk: `[${runId}] test ${test} step 1\n`, timestamp: now, stream: 'stdout' },
          { type: 'log', testId, chunk: `[${runId}] test ${test} step 2\n`, timestamp: now, stream: 'stdout' },
          {
            type: 'test-end',
            testId,
            title: `test ${test}`,
            file: 'load.spec.ts',
            status: failing.has(test) ? 'failed' : 'passed',
            duration: 150,
            timestamp: now,
            ...(failing.has(test) ? { error: 'expected 1 to be 2' } : {}),
          },
        ];
        for (const e of events) {
          if (e.type === 'log') logText.push(e.chunk);
          delivery.push(e);
        }
      }
      // On schedule (no drift): the next tick is due at started + ticks × TICK_MS.
      await new Promise((r) => setTimeout(r, Math.max(0, started + (test / perTick) * TICK_MS - Date.now())));
    }
    const failed = failing.size;
    const expectedStatus = failed ? 'FAILED' : 'PASSED';
    const end = await delivery.finish({
      status: expectedStatus,
      summary: { total: testsPerRun, passed: testsPerRun - failed, failed, skipped: 0, duration: Date.now() - started },
    });
    const run: IngestRun = {
      pipeline,
      taskId: end.taskId ?? null,
      tests: testsPerRun,
      failed,
      expectedStatus,
      spooled: null,
      eventsSent: delivery.stats.eventsSent,
      problems: [],
    };
    if (end.outcome === 'spooled') {
      // The reporter does not hold a CI job up for a slow server: what it could not send is in its
      // spool file, which the pipeline's next step uploads (`agnox-report upload`).
      run.spooled = end.reason ?? 'spooled';
      if (!end.spool) {
        run.problems.push(`reporter could not deliver the run nor write its spool: ${end.reason}`);
        return run;
      }
      try {
        const up = await uploadSpool(end.spool, { apiKey, baseUrl: this.opts.url, attempts: 10, timeoutMs: 60_000 });
        run.taskId = up.taskId;
        if (!up.tornDown) run.problems.push('the spool had no teardown');
      } catch (err) {
        run.problems.push(`uploading the spool: ${String(err)}`);
        return run;
      }
    } else if (delivery.stats.eventsSent !== testsPerRun * EVENTS_PER_TEST) {
      run.problems.push(`reporter delivered ${delivery.stats.eventsSent} of ${testsPerRun * EVENTS_PER_TEST} events`);
    }
    this.eventsSent += testsPerRun * EVENTS_PER_TEST;
    if (!run.taskId) {
      run.problems.push('no execution for the run');
      return run;
    }
    const taskId = run.taskId;
    try {
      const stored: { testId: string; status: string }[] = await this.api.call('GET', `/api/executions/${taskId}/tests`, { token: this.opts.token });
      if (stored.length !== testsPerRun) run.problems.push(`${stored.length} of ${testsPerRun} test results stored`);
      const wrong = stored.filter((t) => t.status !== (failing.has(Number(t.testId.slice(5))) ? 'failed' : 'passed'));
      if (wrong.length) run.problems.push(`${wrong.length} results with the wrong status`);
      const log = await readLog(this.api, this.opts.token, taskId);
      const text = log.chunks
        .filter((c) => c.stream === 'stdout')
        .map((c) => c.data)
        .join('');
      if (text !== logText.join('')) run.problems.push(`stored log differs: ${text.split('\n').length - 1} of ${logText.length} lines`);
    } catch (err) {
      run.problems.push(`reading the run back: ${String(err)}`);
    }
    return run;
  }
}
