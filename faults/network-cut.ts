// network-cut: a TCP proxy between the agent and the control plane is cut for 30 s mid-job (every
// open connection destroyed, new ones refused), then restored. The sensible outcome, measured here:
// the container keeps running, the agent keeps its lease, resumes streaming, and the run completes
// with its whole log on its first attempt.
import { FINAL } from '../agent/test/support/control-plane';
import { startFlakyProxy } from '../agent/test/support/flaky-proxy';
import { ensureBusyboxImage } from '../agent/test/support/images';
import { HEARTBEAT_INTERVAL_MS, LEASE_TTL_MS } from '../worker/contracts/agent';
import {
  type AgentProcess,
  containersOf,
  exactlyOnce,
  launchAgent,
  lineNumbers,
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

const CUT_MS = Number(process.env.FAULT_CUT_MS ?? 30_000);
const LINES = 600;

export const networkCut: Scenario = {
  name: 'network-cut',
  summary: `cut the agent's network for ${CUT_MS / 1000} s mid-job, then restore it`,
  async run(report) {
    const h = await startStack(report);
    const proxy = await startFlakyProxy(h.cp.url);
    let agent: AgentProcess | undefined;
    try {
      const busybox = ensureBusyboxImage();
      // Production timings: heartbeats every HEARTBEAT_INTERVAL_MS, polls held 25 s.
      ({ agent } = await launchAgent(h, { url: proxy.url, env: { AGNOX_HEARTBEAT_MS: String(HEARTBEAT_INTERVAL_MS), AGNOX_POLL_WAIT_MS: '25000' } }));
      report.figure('lease TTL / heartbeat interval / cut', `${LEASE_TTL_MS / 1000} s / ${HEARTBEAT_INTERVAL_MS / 1000} s / ${CUT_MS / 1000} s`);
      const projectId = await h.project({ image: busybox, command: numberedLines(LINES, 100) });
      const taskId = await h.requestRun({ projectId });
      await waitFor('output to flow', async () => lineNumbers(await h.logs(taskId)).length >= 50, 60_000, 200);

      await proxy.cut();
      const cutAt = Date.now();
      const storedAtCut = lineNumbers(await h.logs(taskId)).length;
      report.step(`network cut (${storedAtCut} lines stored)`);
      let leaseLostAfter: number | undefined;
      while (Date.now() - cutAt < CUT_MS) {
        const e = await h.execution(taskId);
        if (leaseLostAfter === undefined && (e.status !== 'RUNNING' || e.attempt !== 1)) leaseLostAfter = since(cutAt);
        await sleep(500);
      }
      const running = containersOf(taskId);
      const inspect = running.length
        ? (await import('node:child_process')).spawnSync('docker', ['inspect', '-f', '{{.State.Running}}', running[0]!], { encoding: 'utf8' }).stdout.trim()
        : 'none';
      await proxy.restore();
      const restoredAt = Date.now();
      report.step(`network restored after ${since(cutAt).toFixed(1)} s`);
      report.check('the container kept running through the cut', inspect === 'true', `container running: ${inspect}`);
      report.check(
        'the control plane kept the lease through the cut',
        leaseLostAfter === undefined,
        leaseLostAfter === undefined ? 'still RUNNING, attempt 1' : `lease lost ${leaseLostAfter.toFixed(1)} s into the cut`,
      );

      // Catch-up: how long until the stored log holds everything printed so far.
      const printedByNow = () => Math.min(LINES, storedAtCut + Math.floor((Date.now() - cutAt) / 110));
      await waitFor(
        'the log to catch up',
        async () => lineNumbers(await h.logs(taskId)).length >= printedByNow() - 20 || (await h.execution(taskId)).status !== 'RUNNING',
        60_000,
        200,
      ).then(
        () => report.figure('restore → log caught up', since(restoredAt), 's'),
        () => report.check('the log catches up after the restore', false),
      );
      const end = await h.waitForStatus(taskId, FINAL, 180_000);
      const chunks = await h.logs(taskId);
      const lines = lineNumbers(chunks);
      const once = exactlyOnce(lines, LINES);
      report.step(`run ended ${end.status} (attempt ${end.attempt}, reason ${end.reason ?? '-'}) ${since(restoredAt).toFixed(1)} s after the restore`);
      report.check(
        'the run completes PASSED on its first attempt',
        end.status === 'PASSED' && end.attempt === 1,
        `${end.status}, attempt ${end.attempt}; notes: ${notesOf(chunks).join(' | ').slice(0, 400)}`,
      );
      report.check('the log is complete: every line once, in order', once.ok, once.detail);
      report.check('the container is removed', containersOf(taskId).length === 0);
      const warnings = agent
        .output()
        .split('\n')
        .filter((l) => /heartbeat failed|log upload over HTTP failed|poll failed/.test(l));
      report.figure('agent warnings during the cut (heartbeat/log/poll retries)', warnings.length);
    } finally {
      if (agent && report.failed) report.step(`agent output (last lines):\n${tail(agent.output(), 25)}`);
      await stopAgent(agent);
      await proxy.close();
      await h.stop();
    }
  },
};
