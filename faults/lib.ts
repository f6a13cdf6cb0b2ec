// What every fault scenario shares: a report that prints each step with its time and each check as
// PASS/FAIL, the real stack (wrangler dev + an org + an agent registration), the real agent as a
// process, and the numbered-lines job whose log can be checked line by line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Harness, logTextOf, startHarness, waitFor } from '../agent/test/support/control-plane';
import { type AgentProcess, buildAgent, spawnAgent } from '../agent/test/support/agent-process';

export { logTextOf, waitFor };
export type { Harness, AgentProcess };

export const ROOT = path.resolve(import.meta.dirname, '..');

/** Steps with their time since the scenario began, checks as PASS/FAIL, figures at the end. */
export class Report {
  readonly started = Date.now();
  readonly checks: { name: string; ok: boolean; detail: string }[] = [];
  readonly figures: [string, string][] = [];
  constructor(readonly scenario: string) {}

  elapsed(): string {
    return `${((Date.now() - this.started) / 1000).toFixed(1).padStart(6)} s`;
  }
  step(message: string): void {
    console.log(`[${this.scenario} ${this.elapsed()}] ${message}`);
  }
  check(name: string, ok: boolean, detail = ''): boolean {
    this.checks.push({ name, ok, detail });
    console.log(`[${this.scenario} ${this.elapsed()}] ${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
    return ok;
  }
  figure(name: string, value: string | number, unit = ''): void {
    const text = typeof value === 'number' ? `${Number.isInteger(value) ? value : value.toFixed(1)}${unit ? ` ${unit}` : ''}` : value;
    this.figures.push([name, text]);
    console.log(`[${this.scenario} ${this.elapsed()}] figure ${name}: ${text}`);
  }
  get failed(): number {
    return this.checks.filter((c) => !c.ok).length;
  }
}

/** A stopwatch in seconds. */
export const since = (t0: number) => (Date.now() - t0) / 1000;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Prints the stack's own log tail when something unexpected happened. */
export function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** A job that prints `line 1` … `line N`, one every `intervalMs`: its log can be checked line by line. */
export const numberedLines = (n: number, intervalMs: number) => `i=1; while [ $i -le ${n} ]; do echo "line $i"; i=$((i+1)); usleep ${intervalMs * 1000}; done`;

/** The numbers of the `line N` rows on stdout, in stored order. */
export function lineNumbers(chunks: { stream: string; data: string }[]): number[] {
  return chunks
    .filter((c) => c.stream === 'stdout')
    .map((c) => c.data)
    .join('')
    .split('\n')
    .map((l) => /^line (\d+)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => Number(m[1]));
}

/** "1..N exactly once, in order", or what is wrong (missing, doubled, out of order). */
export function exactlyOnce(numbers: number[], n: number): { ok: boolean; detail: string } {
  const seen = new Map<number, number>();
  for (const x of numbers) seen.set(x, (seen.get(x) ?? 0) + 1);
  const missing = [...Array(n).keys()].map((i) => i + 1).filter((i) => !seen.has(i));
  const doubled = [...seen].filter(([, c]) => c > 1).map(([x]) => x);
  const ordered = numbers.every((x, i) => i === 0 || x > numbers[i - 1]!);
  const ok = !missing.length && !doubled.length && ordered && numbers.length === n;
  const list = (xs: number[]) => `${xs.slice(0, 10).join(',')}${xs.length > 10 ? `,… (${xs.length})` : ''}`;
  return {
    ok,
    detail: ok
      ? `${n}/${n} lines, each once, in order`
      : `${numbers.length} lines stored; missing [${list(missing)}]; doubled [${list(doubled)}]; ${ordered ? 'in order' : 'OUT OF ORDER'}`,
  };
}

/** The real stack: `wrangler dev` on a fresh state folder with one org; the agent bundle built. */
export async function startStack(report: Report): Promise<Harness> {
  const t0 = Date.now();
  buildAgent();
  const h = await startHarness();
  report.step(`control plane up at ${h.cp.url} (state ${h.cp.stateDir}) in ${since(t0).toFixed(1)} s`);
  return h;
}

/** The built agent as a process, registered with a fresh token (or reusing `stateDir`'s identity). */
export async function launchAgent(
  h: Harness,
  opts: { url?: string; stateDir?: string; name?: string; concurrency?: number; env?: Record<string, string>; register?: boolean } = {},
) {
  const stateDir = opts.stateDir ?? mkdtempSync(path.join(tmpdir(), 'agnox-fault-agent-'));
  const args = [
    '--url',
    opts.url ?? h.cp.url,
    '--state-dir',
    stateDir,
    '--name',
    opts.name ?? `fault-${path.basename(stateDir)}`,
    '--concurrency',
    String(opts.concurrency ?? 1),
  ];
  if (opts.register !== false && !opts.stateDir) args.push('--token', await h.registrationToken());
  const agent = spawnAgent(args, opts.env ?? {});
  await waitFor(
    'the agent to poll',
    () => agent.output().includes('polling') || (agent.child.exitCode !== null && Promise.reject(new Error(agent.output()))),
    60_000,
  );
  return { agent, stateDir };
}

export async function stopAgent(agent: AgentProcess | undefined): Promise<void> {
  if (!agent || agent.child.exitCode !== null || agent.child.signalCode) return;
  agent.signal('SIGKILL');
  await agent.exited;
}

/** Containers labelled for a task (on the engine `host` points at). */
export function containersOf(taskId: string, host?: string): string[] {
  const res = spawnSync('docker', ['ps', '-aq', '--filter', `label=agnox.task=${taskId}`], {
    encoding: 'utf8',
    env: { ...process.env, ...(host ? { DOCKER_HOST: host } : {}) },
  });
  return res.stdout.split('\n').filter(Boolean);
}

/** Whether a container with this id (or id prefix, as `docker ps -q` prints it) still exists. */
export function containerExists(id: string, host?: string): boolean {
  const res = spawnSync('docker', ['ps', '-aq', '--filter', `id=${id}`], { encoding: 'utf8', env: { ...process.env, ...(host ? { DOCKER_HOST: host } : {}) } });
  if (res.status !== 0) throw new Error(`docker ps: ${res.stderr}`);
  return res.stdout.trim() !== '';
}

/** The `[agnox] …` notes the control plane wrote into a run's log. */
export const notesOf = (chunks: { stream: string; data: string }[]) =>
  chunks
    .filter((c) => c.stream === 'system')
    .map((c) => c.data)
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('[agnox]'));

export type Scenario = { name: string; summary: string; run: (report: Report) => Promise<void> };
