// Starts an in-process agent (the source modules) against a harness, with test-friendly timings.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, type AgentOptions } from '../../src/agent';
import { DEFAULT_OUTPUT_MAX_BYTES } from '../../src/config';
import type { Logger } from '../../src/log';
import type { Harness } from './control-plane';

export type RunningAgent = { agent: Agent; done: Promise<unknown>; lines: string[]; stop: () => Promise<void> };

export async function startAgent(h: Harness, overrides: Partial<AgentOptions> = {}): Promise<RunningAgent> {
  const lines: string[] = [];
  const logger: Logger = { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
  const agent = new Agent({
    url: h.cp.url,
    token: await h.registrationToken(),
    name: `test-agent-${Math.random().toString(36).slice(2, 8)}`,
    labels: {},
    concurrency: 1,
    stateDir: mkdtempSync(path.join(tmpdir(), 'agnox-agent-home-')),
    memoryBytes: 512 * 1024 * 1024,
    cpus: 1,
    pids: 512,
    stopGraceSeconds: 2,
    logMaxBytes: DEFAULT_OUTPUT_MAX_BYTES,
    once: false,
    heartbeatIntervalMs: 500,
    pollWaitMs: 5_000,
    logger,
    ...overrides,
  });
  const done = agent.run().catch((err) => {
    lines.push(`fatal ${String(err)}`);
    throw err;
  });
  done.catch(() => {});
  return {
    agent,
    done,
    lines,
    stop: async () => {
      // Bounded, and informative when it is not: the agent's own log says what it was waiting for.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`agent did not stop within 60 s:\n${lines.slice(-30).join('\n')}`)), 60_000);
      });
      try {
        await Promise.race([agent.stopJobs().then(() => done.catch(() => {})), late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
