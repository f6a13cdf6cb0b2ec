// Everything the agent asks of the Docker Engine (through dockerode): images by pull policy, one
// labelled, limited, unprivileged container per job, its multiplexed output, stop with a grace
// period, copying the report folder out, removal, and removal of leftovers after a crash.
import Docker from 'dockerode';
import { PassThrough, type Readable } from 'node:stream';
import { Backoff, sleep } from './backoff';
import { errorMessage } from './log';

export const LABEL_TASK = 'agnox.task';
export const LABEL_AGENT = 'agnox.agent';
export const LABEL_MANAGED = 'agnox.managed';

import type { PullPolicy } from '../../worker/contracts/vocabulary';

export type { PullPolicy };

/**
 * The only capabilities a job's root keeps: Docker's defaults minus NET_RAW (raw sockets: ARP/DNS
 * spoofing on the bridge), MKNOD (device nodes), SYS_CHROOT and SETFCAP (file capabilities). What is
 * left is what installing packages and switching users in a test image need (apt, npm, su/gosu).
 * Listed, not subtracted, so a capability a future Docker adds to its defaults does not slip in.
 */
export const JOB_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'NET_BIND_SERVICE', 'AUDIT_WRITE'];

export type ContainerLimits = {
  /** Bytes of memory (and memory+swap): the job cannot swap. */
  memoryBytes: number;
  /** CPUs, e.g. 2 or 0.5. */
  cpus: number;
  /** Processes/threads in the container. */
  pids: number;
};

export type ContainerSpec = {
  taskId: string;
  image: string;
  /** A shell command run with `sh -c`, or null for the image's own CMD. */
  command: string | null;
  env: Record<string, string>;
  workingDir?: string;
};

const PING_TIMEOUT_MS = 5_000;

export class DockerError extends Error {
  constructor(
    message: string,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'DockerError';
  }
}

const describe = (err: unknown): string => {
  const e = err as { statusCode?: number; json?: { message?: string }; reason?: string; message?: string };
  return e?.json?.message ?? e?.message ?? String(err);
};

export type DockerRunnerOptions = {
  agentId: string;
  /** `linux/arm64` or `linux/amd64`: pulled and run explicitly, never whatever the engine picks. */
  platform: string;
  limits: ContainerLimits;
  pullAttempts?: number;
  docker?: Docker;
  /** While a job runs, the engine is pinged this often; this many failures in a row mean it is lost. */
  engineCheckMs?: number;
  engineFailures?: number;
};

export class DockerRunner {
  readonly docker: Docker;
  constructor(private readonly opts: DockerRunnerOptions) {
    this.docker = opts.docker ?? new Docker();
  }

  get limits(): ContainerLimits {
    return this.opts.limits;
  }

