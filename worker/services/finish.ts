// Every run ends through here — the agent's complete, an ingest teardown, a lost agent, a timeout —
// so whatever follows a final status (AI analysis, Slack) hangs off one place.
import type { ExecutionStatus } from '../db/schema';
import type { Env } from '../env';
import { transition, type ExecutionRow } from './executions';

export type FinishOptions = { from: ExecutionStatus[]; patch?: Partial<ExecutionRow>; note?: string };

export async function finishRun(env: Env, taskId: string, status: ExecutionStatus, opts: FinishOptions): Promise<ExecutionRow | undefined> {
  return transition(env, taskId, status, opts);
}
