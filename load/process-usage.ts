// What the control plane's workerd uses over the load: found as the `workerd` descendant of the
// `wrangler dev` process; resident memory (VmRSS of /proc/<pid>/status) every few seconds, and CPU
// time (/proc/<pid>/stat), to tell the server's share of this shared machine from the load's own.
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

function parentOf(pid: number): number | null {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/** CPU time and time spent runnable but waiting for a CPU (run queue), all threads, seconds (/proc/<pid>/task/<tid>/schedstat). */
export function schedSeconds(pid: number): { cpu: number; waited: number } {
  const total = { cpu: 0, waited: 0 };
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const [cpu, waited] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      total.cpu += (cpu ?? 0) / 1e9;
      total.waited += (waited ?? 0) / 1e9;
    }
  } catch {
    /* exited */
  }
  return total;
}

const commOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

/**
 * The `workerd` processes under `rootPid`: wrangler dev runs two, the app (the Worker and its
 * Durable Objects; started with an inspector) and a proxy in front of it (the port clients use).
 */
export function findWorkerd(rootPid: number): { app: number | null; proxy: number | null } {
  const found = { app: null as number | null, proxy: null as number | null };
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || commOf(pid) !== 'workerd') continue;
    let under = false;
    for (let p: number | null = pid, hops = 0; p && p > 1 && hops < 10; p = parentOf(p), hops++) if (p === rootPid) under = true;
    if (!under) continue;
    const cmdline = (() => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    })();
    if (cmdline.includes('--inspector-addr')) found.app = pid;
    else found.proxy = pid;
  }
  return found;
}

export const rssMb = (pid: number): number | null => {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
};

export const openFds = (pid: number): number | null => {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
};

/** RSS of one process, with its open files and the machine's load average at the same moment. */
export class MemorySampler {
  readonly samples: { at: number; mb: number; fds: number | null; load: number }[] = [];
  private timer: NodeJS.Timeout | null = null;
  constructor(readonly pid: number) {}
  start(everyMs = 2000) {
    const sample = () => {
      const mb = rssMb(this.pid);
      if (mb !== null) this.samples.push({ at: Date.now(), mb, fds: openFds(this.pid), load: os.loadavg()[0]! });
    };
    sample();
    this.timer = setInterval(sample, everyMs);
  }
  stop() {
    if (this.timer) clearInterval(this.timer);
    const mb = rssMb(this.pid);
    if (mb !== null) this.samples.push({ at: Date.now(), mb, fds: openFds(this.pid), load: os.loadavg()[0]! });
  }
}
