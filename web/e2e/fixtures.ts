// Test fixtures: baseURL from the control plane the global setup started, and a page that fails the
// test on any console error or uncaught exception (the dashboard must run without them).
import { test as base, expect, type Page } from '@playwright/test';

type Fixtures = { consoleErrors: string[]; allowConsoleError: RegExp | null };

export const test = base.extend<Fixtures>({
  baseURL: async ({}, use) => {
    const url = process.env.AGNOX_URL;
    if (!url) throw new Error('AGNOX_URL is not set: run through web/playwright.config.ts (its global setup starts the control plane)');
    await use(url);
  },
  allowConsoleError: [null, { option: true }],
  consoleErrors: async ({ page, allowConsoleError }, use) => {
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() !== 'error' || allowConsoleError?.test(m.text())) return;
      // Chromium logs every non-2xx response; the anonymous "who am I?" probe answering 401 is expected.
      if (/status of 401/.test(m.text()) && m.location().url.endsWith('/api/auth/me')) return;
      errors.push(`${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
    await use(errors);
    expect(errors, 'console errors on the page').toEqual([]);
  },
});

export { expect };

export const PASSWORD = 'correct-horse-42';
export const uniqueEmail = (who: string) => `${who}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;

/** The session cookie's value, usable as a Bearer token for the test's own API calls. */
export async function sessionToken(page: Page): Promise<string> {
  const cookie = (await page.context().cookies()).find((c) => c.name === 'agnox_session');
  if (!cookie) throw new Error('no agnox_session cookie: not signed in');
  return cookie.value;
}

/**
 * Each sign-up comes from an address of its own, as different people's would: sign-up is limited to 10
 * a minute per client address, and the browser suite signs up more often than that from 127.0.0.1.
 * Local workerd takes CF-Connecting-IP from the request (on Cloudflare the edge sets it).
 */
const browserAddress = () => `10.8.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;

export async function signUpInBrowser(page: Page, org = `Org ${Math.random().toString(36).slice(2, 7)}`) {
  const email = uniqueEmail('admin');
  await page.context().setExtraHTTPHeaders({ 'cf-connecting-ip': browserAddress() });
  await page.goto('/signup');
  await page.getByLabel('Your name').fill('Ada Admin');
  await page.getByLabel('Organization').fill(org);
  await page.getByLabel('Work email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page).toHaveURL(/\/projects/);
  return { email, org };
}
