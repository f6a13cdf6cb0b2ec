// Why a run ended, in a sentence for its page. The agent reports end reasons as machine codes
// (contracts/agent.ts EndReason); a reason that is not a known code is already a sentence.
import type { z } from 'zod';
import type { EndReason } from '../../../worker/contracts/agent';
import type { Execution } from './types';

const SENTENCES: Record<Exclude<z.infer<typeof EndReason>, 'exit'>, string> = {
  cancel: 'Cancelled on request.',
  timeout: 'Stopped: the run passed its time limit.',
  agent_stop: 'The agent was stopped during the run.',
  agent_lost: 'The agent stopped answering; the run could not finish.',
  docker_error: 'Docker could not run the image.',
  refused: 'The agent refused this job.',
};

/** The sentence to show, or null when there is nothing to explain (no reason, or a passing exit). */
export function endReasonText(e: Pick<Execution, 'reason' | 'status' | 'exitCode'>): string | null {
  if (!e.reason) return null;
  if (e.reason === 'exit')
    return e.status === 'PASSED' || e.exitCode === null || e.exitCode === undefined ? null : `The test command exited with code ${e.exitCode}.`;
  return (SENTENCES as Record<string, string>)[e.reason] ?? e.reason;
}
