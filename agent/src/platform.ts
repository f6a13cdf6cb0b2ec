// What this host is: the labels an agent advertises and the Docker platform it pulls and runs for.
import os from 'node:os';
import { AGENT_VERSION } from './version';

export type HostArch = 'arm64' | 'amd64' | string;

/** Node's arch names → Docker's (`x64` → `amd64`). */
export function dockerArch(nodeArch: string = process.arch): HostArch {
  if (nodeArch === 'x64') return 'amd64';
  if (nodeArch === 'ia32') return '386';
  return nodeArch;
}

export type HostInfo = { arch: HostArch; os: string; version: string; platform: string };

export function hostInfo(nodeArch: string = process.arch): HostInfo {
  const arch = dockerArch(nodeArch);
  const osName = os.platform();
  return { arch, os: osName, version: AGENT_VERSION, platform: `linux/${arch}` };
}
