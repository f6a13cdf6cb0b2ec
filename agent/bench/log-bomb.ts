// A log bomb through the agent vs. plain `docker run … > /dev/null`, in one run, against the real
// control plane (wrangler dev) and the real Docker engine.
//   npm run bench:log-bomb            (1 GiB)
//   npx tsx agent/bench/log-bomb.ts 200   (MiB)
// Prints, for the same busybox job printing that much: plain docker run's wall time (the daemon's
// default json-file log driver), and docker run with the container settings the agent uses (log driver
// none, init, the same limits; before and after the agent's run, as load on a shared machine drifts);
// the agent's job time, its peak RSS during the job against its RSS before, its CPU time; and what
// the run's log holds.
import { mkdtempSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { buildAgent, spawnAgent } from '../test/support/agent-process';
import { startHarness, waitFor } from '../test/support/control-plane';
import { ensureBusyboxImage } from '../test/support/images';
import { agentBomb, bombCommand, dockerRunBaseline } from '../test/support/log-bomb';
import { MiB, mib } from '../test/support/process-memory';

const bytes = Number(process.argv[2] ?? 1024) * MiB;
const image = ensureBusyboxImage();
const command = bombCommand(bytes);
buildAgent();

console.log(`log bomb: ${mib(bytes)} of output, image ${image}, load average ${loadavg()[0]!.toFixed(1)}`);
const plain = await dockerRunBaseline(image, command);
console.log(`docker run --rm … > /dev/null                    ${plain.ms} ms, docker CLI peak RSS ${mib(plain.peakRss)}`);
// The agent's container settings, with the CPUs of this host (a quota that does not throttle).
const cpus = String(Math.min(2, availableParallelism()));
const asAgent = [
  '--init',
  '--log-driver',
  'none',
  '--cpus',
  cpus,
  '--memory',
  '512m',
  '--memory-swap',
  '512m',
  '--pids-limit',
  '4096',
  '--security-opt',
  'no-new-privileges',
];
const same1 = await dockerRunBaseline(image, command, asAgent);
console.log(`docker run --rm <agent's settings> … > /dev/null ${same1.ms} ms, docker CLI peak RSS ${mib(same1.peakRss)}`);

const h = await startHarness();
const agent = spawnAgent(
  ['--url', h.cp.url, '--token', await h.registrationToken(), '--state-dir', mkdtempSync(path.join(tmpdir(), 'agnox-bench-')), '--name', 'log-bomb-bench'],
  { AGNOX_HEARTBEAT_MS: '10000', AGNOX_POLL_WAIT_MS: '25000', AGNOX_MEMORY: '512m', AGNOX_CPUS: cpus },
);
try {
  await waitFor('the agent to poll', () => agent.output().includes('polling'), 30_000);
  // Warm-up: the first job loads the code paths a job uses, so the peak below is the bomb's.
  const warm = await h.project({ image, command: 'echo warm' });
  await h.waitForStatus(await h.requestRun({ projectId: warm }), ['PASSED']);
  const projectId = await h.project({ image, command });
  const r = await agentBomb(h, agent, projectId, 30 * 60_000);
  const same2 = await dockerRunBaseline(image, command, asAgent);
  console.log(`docker run --rm <agent's settings> … > /dev/null ${same2.ms} ms (again, after the agent's run)`);
  const same = Math.round((same1.ms + same2.ms) / 2);
  const marker = r.log.match(/log truncated at [^\n]*/)?.[0] ?? '(no marker)';
  console.log(`agent job (accept → complete)                    ${r.jobMs} ms; request → ${r.run.status} ${r.requestToFinalMs} ms`);
  console.log(
    `agent RSS before ${mib(r.rssBefore)}, peak during the job ${mib(r.peakRss)} (+${mib(r.peakRss - r.rssBefore)}), CPU ${r.cpuSeconds.toFixed(1)} s`,
  );
  console.log(`run's stored log ${mib(Buffer.byteLength(r.log))}; "${marker}"; ${r.log.match(/[^\n]*past the log cap was dropped/)?.[0] ?? ''}`);
  console.log(`agent job time / docker run: ${(r.jobMs / plain.ms).toFixed(2)}× (plain), ${(r.jobMs / same).toFixed(2)}× (agent's settings, mean ${same} ms)`);
  if (r.run.status !== 'PASSED') console.log(`unexpected: the run ended ${r.run.status}\n${r.log.slice(-2000)}`);
} finally {
  agent.signal('SIGTERM');
  await agent.exited;
  await h.stop();
}
