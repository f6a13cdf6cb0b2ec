// The package as it ships: zero runtime dependencies, @playwright/test as a peer, ESM + CJS + types,
// the `agnox-report` bin.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, REPORTER_DIR } from './support/build';

const pkg = JSON.parse(readFileSync(path.join(REPORTER_DIR, 'package.json'), 'utf8'));

beforeAll(async () => {
  await ensureBuilt();
});

describe('@agnox/playwright-reporter package', () => {
  it('has no runtime dependencies and imports nothing but Node built-ins', () => {
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.peerDependencies).toEqual({ '@playwright/test': '>=1.40' });
    for (const file of ['dist/index.js', 'dist/index.cjs', 'dist/cli.js', 'dist/cli.cjs']) {
      const code = readFileSync(path.join(REPORTER_DIR, file), 'utf8');
      const specifiers = [...code.matchAll(/(?:from\s+|require\()\s*["']([^"']+)["']/g)].map((m) => m[1]!);
      expect(specifiers.length, file).toBeGreaterThan(0);
      expect(
        specifiers.filter((s) => !/^(node:)?(crypto|fs|fs\/promises|path|http|https|os|url)$/.test(s)),
        file,
      ).toEqual([]);
    }
    const types = readFileSync(path.join(REPORTER_DIR, 'dist/index.d.ts'), 'utf8');
    expect([...types.matchAll(/from '([^']+)'/g)].map((m) => m[1])).toEqual(['@playwright/test/reporter']);
  });

  it('loads by name from ESM and CJS, default and named export being the reporter class', async () => {
    const esm = await import('@agnox/playwright-reporter');
    expect(esm.default).toBe(esm.AgnoxReporter);
    const reporter = new esm.default({ apiKey: 'k', projectId: 'p' });
    expect(reporter.printsToStdio()).toBe(false);
    const cjs = createRequire(import.meta.url)('@agnox/playwright-reporter');
    expect(typeof cjs.default).toBe('function');
    expect(cjs.default.name).toBe('AgnoxReporter');
    expect(() => new cjs.default({})).not.toThrow(); // no key, no project: a no-op, never a throw
  });

  it('ships the agnox-report bin with usage and a clear error without a key', () => {
    const bin = path.join(REPORTER_DIR, pkg.bin['agnox-report']);
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stderr).toContain('agnox-report upload');
    const noKey = spawnSync(process.execPath, [bin, 'upload', 'x.jsonl'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toContain('set AGNOX_API_KEY');
    const notSpool = spawnSync(process.execPath, [bin, 'upload', path.join(REPORTER_DIR, 'package.json')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, AGNOX_API_KEY: 'k' },
    });
    expect(notSpool.status).toBe(1);
    expect(notSpool.stderr).toContain('not JSON');
  });
});
