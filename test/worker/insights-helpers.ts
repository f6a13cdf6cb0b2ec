// Recorded runs for the failure-intelligence tests: each run goes through the real paths (a CI trigger with
// its commit, an agent lease, the agent's complete with per-test results), so fingerprints, project ids
// and timestamps are stored exactly as in production.
import { expect } from 'vitest';
import { agentApi, api, createApiKey, createProject, poll, registerAgent, signup, type Org, type TestAgent } from './helpers';

export type RecordedTest = {
  testId?: string;
  title: string;
  file?: string;
  status: 'passed' | 'failed' | 'skipped' | 'timedOut' | 'flaky';
  retry?: number;
  durationMs?: number;
  error?: string;
};

export type Lab = { org: Org; apiKey: string; agent: TestAgent; project: { id: string; name: string } };

export async function lab(org?: Org): Promise<Lab> {
  const o = org ?? (await signup());
  return { org: o, apiKey: await createApiKey(o), agent: await registerAgent(o), project: await createProject(o.token) };
}

/** One finished run of `projectId` with these results; returns its taskId and the status it ended with. */
export async function recordRun(
  l: Lab,
  tests: RecordedTest[],
  opts: { commit?: string; projectId?: string; status?: 'PASSED' | 'FAILED' | 'ERROR'; durationMs?: number } = {},
) {
  const trigger = await api('POST', '/api/ci/trigger', {
    apiKey: l.apiKey,
    body: { projectId: opts.projectId ?? l.project.id, ciContext: opts.commit ? { source: 'github', commitSha: opts.commit, branch: 'main' } : undefined },
  });
  expect(trigger.status, JSON.stringify(trigger.json)).toBe(201);
  const taskId = trigger.json.data.taskId as string;
  const job = await poll(l.agent, 0);
  expect(job?.taskId).toBe(taskId);
  const failed = tests.some((t) => t.status === 'failed' || t.status === 'timedOut');
  const res = await agentApi(l.agent, 'POST', `/api/agent/jobs/${taskId}/complete`, {
    status: opts.status ?? (failed ? 'FAILED' : 'PASSED'),
    exitCode: failed ? 1 : 0,
    durationMs: opts.durationMs,
    tests: tests.map((t) => ({
      testId: t.testId ?? `${t.file ?? ''}::${t.title}`,
      title: t.title,
      file: t.file,
      status: t.status,
      retry: t.retry ?? 0,
      durationMs: t.durationMs ?? 10,
      ...(t.error ? { error: { message: t.error } } : {}),
    })),
  });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return { taskId, status: res.json.data.status as string };
}
