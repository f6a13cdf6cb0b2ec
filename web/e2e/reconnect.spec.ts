// Reconnect without gaps or duplicates: this file runs its own control plane so it can restart it.
// The restart closes the viewer's socket from the server side; lines pushed while the page is still
// reconnecting must arrive through the since=<last seq> replay, each exactly once.
import { startControlPlane, type ControlPlane } from '../../test/support/wrangler';
import { call, numberedChunks, ok, pushLog, registerAgent, takeJob } from './api';
import { expect, sessionToken, signUpInBrowser, test as base } from './fixtures';

const test = base.extend<{}, { plane: ControlPlane }>({
  plane: [
    async ({}, use) => {
      const plane = await startControlPlane();
      await use(plane);
      await plane.stop();
    },
    { scope: 'worker' },
  ],
  baseURL: async ({ plane }, use) => use(plane.url),
  // While the server restarts, the page's reconnect attempts are refused (Chromium logs those).
  allowConsoleError: /ERR_CONNECTION_REFUSED|WebSocket connection to .* failed|status of 50[23]/,
});

test('a server-side close resumes the log from the last sequence number', async ({ page, plane, consoleErrors }) => {
  void consoleErrors;
  test.setTimeout(120_000);
  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));

  await signUpInBrowser(page);
  const token = await sessionToken(page);
  const project = await ok(plane.url, 'POST', '/api/projects', { token, body: { name: 'resume', image: 'agnox/busybox:test' } });
  const agentToken = await registerAgent(plane.url, token);
  const { taskId } = await ok(plane.url, 'POST', '/api/execution-request', { token, body: { projectId: project.id } });
  await takeJob(plane.url, agentToken, taskId);

  await page.goto(`/executions/${taskId}`);
  await expect(page.getByTestId('terminal-state')).toContainText('Live');
  await pushLog(plane.url, agentToken, taskId, numberedChunks(1, 50));
  await expect(page.getByTestId('terminal').getByText('line 50', { exact: true })).toBeVisible();
  // The room adds its own system line when the agent picks the job up; count from what is shown now.
  const before = Number(await page.getByTestId('line-count').textContent());
  expect(before).toBeGreaterThanOrEqual(50);

  await plane.restart();
  // The lease survives the restart (the dispatcher's storage is durable); keep it alive, then push
  // lines while the page may still be reconnecting.
  await ok(plane.url, 'POST', `/api/agent/jobs/${taskId}/heartbeat`, { agentToken, body: {} });
  await pushLog(plane.url, agentToken, taskId, numberedChunks(51, 50));

  await expect(page.getByTestId('terminal').getByText('line 100', { exact: true })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('terminal-state')).toContainText('Live');
  await expect(page.getByTestId('line-count')).toHaveText(String(before + 50));
  // Every numbered line exactly once: 100 matches for "line ", and any single one found once.
  await page.getByLabel('Search the log').fill('line ');
  await expect(page.getByTestId('search-hits')).toHaveText('1/100');
  await page.getByLabel('Search the log').fill('line 73');
  await expect(page.getByTestId('search-hits')).toHaveText('1/1');

  // The reconnect asked for what came after the last chunk it had, with a fresh ticket.
  const room = sockets.filter((u) => u.includes(`/api/executions/${taskId}/live`));
  expect(room.length).toBeGreaterThanOrEqual(2);
  const first = new URL(room[0]!);
  const resumed = new URL(room.at(-1)!);
  expect(Number(resumed.searchParams.get('since'))).toBeGreaterThanOrEqual(50);
  expect(resumed.searchParams.get('ticket')).not.toBe(first.searchParams.get('ticket'));
  // A used ticket is refused: reconnecting really needed the fresh one.
  const reuse = await call(plane.url, 'GET', `/api/executions/${taskId}/live?ticket=${first.searchParams.get('ticket')}`);
  expect([401, 426]).toContain(reuse.status);
});
