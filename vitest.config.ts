// Two kinds of tests: worker tests run inside workerd (real D1, Durable Objects, WebSockets) through
// @cloudflare/vitest-plugin; node tests drive real processes (wrangler dev, Docker, Playwright).
import path from 'node:path';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export default defineConfig(async () => ({
  test: {
    projects: [
      {
        plugins: [cloudflareTest({
          wrangler: { configPath: './wrangler.toml' },
          miniflare: { bindings: { TEST_MIGRATIONS: await readD1Migrations(path.join(import.meta.dirname, 'migrations')) } },
        })],
        test: { name: 'worker', include: ['test/worker/**/*.test.ts'], setupFiles: ['./test/worker/apply-migrations.ts'] },
      },
    ],
  },
}));
