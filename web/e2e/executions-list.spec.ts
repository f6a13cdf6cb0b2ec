// The executions list as a newcomer meets it: runs shown by their reporter's name, found by name,
// branch or commit through a search that lives in the URL (and holds for live updates), and rows
// that open their run on a click anywhere (new tab on middle or Ctrl click) or Enter.
import { call, ok } from './api';
import { expect, sessionToken, signUpInBrowser, test } from './fixtures';

async function reportRun(baseURL: string, apiKey: string, projectId: string, runName: string, ciContext: Record<string, unknown>) {
  const r = await call(baseURL, 'POST', '/api/ingest/setup', {
    apiKey,
    body: { projectId, framework: 'playwright', reporterVersion: '1.0.0', totalTests: 1, runName, ciContext },
  });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return r.json.data.taskId as string;
}

test('runs show their name and are found by name, branch or commit', async ({ page, baseURL, consoleErrors }) => {
  void consoleErrors;
  await signUpInBrowser(page);
  const token = await sessionToken(page);
  const apiKey = (await ok(baseURL!, 'POST', '/api/api-keys', { token, body: { name: 'ci' } })).key as string;
  const project = await ok(baseURL!, 'POST', '/api/projects', { token, body: { name: 'shop', image: 'agnox/busybox:test' } });
  const smoke = await reportRun(baseURL!, apiKey, project.id, 'Nightly Checkout Smoke', {
    source: 'github',
    branch: 'feature/PAY-12',
    commitSha: 'abc123def456',
  });
  const release = await reportRun(baseURL!, apiKey, project.id, 'Release 7', { source: 'github', branch: 'main', commitSha: 'ffee99aa' });
  const queued = (await ok(baseURL!, 'POST', '/api/execution-request', { token, body: { projectId: project.id } })).taskId as string;

  await page.goto('/executions');
  const rows = page.getByTestId('executions').locator('[data-task-id]');
  const row = (taskId: string) => page.locator(`[data-task-id="${taskId}"]`);
  await expect(rows).toHaveCount(3);
  await expect(row(smoke).getByRole('link')).toHaveText('Nightly Checkout Smoke');
  await expect(row(smoke)).toContainText('shop');
  await expect(row(smoke)).toContainText('abc123d');
  // A run without a name of its own is known by its project.
  await expect(row(queued).getByRole('link')).toHaveText('shop');

  const searchBox = page.getByLabel('Search runs');
  const shown = () => rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-task-id')));
  await searchBox.fill('checkout');
  await expect(page).toHaveURL(/[?&]q=checkout(&|$)/);
  await expect.poll(shown).toEqual([smoke]);
  await searchBox.fill('PAY-12');
  await expect(page).toHaveURL(/[?&]q=PAY-12(&|$)/);
  await expect.poll(shown).toEqual([smoke]);
  await searchBox.fill('ffee99');
  await searchBox.press('Enter');
  await expect(page).toHaveURL(/[?&]q=ffee99(&|$)/);
  await expect.poll(shown).toEqual([release]);

  // The search is in the URL: a reload (or a shared link) shows the same.
  await page.goto('/executions?q=nightly');
  await expect(searchBox).toHaveValue('nightly');
  await expect.poll(shown).toEqual([smoke]);

  // Live updates respect it: a new matching run appears, another does not.
  await expect(page.getByTestId('live-state')).toHaveText('Live');
  const nightly2 = await reportRun(baseURL!, apiKey, project.id, 'Nightly API', { source: 'github', branch: 'main' });
  const other = await reportRun(baseURL!, apiKey, project.id, 'Weekly', { source: 'github', branch: 'main' });
  await expect(row(nightly2)).toBeVisible();
  await expect.poll(shown).toEqual([nightly2, smoke]);
  await expect(row(other)).toHaveCount(0);

  await page.getByRole('button', { name: 'Clear filters' }).click();
  await expect(searchBox).toHaveValue('');
  await expect(page).toHaveURL(/\/executions$/);
  await expect(rows).toHaveCount(5);
});

test('a whole row opens its run: a click on any of it, middle or Ctrl click in a new tab, Enter', async ({ page, baseURL, consoleErrors }) => {
  void consoleErrors;
  await signUpInBrowser(page);
  const token = await sessionToken(page);
  const project = await ok(baseURL!, 'POST', '/api/projects', { token, body: { name: 'rows', image: 'agnox/busybox:test' } });
  const taskId = (await ok(baseURL!, 'POST', '/api/execution-request', { token, body: { projectId: project.id, environment: 'qa' } })).taskId as string;
  const runUrl = new RegExp(`/executions/${taskId}$`);
  const row = page.locator(`[data-task-id="${taskId}"]`);
  const notALink = row.getByText('qa', { exact: true }); // the environment cell

  // The checkbox selects, and stays on the list.
  await page.goto('/executions');
  await row.getByLabel(`Select run ${taskId}`).click();
  await expect(row.getByLabel(`Select run ${taskId}`)).toBeChecked();
  await expect(page.getByRole('region', { name: 'Bulk actions' })).toContainText('1 selected');
  await expect(page).toHaveURL(/\/executions$/);

  // Ctrl (⌘) click and middle click open the run in a new tab and leave this one on the list.
  for (const click of [{ modifiers: ['ControlOrMeta' as const] }, { button: 'middle' as const }]) {
    const [tab] = await Promise.all([page.context().waitForEvent('page'), notALink.click(click)]);
    await expect(tab).toHaveURL(runUrl);
    await tab.close();
    await expect(page).toHaveURL(/\/executions$/);
  }

  await notALink.click();
  await expect(page).toHaveURL(runUrl);
  await expect(page.locator('main [data-status]').first()).toHaveText('PENDING');

  await page.goBack();
  await row.focus();
  await expect(row).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(runUrl);
});

test("the dashboard sends back D1's newest bookmark, so its reads see its own writes from any replica", async ({ page, consoleErrors }) => {
  void consoleErrors;
  const sent: Array<string | null> = [];
  const received: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/')) sent.push(r.headers()['x-d1-bookmark'] ?? null);
  });
  // Recorded before the page sees the reply: a 'response' event can reach the test after the page
  // already sent that bookmark on (or never, when a reload cuts the reply's body short).
  await page.route('**/api/**', async (route) => {
    let reply: Awaited<ReturnType<typeof route.fetch>>;
    try {
      reply = await route.fetch();
    } catch {
      await route.abort().catch(() => undefined); // the page went away (reload) while the call was out
      return;
    }
    const b = reply.headers()['x-d1-bookmark'];
    if (b) received.push(b);
    await route.fulfill({ response: reply }).catch(() => undefined);
  });
  await signUpInBrowser(page);
  await page.goto('/executions');
  await expect(page.getByText('No runs yet.')).toBeVisible();
  expect(received.length).toBeGreaterThan(0); // the list hands out a bookmark
  const before = sent.length;
  await page.getByRole('link', { name: 'Projects' }).click();
  await expect(page.getByRole('heading', { name: 'Projects' })).toBeVisible();
  await page.reload(); // kept for the tab
  await expect(page.getByRole('heading', { name: 'Projects' })).toBeVisible();
  // Every call after that carries a bookmark the server gave.
  const later = sent.slice(before);
  expect(later.length).toBeGreaterThan(0);
  for (const b of later) expect(received).toContain(b);
});
