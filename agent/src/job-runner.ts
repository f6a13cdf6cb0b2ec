// Runs one leased job from accept to complete: refuse early if the host cannot run it, image by
// policy, container, live masked log, heartbeats (which renew the lease and carry cancel), the
// per-job timeout, masked results and reports, cleanup, and the final status. Reads top to bottom in `run()`.
import type Docker from 'dockerode';
import { StringDecoder } from 'node:string_decoder';
import { type CompleteBody, HEARTBEAT_INTERVAL_MS, HeartbeatResponse, type Job } from '../../worker/contracts/agent';
import type { z } from 'zod';
import type { Attachment as AttachmentSchema, TestResult } from '../../worker/contracts/results';
import { sleep } from './backoff';
import { refusalFor } from './browser-channel';
import { DockerError, type DockerRunner } from './docker-runner';
import { type ControlPlaneClient, ControlPlaneError } from './http-client';
import { errorMessage, type Logger } from './log';
import { LogStreamer, type LogStreamerOptions, type StreamName } from './log-streamer';
import { MaskingStream, SecretMasker } from '../../worker/lib/secret-masker';
import { formatSize, OutputCap } from './output-cap';
import { maskReportFile } from './report-masking';
import { extractReportArchive, type ReportFile, testResultsFrom } from './reports';

type Attachment = z.infer<typeof AttachmentSchema>;

/** Retry interval for heartbeats while they fail. */
const HEARTBEAT_RETRY_MS = 2_000;

export type StopReason = 'cancel' | 'timeout' | 'agent_stop' | 'lease_lost';
type Status = CompleteBody['status'];
type Reason = NonNullable<CompleteBody['reason']>;

export type JobOutcome = {
  taskId: string;
  status: Status | 'ABANDONED';
  reason?: Reason | 'lease_lost';
  exitCode: number | null;
  lastSeq: number;
  tests: number;
  reports: number;
  message: string;
};

export type JobRunnerDeps = {
  client: ControlPlaneClient;
  docker: DockerRunner;
  agentName: string;
  arch: string;
  platform: string;
  stopGraceSeconds: number;
  /** Bytes of the job's output forwarded; the rest is read and dropped (see output-cap.ts). */
  logMaxBytes: number;
  heartbeatIntervalMs?: number;
  logger: Logger;
  streamer?: Partial<LogStreamerOptions>;
};

export class JobRun {
  private stopReason: StopReason | null = null;
  private container: Docker.Container | null = null;
  /** Fires on stop: interrupts an image pull. */
  private readonly abort = new AbortController();
  /** Fires when the run is over: ends the heartbeats. */
  private readonly finished = new AbortController();
  private stopping: Promise<void> | null = null;
  /** Set once the result is being reported: a heartbeat refused after that is not a lost lease. */
  private reporting = false;
  /** The result report needed a retry: heartbeats resume, to hold the lease while it retries. */
  private reportRetrying = false;
  private heartbeatInFlight: Promise<unknown> | null = null;
  /**
   * Resolves once the job's container is gone and its result is known, before the result is
   * reported: reporting (retried for minutes if the control plane is down) and the heartbeats that
   * hold the lease meanwhile use no container, so the agent's slot is free again from here.
   */
  readonly executed: Promise<void>;
  private markExecuted!: () => void;
  readonly streamer: LogStreamer;
  private readonly masker: SecretMasker;
  readonly startedAt = Date.now();
  /** Milliseconds since start at each phase's end: where a job's time goes (logged at the end). */
  readonly phases: Record<string, number> = {};
  private mark(phase: string) {
    this.phases[phase] = Date.now() - this.startedAt;
  }

  /** `refusal`: why the job must not run (job-policy.ts); it then ends ERROR with that reason. */
  constructor(
    readonly job: Job,
    private readonly deps: JobRunnerDeps,
    private readonly refusal: string | null = null,
  ) {
    this.streamer = new LogStreamer({ client: deps.client, taskId: job.taskId, logger: deps.logger, ...deps.streamer });
    this.masker = new SecretMasker(Object.values(job.secretVars));
    this.executed = new Promise((resolve) => {
      this.markExecuted = resolve;
    });
  }

