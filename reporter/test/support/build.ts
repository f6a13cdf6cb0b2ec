// Builds reporter/dist once (tsup) so that tests use the package exactly as it ships. Test files
// run in parallel, so the build takes a lock (mkdir is atomic) and the others wait for it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

export const REPORTER_DIR = path.resolve(import.meta.dirname, '../..');
export const ROOT = path.resolve(REPORTER_DIR, '..');
export const BIN = (name: string) => path.join(ROOT, 'node_modules/.bin', name);

const newest = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const p = path.join(dir, e.name);
    return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }, 0);

function fresh(): boolean {
  const out = path.join(REPORTER_DIR, 'dist/index.d.ts');
  if (!existsSync(out) || !existsSync(path.join(REPORTER_DIR, 'dist/cli.cjs'))) return false;
  const sources = Math.max(newest(path.join(REPORTER_DIR, 'src')), statSync(path.join(ROOT, 'worker/contracts/ingest.ts')).mtimeMs);
  return statSync(out).mtimeMs >= sources;
}

export async function ensureBuilt(): Promise<void> {
  const lock = path.join(REPORTER_DIR, '.build-lock');
  const deadline = Date.now() + 120_000;
  while (!fresh()) {
    try {
      mkdirSync(lock);
    } catch {
      // Someone else is building (or a stale lock from a killed run, cleared after 60 s).
      try {
        if (Date.now() - statSync(lock).mtimeMs > 60_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        /* gone */
      }
      if (Date.now() > deadline) throw new Error('timed out waiting for the reporter build');
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    try {
      const r = spawnSync(BIN('tsup'), [], { cwd: REPORTER_DIR, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`tsup failed:\n${r.stdout}\n${r.stderr}`);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}
