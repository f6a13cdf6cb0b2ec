// The load's agents: one fake-agent.ts process each, and what they report over IPC — which agent
// got which job when (every receipt is kept: a job got twice is a doubled job), which jobs ended,
// their warnings, and at the end their HTTP counts.
import { fork, type ChildProcess } from 'node:child_process';
import { build } from 'esbuild';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AgentCommand, AgentMessage } from './agent-messages';
import type { HttpStats } from './http-stats';

export type Receipt = { agent: string; taskId: string; attempt: number; at: number };
export type Done = Extract<AgentMessage, { type: 'done' }>;

export class AgentFleet {
  readonly receipts: Receipt[] = [];
  readonly done = new Map<string, Done[]>();
  readonly warnings: string[] = [];
  /** CPU seconds the agent processes used, all together (reported when drained). */
  cpuSeconds = 0;
  private readonly children = new Map<string, ChildProcess>();
  private readonly exited = new Map<string, Promise<number | null>>();
  onDone: (d: Done) => void = () => {};

  constructor(private readonly http: HttpStats) {}

  /** Starts one process per registration token; resolves once every agent is registered and polling. */
  async start(url: string, tokens: string[], linesPerSecond: number): Promise<void> {
    const stateRoot = mkdtempSync(path.join(tmpdir(), 'agnox-load-agents-'));
    // One bundle for plain node (as the agent ships): twenty processes start fast and lean.
    const bundle = path.join(import.meta.dirname, 'dist/fake-agent.mjs');
    await build({
      entryPoints: [path.join(import.meta.dirname, 'fake-agent.ts')],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
    });
    const ready = tokens.map(
      (token, i) =>
        new Promise<void>((resolve, reject) => {
          const name = `load-agent-${String(i + 1).padStart(2, '0')}`;
          const child = fork(bundle, [], {
            execArgv: [],
            env: {
              ...process.env,
              LOAD_URL: url,
              LOAD_TOKEN: token,
              LOAD_NAME: name,
              LOAD_STATE_DIR: path.join(stateRoot, name),
              LOAD_LINES_PER_SECOND: String(linesPerSecond),
            },
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          });
          this.children.set(name, child);
          this.exited.set(name, new Promise((r) => child.once('exit', (code) => r(code))));
          child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`)));
          child.on('message', (m: AgentMessage) => {
            if (m.type === 'ready') resolve();
            else this.receive(m);
          });
        }),
    );
    await Promise.all(ready);
  }

  private receive(m: AgentMessage) {
    switch (m.type) {
      case 'job':
        this.receipts.push({ agent: m.name, taskId: m.taskId, attempt: m.attempt, at: m.at });
        break;
      case 'done': {
        const list = this.done.get(m.taskId) ?? [];
        list.push(m);
        this.done.set(m.taskId, list);
        this.onDone(m);
        break;
      }
      case 'warn':
        if (this.warnings.length < 200) this.warnings.push(`${m.name}: ${m.message}`);
        break;
      case 'stats':
        this.http.merge(m.http);
        this.cpuSeconds += m.cpuSeconds;
        break;
    }
  }

  /** Drains every agent (running jobs finish), collects their counts, waits for them to exit. */
  async drain(timeoutMs: number): Promise<string[]> {
    for (const child of this.children.values()) if (child.connected) child.send({ type: 'drain' } satisfies AgentCommand);
    const problems: string[] = [];
    await Promise.all(
      [...this.exited].map(async ([name, exited]) => {
        const timer = setTimeout(() => {
          problems.push(`${name} did not exit within ${timeoutMs / 1000} s of the drain`);
          this.children.get(name)?.kill('SIGKILL');
        }, timeoutMs);
        const code = await exited;
        clearTimeout(timer);
        if (code !== 0 && code !== null) problems.push(`${name} exited with code ${code}`);
      }),
    );
    return problems;
  }

  kill() {
    for (const child of this.children.values()) if (child.exitCode === null) child.kill('SIGKILL');
  }
}
