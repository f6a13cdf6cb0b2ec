// Test cases: CRUD, search and filters (suite, tag, type, words), and AI step generation through the
// real Gemini client against the local fake (test/support/fake-gemini.ts); off without a key.
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeGemini } from '../support/fake-gemini';
import { addMember, api, createProject, signup, type Org } from './helpers';

const gemini = fakeGemini(env.GEMINI_BASE_URL!);

async function create(org: Org, body: Record<string, unknown>) {
  const res = await api('POST', '/api/test-cases', { token: org.token, body });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.data;
}

describe('test cases', () => {
  it('creates, reads, updates and deletes a case with steps, priority and tags', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const tc = await create(org, {
      projectId: project.id,
      title: 'Reset password by email',
      suite: 'Auth',
      description: 'A user who forgot the password gets a link.',
      preconditions: 'A user with a verified email exists',
      steps: [{ action: 'Open /forgot', expected: 'The form shows' }, { action: 'Submit the email' }],
      priority: 'high',
      tags: ['auth', 'email', 'auth'],
    });
    expect(tc).toMatchObject({
      type: 'manual',
      priority: 'high',
      tags: ['auth', 'email'],
      steps: [
        { action: 'Open /forgot', expected: 'The form shows' },
        { action: 'Submit the email', expected: '' },
      ],
    });
    const edited = await api('PATCH', `/api/test-cases/${tc.id}`, {
      token: org.token,
      body: { priority: 'critical', steps: [{ action: 'Open /forgot', expected: 'Form' }] },
    });
    expect(edited.json.data).toMatchObject({ priority: 'critical', title: 'Reset password by email', steps: [{ action: 'Open /forgot', expected: 'Form' }] });
    expect((await api('GET', `/api/test-cases/${tc.id}`, { token: org.token })).json.data.priority).toBe('critical');
    const bad = await api('PATCH', `/api/test-cases/${tc.id}`, { token: org.token, body: { priority: 'urgent' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toContain('priority');
    expect((await api('DELETE', `/api/test-cases/${tc.id}`, { token: org.token })).status).toBe(200);
    expect((await api('GET', `/api/test-cases/${tc.id}`, { token: org.token })).status).toBe(404);
  });

  it('searches and filters by project, suite, tag, type and words', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const otherProject = await createProject(org.token);
    await create(org, { projectId: project.id, title: 'Login with SSO', suite: 'Auth', tags: ['sso', 'smoke'] });
    await create(org, { projectId: project.id, title: 'Login with 100% wrong password', suite: 'Auth', tags: ['negative'] });
    await create(org, { projectId: project.id, title: 'Add to cart', suite: 'Cart', tags: ['smoke'], type: 'automated', automatedTest: 'cart.spec.ts' });
    await create(org, { projectId: otherProject.id, title: 'Login elsewhere', suite: 'Auth', tags: ['smoke'] });
    const titles = async (query: string) => (await api('GET', `/api/test-cases?${query}`, { token: org.token })).json.data.map((t: any) => t.title).sort();
    expect(await titles(`projectId=${project.id}&suite=Auth`)).toEqual(['Login with 100% wrong password', 'Login with SSO']);
    expect(await titles(`projectId=${project.id}&tag=smoke`)).toEqual(['Add to cart', 'Login with SSO']);
    expect(await titles('tag=smoke')).toEqual(['Add to cart', 'Login elsewhere', 'Login with SSO']);
    expect(await titles(`projectId=${project.id}&type=automated`)).toEqual(['Add to cart']);
    expect(await titles(`projectId=${project.id}&q=login`)).toEqual(['Login with 100% wrong password', 'Login with SSO']);
    // LIKE wildcards in the search are literal.
    expect(await titles(`projectId=${project.id}&q=${encodeURIComponent('100%')}`)).toEqual(['Login with 100% wrong password']);
    expect(await titles(`projectId=${project.id}&q=${encodeURIComponent('_')}`)).toEqual([]);
    const facets = await api('GET', `/api/test-cases/facets?projectId=${project.id}`, { token: org.token });
    expect(facets.json.data).toEqual({ suites: ['Auth', 'Cart'], tags: ['negative', 'smoke', 'sso'] });
  });

  it('keeps viewers read-only and other organizations out', async () => {
    const org = await signup();
    const other = await signup();
    const viewer = await addMember(org, 'viewer');
    const project = await createProject(org.token);
    const tc = await create(org, { projectId: project.id, title: 'x' });
    expect((await api('GET', `/api/test-cases/${tc.id}`, { token: viewer.token })).status).toBe(200);
    expect((await api('PATCH', `/api/test-cases/${tc.id}`, { token: viewer.token, body: { title: 'y' } })).status).toBe(403);
    expect((await api('GET', `/api/test-cases/${tc.id}`, { token: other.token })).status).toBe(404);
    expect((await api('DELETE', `/api/test-cases/${tc.id}`, { token: other.token })).status).toBe(404);
    expect((await api('GET', '/api/test-cases', { token: other.token })).json.data).toEqual([]);
    expect((await api('POST', '/api/test-cases', { token: other.token, body: { projectId: project.id, title: 'z' } })).status).toBe(404);
  });
});

describe('AI step generation', () => {
  it('is off with a clear 503 when no Gemini key is configured', async () => {
    const org = await signup();
    const res = await api('POST', '/api/test-cases/generate-steps', { token: org.token, body: { title: 'Anything' } });
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ code: 'AI_NOT_CONFIGURED' });
    expect(res.json.error).toContain('GEMINI_API_KEY');
  });

  describe('with a key (fake Gemini)', () => {
    beforeAll(() => {
      env.GEMINI_API_KEY = 'test-gemini-key';
    });
    afterAll(() => {
      delete env.GEMINI_API_KEY;
    });

    it('proposes steps from the title and description, checked against the schema', async () => {
      const org = await signup();
      const title = `Apply coupon ${crypto.randomUUID().slice(0, 8)}`;
      const proposal = {
        preconditions: 'A cart with one item',
        steps: [
          { action: 'Open the cart', expected: 'The cart lists the item' },
          { action: 'Enter coupon SAVE10 and apply', expected: 'The total drops by 10%' },
        ],
      };
      await gemini.script(title, { kind: 'json', value: proposal });
      const res = await api('POST', '/api/test-cases/generate-steps', { token: org.token, body: { title, description: 'Coupons reduce the cart total' } });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json.data).toMatchObject({ steps: proposal.steps, preconditions: 'A cart with one item' });
      const [request] = await gemini.requests(title);
      expect(request!.apiKey).toBe('test-gemini-key');
      expect(request!.promptText).toContain('Coupons reduce the cart total');
      expect(JSON.parse(request!.body).generationConfig).toMatchObject({ responseMimeType: 'application/json' });
    });

    it("answers 502 AI_MALFORMED when Gemini's JSON does not match, and 429 when Gemini is rate limited", async () => {
      const org = await signup();
      const bad = `Malformed ${crypto.randomUUID().slice(0, 8)}`;
      await gemini.script(bad, { kind: 'json', value: { steps: [{ action: 'only an action' }] } });
      const malformed = await api('POST', '/api/test-cases/generate-steps', { token: org.token, body: { title: bad } });
      expect(malformed.status).toBe(502);
      expect(malformed.json.code).toBe('AI_MALFORMED');
      // A second org: the first one spent its AI budget (one call per interval) on the malformed answer.
      const other = await signup();
      const limited = `Limited ${crypto.randomUUID().slice(0, 8)}`;
      await gemini.script(limited, { kind: 'status', status: 429, message: 'Resource has been exhausted' });
      const res = await api('POST', '/api/test-cases/generate-steps', { token: other.token, body: { title: limited } });
      expect(res.status).toBe(429);
      expect(res.json.code).toBe('AI_RATE_LIMITED');
      expect(res.headers.get('retry-after')).toBe('30');
      expect(await gemini.requests(limited)).toHaveLength(1);
    });

    it("honours the org's AI opt-out like failure analysis: 403 OPTED_OUT, and Gemini gets no request", async () => {
      const org = await signup();
      expect((await api('PATCH', '/api/organization', { token: org.token, body: { aiAnalysisEnabled: false } })).status).toBe(200);
      const title = `Opted out ${crypto.randomUUID().slice(0, 8)}`;
      await gemini.script(title, { kind: 'json', value: { steps: [{ action: 'a', expected: 'b' }] } });
      const res = await api('POST', '/api/test-cases/generate-steps', { token: org.token, body: { title } });
      expect(res.status).toBe(403);
      expect(res.json).toMatchObject({ success: false, code: 'OPTED_OUT', error: expect.stringContaining('turned off for this organization') });
      expect(await gemini.requests(title)).toHaveLength(0);
    });

    it("spends the org's AI budget: a second call within the interval is refused before Gemini", async () => {
      const org = await signup();
      const first = `Budget first ${crypto.randomUUID().slice(0, 8)}`;
      const second = `Budget second ${crypto.randomUUID().slice(0, 8)}`;
      for (const title of [first, second]) await gemini.script(title, { kind: 'json', value: { steps: [{ action: 'a', expected: 'b' }] } });
      expect((await api('POST', '/api/test-cases/generate-steps', { token: org.token, body: { title: first } })).status).toBe(200);
      const res = await api('POST', '/api/test-cases/generate-steps', { token: org.token, body: { title: second } });
      expect(res.status).toBe(429);
      expect(res.json.code).toBe('AI_RATE_LIMITED');
      expect(res.headers.get('retry-after')).toBe('30');
      expect(await gemini.requests(second)).toHaveLength(0);
    });
  });
});
