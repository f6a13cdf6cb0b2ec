// Test projects. `worker` runs inside workerd (real D1, Durable Objects, WebSockets) through
// @cloudflare/vitest-plugin; the others run in Node and drive real processes (wrangler dev,
// Docker, Playwright with Debian's Chromium).
import path from 'node:path';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { freePort } from './test/support/free-port.ts';

export default defineConfig(async () => {
  // Local fakes of Gemini, Slack, SendGrid and Stripe for the worker project: ports reserved here so the Worker gets their
  // URLs as bindings; test/support/fake-servers.global-setup.ts listens on them.
  process.env.AGNOX_FAKE_GEMINI_PORT ??= String(await freePort());
  process.env.AGNOX_FAKE_SLACK_PORT ??= String(await freePort());
  process.env.AGNOX_FAKE_SENDGRID_PORT ??= String(await freePort());
  process.env.AGNOX_FAKE_STRIPE_PORT ??= String(await freePort());
  const fakes = {
    GEMINI_BASE_URL: `http://127.0.0.1:${process.env.AGNOX_FAKE_GEMINI_PORT}`,
    SLACK_WEBHOOK_ORIGIN: `http://127.0.0.1:${process.env.AGNOX_FAKE_SLACK_PORT}`,
    SENDGRID_BASE_URL: `http://127.0.0.1:${process.env.AGNOX_FAKE_SENDGRID_PORT}`,
    STRIPE_API_BASE_URL: `http://127.0.0.1:${process.env.AGNOX_FAKE_STRIPE_PORT}`,
  };
  return {
    test: {
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                bindings: {
                  ENVIRONMENT: 'development',
                  LOG_MAX_BYTES: '65536',
                  ...fakes,
                  FUZZ_SEED: process.env.FUZZ_SEED ?? '',
                  FUZZ_RUNS: process.env.FUZZ_RUNS ?? '',
                  TEST_MIGRATIONS: await readD1Migrations(path.join(import.meta.dirname, 'migrations')),
                },
              },
            }),
          ],
          test: {
            name: 'worker',
            include: ['test/worker/**/*.test.ts'],
            testTimeout: 20_000,
            setupFiles: ['./test/worker/apply-migrations.ts'],
            globalSetup: ['./test/support/fake-servers.global-setup.ts'],
          },
        },
        { test: { name: 'agent', include: ['agent/test/**/*.test.ts'], environment: 'node', testTimeout: 120_000, hookTimeout: 120_000 } },
        { test: { name: 'reporter', include: ['reporter/test/**/*.test.ts'], environment: 'node', testTimeout: 180_000, hookTimeout: 120_000 } },
        { test: { name: 'web', include: ['web/test/**/*.test.ts'], environment: 'node' } },
        // Plain Node tests of the repository itself (e.g. import rules, test/imports.test.ts): no workerd, no fakes.
        { test: { name: 'node', include: ['test/*.test.ts'], environment: 'node' } },
        { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], environment: 'node', testTimeout: 180_000, hookTimeout: 120_000, fileParallelism: false } },
      ],
    },
  };
});
