// Replays a spool file: setup (joins the run by its runId), every batch in order (the server
// ignores batch ids it has applied), then the teardown (a finished run answers the same). Safe to
// run any number of times.
import { backoffMs, post, type CallOutcome } from './http';
import { readSpool } from './spool';
import { VERSION } from './version';
import type { EventResponse, SetupResponse, TeardownResponse } from './wire';

export type UploadOptions = { apiKey: string; baseUrl?: string; timeoutMs?: number; attempts?: number; log?: (msg: string) => void };
export type UploadResult = { taskId: string; batches: number; duplicates: number; status?: string; tornDown: boolean };

export async function uploadSpool(file: string, opts: UploadOptions): Promise<UploadResult> {
  const spool = readSpool(file);
  const baseUrl = (opts.baseUrl ?? spool.header.baseUrl).replace(/\/+$/, '');
  const attempts = opts.attempts ?? 5;
  const log = opts.log ?? (() => {});
  const init = { apiKey: opts.apiKey, timeoutMs: opts.timeoutMs ?? 15_000, userAgent: `agnox-report/${VERSION}` };

  async function call<T>(route: string, body: unknown): Promise<T> {
    let last: CallOutcome<T> | undefined;
    for (let i = 1; i <= attempts; i++) {
      last = await post<T>(`${baseUrl}${route}`, body, init);
      if (last.ok) return last.data;
      if (!last.retryable || i === attempts) break;
      const wait = Math.min(last.retryAfterMs ?? backoffMs(i), 60_000);
      log(`${route}: ${last.error}; retrying in ${wait} ms`);
      await new Promise((r) => setTimeout(r, wait));
    }
    throw new Error(`${route} failed: ${last && !last.ok ? last.error : 'unknown error'}`);
  }

  const session = await call<SetupResponse>('/api/ingest/setup', spool.header.setup);
  log(`execution ${session.taskId}`);
  let duplicates = 0;
  for (const batch of spool.batches) {
    const res = await call<EventResponse>('/api/ingest/event', { sessionId: session.sessionId, batchId: batch.batchId, events: batch.events });
    if (res.duplicate) duplicates++;
  }
  if (!spool.teardown) return { taskId: session.taskId, batches: spool.batches.length, duplicates, tornDown: false };
  const end = await call<TeardownResponse>('/api/ingest/teardown', { sessionId: session.sessionId, ...spool.teardown });
  return { taskId: end.taskId, batches: spool.batches.length, duplicates, status: end.status, tornDown: true };
}
