// Failure intelligence in the dashboard: recorded runs (a CI trigger, an agent taking the job and
// completing it with per-test results, over real HTTP) → the Insights page draws pass rate and duration
// charts, lists slowest, most failing and flaky tests, quarantines a flaky test; a failed run's page
// shows its failure's history ("happened N times since …, first seen in run X").
import { call, ok, registerAgent, takeJob } from './api';
import { expect, sessionToken, signUpInBrowser, test } from './fixtures';
import { shoot } from './shoot';

type T = { testId: string; title: string; file: string; status: string; retry?: number; durationMs: number; error?: { message: string } };

test('insights charts, flaky tests, quarantine and failure history', async ({ page, baseURL, consoleErrors }) => {
  void consoleErrors;
  test.setTimeout(120_000);
  await signUpInBrowser(page);
  const token = await sessionToken(page);
  const project = await ok(baseURL!, 'POST', '/api/projects', { token, body: { name: `shop-${Date.now()}`, image: 'agnox/busybox:test' } });
  const { key } = await ok(baseURL!, 'POST', '/api/api-keys', { token, body: { name: 'ci' } });
  const agentToken = await registerAgent(baseURL!, token, 'insights-agent');

  const pays = { testId: 'pays', title: 'pays with card', file: 'tests/pay.spec.ts' };
  const cart = { testId: 'cart', title: 'keeps the cart', file: 'tests/cart.spec.ts' };
  const timeout = (ms: number) => ({ message: `Timeout ${ms}ms exceeded waiting for /api/pay` });
  const runs: Array<{ status: 'PASSED' | 'FAILED'; durationMs: number; tests: T[] }> = [
    {
      status: 'PASSED',
      durationMs: 40_000,
      tests: [
        { ...pays, status: 'passed', durationMs: 900 },
        { ...cart, status: 'passed', durationMs: 120 },
      ],
    },
    {
      status: 'FAILED',
      durationMs: 65_000,
      tests: [
        { ...pays, status: 'failed', durationMs: 30_000, error: timeout(30000) },
        { ...cart, status: 'passed', durationMs: 110 },
      ],
    },
    {
      status: 'FAILED',
      durationMs: 52_000,
      tests: [
        { ...pays, status: 'failed', durationMs: 5000, error: timeout(5000) },
        { ...pays, status: 'passed', retry: 1, durationMs: 950 },
        { ...cart, status: 'failed', durationMs: 130, error: { message: 'Expected 3 items, received 2' } },
      ],
    },
    {
      status: 'FAILED',
      durationMs: 70_000,
      tests: [
        { ...pays, status: 'failed', durationMs: 15_000, error: timeout(15000) },
        { ...cart, status: 'passed', durationMs: 100 },
      ],
    },
  ];
  const taskIds: string[] = [];
  for (const run of runs) {
    const { taskId } = await ok(baseURL!, 'POST', '/api/ci/trigger', {
      apiKey: key,
      body: { projectId: project.id, ciContext: { source: 'github', commitSha: 'abc1234', branch: 'main' } },
    });
    await takeJob(baseURL!, agentToken, taskId);
    const done = await call(baseURL!, 'POST', `/api/agent/jobs/${taskId}/complete`, {
      agentToken,
      body: { status: run.status, exitCode: run.status === 'PASSED' ? 0 : 1, durationMs: run.durationMs, tests: run.tests },
    });
    expect(done.status, JSON.stringify(done.json)).toBe(200);
    taskIds.push(taskId);
  }

  await page.getByRole('link', { name: 'Insights' }).first().click();
  await expect(page).toHaveURL(/\/insights/);
  await page.getByLabel('Project').selectOption(project.id);
  const totals = page.getByTestId('insight-totals');
  await expect(totals).toContainText('4');
  await expect(totals).toContainText('25%');
  await expect(page.getByTestId('chart-Pass rate').locator('path[data-series="pass rate"]')).toHaveAttribute('d', /^M/);
  await expect(page.getByTestId('chart-Duration').locator('path[data-series="p95"]')).toHaveAttribute('d', /^M/);
  await expect(page.getByTestId('slowest-tests').locator('tr').first()).toContainText('tests/pay.spec.ts › pays with card');
  await expect(page.getByTestId('most-failing')).toContainText('3 failures / 4 runs');
  const flaky = page.getByTestId('flaky-tests');
  await expect(flaky).toContainText('tests/pay.spec.ts › pays with card');
  await expect(flaky).toContainText('tests/cart.spec.ts › keeps the cart'); // passed and failed on the same commit

  await flaky.locator('tr', { hasText: 'pays with card' }).getByRole('button', { name: 'Quarantine' }).click();
  await page.getByLabel('Owner').fill('ada@example.com');
  await page.getByLabel('Reason').fill('Payment sandbox is slow; PAY-42');
  await page.locator('form').getByRole('button', { name: 'Quarantine' }).click();
  const quarantines = page.getByTestId('quarantines');
  await expect(quarantines).toContainText('ada@example.com');
  await expect(quarantines).toContainText('tests/pay.spec.ts › pays with card');
  await expect(flaky.locator('tr', { hasText: 'pays with card' })).toContainText('quarantined');
  await shoot(page, 'insights');

  await page.goto(`/executions/${taskIds[3]}`);
  const history = page.getByTestId('failure-history');
  await expect(history).toContainText('pays with card');
  await expect(history).toContainText('This failure has happened 3 times in 3 runs');
  await expect(history.getByRole('link', { name: `${taskIds[1]!.slice(0, 12)}…` })).toHaveAttribute('href', `/executions/${taskIds[1]}`);
  await shoot(page, 'execution-failure-history');
});
