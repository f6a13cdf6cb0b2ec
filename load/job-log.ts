// The log every load job writes, derived from its task id alone: a number of numbered lines (some
// on stderr), then a line with their count and SHA-256. Whoever knows the task id (the simulated
// container that writes it, the checks that read it back) knows the exact text, so a lost,
// doubled or reordered line shows as a difference.
import { createHash } from 'node:crypto';

export const LINES_MIN = Number(process.env.AGNOX_LOAD_LINES_MIN ?? 600);
export const LINES_MAX = Number(process.env.AGNOX_LOAD_LINES_MAX ?? 1500);

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export type JobLine = { stream: 'stdout' | 'stderr'; text: string };

/** How many lines the job writes and how it exits (one job in ten fails). */
export function jobPlan(taskId: string): { lines: number; exitCode: number } {
  const h = parseInt(sha256(`plan:${taskId}`).slice(0, 8), 16);
  return { lines: LINES_MIN + (h % (LINES_MAX - LINES_MIN + 1)), exitCode: h % 10 === 0 ? 1 : 0 };
}

/** Every line of the job's output, the checksum line last. */
export function jobLines(taskId: string): JobLine[] {
  const { lines } = jobPlan(taskId);
  const out: JobLine[] = [];
  const all = createHash('sha256');
  const width = String(lines).length;
  for (let i = 1; i <= lines; i++) {
    const text = `[load] ${taskId} line ${String(i).padStart(width, '0')}/${lines} ${sha256(`${taskId}:${i}`).slice(0, 48)}\n`;
    all.update(text);
    out.push({ stream: i % 20 === 0 ? 'stderr' : 'stdout', text });
  }
  out.push({ stream: 'stdout', text: `[load] ${taskId} end: ${lines} lines, sha256 ${all.digest('hex')}\n` });
  return out;
}

/** The job's output as the log stores it: stdout and stderr in order, the agent's and control plane's system lines left out. */
export const expectedJobText = (taskId: string) =>
  jobLines(taskId)
    .map((l) => l.text)
    .join('');

export const jobTextOf = (chunks: { stream: string; data: string }[]) =>
  chunks
    .filter((c) => c.stream !== 'system')
    .map((c) => c.data)
    .join('');

/** Null when `actual` is the job's exact output; else where it first differs. */
export function jobLogProblem(taskId: string, actual: string): string | null {
  const expected = expectedJobText(taskId);
  if (actual === expected) return null;
  const want = expected.split('\n');
  const got = actual.split('\n');
  const at = want.findIndex((line, i) => got[i] !== line);
  return `${got.length - 1} of ${want.length - 1} lines; first difference at line ${at + 1}: expected ${JSON.stringify(want[at]?.slice(0, 90))}, got ${JSON.stringify(got[at]?.slice(0, 90))}`;
}
