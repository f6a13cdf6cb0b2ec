// Fills the gaps of a run's log buffer from the HTTP log endpoint (`/logs?since=N`), for when the live
// socket skipped ahead (chunks wait behind a gap) or a viewer joins far behind the stored log.
// Contract: one backfill at a time; a call while one runs is dropped, since the running one reads
// `buffer.lastSeq` afresh for every page. It stops when nothing waits behind a gap, when a page brings
// nothing new, or after MAX_PAGES; a failed request ends it quietly (the next live frame calls again).
import type { LogBuffer, LogChunk } from './log-buffer';

/** One page of the stored log after `since` (GET /api/executions/:taskId/logs). */
export type LogPage = { chunks: LogChunk[]; lastSeq: number };

/** Bounds one backfill, so a log that keeps changing under it cannot keep the loop going forever. */
export const MAX_PAGES = 100;

export function logBackfiller(buffer: LogBuffer, fetchPage: (since: number) => Promise<LogPage>, onPage: () => void): () => Promise<void> {
  let running = false;
  return async () => {
    if (running) return;
    running = true;
    try {
      for (let page = 0; page < MAX_PAGES; page++) {
        const from = buffer.lastSeq;
        const { chunks } = await fetchPage(from);
        const pushed = buffer.push(chunks);
        onPage();
        if (pushed.missingAfter === null || !chunks.length || buffer.lastSeq === from) break;
      }
    } catch {
      /* the next live frame retries */
    } finally {
      running = false;
    }
  };
}
