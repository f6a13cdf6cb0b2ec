// `npm run faults` runs every fault scenario on the real local stack; `npm run faults -- restart`
// runs one (or several, by name). Each prints its steps, timings and a PASS/FAIL per check; the
// exit code is the number of failed checks (capped), so CI-style use can gate on it.
import { Report, type Scenario } from './lib';
import { restart } from './restart';
import { agentSigkill } from './agent-sigkill';
import { networkCut } from './network-cut';
import { dockerStop } from './docker-stop';
import { d1Errors } from './d1-errors';

const scenarios: Scenario[] = [restart, agentSigkill, networkCut, dockerStop, d1Errors];

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !scenarios.some((s) => s.name === w));
if (unknown.length) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}\navailable:\n${scenarios.map((s) => `  ${s.name.padEnd(14)} ${s.summary}`).join('\n')}`);
  process.exit(2);
}
const chosen = wanted.length ? scenarios.filter((s) => wanted.includes(s.name)) : scenarios;

const results: { name: string; report: Report; crashed?: string; seconds: number }[] = [];
for (const scenario of chosen) {
  const report = new Report(scenario.name);
  console.log(`\n=== ${scenario.name}: ${scenario.summary}`);
  let crashed: string | undefined;
  try {
    await scenario.run(report);
  } catch (err) {
    crashed = err instanceof Error ? (err.stack ?? err.message) : String(err);
    report.check('scenario ran to the end', false, crashed);
  }
  results.push({ name: scenario.name, report, crashed, seconds: (Date.now() - report.started) / 1000 });
}

console.log('\n=== summary');
for (const r of results) {
  const passed = r.report.checks.length - r.report.failed;
  console.log(`${r.report.failed ? 'FAIL' : 'PASS'} ${r.name.padEnd(14)} ${passed}/${r.report.checks.length} checks in ${r.seconds.toFixed(0)} s`);
  for (const [k, v] of r.report.figures) console.log(`     ${k}: ${v}`);
  for (const c of r.report.checks.filter((c) => !c.ok)) console.log(`     FAIL ${c.name}${c.detail ? ` — ${c.detail.split('\n')[0]}` : ''}`);
}
const failed = results.reduce((n, r) => n + r.report.failed, 0);
process.exit(Math.min(failed, 100));
