// A local stand-in for Stripe's Checkout Sessions API (POST /v1/checkout/sessions), speaking its wire
// format: `Authorization: Bearer sk_…`, a form-encoded body with bracketed keys (`metadata[plan]=team`),
// and the session object as JSON (`{id: 'cs_test_…', object: 'checkout.session', url, …}`); errors as
// `{error: {type, message}}`. The Worker is pointed at it with STRIPE_API_BASE_URL.
//
// - `startFakeStripe()` (Node only): the HTTP server; started by the worker project's globalSetup and by the load test.
// - `fakeStripe(url)`: a fetch-only control client, usable from workerd tests.
// Control endpoint: GET /__fake/requests?match=… (sessions created, as the form fields they were created with).

import { startLoopbackServer } from './loopback-server';

export const FAKE_STRIPE_SECRET_KEY = 'sk_test_fake_agnox';

/** One created session: the form fields as sent, and the session answered. */
export type RecordedCheckout = { at: number; fields: Record<string, string>; session: { id: string; url: string } };

export type FakeStripeServer = { url: string; requests: RecordedCheckout[]; stop(): Promise<void> };

const error = (type: string, message: string) => ({ error: { type, message } });

export async function startFakeStripe(opts: { port?: number } = {}): Promise<FakeStripeServer> {
  const requests: RecordedCheckout[] = [];
  const server = await startLoopbackServer(opts.port, ({ req, res, body, url }) => {
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (url.pathname === '/__fake/requests' && req.method === 'GET') {
      const match = url.searchParams.get('match');
      return send(200, match ? requests.filter((r) => JSON.stringify(r.fields).includes(match)) : requests);
    }
    if (url.pathname !== '/v1/checkout/sessions' || req.method !== 'POST')
      return send(404, error('invalid_request_error', `Unrecognized request URL (${req.method}: ${url.pathname})`));
    if (req.headers.authorization !== `Bearer ${FAKE_STRIPE_SECRET_KEY}`) return send(401, error('invalid_request_error', 'Invalid API Key provided'));
    const fields = Object.fromEntries(new URLSearchParams(body));
    for (const required of ['mode', 'success_url', 'line_items[0][price]']) {
      if (!fields[required]) return send(400, error('invalid_request_error', `Missing required param: ${required}.`));
    }
    const id = `cs_test_${crypto.randomUUID().replace(/-/g, '')}`;
    const metadata = Object.fromEntries(
      Object.entries(fields)
        .filter(([k]) => k.startsWith('metadata['))
        .map(([k, v]) => [k.slice(9, -1), v]),
    );
    const session = {
      id,
      object: 'checkout.session',
      url: `https://checkout.stripe.test/c/pay/${id}`,
      mode: fields.mode,
      status: 'open',
      payment_status: 'unpaid',
      client_reference_id: fields.client_reference_id ?? null,
      customer: fields.customer ?? null,
      metadata,
      success_url: fields.success_url,
    };
    requests.push({ at: Date.now(), fields, session: { id, url: session.url } });
    send(200, session);
  });
  return { url: server.url, requests, stop: server.stop };
}

/** Control client for a running fake (fetch only: works in Node and in workerd). */
export function fakeStripe(baseUrl: string) {
  return {
    url: baseUrl,
    /** The checkout sessions created whose form fields contain `match` (all when omitted). */
    async requests(match?: string): Promise<RecordedCheckout[]> {
      const res = await fetch(`${baseUrl}/__fake/requests${match ? `?match=${encodeURIComponent(match)}` : ''}`);
      return (await res.json()) as RecordedCheckout[];
    },
  };
}
