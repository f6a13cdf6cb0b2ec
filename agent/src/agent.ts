// The agent: register once, clear leftovers, then the loop — poll (long poll with the free slots,
// jittered backoff on errors) → accept → run → stream → finish — until drained. A slot is a job
// with a container: it is free again once the container is gone, while the result is still being
// reported (which can take minutes of retries); the job stays in `running` until it is reported.
import { POLL_WAIT_MS, RegisterResponse } from '../../worker/contracts/agent';
import { Backoff, sleep } from './backoff';
import type { AgentConfig } from './config';
import { DockerRunner } from './docker-runner';
import { ControlPlaneClient, ControlPlaneError } from './http-client';
import { JobRun, type JobOutcome } from './job-runner';
import { admitJob } from './job-policy';
import { errorMessage, type Logger } from './log';
import { hostInfo, type HostInfo } from './platform';
import { type AgentIdentity, StateStore } from './state';

/** How often an agent whose Docker engine does not answer checks it again. */
export const DOCKER_RECHECK_MS = 5_000;

export class FatalAgentError extends Error {
  override name = 'FatalAgentError';
}

export type AgentOptions = AgentConfig & {
  logger: Logger;
  /** Overrides for tests (e.g. pretend to be arm64). */
  host?: HostInfo;
  streamer?: ConstructorParameters<typeof JobRun>[1]['streamer'];
  /** The Docker client (tests: an engine behind a proxy they can cut); default: DOCKER_HOST or the local socket. */
  dockerClient?: ConstructorParameters<typeof DockerRunner>[0]['docker'];
  /** How often to re-check an unreachable Docker engine (tests). */
  dockerRecheckMs?: number;
  /** Called with every accepted job's run (tests, diagnostics). */
  onJob?: (run: JobRun) => void;
  /** Stands in for the local Docker engine (the load test's simulated containers). */
  docker?: DockerRunner;
};

export class Agent {
  readonly host: HostInfo;
  private identity: AgentIdentity | null = null;
  private client: ControlPlaneClient;
  private docker: DockerRunner | null = null;
  /** Accepted and not yet reported; `executing` while it holds a slot (its container exists or may). */
  readonly running = new Map<string, { run: JobRun; done: Promise<JobOutcome>; executing: boolean }>();
  readonly outcomes: JobOutcome[] = [];
  private draining = false;
  private pollAbort = new AbortController();
  private slotFreed: (() => void) | null = null;
  private jobsTaken = 0;
  /** Polls answered so far (diagnostics, tests). */
  polls = 0;
  /** Why this agent cannot run jobs now (its Docker engine does not answer), or null. Sent with every poll. */
  healthProblem: string | null = null;

  constructor(private readonly opts: AgentOptions) {
    this.host = opts.host ?? hostInfo();
    this.client = new ControlPlaneClient(opts.url, {}, `agnox-agent/${this.host.version}`);
  }

  get agentId(): string | undefined {
    return this.identity?.agentId;
  }

  /** Registers on the first run (storing the token), or loads the stored identity. */
  async register(): Promise<AgentIdentity> {
    const store = new StateStore(this.opts.stateDir);
    const stored = store.load();
    if (stored && stored.url === this.opts.url) {
      this.identity = stored;
    } else {
      if (stored) this.opts.logger.warn(`state in ${store.file} belongs to ${stored.url}; registering with ${this.opts.url}`);
      if (!this.opts.token)
        throw new FatalAgentError(`no agent identity in ${this.opts.stateDir}: pass --token <registration token> (or AGNOX_TOKEN) for the first run`);
      const labels = { ...this.opts.labels, arch: this.host.arch, os: this.host.os };
      let data: unknown;
      try {
        data = await this.client.request('POST', '/api/agent/register', {
          body: {
            token: this.opts.token,
            name: this.opts.name,
            labels,
            arch: this.host.arch,
            os: this.host.os,
            version: this.host.version,
            concurrency: this.opts.concurrency,
          },
          attempts: 6,
        });
      } catch (err) {
        if (err instanceof ControlPlaneError && !err.retryable) throw new FatalAgentError(`registration refused: ${err.message}`);
        throw err;
      }
      const res = RegisterResponse.parse(data);
      this.identity = { ...res, url: this.opts.url, name: this.opts.name, registeredAt: Date.now() };
      store.save(this.identity);
      this.opts.logger.info(`registered as ${res.agentId} (queue ${res.queue}); identity stored in ${store.file}`);
    }
    this.client.auth = { bearer: this.identity.agentToken };
    return this.identity;
  }

