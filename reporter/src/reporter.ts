// The Playwright reporter: turns the run into ingest events and hands them to Delivery.
// Every hook is synchronous and cheap (push to a queue); only onEnd waits, and only within
// `endTimeoutMs`. A missing key or project makes the whole reporter a no-op with one warning.
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FullConfig, FullResult, Reporter, Suite, TestCase, TestError, TestResult } from '@playwright/test/reporter';
import { detectCiContext } from './ci';
import { Delivery, warn } from './delivery';
import { resolveOptions, type AgnoxReporterOptions, type ResolvedOptions } from './options';
import { allFailuresQuarantined, fetchQuarantined } from './quarantine';
import { DEFAULT_SPOOL_DIR, uploadDir } from './spool';
import { finalStatus, summarize } from './summary';
import { VERSION } from './version';
import type { SetupBody, TestEndEvent } from './wire';

/** The server's per-attachment limit (its request body limit is 1 MB). */
const MAX_ATTACHMENT_BYTES = 1024 * 1024 - 1024;
/** Longest log chunk sent as one event; longer output is split. */
const MAX_CHUNK_CHARS = 64 * 1024;

/** A path as the user would type it from here: relative when it is below the current folder. */
const shown = (file: string) => {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
};

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;
const plain = (s: string | undefined) => s?.replace(ANSI, '');

export class AgnoxReporter implements Reporter {
  private readonly options?: ResolvedOptions;
  private readonly disabledReason?: string;
  private delivery?: Delivery;
  private config?: FullConfig;
  private suite?: Suite;
  /** Quarantined test keys, once fetched (null until then: onEnd does not wait for a slow server). */
  private quarantined: Set<string> | null = null;
  /** Ends a still-pending quarantine fetch at onEnd, so it never holds the process open. */
  private readonly quarantineFetch = new AbortController();

  constructor(options: AgnoxReporterOptions = {}) {
    const resolved = resolveOptions(options);
    if ('disabled' in resolved) this.disabledReason = resolved.disabled;
    else this.options = resolved.options;
  }

  printsToStdio(): boolean {
    return false;
  }

  onBegin(config: FullConfig, suite: Suite): void {
    if (!this.options) {
      warn(`[agnox] reporter disabled: ${this.disabledReason}`);
      return;
    }
    this.config = config;
    this.suite = suite;
    const o = this.options;
    const ciContext = detectCiContext();
    const shard = config.shard && config.shard.total > 1 ? { current: config.shard.current, total: config.shard.total } : undefined;
    // Shards of one CI build share the build's id, so they merge into one execution.
    const runId = o.runId ?? (shard && ciContext.buildId ? `${ciContext.source}:${ciContext.buildId}:${shard.total}` : randomUUID());
    const setup: SetupBody = {
      projectId: o.projectId,
      runName: o.runName,
      framework: 'playwright',
      reporterVersion: VERSION,
      totalTests: suite.allTests().length,
      environment: o.environment,
      ciContext,
      runId,
      shard,
    };
    // Not Playwright's output folder: Playwright empties it when the next run starts.
    const spoolDir = path.resolve(o.spoolDir ?? path.join(config.configFile ? path.dirname(config.configFile) : config.rootDir, DEFAULT_SPOOL_DIR));
    const spoolFile = path.join(spoolDir, `agnox-spool-${shard ? `shard${shard.current}-` : ''}${randomUUID().slice(0, 8)}.jsonl`);
    const log = o.debug ? (msg: string) => warn(`[agnox] ${msg}`) : () => {};
    this.delivery = new Delivery(o, setup, spoolFile, log, `agnox-playwright-reporter/${VERSION} node/${process.versions.node}`);
    this.delivery.start();
    void fetchQuarantined(o, `agnox-playwright-reporter/${VERSION} node/${process.versions.node}`, this.quarantineFetch.signal).then((keys) => {
      this.quarantined = keys;
    });
  }

  onTestBegin(test: TestCase, result: TestResult): void {
    this.delivery?.push({
      type: 'test-begin',
      testId: test.id,
      title: test.title,
      file: this.file(test.location.file),
      timestamp: Date.now(),
      retry: result.retry,
    });
  }

  onStdOut(chunk: string | Buffer, test?: TestCase): void {
    this.log(chunk, 'stdout', test);
  }

  onStdErr(chunk: string | Buffer, test?: TestCase): void {
    this.log(chunk, 'stderr', test);
  }

