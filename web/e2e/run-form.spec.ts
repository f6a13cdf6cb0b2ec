// The run form's defaults (first project, its default environment) fill only the fields the person
// has not touched, whenever they arrive: the projects' answer is held back until after the typing.
import { ok } from './api';
import type { Page } from '@playwright/test';
import { expect, sessionToken, signUpInBrowser, test } from './fixtures';

/** Opens the run form with the projects' answer held back; the returned function lets it through. */
async function openWithProjectsHeld(page: Page): Promise<() => void> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let held = 0;
  await page.route('**/api/projects', async (route) => {
    held++;
    await released;
    await route.continue();
  });
  await page.goto('/run');
  await expect.poll(() => held).toBeGreaterThan(0);
  return release;
}

test('what the person typed stays when the projects arrive after it', async ({ page, baseURL, consoleErrors }) => {
  void consoleErrors;
  await signUpInBrowser(page);
  const token = await sessionToken(page);
  const project = await ok(baseURL!, 'POST', '/api/projects', { token, body: { name: 'slow-list', image: 'agnox/busybox:test' } });
  await ok(baseURL!, 'POST', '/api/projects', { token, body: { name: 'other', image: 'agnox/busybox:test', defaultEnvironment: 'production' } });

  const projectSelect = page.locator('select[name=projectId]');
  // Untouched, the environment follows the chosen project's default.
  await page.goto('/run');
  await projectSelect.selectOption({ label: 'slow-list' });
  await expect(page.getByLabel('Environment')).toHaveValue('staging');
  await projectSelect.selectOption({ label: 'other' });
  await expect(page.getByLabel('Environment')).toHaveValue('production');

  // The projects' answer waits until the person has typed the environment.
  const release = await openWithProjectsHeld(page);
  await page.getByLabel('Environment').fill('qa');
  // Once the run settings of the arriving project are asked for, the render that knew the project
  // (and, before the fix, its effect copying in the default environment) has happened.
  const settingsAsked = page.waitForRequest(/\/api\/projects\/[^/]+\/run-settings$/);
  release();
  await settingsAsked;
  await expect(page.getByLabel('Environment')).toHaveValue('qa');
  await projectSelect.selectOption({ label: 'slow-list' });
  await expect(page.getByLabel('Environment')).toHaveValue('qa');

  await page.getByRole('button', { name: 'Queue run' }).click();
  await expect(page).toHaveURL(/\/executions\/[^/]+$/);
  const taskId = decodeURIComponent(page.url().split('/executions/')[1]!);
  expect(await ok(baseURL!, 'GET', `/api/executions/${taskId}`, { token })).toMatchObject({ projectId: project.id, environment: 'qa' });
});

test('a default arriving while the person is in the environment field does not join their text', async ({ page, baseURL, consoleErrors }) => {
  void consoleErrors;
  await signUpInBrowser(page);
  const token = await sessionToken(page);
  await ok(baseURL!, 'POST', '/api/projects', { token, body: { name: 'late', image: 'agnox/busybox:test' } });

  const release = await openWithProjectsHeld(page);
  // The person is in the field (as between Playwright's fill selecting the text and typing, where
  // admin.spec once read "stagingqa") when the project and its default environment arrive.
  await page.getByLabel('Environment').focus();
  const settingsAsked = page.waitForRequest(/\/api\/projects\/[^/]+\/run-settings$/);
  release();
  await settingsAsked;
  await page.keyboard.type('qa');
  await expect(page.getByLabel('Environment')).toHaveValue('qa');
});
