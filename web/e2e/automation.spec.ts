// Test management in the browser against a real control plane: a schedule (with the next-run preview
// and the parser's message for a bad expression), a test case whose steps the (fake) Gemini proposes
// and the user edits, and a cycle whose automated item follows a real run while a manual item is marked.
import { createProject, ok, registerAgent, takeJob } from './api';
import { expect, sessionToken, signUpInBrowser } from './fixtures';
import { fakeGemini, test } from './with-fake-gemini';
import { shoot } from './shoot';

const STEPS = [
  { action: 'Add a product to the cart and open the cart', expected: 'The cart shows the product at full price' },
  { action: 'Enter coupon SAVE10 and press Apply', expected: 'The total drops by 10% and the coupon is listed' },
  { action: 'Reload the page', expected: 'The coupon is still applied' },
];

// The bad CRON expression the test types on purpose is answered 400, which Chromium logs (the message
// holds no URL, so this allows any 400; every step below still checks what the page shows).
test.use({ allowConsoleError: /status of 400 \(Bad Request\)/ });

test('create a schedule, a test case with AI steps, run a cycle and mark a manual item', async ({ page, plane, gemini, consoleErrors }) => {
  void consoleErrors;
  test.setTimeout(150_000);
  await signUpInBrowser(page);
  const token = await sessionToken(page);
  const project = await createProject(plane.url, token, 'shop-web');

  // Schedules: a bad expression shows the parser's message; a good one its next runs.
  await page.getByRole('link', { name: 'Schedules' }).first().click();
  await page.getByRole('button', { name: 'New schedule' }).click();
  const form = page.getByRole('form', { name: 'New schedule' });
  await form.getByLabel('Name', { exact: true }).fill('Nightly regression');
  await form.getByLabel('CRON expression').fill('0 25 * * *');
  await expect(page.getByTestId('next-runs-preview')).toContainText('Invalid value for hour');
  await form.getByLabel('CRON expression').fill('30 2 * * 1-5');
  await form.getByLabel('Time zone').fill('Europe/Berlin');
  await expect(page.getByTestId('next-runs-preview')).toContainText('Next runs (Europe/Berlin):');
  await expect(page.getByTestId('next-runs-preview')).toContainText('02:30');
  await form.getByLabel('Environment').fill('staging');
  await form.getByLabel('Test folder').fill('tests/regression');
  await form.getByRole('button', { name: 'Create schedule' }).click();
  const schedule = page.getByTestId('schedules').getByRole('listitem').filter({ hasText: 'Nightly regression' });
  await expect(schedule).toContainText('30 2 * * 1-5');
  await expect(schedule).toContainText('Europe/Berlin');
  // Shown on the schedule's own clock: 02:30 in Berlin, whatever the browser's zone.
  await expect(schedule.getByTestId('next-run')).toContainText('Next:');
  await expect(schedule.getByTestId('next-run')).toContainText('02:30');
  await shoot(page, 'schedules');
  const saved = await ok(plane.url, 'GET', '/api/schedules', { token });
  expect(saved[0]).toMatchObject({
    name: 'Nightly regression',
    cron: '30 2 * * 1-5',
    timezone: 'Europe/Berlin',
    environment: 'staging',
    folder: 'tests/regression',
    enabled: true,
  });

  // Test case with AI-proposed steps, one of them edited before saving.
  await fakeGemini(gemini.url).script('Apply a coupon at checkout', { kind: 'json', value: { preconditions: 'A signed-in shopper', steps: STEPS } });
  await page.getByRole('link', { name: 'Test cases' }).first().click();
  await page.getByRole('button', { name: 'New test case' }).click();
  const editor = page.getByRole('form', { name: 'Test case' });
  await editor.getByLabel('Title').fill('Apply a coupon at checkout');
  await editor.getByLabel('Description').fill('Coupons reduce the cart total; they survive a reload.');
  await editor.getByLabel('Suite').fill('Checkout');
  await editor.getByLabel('Tags').fill('smoke, payments');
  await editor.getByRole('button', { name: 'Generate steps with AI' }).click();
  await expect(editor.getByLabel('Step 3 action')).toHaveValue(STEPS[2]!.action);
  await expect(editor.getByLabel('Step 1 expected result')).toHaveValue(STEPS[0]!.expected);
  await expect(editor.getByLabel('Preconditions')).toHaveValue('A signed-in shopper');
  await editor.getByLabel('Step 2 expected result').fill('The total drops by exactly 10%');
  await shoot(page, 'test-case-ai-steps');
  await editor.getByRole('button', { name: 'Save test case' }).click();
  const row = page.getByTestId('test-cases').getByRole('listitem').filter({ hasText: 'Apply a coupon at checkout' });
  await expect(row).toContainText('3 steps');
  await expect(row).toContainText('#payments');
  const [stored] = await ok(plane.url, 'GET', `/api/test-cases?projectId=${project.id}`, { token });
  expect(stored.steps[1]).toEqual({ action: STEPS[1]!.action, expected: 'The total drops by exactly 10%' });
  expect(gemini.requests.filter((r) => r.body.includes('Apply a coupon at checkout'))).toHaveLength(1);

  // An automated case next to it, then a cycle of both.
  await ok(plane.url, 'POST', '/api/test-cases', {
    token,
    body: { projectId: project.id, title: 'Checkout e2e', type: 'automated', automatedTest: 'tests/checkout.spec.ts' },
  });
  await page.getByRole('link', { name: 'Cycles' }).first().click();
  await page.getByRole('button', { name: 'New cycle' }).click();
  const cycleForm = page.getByRole('form', { name: 'New cycle' });
  await cycleForm.getByLabel('Name', { exact: true }).fill('Release 2.3');
  await cycleForm.getByLabel('Apply a coupon at checkout').check();
  await cycleForm.getByLabel('Checkout e2e').check();
  await cycleForm.getByRole('button', { name: 'Create cycle' }).click();
  await expect(page.getByRole('heading', { name: 'Release 2.3' })).toBeVisible();
  await expect(page.getByTestId('cycle-status')).toHaveText('PENDING');

  // Run the automated item: a real run, taken and finished by an agent.
  const agentToken = await registerAgent(plane.url, token);
  await page.getByRole('button', { name: 'Run automated items' }).click();
  const autoItem = page.locator('[data-item-type="automated"]');
  await expect(autoItem.locator('[data-item-status]')).toHaveText('RUNNING');
  const cycles = await ok(plane.url, 'GET', '/api/test-cycles', { token });
  const detail = await ok(plane.url, 'GET', `/api/test-cycles/${cycles[0].id}`, { token });
  const taskId = detail.items.find((i: any) => i.type === 'automated').taskId as string;
  const job = await takeJob(plane.url, agentToken, taskId);
  expect(job.tests).toEqual(['tests/checkout.spec.ts']);
  await ok(plane.url, 'POST', `/api/agent/jobs/${taskId}/complete`, { agentToken, body: { status: 'PASSED', exitCode: 0 } });
  await expect(autoItem.locator('[data-item-status]')).toHaveText('PASSED'); // the page follows without a reload
  await expect(page.getByTestId('cycle-status')).toHaveText('RUNNING');

  // Mark the manual item with a note: the cycle completes.
  const manualItem = page.locator('[data-item-type="manual"]');
  await manualItem.getByLabel('Notes for Apply a coupon at checkout').fill('Checked on Firefox and Safari');
  await manualItem.getByRole('button', { name: 'Pass' }).click();
  await expect(manualItem.locator('[data-item-status]')).toHaveText('PASSED');
  await expect(page.getByTestId('cycle-status')).toHaveText('COMPLETED');
  await expect(page.getByTestId('cycle-summary')).toContainText('2 items · 2 passed · 0 failed');
  await shoot(page, 'cycle-detail');
  const done = await ok(plane.url, 'GET', `/api/test-cycles/${cycles[0].id}`, { token });
  expect(done.items.find((i: any) => i.type === 'manual')).toMatchObject({ status: 'PASSED', notes: 'Checked on Firefox and Safari' });
});

