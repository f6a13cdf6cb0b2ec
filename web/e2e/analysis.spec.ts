// A failed run goes to ANALYZING, live, while the Worker asks the (fake) Gemini; the answer then
// appears on the run's page as the AI analysis, and the run ends FAILED.
import { ok, pushLog, registerAgent, takeJob } from './api';
import { expect, sessionToken, signUpInBrowser } from './fixtures';
import { fakeGemini, test } from './with-fake-gemini';
import { shoot } from './shoot';

const ANSWER = {
  summary: 'The payment API answered 500 for card payments.',
  likelyCause: 'The staging payment service rejects the test card after the latest deploy.',
  category: 'environment',
  suggestedFix: 'Redeploy the payment service or point staging at the sandbox gateway.',
  confidence: 0.82,
};

test('a failed run shows ANALYZING live, then the AI analysis', async ({ page, plane, gemini, consoleErrors }) => {
  void consoleErrors;
  test.setTimeout(120_000);
  // Every analysis gets ANSWER, held until the test releases it.
  // biome-ignore lint/suspicious/noThenProperty: the fake's scripted reply after the delay, never awaited
  await fakeGemini(gemini.url).script('', { kind: 'hold', then: { kind: 'json', value: ANSWER } });
  await signUpInBrowser(page);
  const token = await sessionToken(page);
  const project = await ok(plane.url, 'POST', '/api/projects', { token, body: { name: 'payments', image: 'agnox/busybox:test' } });
  const agentToken = await registerAgent(plane.url, token);
  const { taskId } = await ok(plane.url, 'POST', '/api/execution-request', { token, body: { projectId: project.id } });
  await takeJob(plane.url, agentToken, taskId);
  await page.goto(`/executions/${taskId}`);
  await expect(page.getByTestId('terminal-state')).toContainText('Live');

  await pushLog(plane.url, agentToken, taskId, [{ seq: 1, data: 'POST /pay → 500 Internal Server Error\n' }]);
  await ok(plane.url, 'POST', `/api/agent/jobs/${taskId}/complete`, {
    agentToken,
    body: {
      status: 'FAILED',
      exitCode: 1,
      lastSeq: 1,
      tests: [{ testId: 'pay', title: 'pays with card', status: 'failed', durationMs: 900, error: { message: 'expected 200, got 500' } }],
    },
  });
  const status = page.locator('main [data-status]').first();
  await expect(status).toHaveText('ANALYZING');
  await expect(page.getByTestId('analysis')).toContainText('Analyzing the failure');

  await fakeGemini(gemini.url).release();
  await expect(status).toHaveText('FAILED');
  const panel = page.getByTestId('analysis');
  await expect(panel).toContainText(ANSWER.summary);
  await expect(panel).toContainText(ANSWER.likelyCause);
  await expect(panel).toContainText(ANSWER.suggestedFix);
  await expect(panel).toContainText('Environment');
  await expect(panel).toContainText('82% confidence');
  await shoot(page, 'execution-analysis');
  // The model was asked about this failure.
  expect(gemini.requests.some((r) => r.body.includes('expected 200, got 500'))).toBe(true);
});
