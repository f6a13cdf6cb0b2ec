// The resident memory of the control plane's workerd over the load: found as the `workerd`
// descendant of the `wrangler dev` process, VmRSS read from /proc/<pid>/status every few seconds.
import { readdirSync, readFileSync } from 'node:fs';

function parentOf(pid: number): number | null {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

const commOf = (pid: number) => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return ''; } };

/** The pid of the `workerd` process under `rootPid`, or null. */
export function findWorkerd(rootPid: number): number | null {
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || commOf(pid) !== 'workerd') continue;
    for (let p: number | null = pid, hops = 0; p && p > 1 && hops < 10; p = parentOf(p), hops++) if (p === rootPid) return pid;
  }
  return null;
}

export const rssMb = (pid: number): number | null => {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
};

export class MemorySampler {
  readonly samples: { at: number; mb: number }[] = [];
  private timer: NodeJS.Timeout | null = null;
  constructor(readonly pid: number) {}
  start(everyMs = 2000) {
    const sample = () => { const mb = rssMb(this.pid); if (mb !== null) this.samples.push({ at: Date.now(), mb }); };
    sample();
    this.timer = setInterval(sample, everyMs);
  }
  stop() {
    if (this.timer) clearInterval(this.timer);
    const mb = rssMb(this.pid);
    if (mb !== null) this.samples.push({ at: Date.now(), mb });
  }
}
