// docker-stop: the Docker daemon dies under a running agent. The machine's shared dockerd is never
// touched: this scenario starts a second dockerd of its own (own socket, data root, exec root,
// pidfile; a bridge of its own, no iptables), loads the test image into it, points the agent at it with
// DOCKER_HOST, and SIGKILLs that daemon mid-job. The run must end FAILED/ERROR with a clear reason;
// the agent must stay alive, report itself unhealthy (and take no job it cannot run), and recover
// when the daemon is back.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { call, FINAL } from '../agent/test/support/control-plane';
import { ensureBusyboxImage } from '../agent/test/support/images';
import {
  type AgentProcess,
  containersOf,
  type Harness,
  launchAgent,
  lineNumbers,
  notesOf,
  numberedLines,
  type Report,
  type Scenario,
  since,
  sleep,
  startStack,
  stopAgent,
  waitFor,
} from './lib';
import { tail } from './lib';

/** A private dockerd; short paths because unix socket paths are limited to 108 bytes. */
function privateDaemon(report: Report) {
  const dir = mkdtempSync('/tmp/afd-');
  const host = `unix://${dir}/docker.sock`;
  let child: ChildProcess | null = null;
  const env = { ...process.env, DOCKER_HOST: host };
  // A bridge of its own: `--bridge=none` would make dockerd delete the machine's docker0, which the
  // shared engine's containers need.
  const bridge = `agxf${process.pid % 100000}`;
  const start = async () => {
    if (spawnSync('ip', ['link', 'show', bridge], { stdio: 'ignore' }).status !== 0) {
      for (const args of [
        ['link', 'add', 'name', bridge, 'type', 'bridge'],
        ['addr', 'add', '10.213.0.1/24', 'dev', bridge],
        ['link', 'set', bridge, 'up'],
      ]) {
        const r = spawnSync('ip', args, { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
      }
    }
    child = spawn(
      'dockerd',
      [
        '--host',
        host,
        '--data-root',
        `${dir}/data`,
        '--exec-root',
        `${dir}/exec`,
        '--pidfile',
        `${dir}/docker.pid`,
        `--bridge=${bridge}`,
        '--iptables=false',
        '--ip6tables=false',
        '--ip-masq=false',
        '--log-level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
    });
    await waitFor(
      'the private dockerd',
      () => spawnSync('docker', ['version'], { env, stdio: 'ignore' }).status === 0 || (child!.exitCode !== null && Promise.reject(new Error(err))),
      60_000,
      200,
    );
  };
  const kill = async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  return {
    host,
    env,
    start,
    kill,
    /** Stops it for good: dockerd, then the containerd it started (its pidfile), then the folder. */
    destroy: async () => {
      if (child && child.exitCode === null) {
        const exited = new Promise((r) => child!.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(20_000)]);
        await kill();
      }
      const pidfile = `${dir}/exec/containerd/containerd.pid`;
      if (existsSync(pidfile)) {
        const pid = Number(readFileSync(pidfile, 'utf8'));
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* gone */
        }
        await sleep(2000);
      }
      // The container shims of this daemon (they outlive a killed dockerd), by their pids.
      const shims = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter((l) => l.includes('containerd-shim') && l.includes(dir));
      for (const line of shims) {
        try {
          process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      spawnSync('umount', ['-R', `${dir}/data`], { stdio: 'ignore' });
      spawnSync('umount', ['-R', `${dir}/exec`], { stdio: 'ignore' });
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch (err) {
        report.step(`could not remove ${dir}: ${String(err)}`);
      }
      spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    },
  };
}

const agentRow = async (h: Harness, name: string) =>
  ((await call(h.cp, 'GET', '/api/agents', { token: h.org.token })).json.data as any[]).find((a) => a.name === name);

export const dockerStop: Scenario = {
  name: 'docker-stop',
  summary: 'SIGKILL the (private) Docker daemon under a running agent, then bring it back',
  async run(report) {
    const h = await startStack(report);
    const daemon = privateDaemon(report);
    let agent: AgentProcess | undefined;
    try {
      const busybox = ensureBusyboxImage();
      let t0 = Date.now();
      await daemon.start();
      const load = spawnSync('sh', ['-c', `docker save ${busybox} | DOCKER_HOST=${daemon.host} docker load`], { encoding: 'utf8' });
      if (load.status !== 0) throw new Error(`loading ${busybox} into the private daemon failed: ${load.stderr}`);
      report.step(`private dockerd at ${daemon.host} up with ${busybox} in ${since(t0).toFixed(1)} s`);

      const name = `fault-docker-${Date.now().toString(36)}`;
      ({ agent } = await launchAgent(h, { name, env: { DOCKER_HOST: daemon.host, AGNOX_HEARTBEAT_MS: '10000', AGNOX_POLL_WAIT_MS: '25000' } }));
      const projectId = await h.project({ image: busybox, command: numberedLines(300, 100) });
      const a = await h.requestRun({ projectId });
      await waitFor('run A to stream', async () => lineNumbers(await h.logs(a)).length >= 30, 60_000, 200);

      await daemon.kill();
      const killedAt = Date.now();
      report.step('private dockerd killed (SIGKILL) mid-job');
      const endA = await h.waitForStatus(a, FINAL, 120_000);
      const notesA = notesOf(await h.logs(a));
      report.figure('daemon killed → run A ended', since(killedAt), 's');
      report.check(
        'run A ends FAILED/ERROR with a reason',
        ['FAILED', 'ERROR'].includes(endA.status) && !!endA.reason,
        `${endA.status}, reason ${endA.reason}`,
      );
      const said = notesA.find((n) => n.includes('agent reported')) ?? '';
      report.check("run A's log says the Docker engine was lost", /docker/i.test(said), said);

      // While the daemon is down: the agent lives, says it is unhealthy, and takes no job.
      const b = await h.requestRun({ projectId });
      t0 = Date.now();
      const unhealthy = await waitFor(
        'the agent to report unhealthy',
        async () => {
          const r = await agentRow(h, name);
          return r?.healthy === false ? r : undefined;
        },
        60_000,
        500,
      ).catch(() => undefined);
      report.check(
        'the agent reports itself unhealthy to the control plane',
        !!unhealthy,
        unhealthy ? `healthProblem: ${unhealthy.healthProblem}` : JSON.stringify(await agentRow(h, name)),
      );
      await sleep(Math.max(0, 15_000 - (Date.now() - t0)));
      const bWhileDown = await h.execution(b);
      report.check(
        'a run queued while Docker is down waits (not taken and failed)',
        bWhileDown.status === 'PENDING',
        `${bWhileDown.status} ${bWhileDown.reason ?? ''}`,
      );
      report.check('the agent process stays alive', agent.child.exitCode === null, `exit ${agent.child.exitCode}`);

      t0 = Date.now();
      await daemon.start();
      report.step(`private dockerd restarted in ${since(t0).toFixed(1)} s`);
      const endB = await h.waitForStatus(b, FINAL, 120_000);
      report.figure('daemon back → queued run B ended', since(t0), 's');
      report.check('run B runs and PASSES once the daemon is back', endB.status === 'PASSED', `${endB.status} ${endB.reason ?? ''}`);
      const healthy = await waitFor(
        'the agent to report healthy',
        async () => {
          const r = await agentRow(h, name);
          return r?.healthy === true && r.online ? r : undefined;
        },
        60_000,
        500,
      ).catch(() => undefined);
      report.check('the agent reports healthy again', !!healthy);
      await waitFor("run A's container to be removed", () => containersOf(a, daemon.host).length === 0, 30_000, 500).catch(() => {});
      report.check("run A's container is gone after recovery", containersOf(a, daemon.host).length === 0, `${containersOf(a, daemon.host).length} left`);
      const lines = agent
        .output()
        .split('\n')
        .filter((l) => /docker/i.test(l))
        .slice(0, 6);
      report.step(`agent said:\n    ${lines.join('\n    ')}`);
    } finally {
      if (agent && report.failed) report.step(`agent output (last lines):\n${tail(agent.output(), 25)}`);
      await stopAgent(agent);
      await h.stop();
      await daemon.destroy();
    }
  },
};