  /** Registers, checks Docker, removes leftovers of an earlier crash, then polls until drained. */
  async run(): Promise<JobOutcome[]> {
    const identity = await this.register();
    this.docker =
      this.opts.docker ??
      new DockerRunner({
        agentId: identity.agentId,
        platform: this.host.platform,
        limits: { memoryBytes: this.opts.memoryBytes, cpus: this.opts.cpus, pids: this.opts.pids },
        docker: this.opts.dockerClient,
      });
    await this.docker.ping();
    await this.docker.checkLimits();
    const leftovers = await this.docker.removeLeftovers();
    if (leftovers.length) this.opts.logger.warn(`removed ${leftovers.length} leftover container(s) of an earlier run: ${leftovers.join(', ')}`);
    this.opts.logger.info(
      `agent ${this.opts.name} (${identity.agentId}) polling ${this.opts.url} with ${this.opts.concurrency} slot(s), ${this.host.platform}`,
    );
    try {
      await this.pollLoop();
    } catch (err) {
      // Fatal (token refused): running jobs cannot report either; stop them before exiting.
      await this.stopJobs();
      await Promise.all([...this.running.values()].map((r) => r.done));
      throw err;
    }
    await Promise.all([...this.running.values()].map((r) => r.done));
    this.opts.logger.info('drained; exiting');
    return this.outcomes;
  }

  private async pollLoop(): Promise<void> {
    const backoff = new Backoff(1000, 30_000);
    while (!this.draining) {
      await this.checkDocker();
      // Without Docker the agent takes no job (it could only fail it): it polls with no capacity,
      // which keeps it online and tells the control plane why.
      const capacity = this.healthProblem ? 0 : this.opts.concurrency - this.slotsInUse();
      if (capacity === 0 && !this.healthProblem) {
        // All slots busy: no poll (heartbeats keep the agent marked online) until a job's container is gone.
        await this.slotFreedOrDrain();
        continue;
      }
      const signal = this.pollAbort.signal;
      try {
        const data = await this.client.request('POST', '/api/agent/poll', {
          body: {
            capacity,
            running: [...this.running.keys()],
            waitMs: this.opts.pollWaitMs,
            ...(this.healthProblem ? { healthProblem: this.healthProblem } : {}),
          },
          attempts: 1,
          signal,
          timeoutMs: (this.opts.pollWaitMs ?? POLL_WAIT_MS) + 15_000,
        });
        backoff.reset();
        this.polls++;
        // A job that arrives is leased to us even if a drain began meanwhile: run it.
        if (data) this.accept((data as { job?: unknown }).job);
        if (this.healthProblem) await sleep(this.opts.dockerRecheckMs ?? DOCKER_RECHECK_MS, this.pollAbort.signal);
      } catch (err) {
        if (this.draining) continue;
        if (err instanceof ControlPlaneError && (err.status === 401 || err.status === 403)) {
          throw new FatalAgentError(
            `the control plane refused this agent's token (${err.message}); it may have been removed or disabled. Delete ${this.opts.stateDir}/agent.json and register again.`,
          );
        }
        const wait = backoff.next();
        this.opts.logger.warn(`poll failed (${errorMessage(err)}); retrying in ${wait} ms`);
        await sleep(wait, this.pollAbort.signal);
      }
    }
  }

