// Browser tests of the dashboard: Playwright drives Debian's Chromium against the real control plane
// (`wrangler dev`, started by e2e/global-setup.ts after building web/dist). Screenshots of the main
// pages land in web/screenshots/ (git-ignored).
import { defineConfig } from '@playwright/test';

// A folder per run (workers inherit the variable from the runner): see outputDir.
process.env.AGNOX_WEB_RUN ??= String(Date.now());
const runId = process.env.AGNOX_WEB_RUN;

export default defineConfig({
  testDir: './e2e',
  testMatch: '**/*.spec.ts',
  globalSetup: './e2e/global-setup.ts',
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  // A folder per run (workers inherit the variable from the runner): Playwright empties its output
  // folder when a run starts, which would delete the traces of another run going on in the same checkout.
  outputDir: `./test-results/run-${runId}`,
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 800 },
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
});
