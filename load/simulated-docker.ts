// A Docker engine stand-in for the load test: the real agent (poll, lease, heartbeats, log
// streamer, complete) runs unchanged, and each "container" writes its job's deterministic log
// (job-log.ts) at a steady rate, then exits with the job's planned code. No image, no engine.
import type Docker from 'dockerode';
import { DockerRunner, type ContainerSpec } from '../agent/src/docker-runner';
import { jobLines, jobPlan, type JobLine } from './job-log';

type Output = (stream: 'stdout' | 'stderr', data: Buffer) => void;

class SimContainer {
  output: Output | null = null;
  private timer: NodeJS.Timeout | null = null;
  private exit!: (code: number) => void;
  readonly exited = new Promise<number>((resolve) => {
    this.exit = resolve;
  });
  constructor(readonly spec: ContainerSpec) {}

  /** Writes the lines due so far every tick (no drift), then exits. */
  start(linesPerSecond: number) {
    const lines: JobLine[] = jobLines(this.spec.taskId);
    const started = performance.now();
    let written = 0;
    const tick = () => {
      const due = Math.min(lines.length, Math.floor(((performance.now() - started) / 1000) * linesPerSecond) + 1);
      for (; written < due; written++) this.output?.(lines[written]!.stream, Buffer.from(lines[written]!.text));
      if (written === lines.length) this.stop(jobPlan(this.spec.taskId).exitCode);
    };
    this.timer = setInterval(tick, 100);
    tick();
  }

  stop(code: number) {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.exit(code);
  }
}

const sim = (c: Docker.Container) => c as unknown as SimContainer;

export class SimulatedDocker extends DockerRunner {
  constructor(private readonly linesPerSecond: number) {
    super({ agentId: 'simulated', platform: 'linux/amd64', limits: { memoryBytes: 1 << 30, cpus: 1, pids: 1024 } });
  }
  override async ping() {}
  override async removeLeftovers() {
    return [];
  }
  override async ensureImage() {}
  override async create(spec: ContainerSpec) {
    return new SimContainer(spec) as unknown as Docker.Container;
  }
  override async attach(container: Docker.Container, onData: Output) {
    sim(container).output = onData;
    return { ended: sim(container).exited.then(() => {}) };
  }
  override async start(container: Docker.Container) {
    sim(container).start(this.linesPerSecond);
  }
  override async wait(container: Docker.Container) {
    return { exitCode: await sim(container).exited, oomKilled: false };
  }
  /** SIGTERM: the job stops where it is (exit 143). */
  override async stop(container: Docker.Container) {
    sim(container).stop(143);
  }
  override async copyOut() {
    return null;
  }
  override async remove() {}
}
