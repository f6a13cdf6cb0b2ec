// Starts the real control plane (`wrangler dev`, workerd with local D1/DO/R2) for node-side tests,
// benches and scripts: a fresh state folder, migrations applied, waits for /api/health.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const WRANGLER = path.join(ROOT, 'node_modules/.bin/wrangler');

export type ControlPlane = {
  url: string;
  port: number;
  stateDir: string;
  process: ChildProcess;
  /** The Worker's V8 inspector (DevTools protocol), e.g. for heap figures. */
  inspectorPort: number;
  output: () => string;
  stop: () => Promise<void>;
  restart: () => Promise<void>;
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

// wrangler dev's local observability keeps a trace of every invocation in a SQLite store (CPU and memory a
// deployment does not spend; ~250 MB in 10 minutes of load): off for tests and benches unless asked for.
const childEnv = () => ({
  ...process.env,
  CI: 'true',
  WRANGLER_SEND_METRICS: 'false',
  NO_COLOR: '1',
  FORCE_COLOR: '0',
  X_LOCAL_OBSERVABILITY: process.env.X_LOCAL_OBSERVABILITY ?? 'false',
});

/**
 * Agnox's wrangler.toml serves web/dist as static assets and wrangler refuses to start without it;
 * `npm test` builds it first, a bench or the load test on a fresh clone would not have it.
 */
function buildDashboardOnce() {
  if (existsSync(path.join(ROOT, 'web/dist/index.html'))) return;
  console.log('building the dashboard (web/dist), which wrangler dev serves: once per checkout');
  const built = spawnSync(path.join(ROOT, 'node_modules/.bin/vite'), ['build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], {
    cwd: ROOT,
    env: childEnv(),
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`building the dashboard failed:\n${built.stdout}\n${built.stderr}`);
}

/**
 * `vars` override wrangler.toml [vars] for this instance (e.g. GEMINI_BASE_URL for a fake server).
 * `cpus` pins wrangler and its workerd processes to those CPUs (taskset list, e.g. "1"): a benchmark
 * can keep the server off the CPUs of the client it measures, as a real deployment would.
 * `config` serves another wrangler.toml (relative to the repository root) instead of Agnox's.
 */
export async function startControlPlane(
  opts: { vars?: Record<string, string>; stateDir?: string; cpus?: string; config?: string } = {},
): Promise<ControlPlane> {
  const stateDir = opts.stateDir ?? mkdtempSync(path.join(tmpdir(), 'agnox-state-'));
  // Another config (a bench's floor worker) has no D1 to migrate.
  const config = opts.config ? ['--config', opts.config] : [];
  if (!opts.config) {
    buildDashboardOnce();
    const migrate = spawnSync(WRANGLER, ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', stateDir], {
      cwd: ROOT,
      env: childEnv(),
      encoding: 'utf8',
    });
    if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
  }
  const port = await freePort();
  let log = '';
  let child!: ChildProcess;
  let inspectorPort = 0;

  const launch = async () => {
    const varArgs = Object.entries({ ENVIRONMENT: 'development', ...opts.vars }).flatMap(([k, v]) => ['--var', `${k}:${v}`]);
    inspectorPort = await freePort();
    const pinned = opts.cpus ? ['-c', opts.cpus, WRANGLER] : [];
    child = spawn(
      opts.cpus ? 'taskset' : WRANGLER,
      [
        ...pinned,
        'dev',
        ...config,
        '--port',
        String(port),
        '--ip',
        '127.0.0.1',
        '--persist-to',
        stateDir,
        '--inspector-port',
        String(inspectorPort),
        '--show-interactive-dev-session=false',
        ...varArgs,
      ],
      {
        cwd: ROOT,
        env: childEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    child.stdout!.on('data', (d) => {
      log += d;
    });
    child.stderr!.on('data', (d) => {
      log += d;
    });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${log}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/health`);
        if (res.ok) return;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`wrangler dev did not answer /api/health within 60 s:\n${log}`);
  };

  const kill = async () => {
    if (child.exitCode !== null || child.signalCode) return;
    const exited = new Promise((r) => child.once('exit', r));
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* gone */
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stateDir,
    get process() {
      return child;
    },
    get inspectorPort() {
      return inspectorPort;
    },
    output: () => log,
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      await kill();
      if (!opts.stateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
