// Browser tests of the dashboard: Playwright drives Debian's Chromium against the real control plane
// (`wrangler dev`, started by e2e/global-setup.ts after building web/dist). Screenshots of the main
// pages land in web/screenshots/ (git-ignored).
import { defineConfig } from '@playwright/test';

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
  // Its own folder: other suites' Playwright runs clean the repository's test-results/.
  outputDir: './test-results',
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
