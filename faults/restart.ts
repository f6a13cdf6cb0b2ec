// restart: kill `wrangler dev` while (a) active runs are queued and running with live logs and a
// viewer watching, and (b) ingest sessions are open (the real Playwright reporter, and a client on
// the ingest API), then relaunch it on the same state. Queued jobs, leases, stored logs and ingest
// sessions must survive; the agent, the reporter and the viewer reconnect and finish; nothing is
// lost or doubled (logs line by line, result counts, how often each job ran).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { FINAL, call } from '../agent/test/support/control-plane';
import { ensureBusyboxImage } from '../agent/test/support/images';
import {
  type AgentProcess,
  exactlyOnce,
  type Harness,
  launchAgent,
  lineNumbers,
  numberedLines,
  logTextOf,
  notesOf,
  ROOT,
  type Scenario,
  since,
  sleep,
  startStack,
  stopAgent,
  waitFor,
} from './lib';
import { tail } from './lib';

const RUNS = 4;
const LINES = 150;
const PW_TESTS = 30;
const INGEST_BATCHES = 8;
const INGEST_LINES_PER_BATCH = 25;

/** A viewer of one run's live socket that reconnects with `since=` its last seq, as the dashboard does. */
function watch(h: Harness, taskId: string) {
  const seqs: number[] = [];
  let connects = 0;
  let done = false;
  let ws: WebSocket | null = null;
  const connect = async (): Promise<void> => {
    if (done) return;
    const t = await call(h.cp, 'POST', '/api/auth/ws-ticket', { token: h.org.token, body: { taskId } }).catch(() => null);
    if (t?.status !== 200) {
      setTimeout(() => void connect(), 300);
      return;
    }
    const since = seqs.at(-1) ?? 0;
    ws = new WebSocket(`${h.cp.url.replace('http', 'ws')}/api/executions/${taskId}/live?ticket=${t.json.data.ticket}&since=${since}`);
    ws.on('open', () => {
      connects++;
    });
    ws.on('message', (raw) => {
      const m = JSON.parse(raw.toString());
      if (m.type === 'log') for (const c of m.chunks) seqs.push(c.seq);
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      if (!done) setTimeout(() => void connect(), 300);
    });
  };
  void connect();
  return {
    seqs,
    connects: () => connects,
    stop: () => {
      done = true;
      ws?.close();
    },
  };
}

/** A client of the ingest API that retries each call until the server takes it, as a CI script would. */
async function ingestCall(h: Harness, apiKey: string, route: string, body: unknown, deadlineMs = 120_000) {
  const deadline = Date.now() + deadlineMs;
  let failures = 0;
  for (;;) {
    const res = await call(h.cp, 'POST', route, { apiKey, body }).catch((err) => ({ status: 0, json: { success: false, error: String(err) } as any }));
    if (res.status >= 200 && res.status < 300) return { ...res, failures };
    if (res.status >= 400 && res.status < 500 && res.status !== 429) throw new Error(`${route} → ${res.status} ${JSON.stringify(res.json)}`);
    failures++;
    if (Date.now() > deadline) throw new Error(`${route} kept failing: ${res.status} ${JSON.stringify(res.json)}`);
    await sleep(250);
  }
}

const ingestBatch = (n: number) => ({
  batchId: `direct-${n}`,
  events: [
    ...Array.from({ length: INGEST_LINES_PER_BATCH }, (_, i) => ({
      type: 'log' as const,
      chunk: `ingest line ${(n - 1) * INGEST_LINES_PER_BATCH + i + 1}\n`,
      timestamp: Date.now(),
    })),
    {
      type: 'test-end' as const,
      testId: `direct-test-${n}`,
      title: `direct test ${n}`,
      file: 'direct.spec.ts',
      status: 'passed' as const,
      duration: 10,
      timestamp: Date.now(),
    },
  ],
});

