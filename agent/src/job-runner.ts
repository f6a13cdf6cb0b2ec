// Runs one leased job from accept to complete: refuse early if the host cannot run it, image by
// policy, container, live masked log, heartbeats (which renew the lease and carry cancel), the
// per-job timeout, masked results and reports, cleanup, and the final status. Reads top to bottom in
// `run()`; where the run is, is one JobState, changed only through `moveTo`, which logs every change.
import type Docker from 'dockerode';
import type { z } from 'zod';
import { type CompleteBody, HEARTBEAT_INTERVAL_MS, HeartbeatResponse, type Job } from '../../worker/contracts/agent';
import type { Attachment as AttachmentSchema, TestResult } from '../../worker/contracts/results';
import { SecretMasker } from '../../worker/lib/secret-masker';
import { sleep } from './backoff';
import { refusalFor } from './browser-channel';
import { DockerError, type DockerRunner } from './docker-runner';
import { type ControlPlaneClient, ControlPlaneError } from './http-client';
import { JobOutput } from './job-output';
import { errorMessage, type Logger } from './log';
import { LogStreamer, type LogStreamerOptions, type StreamName } from './log-streamer';
import { formatSize } from './output-cap';
import { maskReportFile } from './report-masking';
import { extractReportArchive, type ReportFile, testResultsFrom } from './reports';

type Attachment = z.infer<typeof AttachmentSchema>;

/** Retry interval for heartbeats while they fail. */
const HEARTBEAT_RETRY_MS = 2_000;

export type StopReason = 'cancel' | 'timeout' | 'agent_stop' | 'lease_lost';
type Status = CompleteBody['status'];
type Reason = NonNullable<CompleteBody['reason']>;

/**
 * Where a run is:
 *   accepted → starting → running → finishing → reporting → (retrying-report) → done
 * - starting: the refusal check, the quarantine list, the image, the container created, attached, started.
 * - stopping: a stop (StopReason) came before the container exited; the container is being stopped.
 * - finishing: the container exited, or never ran: output, reports, removal, the log flushed.
 * - reporting: the first attempt to report the result (heartbeats pause: one racing it would find
 *   the lease just released); retrying-report: it is retried, and heartbeats hold the lease again.
 * - done: reported (or not, after retries), or given up without a report when the lease was lost.
 * A stop after the exit changes no state and not the result's status; its reason is still kept,
 * since a lost lease then still ends the uploads and (if it comes in time) the report.
 */
export type JobState = 'accepted' | 'starting' | 'running' | 'stopping' | 'finishing' | 'reporting' | 'retrying-report' | 'done';

