// Browser tests whose control plane talks to a local fake Gemini (test/support/fake-gemini.ts): one
// fake and one control plane per Playwright worker, GEMINI_* pointed at the fake. Tests script replies.
import { fakeGemini, startFakeGemini, type FakeGeminiServer } from '../../test/support/fake-gemini';
import { startControlPlane, type ControlPlane } from '../../test/support/wrangler';
import { test as base } from './fixtures';

export { fakeGemini };

export const test = base.extend<{}, { gemini: FakeGeminiServer; plane: ControlPlane }>({
  gemini: [
    async ({}, use) => {
      const fake = await startFakeGemini();
      await use(fake);
      await fake.stop();
    },
    { scope: 'worker' },
  ],
  plane: [
    async ({ gemini }, use) => {
      const plane = await startControlPlane({ vars: { GEMINI_API_KEY: 'fake-key-for-tests', GEMINI_BASE_URL: gemini.url } });
      await use(plane);
      await plane.stop();
    },
    { scope: 'worker' },
  ],
  baseURL: async ({ plane }, use) => use(plane.url),
});
