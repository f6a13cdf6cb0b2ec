// Builds the dashboard into web/dist (held to its initial-JS budget) and starts one real control
// plane for the browser tests. Its URL reaches the test workers through AGNOX_URL; the returned
// function stops it.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startControlPlane } from '../../test/support/wrangler';
import { formatBundleSize, INITIAL_JS_BUDGET_GZIP, measureInitialBundle } from '../scripts/bundle-size';

const ROOT = path.resolve(import.meta.dirname, '../..');

export default async function globalSetup() {
  const build = spawnSync(path.join(ROOT, 'node_modules/.bin/vite'), ['build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`web build failed:\n${build.stdout}\n${build.stderr}`);
  const size = measureInitialBundle(path.join(ROOT, 'web/dist'));
  console.log(formatBundleSize(size));
  if (size.jsGzip > INITIAL_JS_BUDGET_GZIP)
    throw new Error(`initial JavaScript is ${size.jsGzip} bytes gzipped, over the ${INITIAL_JS_BUDGET_GZIP}-byte budget`);
  const cp = await startControlPlane();
  process.env.AGNOX_URL = cp.url;
  return async () => {
    await cp.stop();
  };
}
