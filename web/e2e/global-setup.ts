// Builds the dashboard into web/dist and starts one real control plane for the browser tests.
// Its URL reaches the test workers through AGNOX_URL; the returned function stops it.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startControlPlane } from '../../test/support/wrangler';

const ROOT = path.resolve(import.meta.dirname, '../..');

export default async function globalSetup() {
  const build = spawnSync(path.join(ROOT, 'node_modules/.bin/vite'), ['build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`web build failed:\n${build.stdout}\n${build.stderr}`);
  const cp = await startControlPlane();
  process.env.AGNOX_URL = cp.url;
  return async () => { await cp.stop(); };
}
