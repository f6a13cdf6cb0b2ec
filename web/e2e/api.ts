// The test's own calls to the control plane, standing in for other actors: an agent that takes a job
// and streams its log, an admin inviting members. Real HTTP against the real Worker.
import { expect } from '@playwright/test';
import { HEARTBEAT_INTERVAL_MS } from '../../worker/contracts/agent';

export type Json = { success: boolean; data?: any; error?: string; code?: string };

let ipCounter = 0;

export async function call(
  baseURL: string,
  method: string,
  path: string,
  opts: { token?: string; agentToken?: string; apiKey?: string; body?: unknown } = {},
): Promise<{ status: number; json: Json }> {
  const headers: Record<string, string> = { 'cf-connecting-ip': `10.9.${(ipCounter >> 8) & 255}.${ipCounter++ & 255}` };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.agentToken) headers.authorization = `Bearer ${opts.agentToken}`;
  if (opts.apiKey) headers['x-api-key'] = opts.apiKey;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${baseURL}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  let json: Json;
  try {
    json = text ? JSON.parse(text) : { success: res.ok };
  } catch {
    json = { success: false, error: text };
  }
  return { status: res.status, json };
}

export async function ok(baseURL: string, method: string, path: string, opts: Parameters<typeof call>[3] = {}, expected = [200, 201]) {
  const r = await call(baseURL, method, path, opts);
  expect(expected, `${method} ${path} → ${r.status} ${JSON.stringify(r.json)}`).toContain(r.status);
  return r.json.data;
}

export async function createProject(baseURL: string, token: string, name: string) {
  return ok(baseURL, 'POST', '/api/projects', { token, body: { name, image: 'agnox/busybox:test', command: 'echo hi' } }) as Promise<{
    id: string;
    name: string;
  }>;
}

/** Registers an agent through a registration token, as `agnox-agent` does. */
export async function registerAgent(baseURL: string, adminToken: string, name = 'e2e-agent') {
  const reg = await ok(baseURL, 'POST', '/api/agents/registration-tokens', { token: adminToken, body: {} });
  const agent = await ok(baseURL, 'POST', '/api/agent/register', {
    body: { token: reg.token, name, arch: 'arm64', os: 'linux', version: '0.0.0-e2e', labels: { pool: 'e2e' } },
  });
  return agent.agentToken as string;
}

/** Polls until the agent is given a job (the dispatcher holds the poll open while the queue is empty). */
export async function takeJob(baseURL: string, agentToken: string, taskId: string) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const r = await call(baseURL, 'POST', '/api/agent/poll', { agentToken, body: { capacity: 1, running: [], waitMs: 5000 } });
    if (r.status === 200) {
      expect(r.json.data.job.taskId).toBe(taskId);
      return r.json.data.job;
    }
    expect(r.status, JSON.stringify(r.json)).toBe(204);
  }
  throw new Error(`no job for ${taskId} within 30 s`);
}

/**
 * Heartbeats for a taken job at the agent's cadence, so its lease does not lapse while a long test
 * streams into it (a lapsed lease puts the job back and adds a line to its log). Returns the stop.
 */
export function holdLease(baseURL: string, agentToken: string, taskId: string): () => void {
  const timer = setInterval(() => {
    // A missed beat is survivable (the lease is six beats long); the test's own assertions say the rest.
    call(baseURL, 'POST', `/api/agent/jobs/${taskId}/heartbeat`, { agentToken, body: {} }).catch(() => {});
  }, HEARTBEAT_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

export type Chunk = { seq: number; stream?: 'stdout' | 'stderr' | 'system'; data: string };

export async function pushLog(baseURL: string, agentToken: string, taskId: string, chunks: Chunk[]) {
  return ok(baseURL, 'POST', `/api/agent/jobs/${taskId}/logs`, {
    agentToken,
    body: { type: 'chunks', chunks: chunks.map((c) => ({ stream: 'stdout', ...c })) },
  });
}

/** Numbered lines, one chunk each, seq starting at `from`. */
export const numberedChunks = (from: number, count: number, text = (n: number) => `line ${n}\n`): Chunk[] =>
  Array.from({ length: count }, (_, i) => ({ seq: from + i, data: text(from + i) }));
