// d1-errors: D1 fails under the real stack. The script holds an exclusive write lock on the local D1
// SQLite file (under wrangler's state folder) for a few seconds, with no change to product code.
// Meanwhile API writes must answer a clear 503 (code DATABASE_UNAVAILABLE, Retry-After) rather than
// a 500 or a crash; the agent and an ingest client retry and finish after the lock is released; no
// data is lost (the run's result, its log, the ingest run's results).
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { call, FINAL } from '../agent/test/support/control-plane';
import { ensureBusyboxImage } from '../agent/test/support/images';
import {
  type AgentProcess,
  exactlyOnce,
  launchAgent,
  lineNumbers,
  logTextOf,
  notesOf,
  numberedLines,
  type Scenario,
  since,
  sleep,
  startStack,
  stopAgent,
  waitFor,
} from './lib';
import { tail } from './lib';

const LOCK_MS = Number(process.env.FAULT_LOCK_MS ?? 10_000);
const LINES = 60;

function d1File(stateDir: string): string {
  const dir = path.join(stateDir, 'v3/d1/miniflare-D1DatabaseObject');
  const file = readdirSync(dir).find((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite');
  if (!file) throw new Error(`no D1 database file in ${dir}`);
  return path.join(dir, file);
}

export const d1Errors: Scenario = {
  name: 'd1-errors',
  summary: `hold an exclusive lock on the local D1 file for ${LOCK_MS / 1000} s under live traffic`,
  async run(report) {
    const h = await startStack(report);
    let agent: AgentProcess | undefined;
    let db: DatabaseSync | undefined;
    try {
      const busybox = ensureBusyboxImage();
      ({ agent } = await launchAgent(h, { env: { AGNOX_HEARTBEAT_MS: '2000', AGNOX_POLL_WAIT_MS: '5000' } }));
      const projectId = await h.project({ image: busybox, command: numberedLines(LINES, 100) });
      const apiKey = await h.apiKey();
      const setup = await call(h.cp, 'POST', '/api/ingest/setup', {
        apiKey,
        body: { projectId, framework: 'jest', reporterVersion: 'fault-script', totalTests: 3 },
      });
      const session = setup.json.data as { sessionId: string; taskId: string };
      const taskId = await h.requestRun({ projectId });
      await waitFor('the run to stream', async () => lineNumbers(await h.logs(taskId)).length >= 20, 60_000, 100);

      const file = d1File(h.cp.stateDir);
      db = new DatabaseSync(file);
      db.exec('BEGIN EXCLUSIVE');
      const lockedAt = Date.now();
      report.step(`exclusive lock taken on ${path.basename(file)}`);

      // What a client sees meanwhile.
      const write = await call(h.cp, 'POST', '/api/projects', { token: h.org.token, body: { name: 'during-lock', image: busybox, command: 'true' } });
      const retryAfter = await fetch(`${h.cp.url}/api/execution-request`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.org.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ projectId }),
      });
      const runDuringLock = { status: retryAfter.status, retryAfter: retryAfter.headers.get('retry-after'), json: (await retryAfter.json()) as any };
      const read = await call(h.cp, 'GET', `/api/executions/${taskId}`, { token: h.org.token });
      const event = await call(h.cp, 'POST', '/api/ingest/event', {
        apiKey,
        body: {
          sessionId: session.sessionId,
          batchId: 'b1',
          events: [
            { type: 'log', chunk: 'ingest line 1\n', timestamp: Date.now() },
            { type: 'test-end', testId: 't1', title: 't1', status: 'passed', duration: 5, timestamp: Date.now() },
          ],
        },
      });
      const teardown = () =>
        call(h.cp, 'POST', '/api/ingest/teardown', {
          apiKey,
          body: { sessionId: session.sessionId, status: 'PASSED', summary: { total: 1, passed: 1, failed: 0, skipped: 0, duration: 10 } },
        });
      const teardownDuringLock = await teardown();
      report.check(
        'a write answers 503 DATABASE_UNAVAILABLE (not 500)',
        write.status === 503 && write.json.code === 'DATABASE_UNAVAILABLE',
        `${write.status} ${JSON.stringify(write.json)}`,
      );
      report.check(
        'a run request answers 503 with Retry-After',
        runDuringLock.status === 503 && !!runDuringLock.retryAfter && runDuringLock.json.code === 'DATABASE_UNAVAILABLE',
        `${runDuringLock.status}, Retry-After ${runDuringLock.retryAfter}, ${JSON.stringify(runDuringLock.json)}`,
      );
      report.check('reads still answer (WAL readers are not blocked)', read.status === 200, String(read.status));
      report.check('ingest events still flow (they write no D1 row)', event.status === 200, `${event.status} ${JSON.stringify(event.json)}`);
      report.check(
        'an ingest teardown answers 503 DATABASE_UNAVAILABLE',
        teardownDuringLock.status === 503 && teardownDuringLock.json.code === 'DATABASE_UNAVAILABLE',
        `${teardownDuringLock.status} ${JSON.stringify(teardownDuringLock.json)}`,
      );

      // The run's output ends during the lock: the agent's complete call meets it.
      await sleep(Math.max(0, LOCK_MS - (Date.now() - lockedAt)));
      db.exec('COMMIT');
      db.close();
      db = undefined;
      const releasedAt = Date.now();
      report.step(`lock released after ${since(lockedAt).toFixed(1)} s`);
      report.check('wrangler dev is still up', h.cp.process.exitCode === null && (await fetch(`${h.cp.url}/api/health`)).ok);

      // Clients retry, as they should on a 503.
      let td = await teardown();
      for (let i = 0; td.status !== 200 && i < 20; i++) {
        await sleep(500);
        td = await teardown();
      }
      report.check('the ingest teardown succeeds when retried after the lock', td.status === 200, `${td.status} ${JSON.stringify(td.json)}`);
      const run2 = await h.requestRun({ projectId });

      const end = await h.waitForStatus(taskId, FINAL, 90_000).catch(async () => h.execution(taskId));
      report.figure('lock released → run ended', since(releasedAt), 's');
      const chunks = await h.logs(taskId);
      const once = exactlyOnce(lineNumbers(chunks), LINES);
      report.check(
        'the run that finished during the lock is stored PASSED',
        end.status === 'PASSED',
        `${end.status}; ${notesOf(chunks).slice(-2).join(' | ')}; agent: ${agent
          .output()
          .split('\n')
          .filter((l) => /could not report|complete/.test(l))
          .join(' | ')}`,
      );
      report.check('its log is complete', once.ok, once.detail);
      const end2 = await h.waitForStatus(run2, FINAL, 90_000).catch(async () => h.execution(run2));
      report.check('a run requested after the lock runs and PASSES', end2.status === 'PASSED', end2.status);
      const ingestRun = await h.execution(session.taskId);
      const ingestTests = await h.tests(session.taskId);
      report.check(
        'the ingest run is PASSED with its result and log',
        ingestRun.status === 'PASSED' && ingestTests.length === 1 && logTextOf(await h.logs(session.taskId)).includes('ingest line 1'),
        `${ingestRun.status}, ${ingestTests.length} result(s)`,
      );
      const errors = h.cp
        .output()
        .split('\n')
        .filter((l) => /unhandled error/.test(l));
      report.figure('unhandled errors logged by the Worker during the lock', errors.length);
      if (report.failed) for (const e of new Set(errors.map((l) => l.slice(0, 400)))) report.step(`worker said: ${e}`);
    } finally {
      if (agent && report.failed) report.step(`agent output (last lines):\n${tail(agent.output(), 25)}`);
      try {
        db?.exec('ROLLBACK');
        db?.close();
      } catch {
        /* closed */
      }
      await stopAgent(agent);
      await h.stop();
    }
  },
};
