// Reproduces the MEASURED figures of docs/scaling-model.ts with node:sqlite (SQLite, like D1 and a
// Durable Object's storage, but in memory on this machine: an order of magnitude, not a Cloudflare figure).
// Run: node docs/scaling-measure.ts   (Node 22; takes a few seconds; writes a temporary file under os.tmpdir())
import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

const time = (n: number, f: () => void) => {
  for (let i = 0; i < 5; i++) f();
  const t = performance.now();
  for (let i = 0; i < n; i++) f();
  return (performance.now() - t) / n;
};

// 1. Dispatcher.heartbeat: read the job, renew the lease, then scheduleAlarm's MIN over every leased job.
const dispatcher = new DatabaseSync(':memory:');
dispatcher.exec(`CREATE TABLE jobs (task_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, org_id TEXT NOT NULL, labels TEXT NOT NULL, payload TEXT NOT NULL,
  state TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, agent_id TEXT, lease_expires_at INTEGER, timeout_at INTEGER, cancel_reason TEXT, enqueued_at INTEGER NOT NULL);
  CREATE INDEX jobs_queued ON jobs (state, seq);`);
const payload = JSON.stringify({ image: 'mcr.microsoft.com/playwright:v1.50.0', command: 'npx playwright test', envVars: { A: '1' }, timeoutSeconds: 1800 });
const insertJob = dispatcher.prepare(
  'INSERT INTO jobs (task_id, seq, org_id, labels, payload, state, lease_expires_at, timeout_at, enqueued_at) VALUES (?,?,?,?,?,?,?,?,?)',
);
const alarm = dispatcher.prepare(`SELECT MIN(at) AS at FROM (SELECT lease_expires_at AS at FROM jobs WHERE state = 'leased'
  UNION ALL SELECT timeout_at FROM jobs WHERE state = 'leased' AND cancel_reason IS NULL
  UNION ALL SELECT timeout_at + 120000 FROM jobs WHERE state = 'leased')`);
const getJob = dispatcher.prepare('SELECT * FROM jobs WHERE task_id = ?');
const renew = dispatcher.prepare('UPDATE jobs SET lease_expires_at = ? WHERE task_id = ?');
let seq = 0;
for (const leased of [1_000, 10_000]) {
  dispatcher.exec('BEGIN');
  while (seq < leased) insertJob.run(`l${seq}`, ++seq, 'org', '{"arch":"arm64"}', payload, 'leased', Date.now() + 30_000, Date.now() + 1_800_000, Date.now());
  dispatcher.exec('COMMIT');
  const ms = time(200, () => {
    getJob.get('l5');
    renew.run(Date.now() + 30_000, 'l5');
    alarm.get();
  });
  console.log(`heartbeat SQL with ${leased.toLocaleString('en-US')} leased jobs: ${ms.toFixed(2)} ms`);
}

// 2. Dispatcher.claim with a backlog: up to 5,000 queued rows scanned, labels parsed, nothing matches.
dispatcher.exec('DELETE FROM jobs; BEGIN');
for (let i = 0; i < 5_000; i++) insertJob.run(`q${i}`, i, `org${i % 1000}`, '{"arch":"amd64"}', payload, 'queued', null, null, Date.now());
dispatcher.exec('COMMIT');
const scan = dispatcher.prepare("SELECT * FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT 5000");
const claimMs = time(30, () => {
  const seen = new Set<string>();
  for (const row of scan.all() as Array<{ org_id: string; labels: string }>) {
    if (seen.has(row.org_id) || (JSON.parse(row.labels) as { arch: string }).arch !== 'arm64') continue;
    seen.add(row.org_id);
  }
});
console.log(`claim scan over 5,000 queued jobs (no match): ${claimMs.toFixed(1)} ms`);

// 3. usageOf's monthly COUNT for one organization with 1M runs this month (index executions_org_source).
const d1 = new DatabaseSync(':memory:');
d1.exec(`CREATE TABLE executions (task_id TEXT PRIMARY KEY, organization_id TEXT NOT NULL, source TEXT NOT NULL, created_at INTEGER NOT NULL);
  CREATE INDEX executions_org_source ON executions (organization_id, source, created_at);`);
const insertRun = d1.prepare('INSERT INTO executions VALUES (?,?,?,?)');
d1.exec('BEGIN');
for (let i = 0; i < 1_000_000; i++) insertRun.run(`run_${i}`, 'org1', 'agnox-hosted', 1_700_000_000_000 + i);
d1.exec('COMMIT');
const count = d1.prepare("SELECT count(*) AS n FROM executions WHERE organization_id = 'org1' AND source = 'agnox-hosted' AND created_at >= ?");
console.log(`monthly COUNT over 1M runs of one org: ${time(5, () => count.get(0)).toFixed(0)} ms`);

// 4. Bytes per test_results row with its four indexes (migrations 0000 + 0002), 10% failures with stacks.
const file = join(tmpdir(), `agnox-scaling-${process.pid}.db`);
const db = new DatabaseSync(file);
db.exec(`CREATE TABLE test_results (id text PRIMARY KEY NOT NULL, organization_id text NOT NULL, task_id text NOT NULL, test_id text NOT NULL, title text NOT NULL,
  file text, suite text, status text NOT NULL, duration_ms integer DEFAULT 0 NOT NULL, retry integer DEFAULT 0 NOT NULL, error_message text, error_stack text,
  error_location text, attachments text, started_at integer, created_at integer NOT NULL, fingerprint text, project_id text);
  CREATE INDEX test_results_task ON test_results (task_id, test_id, retry);
  CREATE INDEX test_results_org_title ON test_results (organization_id, title, created_at);
  CREATE INDEX test_results_org_fingerprint ON test_results (organization_id, fingerprint, created_at);
  CREATE INDEX test_results_org_project ON test_results (organization_id, project_id, created_at);`);
const insertResult = db.prepare('INSERT INTO test_results VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)');
const rows = 100_000;
db.exec('BEGIN');
for (let i = 0; i < rows; i++) {
  const failed = i % 10 === 0,
    spec = `tests/checkout/cart-${i % 200}.spec.ts`;
  insertResult.run(
    crypto.randomUUID(),
    crypto.randomUUID(),
    `run_${Math.floor(i / 200)}`.padEnd(24, 'x'),
    `${spec}:${i % 97}:3`,
    `checkout › cart › adds item ${i % 200} and shows the total with tax`,
    spec,
    'checkout › cart',
    failed ? 'failed' : 'passed',
    1234,
    0,
    failed ? 'expect(locator).toHaveText(expected) failed: Expected "42.00" Received "41.00"' : null,
    failed ? 'Error: expect(locator).toHaveText(expected)\n    at tests/checkout/cart.spec.ts:12:5\n'.repeat(8) : null,
    failed ? `${spec}:12:5` : null,
    null,
    1_700_000_000_000 + i,
    1_700_000_000_000 + i,
    failed ? `fp_${i % 50}` : null,
    crypto.randomUUID(),
  );
}
db.exec('COMMIT');
db.exec('VACUUM');
db.close();
console.log(`bytes per test_results row: ${Math.round(statSync(file).size / rows)}`);
rmSync(file);