  /** A ping the engine does not answer within PING_TIMEOUT_MS fails too (a connection to a dead engine can hang). */
  async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS / 1000} s`)), PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.docker.ping(), silent]);
    } catch (err) {
      throw new DockerError(`cannot reach the Docker engine (${describe(err)}); is dockerd running and is this user allowed to use /var/run/docker.sock?`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Limits this engine cannot give (more CPUs or memory than the host has): said once at start-up, not by every job. */
  async checkLimits(): Promise<void> {
    const info = (await this.docker.info()) as { NCPU?: number; MemTotal?: number };
    const { cpus, memoryBytes } = this.opts.limits;
    if (info.NCPU && cpus > info.NCPU)
      throw new DockerError(`--cpus ${cpus} is more than the ${info.NCPU} CPUs of this Docker host; lower --cpus (AGNOX_CPUS)`);
    if (info.MemTotal && memoryBytes > info.MemTotal) {
      throw new DockerError(
        `--memory ${Math.round(memoryBytes / 1024 ** 2)}m is more than the ${Math.round(info.MemTotal / 1024 ** 2)}m of memory of this Docker host; lower --memory (AGNOX_MEMORY)`,
      );
    }
  }

  /** Removes containers this agent left behind (a crash or kill -9 mid-job). Returns how many. */
  async removeLeftovers(): Promise<string[]> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL_AGENT}=${this.opts.agentId}`] } });
    const removed: string[] = [];
    for (const c of list) {
      try {
        await this.docker.getContainer(c.Id).remove({ force: true, v: true });
        removed.push(c.Labels?.[LABEL_TASK] ?? c.Id);
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      }
    }
    return removed;
  }

  private async imagePresent(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return false;
      throw new DockerError(`inspecting image ${image}: ${describe(err)}`);
    }
  }

  /** Makes the image available according to the pull policy; `say` receives progress lines. */
  async ensureImage(image: string, policy: PullPolicy, say: (line: string) => void, signal?: AbortSignal): Promise<void> {
    if (policy !== 'always' && (await this.imagePresent(image))) return;
    if (policy === 'never') throw new DockerError(`image ${image} is not present on this agent and the pull policy is "never"`);
    const attempts = this.opts.pullAttempts ?? 3;
    const backoff = new Backoff(1000, 15_000);
    for (let attempt = 1; ; attempt++) {
      say(`pulling ${image} for ${this.opts.platform} (attempt ${attempt}/${attempts})`);
      try {
        await this.pull(image);
        return;
      } catch (err) {
        const msg = describe(err);
        if (attempt >= attempts || signal?.aborted) throw new DockerError(`pulling ${image} failed: ${msg}`);
        say(`pull failed: ${msg}`);
        await sleep(backoff.next(), signal);
      }
    }
  }

  private async pull(image: string): Promise<void> {
    const stream = await this.docker.pull(image, { platform: this.opts.platform });
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (err: Error | null, events: { error?: string }[]) => {
        const failed = events?.find((e) => e.error);
        if (err || failed) reject(err ?? new Error(failed!.error));
        else resolve();
      });
    });
  }

  /** Creates the job's container: labels, limits, no privileges, few capabilities, no host mounts. */
  async create(spec: ContainerSpec): Promise<Docker.Container> {
    const { limits } = this.opts;
    let workingDir = spec.workingDir;
    if (!workingDir) {
      const info = await this.docker
        .getImage(spec.image)
        .inspect()
        .catch(() => null);
      workingDir = info?.Config?.WorkingDir || undefined;
    }
    const body: Docker.ContainerCreateOptions = {
      Image: spec.image,
      Cmd: spec.command === null ? undefined : ['sh', '-c', spec.command],
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      WorkingDir: workingDir,
      Labels: { [LABEL_TASK]: spec.taskId, [LABEL_AGENT]: this.opts.agentId, [LABEL_MANAGED]: 'true' },
      Tty: false,
      AttachStdout: true,
      AttachStderr: true,
      OpenStdin: false,
      HostConfig: {
        Privileged: false,
        // An init process forwards SIGTERM to the command and reaps zombies (test runners fork a lot).
        Init: true,
        // A setuid binary cannot raise a job's privileges; Docker's default seccomp profile stays on.
        SecurityOpt: ['no-new-privileges'],
        CapDrop: ['ALL'],
        CapAdd: JOB_CAPABILITIES,
        Memory: limits.memoryBytes,
        MemorySwap: limits.memoryBytes,
        NanoCpus: Math.round(limits.cpus * 1e9),
        PidsLimit: limits.pids,
        Binds: [],
        // The agent reads the output from the attach stream; nothing is written to the host's disk
        // (the default json-file driver keeps all of it, unbounded, until the container is removed).
        LogConfig: { Type: 'none', Config: {} },
        AutoRemove: false,
      },
    };
    try {
      // Query and body are separated so the secret environment never appears in a request URL.
      const name = `agnox-${spec.taskId.replace(/[^a-zA-Z0-9_.-]/g, '-')}-${Date.now().toString(36)}`;
      return await this.docker.createContainer({ _query: { name, platform: this.opts.platform }, _body: body } as unknown as Docker.ContainerCreateOptions);
    } catch (err) {
      throw new DockerError(`creating the container failed: ${describe(err)}`, (err as { statusCode?: number }).statusCode);
    }
  }

  /**
   * Attaches to stdout/stderr before start, so no early output is missed. `ended` resolves once the
   * output has been read to the end (after the container exits).
   */
  async attach(container: Docker.Container, onData: (stream: 'stdout' | 'stderr', data: Buffer) => void): Promise<{ ended: Promise<void> }> {
    const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as unknown as Readable;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.on('data', (d: Buffer) => onData('stdout', d));
    stderr.on('data', (d: Buffer) => onData('stderr', d));
    this.docker.modem.demuxStream(stream, stdout, stderr);
    const ended = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    return { ended };
  }

  async start(container: Docker.Container): Promise<void> {
    try {
      await container.start();
    } catch (err) {
      throw new DockerError(`starting the container failed: ${describe(err)}`, (err as { statusCode?: number }).statusCode);
    }
  }

  /**
   * The container's exit. A wait request to an engine that died never settles (seen with a SIGKILLed
   * dockerd), so the engine is pinged meanwhile: unreachable `engineFailures` times in a row ends
   * the wait with a DockerError that says so.
   */
  async wait(container: Docker.Container): Promise<{ exitCode: number; oomKilled: boolean }> {
    const watch = this.watchEngine();
    let res: { StatusCode: number };
    try {
      res = (await Promise.race([container.wait(), watch.lost])) as { StatusCode: number };
    } finally {
      watch.stop();
    }
    const info = await container.inspect().catch(() => null);
    return { exitCode: res.StatusCode, oomKilled: !!info?.State?.OOMKilled };
  }

  private watchEngine(): { lost: Promise<never>; stop: () => void } {
    const every = this.opts.engineCheckMs ?? 2_000;
    const limit = this.opts.engineFailures ?? 3;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    let failures = 0;
    const lost = new Promise<never>((_, reject) => {
      const tick = async () => {
        try {
          await this.ping();
          failures = 0;
        } catch (err) {
          if (++failures >= limit) return reject(new DockerError(`lost the Docker engine while the job ran (${describe(err)}); the job's result is unknown`));
        }
        if (!stopped) timer = setTimeout(tick, every);
      };
      timer = setTimeout(tick, every);
    });
    lost.catch(() => {});
    return {
      lost,
      stop: () => {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }

  /** SIGTERM, then SIGKILL after `graceSeconds` (Docker does both). */
  async stop(container: Docker.Container, graceSeconds: number): Promise<void> {
    try {
      await container.stop({ t: graceSeconds });
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      if (code !== 304 && code !== 404) throw new DockerError(`stopping the container failed: ${describe(err)}`);
    }
  }

  /** The folder as a tar stream, or null when it does not exist in the container. */
  async copyOut(container: Docker.Container, path: string): Promise<Readable | null> {
    try {
      return (await container.getArchive({ path })) as unknown as Readable;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw new DockerError(`copying ${path} out of the container failed: ${describe(err)}`);
    }
  }

  async remove(container: Docker.Container): Promise<void> {
    try {
      await container.remove({ force: true, v: true });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw new DockerError(`removing the container failed: ${errorMessage(err)}`);
    }
  }
}
