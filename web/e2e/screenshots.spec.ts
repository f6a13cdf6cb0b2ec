// Screenshots of the main pages at a desktop and a phone width (web/screenshots/, git-ignored), from
// an organization with real data: a failed run with a coloured log and results, a passing run, a
// running one, a project with run settings, an agent. Each page is checked to have rendered.
import { ok, pushLog, registerAgent, takeJob } from './api';
import { expect, sessionToken, signUpInBrowser, test } from './fixtures';
import { shoot } from './shoot';

const LOG = [
  '\x1b[2m[agnox] pulling mcr.microsoft.com/playwright:v1.50.0\x1b[0m\n',
  '\nRunning 4 tests using 2 workers\n\n',
  '  \x1b[32m✓\x1b[39m  1 [chromium] › login.spec.ts:4:1 › logs in \x1b[2m(1.2s)\x1b[22m\n',
  '  \x1b[32m✓\x1b[39m  2 [chromium] › cart.spec.ts:8:1 › adds to cart \x1b[2m(2.0s)\x1b[22m\n',
  '  \x1b[31m✘\x1b[39m  3 [chromium] › pay.spec.ts:12:1 › pays with card \x1b[2m(3.1s)\x1b[22m\n',
  '  \x1b[33m-\x1b[39m  4 [chromium] › refund.spec.ts:3:1 › refunds \x1b[2m(skipped)\x1b[22m\n\n',
  '  1) [chromium] › pay.spec.ts:12:1 › pays with card\n\n',
  '    \x1b[31mError: expect(received).toBe(expected)\x1b[39m\n\n',
  '    Expected: \x1b[32m200\x1b[39m\n    Received: \x1b[31m500\x1b[39m\n\n',
  '  \x1b[31m1 failed\x1b[39m\n  \x1b[33m1 skipped\x1b[39m\n  \x1b[32m2 passed\x1b[39m \x1b[2m(6.4s)\x1b[22m\n',
];

