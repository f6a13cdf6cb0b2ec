// Reports and artifacts in R2 under the org: uploaded by the agent holding the job, served from
// /reports/... only to members of that org (404 for another org's, 401 without a session), with
// caching headers and ETag revalidation.
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { agentApi, api, createProject, poll, registerAgent, signup } from './helpers';

const HTML = '<!doctype html><title>Playwright report</title><h1>3 passed</h1>';

/** A run leased to a fresh agent of a fresh org. */
async function leasedRun() {
  const org = await signup();
  const project = await createProject(org.token);
  const agent = await registerAgent(org);
  const req = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id } });
  const taskId = req.json.data.taskId as string;
  expect((await poll(agent, 1000))?.taskId).toBe(taskId);
  return { org, agent, taskId };
}

async function runWithReport() {
  const { org, agent, taskId } = await leasedRun();
  const upload = await exports.default.fetch(
    new Request(`http://agnox.test/api/agent/jobs/${taskId}/artifacts?path=playwright-report/index.html`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'text/html; charset=utf-8' },
      body: HTML,
    }),
  );
  expect(upload.status).toBe(201);
  expect((await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/complete`, { status: 'PASSED', exitCode: 0 })).status).toBe(200);
  return { org, taskId };
}

const getReport = (path: string, headers: Record<string, string> = {}) => exports.default.fetch(new Request(`http://agnox.test${path}`, { headers }));

describe('reports', () => {
  it("serves the org's report from R2 to its members with caching headers, a sandbox CSP and ETag revalidation", async () => {
    const { org, taskId } = await runWithReport();
    const stored = await env.ARTIFACTS.head(`${org.organizationId}/${taskId}/playwright-report/index.html`);
    expect(stored?.size).toBe(HTML.length);

    const res = await getReport(`/reports/${taskId}/playwright-report/index.html`, { authorization: `Bearer ${org.token}` });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(HTML);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('private, max-age=3600');
    // Sandboxed: scripts (Playwright's report is a script app) in an opaque origin; no same-origin, popups, forms or framing.
    const csp = res.headers.get('content-security-policy')!;
    const sandbox = csp
      .split(';')
      .map((d) => d.trim())
      .find((d) => d.startsWith('sandbox'))!
      .split(/\s+/);
    expect(sandbox).toEqual(['sandbox', 'allow-scripts']);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const etag = res.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);

    const again = await getReport(`/reports/${taskId}/playwright-report/index.html`, { authorization: `Bearer ${org.token}`, 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    const changed = await getReport(`/reports/${taskId}/playwright-report/index.html`, { authorization: `Bearer ${org.token}`, 'if-none-match': '"other"' });
    expect(changed.status).toBe(200);
    // The dashboard's session cookie works too (the report opens in a browser tab).
    const viaCookie = await getReport(`/reports/${taskId}/playwright-report/index.html`, { cookie: `agnox_session=${org.token}` });
    expect(viaCookie.status).toBe(200);
  });

  it('answers 404 for a report of another organization, 401 without a session, 404 for a missing file or a path escape', async () => {
    const { org, taskId } = await runWithReport();
    const other = await signup();
    const foreign = await getReport(`/reports/${taskId}/playwright-report/index.html`, { authorization: `Bearer ${other.token}` });
    expect(foreign.status).toBe(404);
    expect(await foreign.text()).not.toContain('Playwright report');
    expect((await getReport(`/reports/${taskId}/playwright-report/index.html`)).status).toBe(401);
    expect((await getReport(`/reports/${taskId}/nothing-here.html`, { authorization: `Bearer ${org.token}` })).status).toBe(404);
    // Another org's object cannot be reached by climbing out of this run's folder.
    await env.ARTIFACTS.put(`${other.organizationId}/secret.html`, 'secret');
    const traversal = await getReport(`/reports/${taskId}/..%2F..%2F${other.organizationId}%2Fsecret.html`, { authorization: `Bearer ${org.token}` });
    expect(traversal.status).toBe(404);
  });

  it('answers 404, not 500, for a file path R2 cannot hold (over 1024 bytes) or that is not valid percent-encoding', async () => {
    const { org, taskId } = await runWithReport();
    const auth = { authorization: `Bearer ${org.token}` };
    for (const path of ['a'.repeat(1100), `${'é'.repeat(600)}.html`, '%ZZ', 'x%E0%A4%A', '%ED%A0%80.html']) {
      const res = await getReport(`/reports/${taskId}/${path}`, auth);
      expect(res.status, path.slice(0, 40)).toBe(404);
      expect(await res.json()).toMatchObject({ success: false, code: 'NOT_FOUND' });
    }
    expect((await getReport(`/reports/${taskId}/playwright-report/index.html`, auth)).status).toBe(200);
  });

  it('refuses with 400 an artifact path longer in UTF-8 than an R2 key can hold, and stores one that fits', async () => {
    const { org, agent, taskId } = await leasedRun();
    const upload = (path: string) =>
      exports.default.fetch(
        new Request(`http://agnox.test/api/agent/jobs/${taskId}/artifacts?path=${encodeURIComponent(path)}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${agent.token}` },
          body: 'x',
        }),
      );
    // 250 emoji are 500 UTF-16 units (the length limit) but 1000 bytes: with the org and task prefix, past R2's 1024.
    const tooLong = await upload('😀'.repeat(250));
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ success: false, code: 'VALIDATION_ERROR', error: expect.stringContaining('bytes') });
    const fits = await upload(`${'é'.repeat(440)}.txt`);
    expect(fits.status).toBe(201);
    expect(await env.ARTIFACTS.head(`${org.organizationId}/${taskId}/${'é'.repeat(440)}.txt`)).not.toBeNull();
  });
});