export const restart: Scenario = {
  name: 'restart',
  summary: 'kill wrangler dev mid-run and mid-ingest, relaunch on the same state',
  async run(report) {
    const h = await startStack(report);
    let agent: AgentProcess | undefined;
    let viewer: ReturnType<typeof watch> | undefined;
    let pw: ReturnType<typeof spawn> | undefined;
    try {
      const busybox = ensureBusyboxImage();
      // Production timings: heartbeats every 10 s, polls held 25 s.
      ({ agent } = await launchAgent(h, { concurrency: 2, env: { AGNOX_HEARTBEAT_MS: '10000', AGNOX_POLL_WAIT_MS: '25000' } }));
      const projectId = await h.project({ image: busybox, command: `echo start; ${numberedLines(LINES, 100)}` });
      const taskIds: string[] = [];
      for (let i = 0; i < RUNS; i++) taskIds.push(await h.requestRun({ projectId }));
      report.step(`queued ${RUNS} runs of ${LINES} lines (one per 100 ms) for an agent with 2 slots`);
      viewer = watch(h, taskIds[0]!);

      // (b1) the real reporter: a Playwright run of PW_TESTS tests, one worker.
      const apiKey = await h.apiKey();
      const pwProject = await h.project({ image: 'external', command: 'npx playwright test' });
      const pwOut = mkdtempSync(path.join(tmpdir(), 'agnox-fault-pw-'));
      const pwJson = path.join(pwOut, 'results.json');
      let pwLog = '';
      const child = spawn(
        path.join(ROOT, 'node_modules/.bin/playwright'),
        ['test', '-c', path.join(import.meta.dirname, 'fixtures/reporter-suite/playwright.config.ts')],
        {
          cwd: path.join(import.meta.dirname, 'fixtures/reporter-suite'),
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            ...process.env,
            AGNOX_API_KEY: apiKey,
            AGNOX_PROJECT_ID: pwProject,
            AGNOX_BASE_URL: h.cp.url,
            AGNOX_FLUSH_INTERVAL_MS: '250',
            AGNOX_DEBUG: '1',
            AGNOX_END_TIMEOUT_MS: '15000',
            PW_OUTPUT_DIR: path.join(pwOut, 'out'),
            PW_JSON_FILE: pwJson,
            FAULT_TESTS: String(PW_TESTS),
          },
        },
      );
      pw = child;
      child.stdout!.on('data', (d) => {
        pwLog += d;
      });
      child.stderr!.on('data', (d) => {
        pwLog += d;
      });
      const pwExit = new Promise<number | null>((r) => child.on('close', r));
      report.step(`Playwright run of ${PW_TESTS} tests started with @agnox/playwright-reporter`);

      // (b2) a client of the ingest API: setup and the first half of its batches before the restart.
      const setup = await ingestCall(h, apiKey, '/api/ingest/setup', {
        projectId: pwProject,
        framework: 'jest',
        reporterVersion: 'fault-script',
        totalTests: INGEST_BATCHES,
        runName: 'fault: direct ingest',
      });
      const session = setup.json.data as { sessionId: string; taskId: string };
      for (let n = 1; n <= INGEST_BATCHES / 2; n++) await ingestCall(h, apiKey, '/api/ingest/event', { sessionId: session.sessionId, ...ingestBatch(n) });
      report.step(`ingest session ${session.taskId} open, ${INGEST_BATCHES / 2} of ${INGEST_BATCHES} batches sent`);

      // Mid-flight: two runs running with live output, two queued, the reporter's run streaming.
      const pwTask = await waitFor(
        'the reporter run to stream',
        async () => {
          const list = (await call(h.cp, 'GET', `/api/executions?projectId=${pwProject}&source=external-ci`, { token: h.org.token })).json.data.items as any[];
          const run = list.find((e) => e.taskId !== session.taskId);
          return run && (await h.logs(run.taskId)).some((c) => c.data.includes('pw line 6')) ? (run.taskId as string) : undefined;
        },
        90_000,
        250,
      );
      await waitFor(
        'two runs to stream',
        async () => {
          const counts = await Promise.all(taskIds.slice(0, 2).map(async (t) => lineNumbers(await h.logs(t)).length));
          return counts.every((n) => n >= 30);
        },
        60_000,
        200,
      );
      const before = await Promise.all(
        taskIds.map(async (t) => ({ status: (await h.execution(t)).status as string, lines: lineNumbers(await h.logs(t)).length })),
      );
      const pwBefore = (await h.logs(pwTask)).length;
      report.step(
        `before the restart: ${before.map((b, i) => `run ${i + 1} ${b.status} (${b.lines} lines)`).join(', ')}; reporter run ${pwTask} has ${pwBefore} chunks`,
      );

      const t0 = Date.now();
      await h.cp.restart();
      const downtime = since(t0);
      report.figure('restart (kill + relaunch to /api/health)', downtime, 's');

      const after = await Promise.all(
        taskIds.map(async (t) => ({ status: (await h.execution(t)).status as string, lines: lineNumbers(await h.logs(t)).length })),
      );
      report.check(
        'queued runs survive the restart (still PENDING)',
        before.every((b, i) => b.status !== 'PENDING' || after[i]!.status === 'PENDING' || after[i]!.status === 'RUNNING'),
        after.map((a) => a.status).join(', '),
      );
      report.check(
        'running runs keep their lease (still RUNNING, not requeued)',
        before.every((b, i) => b.status !== 'RUNNING' || after[i]!.status === 'RUNNING'),
        after.map((a) => a.status).join(', '),
      );
      report.check(
        'stored logs survive the restart',
        before.every((b, i) => after[i]!.lines >= b.lines),
        after.map((a, i) => `${before[i]!.lines}→${a.lines}`).join(', '),
      );
      report.check("the reporter run's stored log survives", (await h.logs(pwTask)).length >= pwBefore);

      // How long until the agent's output flows again after the control plane is back.
      const resumed = Date.now();
      await waitFor(
        "a running run's log to grow again",
        async () => {
          const now = await Promise.all(taskIds.map(async (t) => lineNumbers(await h.logs(t)).length));
          return now.some((n, i) => before[i]!.status === 'RUNNING' && (n > after[i]!.lines || n === LINES));
        },
        60_000,
        100,
      ).then(
        () => report.figure('agent log stream resumed after the relaunch', since(resumed), 's'),
        () => report.check('agent log stream resumes after the relaunch', false, 'no new line in 60 s'),
      );

      // The ingest client goes on: a resend of a batch from before the restart, then the rest.
      const dup = await ingestCall(h, apiKey, '/api/ingest/event', { sessionId: session.sessionId, ...ingestBatch(INGEST_BATCHES / 2) });
      report.check('a batch resent after the restart is recognised as a duplicate', dup.json.data.duplicate === true, JSON.stringify(dup.json.data));
      for (let n = INGEST_BATCHES / 2 + 1; n <= INGEST_BATCHES; n++)
        await ingestCall(h, apiKey, '/api/ingest/event', { sessionId: session.sessionId, ...ingestBatch(n) });
      await ingestCall(h, apiKey, '/api/ingest/teardown', {
        sessionId: session.sessionId,
        status: 'PASSED',
        summary: { total: INGEST_BATCHES, passed: INGEST_BATCHES, failed: 0, skipped: 0, duration: 1000 },
      });

      // Everything finishes.
      const ends = await Promise.all(taskIds.map((t) => h.waitForStatus(t, FINAL, 180_000)));
      report.step(`runs ended: ${ends.map((e) => `${e.status} (attempt ${e.attempt})`).join(', ')}`);
      const code = await Promise.race([pwExit, sleep(180_000).then(() => 'timeout' as const)]);
      report.step(`Playwright exited ${code}`);
      const pwRun = await h.waitForStatus(pwTask, FINAL, 60_000).catch((err) => {
        throw new Error(
          `${String(err)}\nreporter said:\n${pwLog
            .split('\n')
            .filter((l) => /agnox/i.test(l))
            .slice(-15)
            .join('\n')}`,
        );
      });
      const direct = await h.waitForStatus(session.taskId, FINAL, 60_000);
      await sleep(500); // the viewer's last frames
      viewer.stop();

      // Checks, run by run.
      for (const [i, t] of taskIds.entries()) {
        const chunks = await h.logs(t);
        const once = exactlyOnce(lineNumbers(chunks), LINES);
        const pickups = notesOf(chunks).filter((n) => n.includes('picked up by agent')).length;
        report.check(
          `run ${i + 1} PASSED on its first attempt`,
          ends[i]!.status === 'PASSED' && ends[i]!.attempt === 1,
          `${ends[i]!.status}, attempt ${ends[i]!.attempt}${
            ends[i]!.status === 'PASSED'
              ? ''
              : `: ${notesOf(chunks).join(' | ')} ${chunks
                  .filter((c) => c.stream === 'system')
                  .map((c) => c.data)
                  .join('')
                  .slice(-600)}`
          }`,
        );
        report.check(`run ${i + 1} log complete`, once.ok, once.detail);
        report.check(`run ${i + 1} was handed out once`, pickups === 1, `${pickups} pick-ups`);
      }
      const stored = (await h.logs(taskIds[0]!)).map((c) => c.seq);
      const seen = [...new Set(viewer.seqs)];
      report.check(
        'the live viewer saw every stored chunk exactly once, across its reconnects',
        seen.length === viewer.seqs.length && stored.every((s) => seen.includes(s)) && seen.length === stored.length,
        `${viewer.seqs.length} received (${seen.length} distinct) of ${stored.length} stored, ${viewer.connects()} connects`,
      );

      const pwJsonReport = JSON.parse(readFileSync(pwJson, 'utf8'));
      const pwTests = await h.tests(pwTask);
      const pwLines = logTextOf(await h.logs(pwTask))
        .split('\n')
        .map((l) => /^pw line (\d+)$/.exec(l))
        .filter((m): m is RegExpExecArray => !!m)
        .map((m) => Number(m[1]));
      const pwOnce = exactlyOnce(pwLines, 2 * PW_TESTS);
      report.check(
        'reporter run: Playwright passed and the run is stored PASSED',
        code === 0 && pwRun.status === 'PASSED',
        `exit ${code}, ${pwRun.status}; playwright expected=${pwJsonReport.stats.expected}`,
      );
      report.check(
        'reporter run: every test result stored once',
        pwTests.length === PW_TESTS && pwRun.totalTests === PW_TESTS && pwRun.passed === PW_TESTS,
        `${pwTests.length} results, total ${pwRun.totalTests}, passed ${pwRun.passed}`,
      );
      report.check('reporter run: console output complete', pwOnce.ok, pwOnce.detail);
      const spooled = /spool/i.test(pwLog) && /upload/i.test(pwLog);
      report.check('reporter delivered everything itself (no spool left to upload)', !spooled, spooled ? tailOf(pwLog) : '');
      const retries = (pwLog.match(/failed \(/g) ?? []).length;
      report.figure('reporter calls that failed during the restart (then retried)', retries);

      const directTests = await h.tests(session.taskId);
      const directLines = logTextOf(await h.logs(session.taskId))
        .split('\n')
        .map((l) => /^ingest line (\d+)$/.exec(l))
        .filter((m): m is RegExpExecArray => !!m)
        .map((m) => Number(m[1]));
      const directOnce = exactlyOnce(directLines, INGEST_BATCHES * INGEST_LINES_PER_BATCH);
      report.check(
        'direct ingest: run PASSED with every result once',
        direct.status === 'PASSED' && directTests.length === INGEST_BATCHES,
        `${direct.status}, ${directTests.length} results`,
      );
      report.check('direct ingest: log complete', directOnce.ok, directOnce.detail);
    } finally {
      if (agent && report.failed) report.step(`agent output (last lines):\n${tail(agent.output(), 25)}`);
      viewer?.stop();
      if (pw && pw.exitCode === null) pw.kill('SIGKILL');
      await stopAgent(agent);
      await h.stop();
    }
  },
};

const tailOf = (text: string) =>
  text
    .split('\n')
    .filter((l) => /spool|upload|failed/i.test(l))
    .slice(-5)
    .join(' | ');
