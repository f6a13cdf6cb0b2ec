// A viewer reads everything and is offered nothing it may not do.
import { call, createProject, ok, registerAgent } from './api';
import { expect, PASSWORD, test, uniqueEmail } from './fixtures';

test('a viewer sees no admin or developer actions', async ({ page, baseURL, consoleErrors }) => {
  void consoleErrors;
  const signup = await call(baseURL!, 'POST', '/api/auth/signup', {
    body: { email: uniqueEmail('owner'), password: PASSWORD, name: 'Owner', organizationName: 'Viewer Org' },
  });
  expect(signup.status).toBe(201);
  const admin = signup.json.data.token as string;
  const project = await createProject(baseURL!, admin, 'read-only');
  await registerAgent(baseURL!, admin, 'shared-box');
  const { taskId } = await ok(baseURL!, 'POST', '/api/execution-request', { token: admin, body: { projectId: project.id } });
  const invite = await ok(baseURL!, 'POST', '/api/invitations', { token: admin, body: { email: uniqueEmail('viewer'), role: 'viewer' } });

  // Accept the invitation in the browser.
  await page.goto(`/accept-invite?token=${invite.token}`);
  await page.getByLabel('Your name').fill('Vera Viewer');
  await page.getByLabel('Choose a password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Accept invitation' }).click();
  await expect(page).toHaveURL(/\/executions$/);
  await expect(page.getByTestId('current-role')).toHaveText('viewer');

  // Executions: the run is listed, but there is nothing to select, cancel, delete or start.
  const row = page.locator(`[data-task-id="${taskId}"]`);
  await expect(row).toBeVisible();
  await expect(page.getByRole('checkbox')).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Run tests' })).toHaveCount(0);

  // The run: no cancel, no re-run.
  await row.getByRole('link', { name: 'read-only' }).click();
  await expect(page.locator('main [data-status]').first()).toHaveText('PENDING');
  await expect(page.getByRole('button', { name: 'Cancel run' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Re-run' })).toHaveCount(0);

  // Projects: read-only.
  await page.getByRole('link', { name: 'Projects' }).click();
  await expect(page.getByRole('link', { name: 'read-only' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'New project' })).toHaveCount(0);
  await page.getByRole('link', { name: 'read-only' }).click();
  await expect(page.getByRole('heading', { name: 'read-only' })).toBeVisible();
  await expect(page.getByRole('button', { name: /Save|Delete|Add/ })).toHaveCount(0);
  await expect(page.getByRole('textbox')).toHaveCount(0);

  // Agents: listed, but no token, disable or remove.
  await page.getByRole('link', { name: 'Agents' }).click();
  await expect(page.getByTestId('agents')).toContainText('shared-box');
  await expect(page.getByRole('button', { name: /Add an agent|Disable|Remove/ })).toHaveCount(0);

  // Settings: no API keys tab, no invitations, no role changes, organization fields locked.
  await page.getByRole('link', { name: 'Settings' }).click();
  await expect(page.getByText('Only admins can change these settings.')).toBeVisible();
  await expect(page.getByLabel('Name')).toBeDisabled();
  await expect(page.getByTestId('slack-webhook-status')).toHaveText('Not set'); // the webhook URL is for admins only
  await expect(page.getByRole('button', { name: 'Save' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'API keys' })).toHaveCount(0);
  await page.getByRole('link', { name: 'Members' }).click();
  await expect(page.getByTestId('members')).toContainText('Vera Viewer');
  await expect(page.getByRole('combobox')).toHaveCount(0);
  await expect(page.getByRole('button', { name: /Invite|Remove/ })).toHaveCount(0);

  // A typed URL does not open the run form either.
  await page.goto('/run');
  await expect(page.getByText('Your role cannot start runs.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Queue run' })).toHaveCount(0);
});
