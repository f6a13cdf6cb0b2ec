// The organization the load runs in: an admin, the Enterprise plan (a checkout session created
// through the API against a local fake of Stripe's API, then its paid completion as a signed Stripe
// webhook, as billing would do it) so the plan's limits do not refuse the load, one project, a CI
// API key for triggers, one API key per ingest pipeline (the ingest rate tier is per key: 500
// requests a minute), and one registration token per agent.
import { createHmac, randomUUID } from 'node:crypto';
import { FAKE_STRIPE_SECRET_KEY, startFakeStripe } from '../test/support/fake-stripe.ts';
import type { Api } from './api';

export const STRIPE_WEBHOOK_SECRET = 'whsec_load_test_only';

/** The fake Stripe API the control plane creates checkout sessions with, and the variables that point it there. */
export async function startBilling() {
  const stripe = await startFakeStripe();
  return {
    vars: {
      STRIPE_WEBHOOK_SECRET,
      STRIPE_SECRET_KEY: FAKE_STRIPE_SECRET_KEY,
      STRIPE_PRICES: 'enterprise=price_load_enterprise',
      STRIPE_API_BASE_URL: stripe.url,
    },
    stop: stripe.stop,
  };
}

export type LoadOrg = { token: string; organizationId: string; projectId: string; ciKey: string; ingestKeys: string[]; registrationTokens: string[] };

export async function setUpOrg(api: Api, opts: { agents: number; ingestPipelines: number }): Promise<LoadOrg> {
  const signup = await api.call('POST', '/api/auth/signup', {
    body: { email: `load-${randomUUID()}@example.com`, password: 'load-test-password-1', name: 'Load Admin', organizationName: 'Load test' },
  });
  const token: string = signup.token;
  const organizationId: string = signup.organization.id;

  const { sessionId } = await api.call('POST', '/api/billing/checkout', { token, body: { plan: 'enterprise' } });
  const payload = JSON.stringify({
    id: `evt_load_${randomUUID()}`,
    type: 'checkout.session.completed',
    data: {
      object: {
        id: sessionId,
        client_reference_id: organizationId,
        payment_status: 'paid',
        customer: `cus_load_${organizationId}`,
        subscription: 'sub_load',
        metadata: { organizationId, plan: 'enterprise' },
      },
    },
  });
  const t = Math.floor(Date.now() / 1000);
  const signature = `t=${t},v1=${createHmac('sha256', STRIPE_WEBHOOK_SECRET).update(`${t}.${payload}`).digest('hex')}`;
  await api.call('POST', '/api/webhooks/stripe', { body: payload, headers: { 'stripe-signature': signature } });
  const usage = await api.call('GET', '/api/usage', { token });
  if (usage.plan !== 'enterprise') throw new Error(`the org is on plan ${usage.plan}, not enterprise`);

  const project = await api.call('POST', '/api/projects', {
    token,
    body: { name: 'load', image: 'load/simulated:1', command: 'load-job', timeoutSeconds: 600 },
  });
  const key = async (name: string): Promise<string> => (await api.call('POST', '/api/api-keys', { token, body: { name } })).key;
  const ciKey = await key('load-ci');
  const ingestKeys = await Promise.all(Array.from({ length: opts.ingestPipelines }, (_, i) => key(`load-pipeline-${i + 1}`)));
  const registrationTokens = await Promise.all(
    Array.from({ length: opts.agents }, async () => (await api.call('POST', '/api/agents/registration-tokens', { token, body: {} })).token as string),
  );
  return { token, organizationId, projectId: project.id, ciKey, ingestKeys, registrationTokens };
}
