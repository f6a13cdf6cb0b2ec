// A local stand-in for Slack incoming webhooks (POST {path} with a JSON message; answers `ok` as text,
// or an error status with Slack's plain-text error body). The Worker reaches it through
// SLACK_WEBHOOK_ORIGIN (tests only), which replaces the https://hooks.slack.com origin at delivery.
//
// - `startFakeSlack()` (Node only): the server; started by the worker project's globalSetup.
// - `fakeSlack(url)`: a fetch-only control client, usable from workerd tests too.
// Control endpoints: POST /__fake/script {match, reply}; GET /__fake/requests?match=… (match against the path).

import { startLoopbackServer } from './loopback-server';

export type SlackReply = { status: number; body?: string; times?: number };
export type RecordedSlackRequest = { at: number; path: string; contentType: string | null; body: string };
type Script = { match: string; reply: SlackReply; served: number };

export type FakeSlackServer = { url: string; requests: RecordedSlackRequest[]; stop(): Promise<void> };

export async function startFakeSlack(opts: { port?: number } = {}): Promise<FakeSlackServer> {
  const requests: RecordedSlackRequest[] = [];
  let scripts: Script[] = [];
  const server = await startLoopbackServer(opts.port, ({ req, res, body, url }) => {
    const send = (status: number, text: string, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type });
      res.end(text);
    };
    if (url.pathname === '/__fake/script' && req.method === 'POST') {
      const s = JSON.parse(body) as Omit<Script, 'served'>;
      scripts = [{ ...s, served: 0 }, ...scripts.filter((x) => x.match !== s.match)];
      return send(200, '{"ok":true}', 'application/json');
    }
    if (url.pathname === '/__fake/requests' && req.method === 'GET') {
      const match = url.searchParams.get('match');
      return send(200, JSON.stringify(match ? requests.filter((r) => r.path.includes(match)) : requests), 'application/json');
    }
    if (req.method !== 'POST' || !url.pathname.startsWith('/services/')) return send(404, 'no_service');
    requests.push({ at: Date.now(), path: url.pathname, contentType: req.headers['content-type'] ?? null, body });
    // A scripted reply applies `times` times (forever when omitted), then the hook answers `ok`.
    const script = scripts.find((s) => url.pathname.includes(s.match) && (s.reply.times === undefined || s.served < s.reply.times));
    if (script) {
      script.served++;
      return send(script.reply.status, script.reply.body ?? 'internal_error');
    }
    try {
      JSON.parse(body);
    } catch {
      return send(400, 'invalid_payload');
    }
    return send(200, 'ok');
  });
  return { url: server.url, requests, stop: server.stop };
}

/** Control client for a running fake (fetch only). */
export function fakeSlack(baseUrl: string) {
  return {
    url: baseUrl,
    /** Webhook paths containing `match` answer `reply` (e.g. 500) `times` times. */
    async script(match: string, reply: SlackReply): Promise<void> {
      const res = await fetch(`${baseUrl}/__fake/script`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ match, reply }),
      });
      if (!res.ok) throw new Error(`fake-slack script failed: ${res.status}`);
    },
    async requests(match?: string): Promise<RecordedSlackRequest[]> {
      const res = await fetch(`${baseUrl}/__fake/requests${match ? `?match=${encodeURIComponent(match)}` : ''}`);
      return (await res.json()) as RecordedSlackRequest[];
    },
  };
}
