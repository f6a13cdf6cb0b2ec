// globalSetup of the `worker` test project: starts the local fakes for the services the Worker calls out
// to (Gemini, Slack, SendGrid, Stripe) on the ports vitest.config.ts reserved and handed to the Worker as bindings.
import { startFakeGemini } from './fake-gemini';
import { startFakeSendGrid } from './fake-sendgrid';
import { startFakeSlack } from './fake-slack';
import { startFakeStripe } from './fake-stripe';

export default async function setup() {
  const gemini = await startFakeGemini({ port: Number(process.env.AGNOX_FAKE_GEMINI_PORT) || 0 });
  const slack = await startFakeSlack({ port: Number(process.env.AGNOX_FAKE_SLACK_PORT) || 0 });
  const sendgrid = await startFakeSendGrid({ port: Number(process.env.AGNOX_FAKE_SENDGRID_PORT) || 0 });
  const stripe = await startFakeStripe({ port: Number(process.env.AGNOX_FAKE_STRIPE_PORT) || 0 });
  return async () => {
    await Promise.all([gemini.stop(), slack.stop(), sendgrid.stop(), stripe.stop()]);
  };
}
