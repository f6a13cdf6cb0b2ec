// The Worker masks the project's secrets itself (defence in depth: the agent masks first), inside
// workerd with real D1 and rooms: results an agent completes with, its message, and ingest's live
// results, log lines and the results written at teardown — in every encoded form of a secret.
import { describe, expect, it } from 'vitest';
import { agentApi, api, createApiKey, createProject, poll, registerAgent, signup, type Org } from './helpers';

// Its base64 has '/' and padding, its URL and JSON forms differ from it: each form is a separate leak.
const SECRET = `Tr0ub4dor/&"3 horses\\ö??z`;
const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
const FORMS = {
  raw: SECRET,
  base64: b64(SECRET),
  'base64 unpadded': b64(SECRET).replace(/=+$/, ''),
  'URL-encoded': encodeURIComponent(SECRET),
  'form-encoded': new URLSearchParams({ k: SECRET }).toString().slice(2),
  'JSON-escaped': JSON.stringify(SECRET).slice(1, -1),
};
const allForms = Object.entries(FORMS)
  .map(([name, form]) => `${name}=${form}`)
  .join(' ');

/** Fails naming the form that leaked. */
function expectNoSecret(what: string, text: string) {
  for (const [name, form] of Object.entries(FORMS)) expect(text.includes(form), `${what} shows the ${name} form of the secret`).toBe(false);
  expect(text.includes('Tr0ub4dor'), `${what} shows part of the secret`).toBe(false);
}

async function projectWithSecret(org: Org, environment = 'staging') {
  const project = await createProject(org.token);
  const res = await api('PUT', `/api/projects/${project.id}/run-settings/${environment}`, {
    token: org.token,
    body: { secretVariables: { API_TOKEN: SECRET } },
  });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return project;
}

const read = async (org: Org, path: string) => {
  const res = await api('GET', path, { token: org.token });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return JSON.stringify(res.json.data);
};

