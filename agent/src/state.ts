// The agent's identity on disk: after the first registration, <state dir>/agent.json holds the
// agent id and its token, readable only by this user (dir 0700, file 0600). Later runs reuse it;
// two agents on one box use two state directories.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type AgentIdentity = {
  agentId: string;
  agentToken: string;
  url: string;
  name: string;
  queue: string;
  labels: Record<string, string>;
  registeredAt: number;
};

export const IDENTITY_FILE = 'agent.json';

export class StateStore {
  constructor(readonly dir: string) {}

  get file(): string {
    return path.join(this.dir, IDENTITY_FILE);
  }

  load(): AgentIdentity | null {
    if (!existsSync(this.file)) return null;
    let parsed: Partial<AgentIdentity>;
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      throw new Error(`${this.file} is not valid JSON (${(err as Error).message}); remove it to register again`);
    }
    if (typeof parsed.agentId !== 'string' || typeof parsed.agentToken !== 'string' || typeof parsed.url !== 'string') {
      throw new Error(`${this.file} is missing agentId/agentToken/url; remove it to register again`);
    }
    // Tighten permissions if someone loosened them.
    if ((statSync(this.file).mode & 0o077) !== 0) chmodSync(this.file, 0o600);
    return parsed as AgentIdentity;
  }

  save(identity: AgentIdentity): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(identity, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }
}
