// Checks each agent run as soon as it has ended (so the read-backs spread over the load): the
// stored log is exactly the job's output, in order; and every viewer that watched it received
// exactly the stored log, every seq once and in order (replay + live).
import type { Api } from './api';
import { jobLogProblem, jobPlan, jobTextOf } from './job-log';
import { readLog } from './read-log';
import type { RunView } from './viewers';

export type RunCheck = { taskId: string; lines: number; logProblem: string | null; views: RunView[]; viewProblems: string[] };

const VIEWER_GRACE_MS = 60_000;

export class RunChecks {
  private readonly pending: Promise<RunCheck>[] = [];

  constructor(
    private readonly api: Api,
    private readonly token: string,
  ) {}

  /** The run is over (its agent reported it): check it once its viewers have seen the end. */
  check(taskId: string, views: Promise<RunView>[]) {
    this.pending.push(this.checkOne(taskId, views));
  }

  async results(): Promise<RunCheck[]> {
    return Promise.all(this.pending);
  }

  private async checkOne(taskId: string, viewPromises: Promise<RunView>[]): Promise<RunCheck> {
    const viewProblems: string[] = [];
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), VIEWER_GRACE_MS).unref());
    const views = (await Promise.all(viewPromises.map((v) => Promise.race([v, timeout])))).filter((v): v is RunView => {
      if (v === 'timeout') viewProblems.push(`a viewer of ${taskId} had not seen the run end ${VIEWER_GRACE_MS / 1000} s after its agent reported it`);
      return v !== 'timeout';
    });
    let logProblem: string | null;
    try {
      const log = await readLog(this.api, this.token, taskId);
      logProblem = jobLogProblem(taskId, jobTextOf(log.chunks));
      if (log.chunks.some((c, i) => c.seq !== i + 1)) logProblem = `stored seqs are not 1..${log.chunks.length}`;
      for (const v of views) {
        if (v.problems.length) viewProblems.push(`viewer ${v.viewer} of ${taskId}: ${v.problems.slice(0, 3).join('; ')}`);
        else if (v.digest !== log.digest)
          viewProblems.push(
            `viewer ${v.viewer} of ${taskId}: received ${v.chunks} chunks up to seq ${v.lastSeq}, stored ${log.chunks.length} up to ${log.lastSeq}, content differs`,
          );
      }
    } catch (err) {
      logProblem = `reading the log back: ${String(err)}`;
    }
    return { taskId, lines: jobPlan(taskId).lines + 1, logProblem, views, viewProblems };
  }
}
