// What admins and developers do in the dashboard: queue a run from the form, cancel and delete runs
// in bulk, keep run settings with masked secrets, create an API key (shown once) and invite a member.
import { call, ok } from './api';
import { expect, sessionToken, signUpInBrowser, test } from './fixtures';

test('run form, bulk cancel and delete, run settings with secrets, API key and invitation', async ({ page, baseURL, consoleErrors }) => {
  void consoleErrors;
  await signUpInBrowser(page);
  const token = await sessionToken(page);
  const project = await ok(baseURL!, 'POST', '/api/projects', { token, body: { name: 'api-suite', image: 'agnox/busybox:test', command: 'echo default' } });

  // Run tests form → the run page of the queued run, with what was asked for.
  await page.goto('/run');
  await page.getByLabel('Environment').fill('qa');
  await page.getByLabel('Command (optional)').fill('npm run e2e -- --grep smoke');
  await page.getByLabel('Tests (optional)').fill('tests/login.spec.ts\ntests/cart.spec.ts');
  await page.getByLabel('Agent labels (optional)').fill('arch=arm64');
  await page.getByRole('button', { name: 'Queue run' }).click();
  await expect(page).toHaveURL(/\/executions\/[^/]+$/);
  const formTaskId = decodeURIComponent(page.url().split('/executions/')[1]!);
  await expect(page.locator('main [data-status]').first()).toHaveText('PENDING');
  const detail = await ok(baseURL!, 'GET', `/api/executions/${formTaskId}`, { token });
  expect(detail).toMatchObject({
    environment: 'qa',
    command: 'npm run e2e -- --grep smoke',
    tests: ['tests/login.spec.ts', 'tests/cart.spec.ts'],
    labels: { arch: 'arm64' },
  });

  // Bad label input is refused in the form, not sent.
  await page.goto('/run');
  await page.getByLabel('Agent labels (optional)').fill('no-equals-sign');
  await page.getByRole('button', { name: 'Queue run' }).click();
  await expect(page.getByRole('alert')).toContainText('expected KEY=value');

  // Two more runs; select all three, cancel them, then delete two.
  const second = (await ok(baseURL!, 'POST', '/api/execution-request', { token, body: { projectId: project.id } })).taskId as string;
  const third = (await ok(baseURL!, 'POST', '/api/execution-request', { token, body: { projectId: project.id } })).taskId as string;
  await page.goto('/executions');
  for (const id of [formTaskId, second, third]) await expect(page.locator(`[data-task-id="${id}"]`)).toBeVisible();
  await page.getByLabel('Select all loaded runs').check();
  await expect(page.getByRole('region', { name: 'Bulk actions' })).toContainText('3 selected');
  await page.getByRole('button', { name: 'Cancel selected' }).click();
  for (const id of [formTaskId, second, third]) await expect(page.locator(`[data-task-id="${id}"] [data-status]`)).toHaveText('CANCELLED');

  await page.getByLabel(`Select run ${second}`).check();
  await page.getByLabel(`Select run ${third}`).check();
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Delete selected' }).click();
  await expect(page.locator(`[data-task-id="${second}"]`)).toHaveCount(0);
  await expect(page.locator(`[data-task-id="${third}"]`)).toHaveCount(0);
  await expect(page.locator(`[data-task-id="${formTaskId}"]`)).toBeVisible();
  expect((await call(baseURL!, 'GET', `/api/executions/${second}`, { token })).status).toBe(404);

  // Run settings: add an environment with a base URL, a variable and a secret; the secret comes back masked.
  await page.goto(`/projects/${project.id}`);
  await page.getByPlaceholder('production').fill('qa');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByLabel('Base URL').fill('https://qa.example.test');
  await page.getByLabel('Variables').fill('LOCALE=fr-FR');
  await page.getByLabel('Set secrets').fill('API_TOKEN=very-secret-value');
  await page.getByRole('button', { name: 'Save qa' }).click();
  await expect(page.getByTestId('secrets')).toContainText('API_TOKEN');
  await expect(page.locator('main')).not.toContainText('very-secret-value');
  await page.reload();
  await expect(page.getByLabel('Base URL')).toHaveValue('https://qa.example.test');
  await expect(page.getByLabel('Variables')).toHaveValue('LOCALE=fr-FR');
  const settings = await ok(baseURL!, 'GET', `/api/projects/${project.id}/run-settings`, { token });
  expect(JSON.stringify(settings)).not.toContain('very-secret-value');

  // API key: shown once, then only its prefix.
  await page.goto('/settings/api-keys');
  await page.getByLabel('Key name').fill('GitHub Actions');
  await page.getByRole('button', { name: 'Create key' }).click();
  const key = (await page.getByTestId('new-api-key').textContent())!;
  expect(key).toMatch(/^agx_/);
  const withKey = await call(baseURL!, 'GET', '/api/executions?limit=1', { apiKey: key });
  expect(withKey.status).toBe(200);
  await page.reload();
  await expect(page.getByText('GitHub Actions')).toBeVisible();
  await expect(page.locator('main')).not.toContainText(key);

  // Invitation: the link is shown to share.
  await page.goto('/settings/members');
  await page.getByLabel('Email').fill(`dev-${Date.now()}@example.com`);
  await page.getByRole('button', { name: 'Invite' }).click();
  await expect(page.getByTestId('invite-link')).toContainText('/accept-invite?token=');
});

test('the list pages through many runs with infinite scroll, newest first', async ({ page, baseURL, consoleErrors }) => {
  void consoleErrors;
  await signUpInBrowser(page);
  const token = await sessionToken(page);
  const project = await ok(baseURL!, 'POST', '/api/projects', { token, body: { name: 'many-runs', image: 'agnox/busybox:test' } });
  const ids: string[] = [];
  for (let i = 0; i < 60; i++) ids.push((await ok(baseURL!, 'POST', '/api/execution-request', { token, body: { projectId: project.id } })).taskId);

  await page.goto(`/executions?projectId=${project.id}`);
  const rows = page.getByTestId('executions').locator('[data-task-id]');
  await expect(rows).toHaveCount(50);
  await expect(rows.first()).toHaveAttribute('data-task-id', ids.at(-1)!);
  await rows.last().scrollIntoViewIfNeeded();
  await page.mouse.wheel(0, 5000);
  await expect(rows).toHaveCount(60);
  await expect(rows.last()).toHaveAttribute('data-task-id', ids[0]!);
  await expect(page.getByRole('button', { name: 'Load more' })).toHaveCount(0);
  const shown = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-task-id')));
  expect(shown).toEqual([...ids].reverse());
});