test('screenshots of the main pages', async ({ page, baseURL, browser, consoleErrors }) => {
  void consoleErrors;
  test.setTimeout(120_000);
  const anon = await browser.newPage({ baseURL });
  await anon.goto('/login');
  await expect(anon.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await shoot(anon, 'login');
  await anon.goto('/signup');
  await expect(anon.getByRole('heading', { name: 'Create your organization' })).toBeVisible();
  await shoot(anon, 'signup');
  await anon.close();

  await signUpInBrowser(page, 'Acme QA');
  const token = await sessionToken(page);
  const project = await ok(baseURL!, 'POST', '/api/projects', {
    token,
    body: { name: 'web-checkout', image: 'mcr.microsoft.com/playwright:v1.50.0', command: 'npx playwright test', testFolder: 'tests' },
  });
  await ok(baseURL!, 'PUT', `/api/projects/${project.id}/run-settings/staging`, {
    token,
    body: { baseUrl: 'https://staging.acme.test', variables: { LOCALE: 'en-GB' }, secretVariables: { API_TOKEN: 's3cret' } },
  });
  await ok(baseURL!, 'PUT', `/api/projects/${project.id}/run-settings/production`, { token, body: { baseUrl: 'https://acme.test' } });
  const agentToken = await registerAgent(baseURL!, token, 'ampere-01');

  // A failed run with a coloured log and results.
  const failed = await ok(baseURL!, 'POST', '/api/execution-request', { token, body: { projectId: project.id, environment: 'staging' } });
  await takeJob(baseURL!, agentToken, failed.taskId);
  await pushLog(
    baseURL!,
    agentToken,
    failed.taskId,
    LOG.map((data, i) => ({ seq: i + 1, data })),
  );
  await ok(baseURL!, 'POST', `/api/agent/jobs/${failed.taskId}/complete`, {
    agentToken,
    body: {
      status: 'FAILED',
      exitCode: 1,
      durationMs: 6400,
      lastSeq: LOG.length,
      tests: [
        { testId: 'a', title: 'logs in', file: 'login.spec.ts', status: 'passed', durationMs: 1200 },
        { testId: 'b', title: 'adds to cart', file: 'cart.spec.ts', status: 'passed', durationMs: 2000 },
        {
          testId: 'c',
          title: 'pays with card',
          file: 'pay.spec.ts',
          status: 'failed',
          durationMs: 3100,
          retry: 1,
          error: {
            message: 'expect(received).toBe(expected)\n\nExpected: 200\nReceived: 500',
            stack: 'Error: expect(received).toBe(expected)\n    at /tests/pay.spec.ts:12:20',
            location: 'pay.spec.ts:12:20',
          },
        },
        { testId: 'd', title: 'refunds', file: 'refund.spec.ts', status: 'skipped', durationMs: 0 },
      ],
    },
  });
  // A passing run, and one still running.
  const passed = await ok(baseURL!, 'POST', '/api/execution-request', { token, body: { projectId: project.id, environment: 'production' } });
  await takeJob(baseURL!, agentToken, passed.taskId);
  await ok(baseURL!, 'POST', `/api/agent/jobs/${passed.taskId}/complete`, {
    agentToken,
    body: { status: 'PASSED', exitCode: 0, durationMs: 5100, tests: [{ testId: 'a', title: 'logs in', status: 'passed', durationMs: 900 }] },
  });
  const running = await ok(baseURL!, 'POST', '/api/execution-request', { token, body: { projectId: project.id, environment: 'staging' } });
  await takeJob(baseURL!, agentToken, running.taskId);
  await ok(baseURL!, 'POST', '/api/execution-request', { token, body: { projectId: project.id, environment: 'staging' } });

  // A run reported from GitHub Actions.
  const apiKey = (await ok(baseURL!, 'POST', '/api/api-keys', { token, body: { name: 'ci' } })).key as string;
  const external = await ok(baseURL!, 'POST', '/api/ingest/setup', {
    apiKey,
    body: {
      projectId: project.id,
      runName: 'PR #42 — feature/pay',
      framework: 'playwright',
      reporterVersion: '1.4.0',
      totalTests: 2,
      environment: 'staging',
      ciContext: {
        source: 'github',
        repository: 'acme/shop',
        branch: 'feature/pay',
        prNumber: 42,
        commitSha: 'a1b2c3d4e5f6',
        runUrl: 'https://github.com/acme/shop/actions/runs/99',
      },
    },
  });
  await ok(baseURL!, 'POST', '/api/ingest/event', {
    apiKey,
    body: {
      sessionId: external.sessionId,
      events: [
        { type: 'log', chunk: 'Running 2 tests using 1 worker\n\n  \x1b[32m✓\x1b[39m  1 home.spec.ts:3:1 › renders (0.8s)\n', timestamp: Date.now(), seq: 1 },
        { type: 'test-end', testId: 'h1', title: 'renders', file: 'home.spec.ts', status: 'passed', duration: 800, timestamp: Date.now(), seq: 2 },
      ],
    },
  });

  await page.goto('/executions');
  await expect(page.locator(`[data-task-id="${failed.taskId}"] [data-status]`)).toHaveText('FAILED');
  await expect(page.locator(`[data-task-id="${running.taskId}"] [data-status]`)).toHaveText('RUNNING');
  await shoot(page, 'executions');

  await page.goto(`/executions/${failed.taskId}`);
  await expect(page.getByTestId('terminal').getByText('2 passed')).toBeVisible();
  await expect(page.getByTestId('test-results').getByText('pays with card')).toBeVisible();
  await shoot(page, 'execution');
  await page.evaluate(() => document.documentElement.classList.add('dark'));
  await shoot(page, 'execution-dark');
  await page.evaluate(() => document.documentElement.classList.remove('dark'));

  await page.goto(`/executions/${external.taskId}`);
  await expect(page.getByTestId('ci-context')).toContainText('acme/shop');
  await expect(page.getByTestId('terminal').getByText('renders (0.8s)')).toBeVisible();
  await shoot(page, 'execution-external-ci');

  await page.goto('/run');
  await expect(page.getByRole('button', { name: 'Queue run' })).toBeVisible();
  await shoot(page, 'run-tests');

  await page.goto('/projects');
  await expect(page.getByTestId('projects')).toContainText('web-checkout');
  await shoot(page, 'projects');
  await page.goto(`/projects/${project.id}`);
  await expect(page.getByTestId('secrets')).toContainText('API_TOKEN');
  await expect(page.getByTestId('secrets')).not.toContainText('s3cret');
  await shoot(page, 'project');

  await page.goto('/agents');
  await expect(page.getByTestId('agents')).toContainText('ampere-01');
  await page.getByRole('button', { name: 'Add an agent' }).click();
  await expect(page.getByTestId('install-command').first()).toContainText('install-agent.sh | sudo AGNOX_URL=');
  await shoot(page, 'agents');

  for (const tab of ['organization', 'members', 'api-keys', 'security', 'usage']) {
    await page.goto(`/settings/${tab}`);
    await expect(page.locator('[aria-current="page"]', { hasText: /./ }).last()).toBeVisible();
    await expect(page.getByRole('status').filter({ hasText: 'Loading' })).toHaveCount(0);
    if (tab === 'usage') await expect(page.getByText('1 agent registered')).toBeVisible();
    if (tab === 'members') await expect(page.getByTestId('members')).toContainText('Ada Admin');
    await shoot(page, `settings-${tab}`);
  }
});
