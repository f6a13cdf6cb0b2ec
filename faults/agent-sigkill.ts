// agent-sigkill: SIGKILL the agent process mid-job. The job must end in a defined state with a clear
// reason: the lease lapses and the job is retried (up to MAX_JOB_ATTEMPTS), or the run fails with
// reason agent_lost; the restarted agent removes the container its killed predecessor left behind.
import { FINAL } from '../agent/test/support/control-plane';
import { ensureBusyboxImage } from '../agent/test/support/images';
import { LEASE_TTL_MS, MAX_JOB_ATTEMPTS } from '../worker/contracts/agent';
import {
  type AgentProcess,
  containerExists,
  containersOf,
  exactlyOnce,
  type Harness,
  launchAgent,
  lineNumbers,
  notesOf,
  numberedLines,
  type Report,
  type Scenario,
  since,
  startStack,
  stopAgent,
  waitFor,
} from './lib';
import { tail } from './lib';

const LINES = 100;
const TIMINGS = { AGNOX_HEARTBEAT_MS: '10000', AGNOX_POLL_WAIT_MS: '25000' };

/** Waits for attempt `n` to run with output, kills the agent, restarts it on the same identity. */
async function killMidJob(h: Harness, report: Report, agent: AgentProcess, stateDir: string, taskId: string, n: number) {
  await waitFor(
    `attempt ${n} to stream`,
    async () => {
      const e = await h.execution(taskId);
      if (e.status !== 'RUNNING' || e.attempt !== n) return undefined;
      const text = (await h.logs(taskId)).map((c) => c.data).join('');
      // The agent's own header of attempt n (`… runs <image>, attempt n`), then output after it.
      const header = text.lastIndexOf(`, attempt ${n}\n`);
      return n === 1 ? /line 10\n/.test(text) : header >= 0 && text.slice(header).includes('line 10\n');
    },
    120_000,
    200,
  );
  agent.signal('SIGKILL');
  await agent.exited;
  const killedAt = Date.now();
  const left = containersOf(taskId);
  report.check(`attempt ${n}: the killed agent left its container behind`, left.length === 1, `${left.length} container(s)`);
  const t0 = Date.now();
  const { agent: next } = await launchAgent(h, { stateDir, env: TIMINGS });
  const removed = /removed 1 leftover container\(s\) of an earlier run/.test(next.output());
  // By the id recorded before the restart: the restarted agent gives the job back with its first
  // poll and may already run the next attempt, in a new container with the same task label.
  const stillThere = left.filter((id) => containerExists(id));
  report.check(
    `attempt ${n}: the restarted agent removed the leftover container`,
    removed && left.length > 0 && stillThere.length === 0,
    `${
      next
        .output()
        .split('\n')
        .find((l) => l.includes('leftover')) ?? 'no leftover line'
    }; left ${left.join(', ') || 'none'}${stillThere.length ? `, still there: ${stillThere.join(', ')}` : ''}`,
  );
  report.figure(`attempt ${n}: agent restart to polling (leftover removed)`, since(t0), 's');
  return { agent: next, killedAt };
}

export const agentSigkill: Scenario = {
  name: 'agent-sigkill',
  summary: 'kill -9 the agent mid-job: lease expiry, retry, agent_lost, leftover container removed',
  async run(report) {
    const h = await startStack(report);
    let agent: AgentProcess | undefined;
    try {
      const busybox = ensureBusyboxImage();
      let stateDir: string;
      ({ agent, stateDir } = await launchAgent(h, { env: TIMINGS }));
      const projectId = await h.project({ image: busybox, command: numberedLines(LINES, 100) });

      // A: killed once; the lapsed lease requeues it and the restarted agent runs it to the end.
      const a = await h.requestRun({ projectId });
      report.step(`run A ${a}: kill the agent once mid-job`);
      let killed: number;
      ({ agent, killedAt: killed } = await killMidJob(h, report, agent, stateDir, a, 1));
      await waitFor(
        'run A to be requeued',
        async () => ((await h.execution(a)).attempt === 2 || (await h.execution(a)).status === 'PENDING' ? true : undefined),
        120_000,
        250,
      );
      report.figure('run A: kill → job requeued', since(killed), 's');
      report.figure('lease TTL', LEASE_TTL_MS / 1000, 's');
      const endA = await h.waitForStatus(a, FINAL, 120_000);
      const chunksA = await h.logs(a);
      const noteA = notesOf(chunksA).find((l) => l.includes('requeued')) ?? '';
      const second = chunksA.findIndex((c) => c.data.includes(', attempt 2\n'));
      const onceA = exactlyOnce(lineNumbers(chunksA.slice(second + 1)), LINES);
      report.check('run A ends PASSED on attempt 2', endA.status === 'PASSED' && endA.attempt === 2, `${endA.status}, attempt ${endA.attempt}`);
      report.check('run A log says why it was retried', /agent lost .*requeued, attempt 2 of 3/.test(noteA), noteA);
      report.check('run A attempt 2 log complete', second >= 0 && onceA.ok, onceA.detail);
      report.figure('run A: kill → PASSED', since(killed), 's');

      // B: killed on every attempt: after MAX_JOB_ATTEMPTS the run ends ERROR agent_lost.
      const b = await h.requestRun({ projectId });
      report.step(`run B ${b}: kill the agent on each of its ${MAX_JOB_ATTEMPTS} attempts`);
      for (let n = 1; n <= MAX_JOB_ATTEMPTS; n++) {
        ({ agent, killedAt: killed } = await killMidJob(h, report, agent, stateDir, b, n));
        if (n < MAX_JOB_ATTEMPTS) {
          await waitFor(`run B attempt ${n + 1}`, async () => ((await h.execution(b)).attempt === n + 1 ? true : undefined), 120_000, 250);
          report.figure(`run B: kill ${n} → attempt ${n + 1} running`, since(killed), 's');
        }
      }
      const endB = await h.waitForStatus(b, FINAL, 120_000);
      report.figure(`run B: last kill → ${endB.status}`, since(killed), 's');
      const noteB = notesOf(await h.logs(b)).at(-1) ?? '';
      report.check(
        `run B ends ERROR with reason agent_lost after ${MAX_JOB_ATTEMPTS} attempts`,
        endB.status === 'ERROR' && endB.reason === 'agent_lost' && endB.attempt === MAX_JOB_ATTEMPTS,
        `${endB.status}, reason ${endB.reason}, attempt ${endB.attempt}`,
      );
      report.check('run B log says why it failed', /agent lost 3 times .*giving up/.test(noteB), noteB);
      report.check('no container of either run is left', containersOf(a).length + containersOf(b).length === 0);
      report.check('the last agent is alive and polling', agent.child.exitCode === null && !agent.output().includes('fatal'));
    } finally {
      if (agent && report.failed) report.step(`agent output (last lines):\n${tail(agent.output(), 25)}`);
      await stopAgent(agent);
      await h.stop();
    }
  },
};