  onError(error: TestError): void {
    this.log(`${plain(error.stack ?? error.message) ?? 'error'}\n`, 'stderr');
  }

  onTestEnd(test: TestCase, result: TestResult): void {
    if (!this.delivery || !this.options) return;
    const error = result.error ?? result.errors[0];
    const suite = test.titlePath().slice(3, -1).join(' › ');
    const attachments = this.options.uploadAttachments ? result.attachments.filter((a) => a.path || a.body) : [];
    const event: Omit<TestEndEvent, 'seq'> = {
      type: 'test-end',
      testId: test.id,
      status: result.status,
      duration: Math.max(0, Math.round(result.duration)),
      error: plain(error?.message)?.slice(0, 20_000),
      timestamp: Date.now(),
      retry: result.retry,
      title: test.title,
      file: this.file(test.location.file),
      suite: suite || undefined,
      errorStack: plain(error?.stack)?.slice(0, 50_000),
      errorLocation: error?.location ? `${this.file(error.location.file)}:${error.location.line}:${error.location.column}` : undefined,
      attachments: attachments.length
        ? attachments.slice(0, 50).map((a) => ({
            name: a.name.slice(0, 200),
            contentType: a.contentType || 'application/octet-stream',
            ...(a.body ? { size: a.body.byteLength } : {}),
          }))
        : undefined,
      startedAt: result.startTime.getTime(),
    };
    const files = attachments.slice(0, 50).map((a, index) => ({
      index,
      bytes: async (): Promise<Uint8Array | undefined> => {
        if (a.body) return a.body.byteLength <= MAX_ATTACHMENT_BYTES ? new Uint8Array(a.body) : undefined;
        const size = (await stat(a.path!)).size;
        return size <= MAX_ATTACHMENT_BYTES ? new Uint8Array(await readFile(a.path!)) : undefined;
      },
    }));
    this.delivery.pushAfterUploads(event, files);
  }

  async onEnd(result: FullResult): Promise<void> {
    if (!this.delivery || !this.suite || !this.options) return;
    const summary = summarize(this.suite.allTests(), result.duration);
    const shard = this.config?.shard && this.config.shard.total > 1 ? { current: this.config.shard.current, total: this.config.shard.total } : undefined;
    const started = performance.now();
    this.quarantineFetch.abort();
    let status = finalStatus(result.status);
    const quarantined =
      status === 'FAILED' && this.quarantined ? allFailuresQuarantined(this.suite.allTests(), this.quarantined, (t) => this.file(t.location.file)) : null;
    if (quarantined) {
      status = 'PASSED';
      warn(`[agnox] ${quarantined.length} failing test(s) are quarantined, so the Agnox run is reported PASSED: ${quarantined.join('; ')}`);
    }
    const done = await this.delivery.finish({ status, summary, ...(shard ? { shard } : {}) });
    if (done.outcome === 'delivered') {
      if (this.options.debug)
        warn(
          `[agnox] run reported: ${this.options.baseUrl}/executions/${done.taskId} (end of run took ${Math.round(performance.now() - started)} ms; ${this.delivery.stats.eventsSent} events in ${this.delivery.stats.batchesSent} batches)`,
        );
    } else if (done.spool) {
      // `upload` with no file sends everything in the folder it looks in; elsewhere, name the file.
      const command = path.dirname(done.spool) === uploadDir() ? 'npx agnox-report upload' : `npx agnox-report upload ${shown(done.spool)}`;
      warn(
        `[agnox] ${this.options.baseUrl} did not take the end of the run (${done.reason}; gave up after ${Math.round(performance.now() - started)} ms); ` +
          `results saved to ${shown(done.spool)}; run \`${command}\` to send them`,
      );
    }
  }

  private log(chunk: string | Buffer, stream: 'stdout' | 'stderr', test?: TestCase): void {
    if (!this.delivery) return;
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    for (let i = 0; i < text.length; i += MAX_CHUNK_CHARS) {
      this.delivery.push({ type: 'log', testId: test?.id, chunk: text.slice(i, i + MAX_CHUNK_CHARS), timestamp: Date.now(), stream });
    }
  }

  /** Paths relative to the config's root, with forward slashes, as Playwright's own reports show them. */
  private file(abs: string): string {
    const rel = this.config ? path.relative(this.config.rootDir, abs) : abs;
    return rel.split(path.sep).join('/');
  }
}
