// Test images, built locally (no registry is reachable): `docker import` of a rootfs folder.
//  - agnox-test/busybox:latest — Debian's busybox-static and its applet links (sh, echo, sleep, …).
//  - agnox-test/node:<hash> — the same plus the Node 22 binary from node_modules (and the shared
//    libraries it links), and the fixture suite in /suite: a real `node --test` run writing JUnit XML.
// Idempotent and fast when the image exists; the node tag carries a hash of the suite's files.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, chmodSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../../..');
export const BUSYBOX_IMAGE = 'agnox-test/busybox:latest';
const SUITE_DIR = path.join(ROOT, 'agent/test/fixtures/node-suite');

const imageExists = (tag: string) => spawnSync('docker', ['image', 'inspect', tag], { stdio: 'ignore' }).status === 0;

function busyboxBinary(): string {
  for (const p of ['/bin/busybox', '/usr/bin/busybox']) if (existsSync(p)) return p;
  throw new Error('busybox-static is not installed (apt-get install busybox-static)');
}

function addBusybox(rootfs: string): void {
  for (const d of ['bin', 'tmp', 'etc', 'reports', 'root']) mkdirSync(path.join(rootfs, d), { recursive: true });
  chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  copyFileSync(busyboxBinary(), path.join(rootfs, 'bin/busybox'));
  chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  const applets = execFileSync(busyboxBinary(), ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', path.join(rootfs, 'bin', a));
  writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
}

function importRootfs(rootfs: string, tag: string, changes: string[] = []): void {
  const args = changes.flatMap((c) => ['--change', c]);
  const res = spawnSync('sh', ['-c', `tar -C "${rootfs}" -cf - . | docker import ${args.map((a) => `'${a}'`).join(' ')} - ${tag}`], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`docker import ${tag} failed: ${res.stderr}`);
}

export function ensureBusyboxImage(): string {
  if (imageExists(BUSYBOX_IMAGE)) return BUSYBOX_IMAGE;
  const rootfs = mkdtempSync(path.join(tmpdir(), 'agnox-busybox-'));
  try {
    addBusybox(rootfs);
    importRootfs(rootfs, BUSYBOX_IMAGE, ['ENV PATH=/bin']);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
  return BUSYBOX_IMAGE;
}

function nodeBinary(): string {
  const p = path.join(ROOT, 'node_modules/node/bin/node');
  if (!existsSync(p)) throw new Error(`${p} missing: run npm install at the repository root`);
  return p;
}

export function nodeImageTag(): string {
  const h = createHash('sha256');
  for (const f of readdirSync(SUITE_DIR).sort()) h.update(f).update(readFileSync(path.join(SUITE_DIR, f)));
  h.update(readFileSync(path.join(ROOT, 'node_modules/node/package.json')));
  return `agnox-test/node:${h.digest('hex').slice(0, 12)}`;
}

export function ensureNodeImage(): string {
  const tag = nodeImageTag();
  if (imageExists(tag)) return tag;
  const rootfs = mkdtempSync(path.join(tmpdir(), 'agnox-node-'));
  try {
    addBusybox(rootfs);
    const node = nodeBinary();
    mkdirSync(path.join(rootfs, 'usr/local/bin'), { recursive: true });
    copyFileSync(node, path.join(rootfs, 'usr/local/bin/node'));
    chmodSync(path.join(rootfs, 'usr/local/bin/node'), 0o755);
    // The shared libraries node links (glibc, libstdc++, …), at the paths the loader expects.
    const ldd = execFileSync('ldd', [node], { encoding: 'utf8' });
    for (const m of ldd.matchAll(/(\/[^\s]+\.so[^\s]*)/g)) {
      const lib = m[1]!;
      mkdirSync(path.join(rootfs, path.dirname(lib)), { recursive: true });
      copyFileSync(lib, path.join(rootfs, lib));
    }
    mkdirSync(path.join(rootfs, 'suite'));
    for (const f of readdirSync(SUITE_DIR)) copyFileSync(path.join(SUITE_DIR, f), path.join(rootfs, 'suite', f));
    importRootfs(rootfs, tag, ['ENV PATH=/usr/local/bin:/bin', 'WORKDIR /suite']);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
  return tag;
}

const PW_FIXTURE = path.join(ROOT, 'agent/test/fixtures/playwright');

/**
 * busybox plus the reports of a real Playwright run (fixtures/playwright: Chromium, a retry, a
 * flaky, a failing and a skipped test) in /fixture-reports: JSON, JUnit XML and the HTML report.
 * A job copies them into /reports, as a Playwright image's own run would.
 */
export function ensurePlaywrightReportsImage(): string {
  const h = createHash('sha256');
  for (const f of ['playwright.config.mjs', ...readdirSync(path.join(PW_FIXTURE, 'tests')).map((t) => `tests/${t}`)].sort())
    h.update(f).update(readFileSync(path.join(PW_FIXTURE, f)));
  h.update(readFileSync(path.join(ROOT, 'node_modules/@playwright/test/package.json')));
  const tag = `agnox-test/playwright-reports:${h.digest('hex').slice(0, 12)}`;
  if (imageExists(tag)) return tag;
  const rootfs = mkdtempSync(path.join(tmpdir(), 'agnox-pw-'));
  try {
    addBusybox(rootfs);
    const reports = path.join(rootfs, 'fixture-reports');
    // Exit code 1 is expected: the fixture has a failing test.
    const run = spawnSync(path.join(ROOT, 'node_modules/.bin/playwright'), ['test', '-c', path.join(PW_FIXTURE, 'playwright.config.mjs')], {
      cwd: ROOT,
      env: { ...process.env, REPORT_DIR: reports, CI: '1' },
      encoding: 'utf8',
    });
    if (!existsSync(path.join(reports, 'results.json'))) throw new Error(`the Playwright fixture run wrote no report:\n${run.stdout}\n${run.stderr}`);
    importRootfs(rootfs, tag, ['ENV PATH=/bin']);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
  return tag;
}

/** The command that runs the fixture suite with live spec output and JUnit XML into /reports. */
export const NODE_SUITE_COMMAND =
  'mkdir -p /reports && node --test --test-reporter=spec --test-reporter-destination=stdout --test-reporter=junit --test-reporter-destination=/reports/junit.xml /suite/*.test.mjs';
