// A run's stored log read back through the API, and the digest that compares it with what a
// viewer received (every chunk, in order: seq, stream and text).
import { createHash } from 'node:crypto';
import type { Api } from './api';

export const chunkDigest = () => {
  const h = createHash('sha256');
  return { add: (c: { seq: number; stream: string; data: string }) => h.update(`${c.seq}\u0000${c.stream}\u0000${c.data}\u0001`), hex: () => h.digest('hex') };
};

export type StoredChunk = { seq: number; stream: string; data: string; ts: number };

/** A run's whole stored log through the API, page by page, with its digest (as viewers compute it). */
export async function readLog(api: Api, token: string, taskId: string): Promise<{ chunks: StoredChunk[]; lastSeq: number; digest: string }> {
  const chunks: StoredChunk[] = [];
  let lastSeq = 0;
  for (;;) {
    const page: { chunks: StoredChunk[]; lastSeq: number } = await api.call(
      'GET',
      `/api/executions/${taskId}/logs?since=${chunks.at(-1)?.seq ?? 0}&limit=20000`,
      { token },
    );
    lastSeq = page.lastSeq;
    chunks.push(...page.chunks);
    if (!page.chunks.length || (chunks.at(-1)?.seq ?? 0) >= page.lastSeq) break;
  }
  const digest = chunkDigest();
  for (const c of chunks) digest.add(c);
  return { chunks, lastSeq, digest: digest.hex() };
}