describe('results an agent completes with', () => {
  it('are stored and shown masked, however the agent sent them', async () => {
    const org = await signup();
    const project = await projectWithSecret(org);
    const agent = await registerAgent(org);
    const req = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id, environment: 'staging' } });
    expect(req.status, JSON.stringify(req.json)).toBe(201);
    const taskId = req.json.data.taskId as string;
    expect(await poll(agent, 0)).toMatchObject({ taskId, secretVars: { API_TOKEN: SECRET } });
    // An agent that did not mask (an old version, a bug): the results carry the secret in every field.
    const complete = await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/complete`, {
      status: 'FAILED',
      exitCode: 1,
      message: `exit code 1 (${FORMS.base64})`,
      tests: [
        {
          testId: `api › ${SECRET}`,
          title: `calls the API with ${FORMS['URL-encoded']}`,
          file: 'tests/api.spec.ts',
          suite: `suite ${FORMS['JSON-escaped']}`,
          status: 'failed',
          durationMs: 5,
          retry: 0,
          error: { message: `401 for ${allForms}`, stack: `Error: token ${SECRET}\n  at tests/api.spec.ts:3:1`, location: 'tests/api.spec.ts:3:1' },
        },
        { testId: 'ok', title: 'passes', status: 'passed', durationMs: 1, retry: 0 },
      ],
    });
    expect(complete.status, JSON.stringify(complete.json)).toBe(200);

    const tests = await read(org, `/api/executions/${taskId}/tests`);
    expectNoSecret('GET /tests', tests);
    expect(tests).toContain('401 for raw=*** base64=*** base64 unpadded=*** URL-encoded=*** form-encoded=*** JSON-escaped=***');
    expect(tests).toContain('calls the API with ***');
    const failures = await read(org, `/api/insights/executions/${taskId}/failures`);
    expectNoSecret('GET /insights/…/failures', failures);
    expect(failures).toContain('401 for raw=***');
    const log = await read(org, `/api/executions/${taskId}/logs`);
    expectNoSecret('the run log', log);
    expect(log).toContain('agent reported FAILED: exit code 1 (***)');
    const run = await api('GET', `/api/executions/${taskId}`, { token: org.token });
    expect(run.json.data).toMatchObject({ status: 'FAILED', failed: 1, passed: 1 });
  });
});

describe('ingest', () => {
  it("masks live results and log lines, and the results written at teardown, with the project's secrets of every environment", async () => {
    const org = await signup();
    const key = await createApiKey(org);
    // The secret belongs to the production settings; the CI run names no environment at all.
    const project = await projectWithSecret(org, 'production');
    const setup = await api('POST', '/api/ingest/setup', {
      apiKey: key,
      body: { projectId: project.id, framework: 'playwright', reporterVersion: '1.0.0', totalTests: 1 },
    });
    expect(setup.status, JSON.stringify(setup.json)).toBe(201);
    const { sessionId, taskId } = setup.json.data as { sessionId: string; taskId: string };
    const events = [
      { type: 'log', chunk: `curl -H "Authorization: Basic ${FORMS.base64}" ?token=${FORMS['URL-encoded']}\n`, timestamp: Date.now(), seq: 1 },
      {
        type: 'test-end',
        testId: 't1',
        title: `logs in with ${SECRET}`,
        file: 'login.spec.ts',
        status: 'failed',
        duration: 12,
        timestamp: Date.now(),
        seq: 2,
        retry: 0,
        error: `expected 200 for ${allForms}`,
        errorStack: `at login.spec.ts:1:1 ${FORMS['JSON-escaped']}`,
      },
    ];
    const sent = await api('POST', '/api/ingest/event', { apiKey: key, body: { sessionId, events } });
    expect(sent.status, JSON.stringify(sent.json)).toBe(200);

    // Live: before the teardown the results are read from the run's room.
    const live = await read(org, `/api/executions/${taskId}/tests`);
    expectNoSecret('live GET /tests', live);
    expect(live).toContain('expected 200 for raw=*** base64=***');
    const log = await read(org, `/api/executions/${taskId}/logs`);
    expectNoSecret('the ingest log', log);
    expect(log).toContain('Authorization: Basic ***');
    expect(log).toContain('login.spec.ts › logs in with ***');

    const down = await api('POST', '/api/ingest/teardown', {
      apiKey: key,
      body: { sessionId, status: 'FAILED', summary: { total: 1, passed: 0, failed: 1, skipped: 0, duration: 12 } },
    });
    expect(down.status, JSON.stringify(down.json)).toBe(200);
    const stored = await read(org, `/api/executions/${taskId}/tests`);
    expectNoSecret('GET /tests after teardown', stored);
    expect(stored).toContain('logs in with ***');
    const failures = await read(org, `/api/insights/executions/${taskId}/failures`);
    expectNoSecret('GET /insights/…/failures', failures);
    expect(failures).toContain('expected 200 for raw=***');
  });

  it('masks a secret added during the run in the results written at teardown', async () => {
    const org = await signup();
    const key = await createApiKey(org);
    const project = await createProject(org.token);
    const setup = await api('POST', '/api/ingest/setup', {
      apiKey: key,
      body: { projectId: project.id, framework: 'playwright', reporterVersion: '1.0.0', totalTests: 1, environment: 'staging' },
    });
    const { sessionId, taskId } = setup.json.data as { sessionId: string; taskId: string };
    const sent = await api('POST', '/api/ingest/event', {
      apiKey: key,
      body: {
        sessionId,
        events: [
          {
            type: 'test-end',
            testId: 't1',
            title: 'pays',
            file: 'pay.spec.ts',
            status: 'failed',
            duration: 3,
            timestamp: Date.now(),
            seq: 1,
            retry: 0,
            error: `card ${FORMS.base64} declined`,
          },
        ],
      },
    });
    expect(sent.status, JSON.stringify(sent.json)).toBe(200);
    // Nothing to mask yet when the result arrived; the secret is set before the run ends.
    const res = await api('PUT', `/api/projects/${project.id}/run-settings/staging`, { token: org.token, body: { secretVariables: { CARD: SECRET } } });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const down = await api('POST', '/api/ingest/teardown', {
      apiKey: key,
      body: { sessionId, status: 'FAILED', summary: { total: 1, passed: 0, failed: 1, skipped: 0, duration: 3 } },
    });
    expect(down.status, JSON.stringify(down.json)).toBe(200);
    const stored = await read(org, `/api/executions/${taskId}/tests`);
    expectNoSecret('GET /tests after teardown', stored);
    expect(stored).toContain('card *** declined');
  });
});
