// Secrets in what a job writes, with the real agent, the real control plane (wrangler dev) and a real
// container: a test that writes the secret (raw, base64, URL-encoded, JSON-escaped) into a JUnit failure
// and into text reports. Neither the agent's complete nor its uploads carry it, and no viewer sees it
// through the API or the served report files; a binary file is uploaded byte for byte.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, waitFor } from './support/control-plane';
import { type RunningAgent, startAgent } from './support/agent';
import { ensureNodeImage } from './support/images';
import { type JobRewritingProxy, startJobRewritingProxy } from './support/job-rewriting-proxy';

// Slash, ampersand, quote, space, backslash, non-ASCII and '?': each encoding changes it, and its base64 has '/' and padding.
const SECRET = `Tr0ub4dor/&"3 horses\\ö??z`;
const b64 = Buffer.from(SECRET, 'utf8').toString('base64');
const FORMS: Record<string, string> = {
  raw: SECRET,
  base64: b64,
  'base64 unpadded': b64.replace(/=+$/, ''),
  'URL-encoded': encodeURIComponent(SECRET),
  'form-encoded': new URLSearchParams({ k: SECRET }).toString().slice(2),
  'JSON-escaped': JSON.stringify(SECRET).slice(1, -1),
};
const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** Forms as they sit in XML/HTML files: escaped once more. */
const ALL_FORMS: Record<string, string> = { ...FORMS, ...Object.fromEntries(Object.entries(FORMS).map(([k, v]) => [`${k}, XML-escaped`, xmlEscape(v)])) };

/** The PNG-like file the job writes: a PNG signature, NULs, and the secret in its bytes. */
const pngBytes = (s: string) =>
  Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]), Buffer.from(s), Buffer.from([0, 0xff, 0xfe])]);

// The job: a "test run" in Node that reads the secret from its environment, as a test would, and writes
// it in every form into a JUnit failure, notes.txt, report.html and a binary shot.png.
const WRITE_REPORTS = `
const fs = require('fs');
const s = process.env.API_SECRET;
const b64 = Buffer.from(s).toString('base64');
const forms = { raw: s, base64: b64, 'base64 unpadded': b64.replace(/=+$/, ''), 'URL-encoded': encodeURIComponent(s),
  'form-encoded': new URLSearchParams({ k: s }).toString().slice(2), 'JSON-escaped': JSON.stringify(s).slice(1, -1) };
const line = Object.entries(forms).map(([k, v]) => k + '=' + v).join(' | ');
const esc = (x) => x.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
fs.mkdirSync('/reports', { recursive: true });
fs.writeFileSync('/reports/junit.xml', '<?xml version="1.0" encoding="UTF-8"?>\\n<testsuites><testsuite name="api" tests="2" failures="1">'
  + '<testcase name="calls the API" classname="api" time="0.1"><failure message="' + esc('401 for ' + line) + '" type="Error">' + esc('Error: ' + line + '\\n    at api.test.js:1:1') + '</failure></testcase>'
  + '<testcase name="passes" classname="api" time="0.01"/></testsuite></testsuites>\\n');
fs.writeFileSync('/reports/notes.txt', line + '\\n');
fs.writeFileSync('/reports/report.html', '<html><body><pre>' + esc(line) + '</pre><script>window.cfg = {"token":"' + forms['JSON-escaped'] + '"};</script></body></html>\\n');
fs.writeFileSync('/reports/shot.png', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]), Buffer.from(s), Buffer.from([0, 0xff, 0xfe])]));
console.log('reports written');
process.exit(1);
`;

let h: Harness;
let agent: RunningAgent;
let proxy: JobRewritingProxy;
let nodeImage: string;
/** Every request body the agent sent, by path. */
const sent: Array<{ method: string; path: string; body: Buffer }> = [];

beforeAll(async () => {
  nodeImage = ensureNodeImage();
  h = await startHarness();
  proxy = await startJobRewritingProxy(
    h.cp.url,
    (job) => job,
    undefined,
    undefined,
    (method, path, body) => sent.push({ method, path, body }),
  );
  agent = await startAgent(h, { url: proxy.url });
  await waitFor('the agent to register', () => agent.agent.agentId);
});

afterAll(async () => {
  await agent?.stop();
  await proxy?.close();
  await h?.stop();
});

/** Fails naming the form that leaked. */
function expectNoSecret(what: string, text: string) {
  for (const [name, form] of Object.entries(ALL_FORMS)) expect(text.includes(form), `${what} shows the ${name} form of the secret`).toBe(false);
  expect(text.includes('Tr0ub4dor'), `${what} shows part of the secret`).toBe(false);
}

describe('secrets a job writes into results and reports', () => {
  it('are masked before they leave the agent, and no viewer sees them; binary files are untouched', async () => {
    const projectId = await h.project({ image: nodeImage, command: 'node -e "$WRITE_REPORTS"', secrets: { API_SECRET: SECRET }, variables: { WRITE_REPORTS } });
    const taskId = await h.requestRun({ projectId });
    const run = await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR']);
    expect(run.status).toBe('FAILED');
    expect(run).toMatchObject({ failed: 1, passed: 1 });

    // What left the agent: the complete (results) and every upload, before the Worker's own masking.
    const ofTask = sent.filter((r) => r.path.includes(taskId));
    const complete = ofTask.find((r) => r.path.endsWith('/complete'));
    expect(complete).toBeDefined();
    expectNoSecret("the agent's complete", complete!.body.toString('utf8'));
    const uploads = ofTask.filter((r) => r.path.includes('/artifacts?'));
    expect(uploads.map((u) => decodeURIComponent(u.path.split('path=')[1]!)).sort()).toEqual(['junit.xml', 'notes.txt', 'report.html', 'shot.png']);
    for (const u of uploads.filter((u) => !u.path.includes('shot.png'))) expectNoSecret(`the upload ${u.path}`, u.body.toString('utf8'));

    // What a viewer sees.
    const get = async (path: string) => {
      const res = await fetch(`${h.cp.url}${path}`, { headers: { authorization: `Bearer ${h.org.token}` } });
      expect(res.status, path).toBe(200);
      return Buffer.from(await res.arrayBuffer());
    };
    const tests = JSON.parse((await get(`/api/executions/${taskId}/tests`)).toString('utf8')).data as Array<{
      title: string;
      error?: { message: string; stack?: string };
    }>;
    const failed = tests.find((t) => t.title === 'calls the API');
    expect(failed?.error?.message).toBe('401 for raw=*** | base64=*** | base64 unpadded=*** | URL-encoded=*** | form-encoded=*** | JSON-escaped=***');
    expectNoSecret('GET /tests', JSON.stringify(tests));
    const failures = (await get(`/api/insights/executions/${taskId}/failures`)).toString('utf8');
    expectNoSecret('GET /insights/…/failures', failures);
    expect(failures).toContain('401 for raw=***');

    const junit = (await get(`/reports/${taskId}/junit.xml`)).toString('utf8');
    expectNoSecret('junit.xml', junit);
    expect(junit).toContain('message="401 for raw=*** | base64=*** |');
    const notes = (await get(`/reports/${taskId}/notes.txt`)).toString('utf8');
    expect(notes).toBe('raw=*** | base64=*** | base64 unpadded=*** | URL-encoded=*** | form-encoded=*** | JSON-escaped=***\n');
    const html = (await get(`/reports/${taskId}/report.html`)).toString('utf8');
    expectNoSecret('report.html', html);
    expect(html).toContain('window.cfg = {"token":"***"}');

    expect((await get(`/reports/${taskId}/shot.png`)).equals(pngBytes(SECRET))).toBe(true);
  });
});
