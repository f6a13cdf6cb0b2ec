// The real control plane (`wrangler dev`) for the agent's tests, and the calls a user makes on it:
// sign up, create a project with run settings, ask for runs, cancel, read runs and their logs.
import { randomUUID } from 'node:crypto';
import { type ControlPlane, startControlPlane } from '../../../test/support/wrangler';

export type Org = { token: string; organizationId: string };
export type Json = { success: boolean; data?: any; error?: string; code?: string };

export async function call(cp: { url: string }, method: string, path: string, opts: { token?: string; apiKey?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = { 'cf-connecting-ip': `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}` };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.apiKey) headers['x-api-key'] = opts.apiKey;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(cp.url + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = { success: false, error: text };
  }
  return { status: res.status, json };
}

async function must(cp: { url: string }, method: string, path: string, opts: Parameters<typeof call>[3] = {}) {
  const res = await call(cp, method, path, opts);
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.data;
}

export type Harness = {
  cp: ControlPlane;
  org: Org;
  /** A fresh single-use registration token. */
  registrationToken: () => Promise<string>;
  apiKey: () => Promise<string>;
  project: (p: {
    image: string;
    command: string;
    timeoutSeconds?: number;
    environment?: string;
    secrets?: Record<string, string>;
    variables?: Record<string, string>;
    baseUrl?: string;
  }) => Promise<string>;
  requestRun: (body: Record<string, unknown>) => Promise<string>;
  execution: (taskId: string) => Promise<any>;
  logs: (taskId: string) => Promise<{ seq: number; stream: string; data: string }[]>;
  tests: (taskId: string) => Promise<any[]>;
  artifacts: (taskId: string) => Promise<any[]>;
  cancel: (taskId: string) => Promise<void>;
  waitForStatus: (taskId: string, statuses: string[], timeoutMs?: number) => Promise<any>;
  stop: () => Promise<void>;
};

export const FINAL = ['PASSED', 'FAILED', 'ERROR', 'CANCELLED', 'TIMED_OUT'];

/** Polls `check` until it returns a value other than undefined/false, or throws after the deadline. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

export async function startHarness(cp?: ControlPlane): Promise<Harness> {
  const plane = cp ?? (await startControlPlane());
  const email = `admin-${randomUUID()}@example.com`;
  const signup = await must(plane, 'POST', '/api/auth/signup', {
    body: { email, password: 'correct-horse-42', name: 'Ada Admin', organizationName: `Agent tests ${randomUUID().slice(0, 6)}` },
  });
  const org: Org = { token: signup.token, organizationId: signup.organization.id };
  const h: Harness = {
    cp: plane,
    org,
    registrationToken: async () => (await must(plane, 'POST', '/api/agents/registration-tokens', { token: org.token, body: {} })).token,
    apiKey: async () => (await must(plane, 'POST', '/api/api-keys', { token: org.token, body: { name: `ci-${randomUUID().slice(0, 6)}` } })).key,
    project: async (p) => {
      const project = await must(plane, 'POST', '/api/projects', {
        token: org.token,
        body: {
          name: `p-${randomUUID().slice(0, 8)}`,
          image: p.image,
          command: p.command,
          timeoutSeconds: p.timeoutSeconds ?? 600,
          defaultEnvironment: p.environment ?? 'staging',
        },
      });
      if (p.secrets || p.variables || p.baseUrl) {
        await must(plane, 'PUT', `/api/projects/${project.id}/run-settings/${p.environment ?? 'staging'}`, {
          token: org.token,
          body: { secretVariables: p.secrets, variables: p.variables, baseUrl: p.baseUrl },
        });
      }
      return project.id as string;
    },
    requestRun: async (body) => (await must(plane, 'POST', '/api/execution-request', { token: org.token, body })).taskId,
    execution: (taskId) => must(plane, 'GET', `/api/executions/${taskId}`, { token: org.token }),
    logs: async (taskId) => (await must(plane, 'GET', `/api/executions/${taskId}/logs?since=0&limit=20000`, { token: org.token })).chunks,
    tests: (taskId) => must(plane, 'GET', `/api/executions/${taskId}/tests`, { token: org.token }),
    artifacts: (taskId) => must(plane, 'GET', `/api/executions/${taskId}/artifacts`, { token: org.token }),
    cancel: async (taskId) => {
      await must(plane, 'POST', `/api/executions/${taskId}/cancel`, { token: org.token, body: {} });
    },
    waitForStatus: (taskId, statuses, timeoutMs = 60_000) =>
      waitFor(
        `${taskId} to reach ${statuses.join('/')}`,
        async () => {
          const e = await h.execution(taskId);
          return statuses.includes(e.status) ? e : undefined;
        },
        timeoutMs,
        150,
      ),
    stop: () => plane.stop(),
  };
  return h;
}

/** The run's stored log as one string (agent output plus control-plane notes), and its seqs. */
export const logTextOf = (chunks: { data: string }[]) => chunks.map((c) => c.data).join('');
