// A local stand-in for SendGrid's v3 Mail Send API (POST /v3/mail/send), speaking its wire format:
// Bearer key, the personalizations/from/subject/content JSON, 202 with an empty body on success and
// `{errors:[{message, field, help}]}` on failure. The Worker is pointed at it with SENDGRID_BASE_URL.
//
// - `startFakeSendGrid()` (Node only): the HTTP server; started by the worker project's globalSetup.
// - `fakeSendGrid(url)`: a fetch-only control client, usable from workerd tests.
// Control endpoints: GET /__fake/requests?match=…; POST /__fake/fail {match, status} (requests whose body contains match fail).

import { startLoopbackServer } from './loopback-server';

export const FAKE_SENDGRID_KEY = 'SG.fake-test-key';

export type RecordedMail = { at: number; authorization: string | null; body: any };
type Failure = { match: string; status: number };

export type FakeSendGridServer = { url: string; requests: RecordedMail[]; stop(): Promise<void> };

const errors = (message: string, field: string | null = null) => ({ errors: [{ message, field, help: null }] });

export async function startFakeSendGrid(opts: { port?: number } = {}): Promise<FakeSendGridServer> {
  const requests: RecordedMail[] = [];
  let failures: Failure[] = [];
  const server = await startLoopbackServer(opts.port, ({ req, res, body: raw, url }) => {
    const send = (status: number, value?: unknown) => {
      res.writeHead(status, value === undefined ? {} : { 'content-type': 'application/json' });
      res.end(value === undefined ? '' : JSON.stringify(value));
    };
    if (url.pathname === '/__fake/requests' && req.method === 'GET') {
      const match = url.searchParams.get('match');
      return send(200, match ? requests.filter((r) => JSON.stringify(r.body).includes(match)) : requests);
    }
    if (url.pathname === '/__fake/fail' && req.method === 'POST') {
      const f = JSON.parse(raw) as Failure;
      failures = [f, ...failures.filter((x) => x.match !== f.match)];
      return send(200, { ok: true });
    }
    if (url.pathname !== '/v3/mail/send' || req.method !== 'POST') return send(404, errors(`Not found: ${req.method} ${url.pathname}`));
    const authorization = (req.headers.authorization as string | undefined) ?? null;
    if (authorization !== `Bearer ${FAKE_SENDGRID_KEY}`) return send(401, errors('The provided authorization grant is invalid, expired, or revoked'));
    let body: any;
    try {
      body = JSON.parse(raw);
    } catch {
      return send(400, errors('Bad Request', null));
    }
    requests.push({ at: Date.now(), authorization, body });
    if (!body?.personalizations?.[0]?.to?.[0]?.email)
      return send(400, errors('The personalizations field is required and must have at least one personalization.', 'personalizations'));
    if (!body.from?.email) return send(400, errors('The from object must be provided for every email send.', 'from'));
    if (!body.subject) return send(400, errors('The subject is required.', 'subject'));
    if (!Array.isArray(body.content) || !body.content.length)
      return send(400, errors('Unless a valid template_id is provided, the content parameter is required.', 'content'));
    const failure = failures.find((f) => raw.includes(f.match));
    if (failure) return send(failure.status, errors(failure.status === 429 ? 'too many requests' : 'internal error'));
    return send(202);
  });
  return { url: server.url, requests, stop: server.stop };
}

export function fakeSendGrid(baseUrl: string) {
  return {
    url: baseUrl,
    async requests(match?: string): Promise<RecordedMail[]> {
      const res = await fetch(`${baseUrl}/__fake/requests${match ? `?match=${encodeURIComponent(match)}` : ''}`);
      return (await res.json()) as RecordedMail[];
    },
    async fail(match: string, status: number): Promise<void> {
      const res = await fetch(`${baseUrl}/__fake/fail`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ match, status }),
      });
      if (!res.ok) throw new Error(`fake-sendgrid fail() failed: ${res.status}`);
    },
  };
}