test('an invitation email lands in the development outbox, and its accept link signs the invitee in', async ({ page, plane, browser, consoleErrors }) => {
  void consoleErrors;
  await signUpInBrowser(page, 'Initech QA');
  const token = await sessionToken(page);
  const email = `tester-${Date.now()}@example.com`;
  await ok(plane.url, 'POST', '/api/invitations', { token, body: { email, role: 'developer' } });

  await page.goto('/settings/emails');
  const mail = page.getByTestId('emails').getByRole('listitem').filter({ hasText: email });
  // A fixed subject: the org's and inviter's names (chosen by whoever signs up) are only in the body.
  await expect(mail).toContainText('You have been invited to a team on Agnox');
  await expect(mail).toContainText('outbox');
  await mail.getByRole('button', { name: /invited to a team/ }).click();
  const text = await mail.getByTestId('email-text').innerText();
  expect(text).toContain('Ada Admin invited you to join Initech QA on Agnox as developer.');
  const link = new URL(/https?:\/\/\S+\/accept-invite\?token=\S+/.exec(text)![0]);
  await shoot(page, 'settings-emails');

  // The invitee opens the link (on this control plane's origin) in a fresh browser.
  const invitee = await (await browser.newContext()).newPage();
  await invitee.goto(`${plane.url}${link.pathname}${link.search}`);
  await expect(invitee.getByTestId('invite-summary')).toContainText(`Join Initech QA as developer with ${email}`);
  await invitee.getByLabel('Your name').fill('Tess Tester');
  await invitee.getByLabel('Choose a password').fill('correct-horse-42');
  await invitee.getByRole('button', { name: 'Accept invitation' }).click();
  await expect(invitee).toHaveURL(/\/executions$/);
  await expect(invitee.getByTestId('current-role')).toHaveText('developer');
  await invitee.context().close();
});

test.describe('a link that no longer works', () => {
  // The lookup of a revoked invitation answers 410, which Chromium logs.
  test.use({ allowConsoleError: /status of 410/ });

  test("a revoked invitation's link says so instead of showing the form", async ({ page, plane, consoleErrors }) => {
    void consoleErrors;
    const admin = await ok(plane.url, 'POST', '/api/auth/signup', {
      body: { email: `admin-${Date.now()}@example.com`, password: 'correct-horse-42', name: 'Ada Admin', organizationName: 'Revokers' },
    });
    const token = admin.token as string;
    const invite = await ok(plane.url, 'POST', '/api/invitations', { token, body: { email: `gone-${Date.now()}@example.com`, role: 'viewer' } });
    await ok(plane.url, 'DELETE', `/api/invitations/${invite.id}`, { token });
    // The invitee's browser: not signed in.
    await page.goto(`/accept-invite?token=${invite.token}`);
    await expect(page.getByRole('alert')).toHaveText('This invitation was revoked by an admin');
    await expect(page.getByRole('button', { name: 'Accept invitation' })).toHaveCount(0);
  });
});