type JobResult = { status: Status; reason: Reason; exitCode: number | null; message: string; tests: TestResult[]; reports: Attachment[] };
type Collected = Pick<JobResult, 'tests' | 'reports'>;
const noResults = (): Collected => ({ tests: [], reports: [] });

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
  private current: JobState = 'accepted';
  /**
   * Why the run was stopped; the first stop wins. Not a state of its own: it outlives `stopping`
   * (the result says why, and a lost lease forbids uploads and the report whatever the state).
   */
  private stopReason: StopReason | null = null;
  /** The container's stop (SIGTERM, SIGKILL after the grace period), for every caller of stop(). */
  private containerStop: Promise<void> = Promise.resolve();
  private container: Docker.Container | null = null;
  /** Fires on stop: interrupts an image pull. */
  private readonly abort = new AbortController();
  /** Fires when the run is over: ends the heartbeats. */
  private readonly finished = new AbortController();
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

  get state(): JobState {
    return this.current;
  }

  /** Stops the job for `reason`: SIGTERM to the container, SIGKILL after the grace period. */
  stop(reason: StopReason): Promise<void> {
    if (this.stopReason) return this.containerStop;
    this.stopReason = reason;
    if (this.current === 'accepted' || this.current === 'starting' || this.current === 'running') this.moveTo('stopping', reason);
    else this.deps.logger.info(`job ${this.taskId}: stopping (${reason}) while ${this.current}`);
    this.abort.abort();
    if (reason !== 'lease_lost') this.system(`stopping the job: ${describeStop(reason)}`);
    if (this.container)
      this.containerStop = this.deps.docker.stop(this.container, this.deps.stopGraceSeconds).catch((err) => this.deps.logger.warn(errorMessage(err)));
    return this.containerStop;
  }

  async run(): Promise<JobOutcome> {
    const { job, deps } = this;
    this.moveTo('starting', `${job.image}, attempt ${job.attempt}`);
    this.streamer.start();
    const heartbeats = this.heartbeatLoop();
    const timeout = job.timeoutSeconds > 0 ? setTimeout(() => void this.stop('timeout'), job.timeoutSeconds * 1000) : null;
    let result: JobResult;
    try {
      result = await this.execute();
    } catch (err) {
      // Anything unexpected still ends the run with a status and the error in its log.
      const message = err instanceof DockerError ? err.message : `agent error: ${errorMessage(err)}`;
      this.system(message);
      result = { status: 'ERROR', reason: 'docker_error', exitCode: null, message, ...noResults() };
    } finally {
      if (timeout) clearTimeout(timeout);
      this.markExecuted();
    }
    // Refused, or no container to exit (set-up failed, stopped before start, an unexpected error).
    if (this.current !== 'finishing') this.moveTo('finishing', result.reason);
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
      this.moveTo('done', 'lease lost, not reported');
      deps.logger.warn(`job ${job.taskId}: lease lost; the control plane has given the job back, not reporting it`);
      return { ...outcome, status: 'ABANDONED', reason: 'lease_lost' };
    }
    // Heartbeats go on until the result is in: a report that must be retried (the control plane
    // restarting, its database briefly unavailable) keeps the lease meanwhile.
    const reported = await this.complete({
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
    this.moveTo('done', reported ? 'result reported' : 'result not reported');
    this.mark('reported');
    deps.logger.info(
      `job ${job.taskId}: ${result.status} (${result.message}); ms since accept: ${Object.entries(this.phases)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    return outcome;
  }

  /** The job's container from image to removal, and its result: acquire → run → stream → finish. */
  private async execute(): Promise<JobResult> {
    const { job, deps } = this;
    const refusal = this.refusal ?? refusalFor(job, deps.arch);
    if (refusal) {
      this.system(refusal);
      return { status: 'ERROR', reason: 'refused', exitCode: null, message: refusal, ...noResults() };
    }
    this.system(`agent ${deps.agentName} (${deps.platform}) runs ${job.image}${job.attempt > 1 ? `, attempt ${job.attempt}` : ''}`);
    const output = new JobOutput(this.streamer, this.masker, deps.logMaxBytes, (line) => this.system(line));
    const setUp = await this.setUpContainer(output);
    if ('failed' in setUp) return setUp.failed;
    const { container, outputEnded } = setUp;
    try {
      const { exitCode, oom, stoppedBy } = await this.waitForExit(container, outputEnded, output);
      const collected = await this.collectReports(container);
      this.mark('reports');
      if (stoppedBy) return this.stoppedResult(exitCode, collected, stoppedBy);
      const message = oom ? `${oom}, exit code ${exitCode}` : `exit code ${exitCode}`;
      return { status: exitCode === 0 ? 'PASSED' : 'FAILED', reason: 'exit', exitCode, message, ...collected };
    } finally {
      await deps.docker.remove(container).catch((err) => deps.logger.warn(errorMessage(err)));
      this.mark('removed');
    }
  }

  /**
   * The quarantine list, the image, the container created with the job's environment, its output
   * attached, the container started. Any failure, or a stop on the way, ends here with the result
   * (and no container left behind).
   */
  private async setUpContainer(output: JobOutput): Promise<{ container: Docker.Container; outputEnded: Promise<void> } | { failed: JobResult }> {
    const { job, deps } = this;
    const quarantined = await this.quarantinedTests();
    try {
      await deps.docker.ensureImage(job.image, job.pullPolicy, (line) => this.system(line), this.abort.signal);
      this.mark('image');
      if (this.stopReason) return { failed: this.stoppedResult(null, noResults()) };
      const container = await deps.docker.create({ taskId: job.taskId, image: job.image, command: job.command, env: containerEnv(job, quarantined) });
      this.container = container;
      this.mark('created');
      const { ended } = await deps.docker.attach(container, (stream, data) => output.take(stream, data));
      if (this.stopReason) throw new DockerError('stopped before start');
      await deps.docker.start(container);
      this.mark('started');
      // A stop that came while Docker started it has moved the run on already.
      if (this.current === 'starting') this.moveTo('running', 'container started');
      return { container, outputEnded: ended };
    } catch (err) {
      if (this.container) await deps.docker.remove(this.container).catch(() => {});
      if (this.stopReason) return { failed: this.stoppedResult(null, noResults()) };
      const message = err instanceof DockerError ? err.message : `Docker error: ${errorMessage(err)}`;
      this.system(message);
      return { failed: { status: 'ERROR', reason: 'docker_error', exitCode: null, message, ...noResults() } };
    }
  }

  /** Waits for the container to exit and its output to end: the exit code, an OOM kill, and the stop that caused the exit, if any. */
  private async waitForExit(container: Docker.Container, outputEnded: Promise<void>, output: JobOutput) {
    const { exitCode, oomKilled } = await this.deps.docker.wait(container);
    this.mark('exited');
    // A stop that comes after the exit (e.g. the timeout firing during report upload) changes nothing.
    const stoppedBy = this.stopReason;
    this.moveTo('finishing', `exit code ${exitCode}`);
    // The output stream ends just after the exit; don't wait forever for a stuck attach.
    const settle = new AbortController();
    await Promise.race([outputEnded, sleep(5_000, settle.signal)]);
    settle.abort();
    output.end();
    const oom = oomKilled ? `out of memory (limit ${formatSize(this.deps.docker.limits.memoryBytes)})` : null;
    if (oom) this.system(`${oom}: the kernel killed a process of the job; raise --memory on the agent if the job needs more`);
    return { exitCode, oom, stoppedBy };
  }

  private stoppedResult(exitCode: number | null, collected: Collected, reason: StopReason = this.stopReason!): JobResult {
    const status: Status = reason === 'cancel' ? 'CANCELLED' : reason === 'timeout' ? 'TIMED_OUT' : 'ERROR';
    const endReason: Reason = reason === 'lease_lost' ? 'agent_lost' : reason;
    return { status, reason: endReason, exitCode, message: describeStop(reason, this.job.timeoutSeconds), ...collected };
  }

  /** Copies the report folder out, parses the test results, masks both, uploads every file as an artifact. */
  private async collectReports(container: Docker.Container): Promise<Collected> {
    const { job, deps } = this;
    let files: ReportFile[] = [];
    try {
      const archive = await deps.docker.copyOut(container, job.reportDir);
      if (!archive) return noResults();
      const extracted = await extractReportArchive(archive);
      files = extracted.files;
      if (extracted.skipped.length) this.system(`reports skipped (too large or too many): ${extracted.skipped.slice(0, 10).join(', ')}`);
    } catch (err) {
      this.system(`could not copy reports from ${job.reportDir}: ${errorMessage(err)}`);
      return noResults();
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
        if (this.current === 'reporting') continue;
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
          if (hb.success && hb.data.cancel && !this.stopReason && !this.reportStarted) void this.stop(hb.data.reason === 'timeout' ? 'timeout' : 'cancel');
        } catch (err) {
          if (signal.aborted) break;
          // 404: the lease is no longer ours; 401/403: this agent was removed or disabled. Either way
          // the job is not ours to finish or report. (While the result is being reported, a 404 means
          // the report got through: the job is done.)
          if (err instanceof ControlPlaneError && [401, 403, 404, 409].includes(err.status)) {
            if (this.reportStarted) break;
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

  /** Reports the result, retried for minutes while the control plane is unavailable. Returns whether it got through. */
  private async complete(body: CompleteBody): Promise<boolean> {
    this.moveTo('reporting', body.status);
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
          if (this.current === 'reporting') this.moveTo('retrying-report', `attempt ${attempt} failed`);
          this.deps.logger.warn(
            `job ${this.taskId}: reporting the result failed (attempt ${attempt}/${attempts}: ${errorMessage(err)}); retrying in ${waitMs} ms`,
          );
        },
      });
      return true;
    } catch (err) {
      this.deps.logger.error(`job ${this.taskId}: could not report the result (${errorMessage(err)})`);
      return false;
    }
  }

  /** The result is on its way: a heartbeat refused from here on means it got through, not a lost lease. */
  private get reportStarted(): boolean {
    return this.current === 'reporting' || this.current === 'retrying-report';
  }

  /** The one way the state changes; every change is logged. */
  private moveTo(next: JobState, why: string): void {
    this.deps.logger.info(`job ${this.taskId}: ${this.current} → ${next} (${why})`);
    this.current = next;
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
