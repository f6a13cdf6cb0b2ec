// The reporter's cost on a 200-test Playwright run: wall time of the same run with and without
// @agnox/playwright-reporter, reporting to a real local control plane (`wrangler dev`).
// Runs alternate (without, with, without, …) so that load changes on the machine hit both alike;
// medians are compared. Also prints what the server stored, to show the run was fully reported.
// In CI the server is elsewhere; here it shares the machine. So that its work on the events does not
// count as the reporter's, the server is pinned to the last CPU and Playwright to the others
// (BENCH_SHARED_CPUS=1 turns that off and lets both share every CPU).
// Run: npm run bench:reporter   (env: BENCH_RUNS=8)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { startControlPlane } from '../../test/support/wrangler.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 8);
const CPUS = availableParallelism();
const SEPARATE = CPUS >= 2 && process.env.BENCH_SHARED_CPUS !== '1';
const SERVER_CPUS = SEPARATE ? String(CPUS - 1) : undefined;
const CLIENT_CPUS = SEPARATE ? (CPUS === 2 ? '0' : `0-${CPUS - 2}`) : undefined;
/** Playwright's workers: as many as the CPUs it has. */
const WORKERS = SEPARATE ? Math.max(1, CPUS - 1) : Math.min(2, CPUS);
const ROOT = path.resolve(import.meta.dirname, '../..');
const CONFIG = path.join(import.meta.dirname, 'fixtures/two-hundred/playwright.config.ts');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const build = spawnSync(path.join(ROOT, 'node_modules/.bin/tsup'), [], { cwd: path.join(ROOT, 'reporter'), encoding: 'utf8' });
if (build.status !== 0) throw new Error(`reporter build failed: ${build.stderr}`);

type Sample = { wallMs: number; cpuMs: number; endMs?: number };

/** One run: wall time, and CPU time of Playwright and its workers (less sensitive to a busy machine). */
function run(env: Record<string, string>): Promise<Sample> {
  const started = performance.now();
  const argv = ['/usr/bin/time', '-f', 'cpu %U %S', path.join(ROOT, 'node_modules/.bin/playwright'), 'test', '-c', CONFIG, '--workers', String(WORKERS)];
  const [cmd, ...args] = CLIENT_CPUS ? ['taskset', '-c', CLIENT_CPUS, ...argv] : argv;
  const child = spawn(cmd!, args, {
    cwd: path.dirname(CONFIG),
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PW_OUTPUT_DIR: path.join(mkdtempSync(path.join(tmpdir(), 'agnox-bench-')), 'out'), ...env },
  });
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      const cpu = err.match(/cpu ([\d.]+) ([\d.]+)/);
      if (code !== 0 || !cpu) return reject(new Error(`playwright exited ${code}: ${err.slice(-500)}`));
      const end = err.match(/end of run took (\d+) ms/);
      resolve({ wallMs: performance.now() - started, cpuMs: (Number(cpu[1]) + Number(cpu[2])) * 1000, ...(end ? { endMs: Number(end[1]) } : {}) });
    }),
  );
}

const cp = await startControlPlane({ cpus: SERVER_CPUS });
try {
  const post = async (route: string, body: unknown, token?: string) => {
    const res = await fetch(`${cp.url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return ((await res.json()) as any).data;
  };
  const { token } = await post('/api/auth/signup', {
    email: `overhead-${Date.now()}@example.com`,
    password: 'bench-password-1',
    name: 'Bench',
    organizationName: 'Bench',
  });
  const project = await post('/api/projects', { name: 'overhead', image: 'external', command: 'npx playwright test' }, token);
  const { key } = await post('/api/api-keys', { name: 'bench' }, token);
  const withReporter = { AGNOX_API_KEY: key, AGNOX_PROJECT_ID: project.id, AGNOX_BASE_URL: cp.url, AGNOX_DEBUG: '1' };

  await run({ AGNOX_REPORTER: 'off' }); // warm-up: transpile cache, first worker start
  const off: Sample[] = [];
  const on: Sample[] = [];
  for (let i = 0; i < RUNS; i++) {
    off.push(await run({ AGNOX_REPORTER: 'off' }));
    on.push(await run(withReporter));
  }
  const list = (await fetch(`${cp.url}/api/executions?projectId=${project.id}`, { headers: { authorization: `Bearer ${token}` } }).then((r) =>
    r.json(),
  )) as any;
  const last = list.data.items[0];
  const report = (what: string, key: 'wallMs' | 'cpuMs') => {
    const a = median(off.map((x) => x[key]));
    const b = median(on.map((x) => x[key]));
    console.log(
      `  ${what}: without ${a.toFixed(0)} ms, with ${b.toFixed(0)} ms → overhead ${(b - a).toFixed(0)} ms = ${(((b - a) / a) * 100).toFixed(1)} %` +
        `  [without ${off.map((x) => x[key].toFixed(0)).join(', ')} | with ${on.map((x) => x[key].toFixed(0)).join(', ')}]`,
    );
  };
  console.log(`reporter overhead on a 200-test run (${RUNS} alternating runs each, medians; target < 3 % of wall time):`);
  console.log(
    `  ${SEPARATE ? `server on CPU ${SERVER_CPUS}, Playwright (${WORKERS} workers) on CPU ${CLIENT_CPUS}` : `server and Playwright (${WORKERS} workers) share all ${CPUS} CPUs`}`,
  );
  report('wall time', 'wallMs');
  report('CPU time (runner + workers)', 'cpuMs');
  // The part of the overhead that sits on the run's critical path whatever the machine's load:
  // onEnd (last batch + teardown). Hooks during the run only push to a queue.
  const ends = on.map((x) => x.endMs ?? NaN);
  console.log(
    `  end of run (onEnd: last batch + teardown) median ${median(ends).toFixed(0)} ms = ${((median(ends) / median(off.map((x) => x.wallMs))) * 100).toFixed(1)} % of the run without reporter  [${ends.join(', ')}]`,
  );
  console.log(`  server has ${list.data.items.length} runs; last: ${last.status}, ${last.totalTests} tests, ${last.passed} passed`);
} finally {
  await cp.stop();
}
