// What the agent adds to a job beyond `docker run` of the same image and command (median of 10),
// measured in one run against the real control plane (wrangler dev) and the real Docker engine.
//   npx tsx agent/bench/overhead.ts [runs]
// Prints: docker run wall time; the agent's job time (accept → complete, as it reports it);
// request → final status seen by a client; and the differences.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildAgent, spawnAgent } from '../test/support/agent-process';
import { startHarness, waitFor } from '../test/support/control-plane';
import { ensureBusyboxImage } from '../test/support/images';

const RUNS = Number(process.argv[2] ?? 10);
const COMMAND = 'echo hello from the job';
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : Math.round((s[m - 1]! + s[m]!) / 2);
};
const fmt = (xs: number[]) => `median ${median(xs)} ms (min ${Math.min(...xs)}, max ${Math.max(...xs)})`;

const image = ensureBusyboxImage();
buildAgent();

// Baseline: plain `docker run --rm` (the CLI, as a person would), same image and command. Baseline
// and agent runs alternate, so load changes on a shared machine hit both alike.
const dockerRunOnce = () => {
  const t0 = performance.now();
  const res = spawnSync('docker', ['run', '--rm', image, 'sh', '-c', COMMAND], { encoding: 'utf8' });
  if (res.status !== 0 || !res.stdout.includes('hello')) throw new Error(`docker run failed: ${res.stderr}`);
  return Math.round(performance.now() - t0);
};
dockerRunOnce(); // warm-up
const dockerRun: number[] = [];

const h = await startHarness();
const agent = spawnAgent(
  ['--url', h.cp.url, '--token', await h.registrationToken(), '--state-dir', mkdtempSync(path.join(tmpdir(), 'agnox-bench-')), '--name', 'bench'],
  { AGNOX_HEARTBEAT_MS: '10000', AGNOX_POLL_WAIT_MS: '25000' },
);
try {
  await waitFor('the agent to poll', () => agent.output().includes('polling'), 30_000);
  const projectId = await h.project({ image, command: COMMAND });
  // warm-up run (first use of the room, D1 statements, image inspect)
  await h.waitForStatus(await h.requestRun({ projectId }), ['PASSED']);
  const agentJob: number[] = [];
  const requestToFinal: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    dockerRun.push(dockerRunOnce());
    const t0 = performance.now();
    const taskId = await h.requestRun({ projectId });
    const run = await waitFor(
      'PASSED',
      async () => {
        const e = await h.execution(taskId);
        return e.status === 'PASSED' ? e : undefined;
      },
      60_000,
      10,
    );
    requestToFinal.push(Math.round(performance.now() - t0));
    agentJob.push(run.durationMs);
  }
  console.log(`runs: ${RUNS} (alternating), image ${image}, command "${COMMAND}", load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`);
  console.log(`docker run --rm (baseline)          ${fmt(dockerRun)}`);
  console.log(`agent job, accept → complete        ${fmt(agentJob)}`);
  console.log(`request → PASSED (client, 10 ms poll) ${fmt(requestToFinal)}`);
  // The agent logs where each job's time went; the median per phase of the measured runs:
  const phaseLines = agent
    .output()
    .split('\n')
    .filter((l) => l.includes('ms since accept:'))
    .slice(-RUNS);
  const perPhase: Record<string, number[]> = {};
  for (const line of phaseLines) {
    for (const [, k, v] of line.split('ms since accept: ')[1]!.matchAll(/([\w-]+) (\d+)/g)) {
      perPhase[k!] ??= [];
      perPhase[k!]!.push(Number(v));
    }
  }
  console.log(
    `agent phases, median ms since accept: ${Object.entries(perPhase)
      .map(([k, v]) => `${k} ${median(v)}`)
      .join(', ')}`,
  );
  console.log(
    `agent overhead beyond docker run    ${median(agentJob) - median(dockerRun)} ms (job), ${median(requestToFinal) - median(dockerRun)} ms (request → PASSED)`,
  );
} finally {
  agent.signal('SIGTERM');
  await agent.exited;
  await h.stop();
}
