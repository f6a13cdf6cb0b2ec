// A log bomb: a job that prints far more than a run's log may hold. Used by the suite's test (200 MB)
// and by `npm run bench:log-bomb` (1 GiB): the same job through plain `docker run … > /dev/null`, and
// through the agent (a child process) against the real control plane, with the agent's memory and time.
import { spawn } from 'node:child_process';
import type { AgentProcess } from './agent-process';
import { FINAL, type Harness, logTextOf, waitFor } from './control-plane';
import { cpuSeconds, peakResidentBytes, residentBytes, resetPeak } from './process-memory';

/** Prints exactly `bytes` bytes of text lines as fast as busybox can. */
export const bombCommand = (bytes: number) => `yes 'agnox log bomb: 0123456789 abcdefghijklmnopqrstuvwxyz' | head -c ${bytes}`;

export type Baseline = { ms: number; peakRss: number };

/** `docker run --rm <image> sh -c <command> > /dev/null`: wall time and the docker CLI's peak RSS. */
export async function dockerRunBaseline(image: string, command: string, dockerArgs: string[] = []): Promise<Baseline> {
  const t0 = performance.now();
  const child = spawn('docker', ['run', '--rm', ...dockerArgs, image, 'sh', '-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  let peakRss = 0;
  const sample = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, peakResidentBytes(child.pid!));
    } catch {
      /* exiting */
    }
  }, 50);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearInterval(sample);
  if (code !== 0) throw new Error(`docker run failed (${code}): ${err}`);
  return { ms: Math.round(performance.now() - t0), peakRss };
}

export type AgentBomb = {
  /** Request → final status, as a client sees it. */
  requestToFinalMs: number;
  /** Accept → complete, as the agent reports it. */
  jobMs: number;
  rssBefore: number;
  /** Peak RSS of the agent process during the job (the peak is reset just before it). */
  peakRss: number;
  cpuSeconds: number;
  run: { status: string; exitCode: number | null; reason: string | null };
  log: string;
};

/** Runs the bomb as a job of `projectId` on the (idle, warmed-up) agent process. */
export async function agentBomb(h: Harness, agent: AgentProcess, projectId: string, timeoutMs: number): Promise<AgentBomb> {
  const pid = agent.child.pid!;
  const rssBefore = residentBytes(pid);
  resetPeak(pid);
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const taskId = await h.requestRun({ projectId });
  const run = await waitFor(
    `${taskId} to finish`,
    async () => {
      const e = await h.execution(taskId);
      return FINAL.includes(e.status) ? e : undefined;
    },
    timeoutMs,
    100,
  );
  const requestToFinalMs = Math.round(performance.now() - t0);
  const peakRss = peakResidentBytes(pid);
  return { requestToFinalMs, jobMs: run.durationMs, rssBefore, peakRss, cpuSeconds: cpuSeconds(pid) - cpu0, run, log: logTextOf(await h.logs(taskId)) };
}
