// AI root-cause analysis end to end inside workerd: a run fails through the real agent protocol, endRun
// (runs/lifecycle.ts) moves it to ANALYZING, the real @google/genai client calls the local fake Gemini (test/support/
// fake-gemini.ts, scripted per project name), and the run ends with its final status and the analysis.
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepAbandonedAnalyses } from '../../worker/runs/lifecycle';
import { SecretMasker } from '../../worker/lib/secret-masker';
import { buildAnalysisPrompt } from '../../worker/services/analysis-prompt';
import { fakeGemini, type GeminiReply } from '../support/fake-gemini';
import { agentApi, api, createApiKey, createProject, openSocket, poll, registerAgent, signup, wsTicket, type Org } from './helpers';

const gemini = fakeGemini(env.GEMINI_BASE_URL!);
const SECRET = 's3cr3t-Pa55word-for-staging';

const GOOD = {
  summary: 'Login fails because the session cookie is not set after the redirect.',
  likelyCause: 'The /login handler returns 302 without Set-Cookie since the cookie domain changed.',
  category: 'product_bug',
  suggestedFix: 'Restore the cookie domain in the auth config and add a test for it.',
  confidence: 0.82,
};

beforeAll(() => {
  env.GEMINI_API_KEY = 'test-gemini-key';
  env.ANALYSIS_TIMEOUT_MS = '1500';
});
afterAll(() => {
  delete env.GEMINI_API_KEY;
  delete env.ANALYSIS_TIMEOUT_MS;
});

async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met in ${ms} ms; last value: ${JSON.stringify(v).slice(0, 1500)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const detail = async (org: Org, taskId: string) => (await api('GET', `/api/executions/${taskId}`, { token: org.token })).json.data;
const finalDetail = (org: Org, taskId: string) =>
  waitFor(
    () => detail(org, taskId),
    (d) => d.status !== 'ANALYZING' && d.status !== 'RUNNING',
  );

/** A fresh org with a project whose staging secret is SECRET, and a run of it leased to an agent. */
async function failingRun(reply: GeminiReply | null, opts: { status?: 'FAILED' | 'ERROR'; org?: Org } = {}) {
  const org = opts.org ?? (await signup());
  const project = await createProject(org.token, `proj-${crypto.randomUUID().slice(0, 8)}`);
  const settings = await api('PUT', `/api/projects/${project.id}/run-settings/staging`, { token: org.token, body: { secretVariables: { PASSWORD: SECRET } } });
  expect(settings.status, JSON.stringify(settings.json)).toBe(200);
  if (reply) await gemini.script(project.name, reply);
  const agent = await registerAgent(org);
  const req = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id, environment: 'staging' } });
  expect(req.status, JSON.stringify(req.json)).toBe(201);
  const taskId = req.json.data.taskId as string;
  expect(await poll(agent, 0)).toMatchObject({ taskId });
  await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/logs`, {
    type: 'chunks',
    chunks: [
      { seq: 1, stream: 'stdout', data: 'Running 2 tests using 1 worker\n', ts: Date.now() },
      { seq: 2, stream: 'stderr', data: `login with password=${SECRET} failed: 302 without cookie\n`, ts: Date.now() },
    ],
  });
  const complete = () =>
    agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/complete`, {
      status: opts.status ?? 'FAILED',
      exitCode: 1,
      lastSeq: 2,
      tests: [
        {
          testId: 't1',
          title: 'logs in',
          file: 'tests/login.spec.ts',
          status: 'failed',
          durationMs: 30,
          retry: 0,
          error: { message: `Expected cookie "session" after POST /login (password ${SECRET})`, stack: 'at /app/tests/login.spec.ts:12:5' },
        },
        { testId: 't2', title: 'shows the dashboard', file: 'tests/home.spec.ts', status: 'passed', durationMs: 12, retry: 0 },
      ],
    });
  return { org, project, agent, taskId, complete };
}

