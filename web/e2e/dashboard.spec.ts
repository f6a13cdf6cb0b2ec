// The main journey, in a real browser against the real control plane: sign up → create a project →
// a run queued through the API appears live in the list and changes status live → open it and watch
// log lines arrive (ANSI colours rendered) and results land → filter by source → log out.
import { createProject, numberedChunks, ok, pushLog, registerAgent, takeJob } from './api';
import { expect, sessionToken, signUpInBrowser, test } from './fixtures';

test('sign up, create a project, watch a run live, filter by source, log out', async ({ page, baseURL, consoleErrors }) => {
  void consoleErrors;
  // The dashboard is served with its own strict CSP (web/public/_headers); the test fails on any violation.
  const html = await page.request.get('/signup');
  expect(html.headers()['content-security-policy']).toContain("script-src 'self'");
  expect(html.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
  await signUpInBrowser(page);

  // Create a project from the welcome form.
  await expect(page.getByRole('heading', { name: 'New project' })).toBeVisible();
  await page.getByLabel('Name').fill('checkout-e2e');
  await page.getByLabel('Docker image').fill('mcr.microsoft.com/playwright:v1.50.0');
  await page.getByLabel('Command').fill('npx playwright test');
  await page.getByRole('button', { name: 'Create project' }).click();
  await expect(page.getByRole('heading', { name: 'checkout-e2e' })).toBeVisible();
  const projectId = decodeURIComponent(page.url().split('/projects/')[1]!);

  // The list is live before anything exists.
  await page.getByRole('link', { name: 'Executions' }).first().click();
  await expect(page.getByTestId('live-state')).toHaveText('Live');
  await expect(page.getByText('No runs yet')).toBeVisible();

  // Queue a run through the API: it appears without a reload, PENDING.
  const token = await sessionToken(page);
  const agentToken = await registerAgent(baseURL!, token);
  const { taskId } = await ok(baseURL!, 'POST', '/api/execution-request', { token, body: { projectId, environment: 'staging' } });
  const row = page.locator(`[data-task-id="${taskId}"]`);
  await expect(row).toBeVisible();
  await expect(row.locator('[data-status]')).toHaveText('PENDING');
  await expect(row.getByRole('link', { name: 'checkout-e2e' })).toBeVisible();

  // An agent takes it: the badge turns RUNNING live.
  await takeJob(baseURL!, agentToken, taskId);
  await expect(row.locator('[data-status]')).toHaveText('RUNNING');

  // Open it and watch the log arrive.
  await row.getByRole('link', { name: 'checkout-e2e' }).click();
  await expect(page).toHaveURL(new RegExp(`/executions/${taskId}$`));
  const terminal = page.getByTestId('terminal');
  await expect(page.getByTestId('terminal-state')).toContainText('Live');
  await pushLog(baseURL!, agentToken, taskId, numberedChunks(1, 5));
  await expect(terminal.getByText('line 5', { exact: true })).toBeVisible();
  await pushLog(baseURL!, agentToken, taskId, [
    { seq: 6, data: '\x1b[31mred failure line\x1b[0m\n' },
    { seq: 7, data: 'partial ' },
    { seq: 8, data: 'line joined\n' },
  ]);
  const red = terminal.getByText('red failure line');
  await expect(red).toBeVisible();
  await expect(red).toHaveCSS('color', 'rgb(248, 113, 113)');
  await expect(terminal.getByText('partial line joined')).toBeVisible();
  await expect(terminal).not.toContainText('\x1b[');

  // Search the log.
  await page.getByLabel('Search the log').fill('line 3');
  await expect(page.getByTestId('search-hits')).toHaveText('1/1');

  // Finish the run with a failed test: status, counts and the results table update.
  await ok(baseURL!, 'POST', `/api/agent/jobs/${taskId}/complete`, {
    agentToken,
    body: {
      status: 'FAILED',
      exitCode: 1,
      durationMs: 4200,
      lastSeq: 8,
      tests: [
        { testId: 't1', title: 'checkout works', status: 'passed', durationMs: 1200, retry: 0 },
        {
          testId: 't2',
          title: 'pays with card',
          file: 'pay.spec.ts',
          status: 'failed',
          durationMs: 3000,
          retry: 1,
          error: { message: 'expected 200, got 500', stack: 'Error: expected 200\n    at pay.spec.ts:12:5' },
        },
      ],
    },
  });
  await expect(page.locator('main [data-status]').first()).toHaveText('FAILED');
  const results = page.getByTestId('test-results');
  await expect(results.getByText('pays with card')).toBeVisible();
  await expect(results.getByText('expected 200, got 500')).toBeVisible();
  await expect(results.getByText('at pay.spec.ts:12:5')).toBeVisible();
  await expect(results.getByText('1 retry')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Cancel run' })).toHaveCount(0);

  // Re-run asks for the same run again and opens it.
  await page.getByRole('button', { name: 'Re-run' }).click();
  await expect(page).not.toHaveURL(new RegExp(`/executions/${taskId}$`));
  await expect(page.locator('main [data-status]').first()).toHaveText('PENDING');
  const rerun = await ok(baseURL!, 'GET', `/api/executions/${decodeURIComponent(page.url().split('/executions/')[1]!)}`, { token });
  expect(rerun).toMatchObject({ projectId, environment: 'staging', status: 'PENDING' });

  // A run reported from GitHub Actions through the ingest API (what @agnox/playwright-reporter sends).
  const apiKey = (await ok(baseURL!, 'POST', '/api/api-keys', { token, body: { name: 'ci' } })).key as string;
  const ci = {
    source: 'github',
    repository: 'acme/shop',
    branch: 'feature/pay',
    prNumber: 42,
    commitSha: 'a1b2c3d4e5f6a7b8',
    runUrl: 'https://github.com/acme/shop/actions/runs/99',
  };
  const setup = await ok(baseURL!, 'POST', '/api/ingest/setup', {
    apiKey,
    body: { projectId, runName: 'PR #42 smoke', framework: 'playwright', reporterVersion: '1.4.0', totalTests: 3, environment: 'staging', ciContext: ci },
  });
  await ok(baseURL!, 'POST', '/api/ingest/event', {
    apiKey,
    body: {
      sessionId: setup.sessionId,
      events: [
        { type: 'log', chunk: 'Running 3 tests using 1 worker\n', timestamp: Date.now(), seq: 1 },
        { type: 'test-end', testId: 'x1', title: 'home renders', file: 'home.spec.ts', status: 'passed', duration: 800, timestamp: Date.now(), seq: 2 },
      ],
    },
  });

  // Back to the list: the hosted row shows its final state, the CI run is there live; filter by source.
  await page.getByRole('link', { name: 'All executions' }).click();
  await expect(row.locator('[data-status]')).toHaveText('FAILED');
  await expect(row).toContainText('1 passed');
  const ciRow = page.locator(`[data-task-id="${setup.taskId}"]`);
  await expect(ciRow).toContainText('External CI · GitHub Actions');
  await expect(ciRow.locator('[data-status]')).toHaveText('RUNNING');
  await page.getByLabel('Source').selectOption('external-ci');
  await expect(page).toHaveURL(/source=external-ci/);
  await expect(row).toHaveCount(0);
  await expect(ciRow).toBeVisible();
  await page.getByLabel('Source').selectOption('agnox-hosted');
  await expect(row).toBeVisible();
  await expect(ciRow).toHaveCount(0);
  await expect(row).not.toContainText('External CI');

  // The CI run's page: the CI context panel, and its status turning final live.
  await page.getByLabel('Source').selectOption('external-ci');
  await ciRow.getByRole('link').first().click();
  const panel = page.getByTestId('ci-context');
  await expect(panel).toContainText('acme/shop');
  await expect(panel).toContainText('feature/pay');
  await expect(panel.getByRole('link', { name: '#42' })).toHaveAttribute('href', 'https://github.com/acme/shop/pull/42');
  await expect(panel).toContainText('a1b2c3d');
  await expect(panel.getByRole('link', { name: /View in GitHub Actions/ })).toHaveAttribute('href', ci.runUrl);
  await expect(panel).toContainText('Playwright');
  await expect(panel).toContainText('@agnox/playwright-reporter v1.4.0');
  await expect(panel).toContainText('Total tests3');
  await expect(page.getByTestId('terminal').getByText('Running 3 tests using 1 worker')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Re-run' })).toHaveCount(0);
  await ok(baseURL!, 'POST', '/api/ingest/teardown', {
    apiKey,
    body: { sessionId: setup.sessionId, status: 'PASSED', summary: { total: 3, passed: 3, failed: 0, skipped: 0, duration: 2400 } },
  });
  await expect(page.locator('main [data-status]').first()).toHaveText('PASSED');

  // Log out: back to the login page, and the app is closed until logging in again.
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/executions');
  await expect(page).toHaveURL(/\/login\?next=%2Fexecutions/);
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  const me = await page.request.get('/api/auth/me');
  expect(me.status()).toBe(401);
});

test.describe('session end', () => {
  // The calls that discover the revoked session answer 401, which Chromium logs.
  test.use({ allowConsoleError: /status of 401/ });

  test('an ended session sends you back to log in, and returns you after', async ({ page, baseURL, consoleErrors }) => {
    void consoleErrors;
    const { email } = await signUpInBrowser(page);
    const token = await sessionToken(page);
    await createProject(baseURL!, token, 'after-expiry');
    // Settle on a page that has loaded everything it needs, so no call is in flight.
    await page.goto('/executions');
    await expect(page.getByTestId('live-state')).toHaveText('Live');
    await expect(page.getByText('No runs yet')).toBeVisible();
    await page.waitForLoadState('networkidle');
    // The session is revoked elsewhere (as when it expires): the next call the page makes gets 401.
    await ok(baseURL!, 'POST', '/api/auth/logout', { token });
    await page.getByRole('link', { name: 'Projects' }).click();
    await expect(page).toHaveURL(/\/login\?next=%2Fprojects&expired=1/);
    await expect(page.getByText('Your session ended')).toBeVisible();
    // Log in with the keyboard only.
    await page.getByLabel('Email').focus();
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    await expect(page.getByLabel('Password')).toBeFocused();
    await page.keyboard.type('correct-horse-42');
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL(/\/projects$/);
    await expect(page.getByTestId('projects')).toContainText('after-expiry');
    // The token never reaches page scripts.
    expect(await page.evaluate(() => document.cookie)).not.toContain('agnox_session');
  });
});
