// The built agent (`agent/bin/agnox-agent.js`, tsup bundle) as a real child process, as users run it.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

const AGENT_DIR = path.resolve(import.meta.dirname, '../..');
export const AGENT_BIN = path.join(AGENT_DIR, 'bin/agnox-agent.js');
export const CI_BIN = path.join(AGENT_DIR, 'bin/agnox.js');

let built = false;
/** Bundles the agent once per test process (tsup, ~1 s). */
export function buildAgent(): void {
  if (built) return;
  const res = spawnSync(path.resolve(AGENT_DIR, '../node_modules/.bin/tsup'), [], { cwd: AGENT_DIR, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`agent build failed:\n${res.stdout}\n${res.stderr}`);
  built = true;
}

export type AgentProcess = { child: ChildProcess; output: () => string; exited: Promise<number | null>; signal: (s: NodeJS.Signals) => void };

/** Test timings: short heartbeats and polls, a 2 s stop grace. */
export const FAST_ENV = { AGNOX_HEARTBEAT_MS: '500', AGNOX_POLL_WAIT_MS: '3000', AGNOX_STOP_GRACE: '2', AGNOX_MEMORY: '512m', AGNOX_CPUS: '1' };

export function spawnAgent(args: string[], env: Record<string, string> = {}, node = process.execPath, nodeArgs: string[] = []): AgentProcess {
  let out = '';
  const child = spawn(node, [...nodeArgs, AGENT_BIN, ...args], { env: { ...process.env, ...FAST_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited, signal: (s) => child.kill(s) };
}