  get taskId(): string {
    return this.job.taskId;
  }

  /** Stops the job for `reason`: SIGTERM to the container, SIGKILL after the grace period. */
  stop(reason: StopReason): Promise<void> {
    if (this.stopReason) return this.stopping ?? Promise.resolve();
    this.stopReason = reason;
    this.deps.logger.info(`job ${this.taskId}: stopping (${reason})`);
    this.abort.abort();
    if (reason !== 'lease_lost') this.system(`stopping the job: ${describeStop(reason)}`);
    this.stopping = this.container
      ? this.deps.docker.stop(this.container, this.deps.stopGraceSeconds).catch((err) => this.deps.logger.warn(errorMessage(err)))
      : Promise.resolve();
    return this.stopping;
  }

  async run(): Promise<JobOutcome> {
    const { job, deps } = this;
    this.streamer.start();
    const heartbeats = this.heartbeatLoop();
    const timeout = job.timeoutSeconds > 0 ? setTimeout(() => void this.stop('timeout'), job.timeoutSeconds * 1000) : null;
    let result: { status: Status; reason: Reason; exitCode: number | null; message: string; tests: TestResult[]; reports: Attachment[] };
    try {
      result = await this.execute();
    } catch (err) {
      // Anything unexpected still ends the run with a status and the error in its log.
      const message = err instanceof DockerError ? err.message : `agent error: ${errorMessage(err)}`;
      this.system(message);
      result = { status: 'ERROR', reason: 'docker_error', exitCode: null, message, tests: [], reports: [] };
    } finally {
      if (timeout) clearTimeout(timeout);
      this.markExecuted();
    }
    const leaseLost = this.stopReason === 'lease_lost';
    if (!leaseLost) this.system(`finished: ${result.status} (${result.message})`);
    const { lastSeq, complete } = await this.streamer.close(leaseLost ? 2_000 : 60_000);
    this.mark('log-acked');
    if (!complete && !leaseLost) deps.logger.warn(`job ${job.taskId}: log not fully acknowledged (last seq ${lastSeq}, acked ${this.streamer.acked})`);
    const outcome: JobOutcome = {
      taskId: job.taskId,
      status: result.status,
      reason: result.reason,
      exitCode: result.exitCode,
      lastSeq,
      tests: result.tests.length,
      reports: result.reports.length,
      message: result.message,
    };
    if (leaseLost) {
      this.finished.abort();
      await heartbeats.stop();
      deps.logger.warn(`job ${job.taskId}: lease lost; the control plane has given the job back, not reporting it`);
      return { ...outcome, status: 'ABANDONED', reason: 'lease_lost' };
    }
    // Heartbeats go on until the result is in: a report that must be retried (the control plane
    // restarting, its database briefly unavailable) keeps the lease meanwhile.
    await this.complete({
      status: result.status,
      exitCode: result.exitCode,
      reason: result.reason,
      message: this.masker.mask(result.message).slice(0, 2000),
      durationMs: Date.now() - this.startedAt,
      lastSeq,
      tests: result.tests,
      reports: result.reports,
    });
    this.finished.abort();
    await heartbeats.stop();
    this.mark('reported');
    deps.logger.info(
      `job ${job.taskId}: ${result.status} (${result.message}); ms since accept: ${Object.entries(this.phases)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    return outcome;
  }

  private async execute() {
    const { job, deps } = this;
    const noResults = { tests: [] as TestResult[], reports: [] as Attachment[] };

    const refusal = this.refusal ?? refusalFor(job, deps.arch);
    if (refusal) {
      this.system(refusal);
      return { status: 'ERROR' as const, reason: 'refused' as const, exitCode: null, message: refusal, ...noResults };
    }

    this.system(`agent ${deps.agentName} (${deps.platform}) runs ${job.image}${job.attempt > 1 ? `, attempt ${job.attempt}` : ''}`);
    const quarantined = await this.quarantinedTests();
    let container: Docker.Container;
    let outputEnded: Promise<void>;
    const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    const masks = { stdout: new MaskingStream(this.masker), stderr: new MaskingStream(this.masker) };
    const cap = new OutputCap(deps.logMaxBytes);
    let outputClosed = false;
    // Sends what the decoders and maskers still hold; after it, output is no longer forwarded.
    const closeOutput = () => {
      if (outputClosed) return;
      outputClosed = true;
      for (const s of ['stdout', 'stderr'] as const) this.streamer.write(s, masks[s].push(decoders[s].end()) + masks[s].end());
    };
    try {
      await deps.docker.ensureImage(job.image, job.pullPolicy, (line) => this.system(line), this.abort.signal);
      this.mark('image');
      if (this.stopReason) return this.stoppedResult(null, noResults);
      container = await deps.docker.create({ taskId: job.taskId, image: job.image, command: job.command, env: containerEnv(job, quarantined) });
      this.container = container;
      this.mark('created');
      ({ ended: outputEnded } = await deps.docker.attach(container, (stream, data) => {
        const kept = cap.take(data); // counts what is dropped, too
        if (outputClosed) return;
        if (kept.length) this.streamer.write(stream, masks[stream].push(decoders[stream].write(kept)));
        if (cap.truncated) {
          closeOutput();
          this.system(`log truncated at ${formatSize(cap.maxBytes)}; further output dropped`);
        }
      }));
      if (this.stopReason) throw new DockerError('stopped before start');
      await deps.docker.start(container);
      this.mark('started');
    } catch (err) {
      if (this.container) await deps.docker.remove(this.container).catch(() => {});
      if (this.stopReason) return this.stoppedResult(null, noResults);
      const message = err instanceof DockerError ? err.message : `Docker error: ${errorMessage(err)}`;
      this.system(message);
      return { status: 'ERROR' as const, reason: 'docker_error' as const, exitCode: null, message, ...noResults };
    }

    try {
      const { exitCode, oomKilled } = await deps.docker.wait(container);
      this.mark('exited');
      // A stop that comes after the exit (e.g. the timeout firing during report upload) changes nothing.
      const stoppedBy = this.stopReason;
      // The output stream ends just after the exit; don't wait forever for a stuck attach.
      const settle = new AbortController();
      await Promise.race([outputEnded, sleep(5_000, settle.signal)]);
      settle.abort();
      closeOutput();
      if (cap.truncated) this.system(`${formatSize(cap.dropped)} of output past the log cap was dropped`);
      const oom = oomKilled ? `out of memory (limit ${formatSize(deps.docker.limits.memoryBytes)})` : null;
      if (oom) this.system(`${oom}: the kernel killed a process of the job; raise --memory on the agent if the job needs more`);
      const collected = await this.collectReports(container);
      this.mark('reports');
      if (stoppedBy) return this.stoppedResult(exitCode, collected, stoppedBy);
      return {
        status: exitCode === 0 ? ('PASSED' as const) : ('FAILED' as const),
        reason: 'exit' as const,
        exitCode,
        message: oom ? `${oom}, exit code ${exitCode}` : `exit code ${exitCode}`,
        ...collected,
      };
    } finally {
      await deps.docker.remove(container).catch((err) => deps.logger.warn(errorMessage(err)));
      this.mark('removed');
    }
  }

  private stoppedResult(exitCode: number | null, collected: { tests: TestResult[]; reports: Attachment[] }, reason: StopReason = this.stopReason!) {
    const status: Status = reason === 'cancel' ? 'CANCELLED' : reason === 'timeout' ? 'TIMED_OUT' : 'ERROR';
    const endReason: Reason = reason === 'lease_lost' ? 'agent_lost' : reason;
    return { status, reason: endReason, exitCode, message: describeStop(reason, this.job.timeoutSeconds), ...collected };
  }

  /** Copies the report folder out, parses the test results, masks both, uploads every file as an artifact. */
  private async collectReports(container: Docker.Container): Promise<{ tests: TestResult[]; reports: Attachment[] }> {
    const { job, deps } = this;
    let files: ReportFile[] = [];
    try {
      const archive = await deps.docker.copyOut(container, job.reportDir);
      if (!archive) return { tests: [], reports: [] };
      const extracted = await extractReportArchive(archive);
      files = extracted.files;
      if (extracted.skipped.length) this.system(`reports skipped (too large or too many): ${extracted.skipped.slice(0, 10).join(', ')}`);
    } catch (err) {
      this.system(`could not copy reports from ${job.reportDir}: ${errorMessage(err)}`);
      return { tests: [], reports: [] };
    }
    const parsed = testResultsFrom(files);
    for (const p of parsed.problems) this.system(`report not understood: ${p}`);
    if (parsed.source) this.system(`${parsed.tests.length} test results from ${parsed.source}`);
    // Nothing the job wrote leaves the box with a secret in it: results and text reports are masked like the log.
    const tests = parsed.tests.map((t) => this.masker.maskTestResult(t));
    files = files.map((f) => maskReportFile(f, this.masker));
    const reports: Attachment[] = [];
    for (const f of files) {
      if (this.stopReason === 'lease_lost') break;
      try {
        const up = await deps.client.request<{ key: string; size: number }>('PUT', `/api/agent/jobs/${job.taskId}/artifacts`, {
          query: { path: f.path },
          raw: f.bytes,
          contentType: f.contentType,
          attempts: 4,
          timeoutMs: 120_000,
        });
        reports.push({ name: f.path, contentType: f.contentType, key: up?.key, size: up?.size ?? f.bytes.length });
      } catch (err) {
        this.system(`upload of ${f.path} failed: ${errorMessage(err)}`);
      }
    }
    if (reports.length) this.system(`uploaded ${reports.length} report file(s)`);
    return { tests, reports };
  }

  /** Renews the lease every interval; the answer may carry a cancel. A 404 means the lease is gone. */
  private heartbeatLoop(): { stop: () => Promise<void> } {
    const interval = this.deps.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
    const signal = this.finished.signal;
    const loop = (async () => {
      let failing = false;
      while (!signal.aborted) {
        // After a failed heartbeat the next comes sooner, so the lease is renewed soon after a cut heals.
        await sleep(failing ? Math.min(interval, HEARTBEAT_RETRY_MS) : interval, signal);
        if (signal.aborted || this.stopReason === 'lease_lost') break;
        // A heartbeat racing the result report would find the lease just released (404): while the
        // first report attempt is out, the lease renewed before it is enough.
        if (this.reporting && !this.reportRetrying) continue;
        try {
          const call = this.deps.client.request('POST', `/api/agent/jobs/${this.taskId}/heartbeat`, {
            body: { lastSeq: this.streamer.acked },
            attempts: 2,
            timeoutMs: 10_000,
            signal,
          });
          this.heartbeatInFlight = call.catch(() => {});
          const data = await call.finally(() => {
            this.heartbeatInFlight = null;
          });
          failing = false;
          const hb = HeartbeatResponse.safeParse(data);
          if (hb.success && hb.data.cancel && !this.stopReason && !this.reporting) void this.stop(hb.data.reason === 'timeout' ? 'timeout' : 'cancel');
        } catch (err) {
          if (signal.aborted) break;
          // 404: the lease is no longer ours; 401/403: this agent was removed or disabled. Either way
          // the job is not ours to finish or report. (While the result is being reported, a 404 means
          // the report got through: the job is done.)
          if (err instanceof ControlPlaneError && [401, 403, 404, 409].includes(err.status)) {
            if (this.reporting) break;
            void this.stop('lease_lost');
          } else {
            failing = true;
            this.deps.logger.warn(`job ${this.taskId}: heartbeat failed (${errorMessage(err)})`);
          }
        }
      }
    })();
    return { stop: () => loop };
  }

  private async complete(body: CompleteBody): Promise<void> {
    this.reporting = true;
    // Let a heartbeat already on its way land first (bounded: it may be stuck on a bad network).
    if (this.heartbeatInFlight) {
      const bound = new AbortController();
      await Promise.race([this.heartbeatInFlight, sleep(5_000, bound.signal)]);
      bound.abort();
    }
    try {
      const attempts = 10;
      await this.deps.client.request('POST', `/api/agent/jobs/${this.taskId}/complete`, {
        body,
        attempts,
        timeoutMs: 30_000,
        onRetry: (err, attempt, waitMs) => {
          this.reportRetrying = true;
          this.deps.logger.warn(
            `job ${this.taskId}: reporting the result failed (attempt ${attempt}/${attempts}: ${errorMessage(err)}); retrying in ${waitMs} ms`,
          );
        },
      });
    } catch (err) {
      this.deps.logger.error(`job ${this.taskId}: could not report the result (${errorMessage(err)})`);
    }
  }

  /**
   * The project's quarantined tests, learned at the start of the run: they run and report as usual, and the
   * control plane does not fail the run for them. Best effort: without the list the run goes on.
   */
  private async quarantinedTests(): Promise<string[]> {
    try {
      const list = await this.deps.client.request<Array<{ testKey: string }>>(
        'GET',
        `/api/agent/quarantines?projectId=${encodeURIComponent(this.job.projectId)}`,
        { attempts: 2, timeoutMs: 10_000 },
      );
      const keys = (list ?? []).map((q) => q.testKey);
      if (keys.length)
        this.system(
          `${keys.length} quarantined test(s) run as usual, but their failures do not fail the run: ${keys.slice(0, 10).join('; ')}${keys.length > 10 ? '; …' : ''}`,
        );
      return keys;
    } catch (err) {
      this.system(`could not fetch the quarantine list (${errorMessage(err)}); the control plane still applies it`);
      return [];
    }
  }

  /** A line from the agent itself in the job's log (masked like everything else). */
  private system(line: string): void {
    this.streamer.write('system', `${this.masker.mask(line)}\n`);
  }
}

function describeStop(reason: StopReason, timeoutSeconds?: number): string {
  switch (reason) {
    case 'cancel':
      return 'cancelled by a user';
    case 'timeout':
      return `timed out${timeoutSeconds ? ` after ${timeoutSeconds} s` : ''}`;
    case 'agent_stop':
      return 'the agent was stopped';
    case 'lease_lost':
      return 'the lease was lost';
  }
}

/** The container's environment: the job's variables and secrets plus what test runners expect. */
export function containerEnv(job: Job, quarantined: string[] = []): Record<string, string> {
  const env: Record<string, string> = {
    CI: 'true',
    AGNOX: 'true',
    AGNOX_TASK_ID: job.taskId,
    AGNOX_PROJECT_ID: job.projectId,
    AGNOX_REPORT_DIR: job.reportDir,
  };
  // For test runners that want to tag them (JSON array of "file › title" keys).
  if (quarantined.length) env.AGNOX_QUARANTINED_TESTS = JSON.stringify(quarantined);
  if (job.baseUrl) Object.assign(env, { BASE_URL: job.baseUrl, AGNOX_BASE_URL: job.baseUrl });
  if (job.environment) env.AGNOX_ENVIRONMENT = job.environment;
  if (job.testFolder) env.AGNOX_TEST_FOLDER = job.testFolder;
  if (job.tests.length) env.AGNOX_TESTS = job.tests.join(' ');
  return { ...env, ...job.envVars, ...job.secretVars };
}

export type { StreamName };