  /** Pings the engine before asking for work; on recovery, removes what a lost engine left behind. */
  private async checkDocker(): Promise<void> {
    try {
      await this.docker!.ping();
    } catch (err) {
      if (!this.healthProblem) this.opts.logger.error(`unhealthy: ${errorMessage(err)}; taking no jobs until it answers again`);
      this.healthProblem = errorMessage(err).slice(0, 500);
      return;
    }
    if (!this.healthProblem) return;
    this.healthProblem = null;
    this.opts.logger.info('healthy again: the Docker engine answers; taking jobs');
    const leftovers = await this.docker!.removeLeftovers().catch(() => []);
    if (leftovers.length) this.opts.logger.warn(`removed ${leftovers.length} leftover container(s): ${leftovers.join(', ')}`);
  }

  /** Takes a leased job payload: runs it, or refuses it (job-policy.ts) through the same run and report. */
  private accept(payload: unknown): void {
    const admission = admitJob(payload);
    if (!admission) {
      this.opts.logger.error('the poll answer holds no job with a usable taskId; ignoring it (its lease will lapse)');
      return;
    }
    const { job, refusal, ignoredFields } = admission;
    if (this.running.has(job.taskId)) return;
    this.opts.logger.info(`job ${job.taskId}: accepted (${job.image})${refusal ? ', to be refused' : ''}`);
    if (ignoredFields.length) this.opts.logger.warn(`job ${job.taskId}: ignoring field(s) this agent does not know: ${ignoredFields.slice(0, 20).join(', ')}`);
    const run = new JobRun(
      job,
      {
        client: this.client,
        docker: this.docker!,
        agentName: this.opts.name,
        arch: this.host.arch,
        platform: this.host.platform,
        stopGraceSeconds: this.opts.stopGraceSeconds,
        logMaxBytes: this.opts.logMaxBytes,
        heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
        logger: this.opts.logger,
        streamer: this.opts.streamer,
      },
      refusal,
    );
    const done = run
      .run()
      .then(
        (outcome) => outcome,
        (err) => {
          this.opts.logger.error(`job ${job.taskId}: ${errorMessage(err)}`);
          return { taskId: job.taskId, status: 'ERROR', exitCode: null, lastSeq: 0, tests: 0, reports: 0, message: errorMessage(err) } as JobOutcome;
        },
      )
      .then((outcome) => {
        this.running.delete(job.taskId);
        this.outcomes.push(outcome);
        this.slotFreed?.();
        return outcome;
      });
    // Still listed in every poll's `running` until reported (else the control plane would take the
    // lease back), but its slot is free once its container is gone.
    const entry = { run, done, executing: true };
    void run.executed.then(() => {
      entry.executing = false;
      this.slotFreed?.();
    });
    this.running.set(job.taskId, entry);
    this.opts.onJob?.(run);
    if (this.opts.once && ++this.jobsTaken >= 1) this.drain();
  }

  private slotsInUse(): number {
    let n = 0;
    for (const r of this.running.values()) if (r.executing) n++;
    return n;
  }

  private slotFreedOrDrain(): Promise<void> {
    return new Promise((resolve) => {
      this.slotFreed = () => {
        this.slotFreed = null;
        resolve();
      };
      if (this.draining) resolve();
      else this.pollAbort.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /** Stop polling; running jobs finish; `run()` resolves when they have. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.pollAbort.abort();
    this.opts.logger.info(`draining: no new jobs; waiting for ${this.running.size} running job(s)`);
    // The aborted long poll may still wait in the control plane; a poll with no capacity replaces it,
    // so no job is leased to a request nobody reads. Best effort: leases expire anyway.
    if (this.identity) {
      // No `running` list: a job whose answer is arriving right now must not be given back.
      this.client
        .request('POST', '/api/agent/poll', { body: { capacity: 0, waitMs: 0 }, attempts: 1, timeoutMs: 5_000 })
        .catch((err) => this.opts.logger.warn(`could not withdraw the pending poll (${errorMessage(err)})`));
    }
  }

  /** Second signal: stop the running jobs now (reported as agent_stop). */
  async stopJobs(): Promise<void> {
    this.drain();
    await Promise.all([...this.running.values()].map((r) => r.run.stop('agent_stop')));
  }
}