describe('AI root-cause analysis', () => {
  it('a good answer is stored, viewers see ANALYZING then FAILED live, and no secret reaches the model', async () => {
    const run = await failingRun({ kind: 'json', value: GOOD });
    const viewer = await openSocket(`/api/executions/${run.taskId}/live?ticket=${await wsTicket(run.org.token, run.taskId)}`);
    if (viewer.status !== 101) throw new Error(`no socket: ${viewer.status}`);
    const res = await run.complete();
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.data.status).toBe('ANALYZING');

    await viewer.until((m) => m.some((x) => x.type === 'status' && x.status === 'FAILED'), 8000);
    const statuses = viewer.messages.filter((m) => m.type === 'status').map((m) => m.status);
    expect(statuses.indexOf('ANALYZING')).toBeGreaterThanOrEqual(0);
    expect(statuses.indexOf('ANALYZING')).toBeLessThan(statuses.indexOf('FAILED'));

    const d = await finalDetail(run.org, run.taskId);
    expect(d.status).toBe('FAILED');
    expect(d.analysis).toMatchObject({ status: 'done', ...GOOD, finalStatus: 'FAILED' });
    expect(d.analysis.model).toBeTruthy();
    expect(typeof d.analysis.at).toBe('number');

    const [request, ...more] = await gemini.requests(run.project.name);
    expect(more).toHaveLength(0);
    expect(request!.apiKey).toBe('test-gemini-key');
    expect(request!.path).toMatch(/^\/v1beta\/models\/[^/]+:generateContent$/);
    // The evidence is there (error, log tail, project, image, environment) — with the secret masked everywhere.
    expect(request!.promptText).toContain('Expected cookie <session>'.replace('<session>', '"session"'));
    expect(request!.promptText).toContain('302 without cookie');
    expect(request!.promptText).toContain(run.project.name);
    expect(request!.promptText).toContain('agnox/busybox:test');
    expect(request!.promptText).toContain('Environment: staging');
    expect(request!.promptText).toContain('password=***');
    expect(request!.promptText).toContain('Previous run of this test: none recorded');
    expect(request!.body).not.toContain(SECRET);
    const body = JSON.parse(request!.body);
    expect(body.generationConfig.responseMimeType).toBe('application/json');
    expect(body.generationConfig.responseSchema.required).toEqual(['summary', 'likelyCause', 'category', 'suggestedFix', 'confidence']);

    const log = (await api('GET', `/api/executions/${run.taskId}/logs`, { token: run.org.token })).json.data.chunks.map((c: any) => c.data).join('');
    expect(log).toContain('asking AI for the root cause');
    expect(log).toContain(`AI analysis (product_bug, confidence 82%): ${GOOD.summary}`);
  });

  it('no encoded form of a secret reaches the model: base64, URL-encoded, JSON-escaped in the log tail', async () => {
    const run = await failingRun({ kind: 'json', value: GOOD });
    // A second secret with characters that every encoding changes.
    const special = 'p@ss w/rd"ö&?';
    const added = await api('PUT', `/api/projects/${run.project.id}/run-settings/staging`, {
      token: run.org.token,
      body: { secretVariables: { SPECIAL: special } },
    });
    expect(added.status, JSON.stringify(added.json)).toBe(200);
    const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
    const forms = {
      base64: b64(SECRET),
      'special base64': b64(special),
      'URL-encoded': encodeURIComponent(special),
      'form-encoded': new URLSearchParams({ k: special }).toString().slice(2),
      'JSON-escaped': JSON.stringify(special).slice(1, -1),
    };
    // What an agent that did not mask (an old version, a bug) would have stored.
    const sent = await agentApi(run.agent, 'POST', `/api/agent/jobs/${run.taskId}/logs`, {
      type: 'chunks',
      chunks: [
        {
          seq: 3,
          stream: 'stdout',
          data: `Authorization: Basic ${forms.base64}\nGET /login?pw=${forms['URL-encoded']}\nbody pw=${forms['form-encoded']}\n{"password":"${forms['JSON-escaped']}"} ${forms['special base64']}\n`,
          ts: Date.now(),
        },
      ],
    });
    expect(sent.status, JSON.stringify(sent.json)).toBe(200);
    expect((await run.complete()).status).toBe(200);
    expect((await finalDetail(run.org, run.taskId)).analysis.status).toBe('done');
    const [request] = await gemini.requests(run.project.name);
    for (const [name, form] of Object.entries(forms)) expect(request!.promptText.includes(form), `the ${name} form reached the model`).toBe(false);
    expect(request!.promptText).not.toContain(SECRET);
    expect(request!.promptText).toContain('Authorization: Basic ***');
    expect(request!.promptText).toContain('GET /login?pw=***');
    expect(request!.promptText).toContain('{"password":"***"} ***');
  });

  it('an ERROR run is analysed too and ends ERROR', async () => {
    const run = await failingRun({ kind: 'json', value: { ...GOOD, category: 'infrastructure' } }, { status: 'ERROR' });
    await run.complete();
    const d = await finalDetail(run.org, run.taskId);
    expect(d.status).toBe('ERROR');
    expect(d.analysis).toMatchObject({ status: 'done', category: 'infrastructure', finalStatus: 'ERROR' });
  });

  it('an external CI run (ingest teardown FAILED) is analysed too, with its error and CI context in the prompt', async () => {
    const org = await signup();
    const key = await createApiKey(org);
    const project = await createProject(org.token, `ci-${crypto.randomUUID().slice(0, 8)}`);
    await gemini.script(project.name, { kind: 'json', value: { ...GOOD, category: 'test_bug' } });
    const setup = await api('POST', '/api/ingest/setup', {
      apiKey: key,
      body: {
        projectId: project.id,
        framework: 'playwright',
        reporterVersion: '1.0.0',
        totalTests: 1,
        runName: 'PR #7',
        environment: 'staging',
        ciContext: { source: 'github', branch: 'feature/login', commitSha: 'deadbee' },
      },
    });
    expect(setup.status, JSON.stringify(setup.json)).toBe(201);
    const { sessionId, taskId } = setup.json.data;
    const sent = await api('POST', '/api/ingest/event', {
      apiKey: key,
      body: {
        sessionId,
        events: [
          {
            type: 'test-end',
            testId: 't1',
            title: 'logs in',
            file: 'login.spec.ts',
            status: 'failed',
            duration: 40,
            timestamp: Date.now(),
            seq: 1,
            retry: 0,
            error: 'locator.click: Timeout 5000ms exceeded',
          },
        ],
      },
    });
    expect(sent.status, JSON.stringify(sent.json)).toBe(200);
    const done = await api('POST', '/api/ingest/teardown', {
      apiKey: key,
      body: { sessionId, status: 'FAILED', summary: { total: 1, passed: 0, failed: 1, skipped: 0, duration: 900 } },
    });
    expect(done.status, JSON.stringify(done.json)).toBe(200);
    const d = await finalDetail(org, taskId);
    expect(d).toMatchObject({ status: 'FAILED', source: 'external-ci' });
    expect(d.analysis).toMatchObject({ status: 'done', category: 'test_bug', finalStatus: 'FAILED' });
    const [request] = await gemini.requests(project.name);
    expect(request!.promptText).toContain('locator.click: Timeout 5000ms exceeded');
    expect(request!.promptText).toContain('branch feature/login, commit deadbee');
  });

  const failures: Array<[string, GeminiReply, string, RegExp]> = [
    ['malformed JSON', { kind: 'text', text: '{"summary": "cut off' }, 'MALFORMED', /not JSON/],
    ['JSON of the wrong shape', { kind: 'json', value: { summary: 'x', category: 'nonsense' } }, 'MALFORMED', /expected shape/],
    ['a 429', { kind: 'status', status: 429, message: 'Resource has been exhausted (e.g. check quota).' }, 'RATE_LIMITED', /429.*exhausted/],
    ['a 500', { kind: 'status', status: 500, message: 'Internal error encountered.' }, 'UPSTREAM_ERROR', /HTTP 500: Internal error encountered/],
    ['a blocked prompt', { kind: 'blocked', reason: 'SAFETY', stage: 'prompt' }, 'BLOCKED', /prompt was blocked due to SAFETY/],
    ['a withheld answer', { kind: 'blocked', reason: 'RECITATION', stage: 'answer' }, 'BLOCKED', /answer was blocked due to RECITATION/],
    // biome-ignore lint/suspicious/noThenProperty: the fake's scripted reply after the delay, never awaited
    ['a timeout', { kind: 'delay', ms: 5000, then: { kind: 'json', value: GOOD } }, 'TIMEOUT', /did not answer within 1500 ms/],
  ];
  for (const [what, reply, code, message] of failures) {
    it(`${what} ends the run FAILED with the analysis marked failed (${code})`, async () => {
      const run = await failingRun(reply);
      await run.complete();
      const d = await finalDetail(run.org, run.taskId);
      expect(d.status).toBe('FAILED');
      expect(d.analysis).toMatchObject({ status: 'failed', code, finalStatus: 'FAILED' });
      expect(d.analysis.error).toMatch(message);
      expect(await gemini.requests(run.project.name)).toHaveLength(1);
      const log = (await api('GET', `/api/executions/${run.taskId}/logs`, { token: run.org.token })).json.data.chunks.map((c: any) => c.data).join('');
      expect(log).toContain('AI analysis failed');
    });
  }

  it('an opted-out org never calls the model: the run ends FAILED at once, analysis skipped', async () => {
    const org = await signup();
    const off = await api('PATCH', '/api/organization', { token: org.token, body: { aiAnalysisEnabled: false } });
    expect(off.status).toBe(200);
    const run = await failingRun({ kind: 'json', value: GOOD }, { org });
    const res = await run.complete();
    expect(res.json.data.status).toBe('FAILED');
    const d = await detail(org, run.taskId);
    expect(d.status).toBe('FAILED');
    expect(d.analysis).toMatchObject({ status: 'skipped', code: 'OPTED_OUT' });
    expect(await gemini.requests(run.project.name)).toHaveLength(0);
  });

  it('without GEMINI_API_KEY the feature is off and the analysis says so', async () => {
    delete env.GEMINI_API_KEY;
    try {
      const run = await failingRun({ kind: 'json', value: GOOD });
      const res = await run.complete();
      expect(res.json.data.status).toBe('FAILED');
      const d = await detail(run.org, run.taskId);
      expect(d.analysis).toMatchObject({ status: 'skipped', code: 'NOT_CONFIGURED' });
      expect(d.analysis.error).toMatch(/GEMINI_API_KEY/);
      expect(await gemini.requests(run.project.name)).toHaveLength(0);
    } finally {
      env.GEMINI_API_KEY = 'test-gemini-key';
    }
  });

  it('a passing run is not analysed', async () => {
    const run = await failingRun({ kind: 'json', value: GOOD });
    await agentApi(run.agent, 'POST', `/api/agent/jobs/${run.taskId}/complete`, { status: 'PASSED', exitCode: 0, tests: [] });
    const d = await detail(run.org, run.taskId);
    expect(d.status).toBe('PASSED');
    expect(d.analysis).toBeNull();
    expect(await gemini.requests(run.project.name)).toHaveLength(0);
  });

  it('bounded cost: a second failure in the same org within the interval is not sent to the model', async () => {
    const first = await failingRun({ kind: 'json', value: GOOD });
    await first.complete();
    expect((await finalDetail(first.org, first.taskId)).analysis.status).toBe('done');
    const second = await failingRun({ kind: 'json', value: GOOD }, { org: first.org });
    await second.complete();
    const d = await finalDetail(second.org, second.taskId);
    expect(d.status).toBe('FAILED');
    expect(d.analysis).toMatchObject({ status: 'skipped', code: 'RATE_LIMITED' });
    expect(await gemini.requests(second.project.name)).toHaveLength(0);
  });

  it("shares the org's AI budget with test-step generation: steps spend it, the analysis is skipped", async () => {
    const org = await signup();
    const title = `Steps first ${crypto.randomUUID().slice(0, 8)}`;
    await gemini.script(title, { kind: 'json', value: { steps: [{ action: 'Open', expected: 'Opens' }] } });
    expect((await api('POST', '/api/test-cases/generate-steps', { token: org.token, body: { title } })).status).toBe(200);
    const run = await failingRun({ kind: 'json', value: GOOD }, { org });
    await run.complete();
    const d = await finalDetail(org, run.taskId);
    expect(d.status).toBe('FAILED');
    expect(d.analysis).toMatchObject({ status: 'skipped', code: 'RATE_LIMITED' });
    expect(await gemini.requests(run.project.name)).toHaveLength(0);
  });

  it("shares the org's AI budget with test-step generation: an analysis spends it, steps answer 429", async () => {
    const run = await failingRun({ kind: 'json', value: GOOD });
    await run.complete();
    expect((await finalDetail(run.org, run.taskId)).analysis.status).toBe('done');
    const title = `Steps after ${crypto.randomUUID().slice(0, 8)}`;
    await gemini.script(title, { kind: 'json', value: { steps: [{ action: 'Open', expected: 'Opens' }] } });
    const res = await api('POST', '/api/test-cases/generate-steps', { token: run.org.token, body: { title } });
    expect(res.status).toBe(429);
    expect(res.json).toMatchObject({ success: false, code: 'AI_RATE_LIMITED' });
    expect(await gemini.requests(title)).toHaveLength(0);
  });

  it('a run left ANALYZING (the Worker died mid-call) is finalised by the cron sweep', async () => {
    const run = await failingRun(null);
    const longAgo = Date.now() - 10 * 60_000;
    await run.complete();
    // Whatever the background call did, put the run back in the state a dead Worker leaves behind.
    await waitFor(
      () => detail(run.org, run.taskId),
      (d) => d.status === 'FAILED',
    );
    await env.DB.prepare(`UPDATE executions SET status = 'ANALYZING', updated_at = ?, finished_at = NULL, analysis = ? WHERE task_id = ?`)
      .bind(longAgo, JSON.stringify({ status: 'pending', finalStatus: 'FAILED', requestedAt: longAgo }), run.taskId)
      .run();
    expect(await sweepAbandonedAnalyses(env)).toBeGreaterThanOrEqual(1);
    const d = await detail(run.org, run.taskId);
    expect(d.status).toBe('FAILED');
    expect(d.analysis).toMatchObject({ status: 'failed', code: 'ABANDONED' });
    expect(d.finishedAt).toBeGreaterThan(longAgo);
  });
});

