// A process's memory as Linux counts it (/proc/<pid>/status): resident now, and the peak since start
// or since the last reset (writing 5 to clear_refs resets the peak; root or the process's owner).
import { readFileSync, writeFileSync } from 'node:fs';

const field = (pid: number, name: 'VmRSS' | 'VmHWM'): number => {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${name} for process ${pid}`);
  return Number(m[1]) * 1024;
};

export const residentBytes = (pid: number) => field(pid, 'VmRSS');
export const peakResidentBytes = (pid: number) => field(pid, 'VmHWM');
export const resetPeak = (pid: number) => writeFileSync(`/proc/${pid}/clear_refs`, '5');
/** User + system CPU seconds the process has used. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export const MiB = 1024 * 1024;
export const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
