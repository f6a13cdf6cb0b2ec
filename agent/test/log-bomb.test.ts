// A job printing 200 MB, run by the built agent as a child process against the real control plane:
// the agent forwards its cap, stores one marker line, keeps reading (the job runs to its end and
// passes), and its memory stays bounded by the cap, not by the output. `npm run bench:log-bomb` does
// the same with 1 GiB and compares with plain `docker run`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, buildAgent, spawnAgent } from './support/agent-process';
import { type Harness, startHarness, waitFor } from './support/control-plane';
import { ensureBusyboxImage } from './support/images';
import { agentBomb, bombCommand } from './support/log-bomb';
import { MiB, mib } from './support/process-memory';

const OUTPUT = 200 * MiB;
const CAP = 4 * MiB;
let h: Harness;
let agent: AgentProcess;
let busybox: string;

beforeAll(async () => {
  busybox = ensureBusyboxImage();
  buildAgent();
  h = await startHarness();
  agent = spawnAgent(
    ['--url', h.cp.url, '--token', await h.registrationToken(), '--state-dir', mkdtempSync(path.join(tmpdir(), 'agnox-bomb-')), '--name', 'log-bomb'],
    { AGNOX_LOG_MAX: '4m' },
  );
  await waitFor('the agent to poll', () => agent.output().includes('polling'), 30_000);
  // Warm-up, so the peak measured below is the bomb's and not the first job's.
  const warm = await h.requestRun({ projectId: await h.project({ image: busybox, command: 'echo warm' }) });
  await h.waitForStatus(warm, ['PASSED']);
});

afterAll(async () => {
  if (agent) {
    agent.signal('SIGTERM');
    await agent.exited;
  }
  await h?.stop();
});

describe('a log bomb', () => {
  it('is cut at the cap with one marker, drained to the end, in bounded memory', async () => {
    const projectId = await h.project({ image: busybox, command: `echo begin; ${bombCommand(OUTPUT)}; echo; echo end of bomb` });
    const r = await agentBomb(h, agent, projectId, 50_000);
    const growth = r.peakRss - r.rssBefore;
    console.log(
      `200 MiB bomb, cap 4 MiB: job ${r.jobMs} ms, agent RSS ${mib(r.rssBefore)} → peak ${mib(r.peakRss)} (+${mib(growth)}), CPU ${r.cpuSeconds.toFixed(1)} s`,
    );
    expect(r.run.status, r.log.slice(-2000)).toBe('PASSED');
    expect(r.run.exitCode).toBe(0);
    expect(r.log.match(/log truncated at 4 MiB; further output dropped/g)).toHaveLength(1);
    expect(r.log).toMatch(/\n196 MiB of output past the log cap was dropped\n/);
    expect(r.log).not.toContain('end of bomb'); // printed after the cap
    expect(r.log).toContain('finished: PASSED');
    const stored = Buffer.byteLength(r.log);
    expect(stored).toBeGreaterThan(CAP);
    expect(stored).toBeLessThan(CAP + 64 * 1024);
    // Bounded by the cap, not by the 200 MB that passed through: what remains is the garbage of reading
    // fast (V8's young generation, socket buffers), about 40-70 MiB here. Before the cap: +229 MiB.
    expect(growth).toBeLessThan(128 * MiB);
  });
});