describe('analysis prompt', () => {
  const input = {
    project: 'shop',
    image: 'registry/shop-tests:1',
    environment: 'staging',
    source: 'agnox-hosted',
    status: 'FAILED',
    reason: 'exit',
    exitCode: 1,
    counts: { total: 3, passed: 1, failed: 2, skipped: 0, flaky: 0 },
    ci: { branch: 'main', commit: 'abc123' },
    failures: Array.from({ length: 10 }, (_, i) => ({
      title: `test ${i}`,
      status: 'failed',
      retry: 0,
      errorMessage: `boom ${i} token=tok_SECRET_123 ${'x'.repeat(5000)}`,
      errorStack: 'at a.ts:1:1',
      previousOutcome: { status: 'passed', taskId: 'prev', at: 0 },
      history: { occurrences: 4, runs: 3, firstSeenAt: 0, firstTaskId: 'first' },
    })),
    logTail: `${'log line\n'.repeat(20_000)}final line with tok_SECRET_123\n`,
    secrets: ['tok_SECRET_123', 'ab'],
  };

  it('is capped in size, keeps the end of the log, and masks secrets (not values too short to mask safely)', () => {
    const { prompt, truncated } = buildAnalysisPrompt(input, 12_000);
    expect(prompt.length).toBeLessThanOrEqual(12_000);
    expect(truncated).toBe(true);
    expect(prompt).not.toContain('tok_SECRET_123');
    expect(prompt).toContain('final line with ***');
    expect(prompt).toContain('Previous run of this test: passed');
    expect(prompt).toContain('seen 4 times in 3 runs');
    expect(prompt).toContain('### 1. test 0');
  });

  it('masks overlapping secrets fully, longest first', () => {
    expect(new SecretMasker(['abc', 'abcdef']).mask('key=abcdef and abc')).toBe('key=*** and ***');
  });
});
