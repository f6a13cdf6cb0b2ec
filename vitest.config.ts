// Test projects. `worker` runs inside workerd (real D1, Durable Objects, WebSockets) through
// @cloudflare/vitest-plugin; the others run in Node and drive real processes (wrangler dev,
// Docker, Playwright with Debian's Chromium).
import path from 'node:path';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export default defineConfig(async () => ({
  test: {
    projects: [
      {
        plugins: [cloudflareTest({
          wrangler: { configPath: './wrangler.toml' },
          miniflare: { bindings: { ENVIRONMENT: 'development', LOG_MAX_BYTES: '65536', TEST_MIGRATIONS: await readD1Migrations(path.join(import.meta.dirname, 'migrations')) } },
        })],
        test: { name: 'worker', include: ['test/worker/**/*.test.ts'], setupFiles: ['./test/worker/apply-migrations.ts'] },
      },
      { test: { name: 'agent', include: ['agent/test/**/*.test.ts'], environment: 'node', testTimeout: 120_000, hookTimeout: 120_000 } },
      { test: { name: 'reporter', include: ['reporter/test/**/*.test.ts'], environment: 'node', testTimeout: 180_000, hookTimeout: 120_000 } },
      { test: { name: 'web', include: ['web/test/**/*.test.ts'], environment: 'node' } },
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], environment: 'node', testTimeout: 180_000, hookTimeout: 120_000, fileParallelism: false } },
    ],
  },
}));
