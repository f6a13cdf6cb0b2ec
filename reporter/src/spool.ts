// The spool: batches the server has not acknowledged, saved to a JSON-lines file so that a run
// whose network blipped can still be completed later (`npx agnox-report upload <file>`).
// Line 1 is the header (where to send, the setup payload with its runId), then one line per batch
// in send order, then the teardown. Replaying is idempotent: setup joins the run by runId, the
// server ignores batch ids it has applied, teardown of a finished run changes nothing.
// The API key is never written: the upload command reads it from AGNOX_API_KEY.
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { IngestEvent, SetupBody, TeardownBody } from './wire';

export const SPOOL_FORMAT = 'agnox-spool';
export const SPOOL_VERSION = 1;

export type Batch = { batchId: string; events: IngestEvent[] };
export type SpoolHeader = { kind: typeof SPOOL_FORMAT; version: number; baseUrl: string; setup: SetupBody; createdAt: number };
export type SpoolTeardown = Omit<TeardownBody, 'sessionId'>;
export type Spool = { header: SpoolHeader; batches: Batch[]; teardown?: SpoolTeardown };

export class SpoolFile {
  private started = false;
  private readonly written = new Set<string>();

  constructor(readonly file: string, private readonly header: SpoolHeader) {}

  /** Appends batches not yet in the file (cheap, synchronous: survives a killed process). */
  append(batches: Batch[]): void {
    const fresh = batches.filter((b) => !this.written.has(b.batchId));
    if (!fresh.length) return;
    if (!this.started) {
      mkdirSync(path.dirname(this.file), { recursive: true });
      writeFileSync(this.file, JSON.stringify(this.header) + '\n');
      this.started = true;
    }
    appendFileSync(this.file, fresh.map((b) => JSON.stringify({ kind: 'batch', ...b }) + '\n').join(''));
    for (const b of fresh) this.written.add(b.batchId);
  }

  /** Replaces the file with exactly what is still undelivered (atomically: write, then rename). */
  finalize(batches: Batch[], teardown: SpoolTeardown): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const lines = [this.header, ...batches.map((b) => ({ kind: 'batch', ...b })), { kind: 'teardown', ...teardown }];
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    renameSync(tmp, this.file);
    this.started = true;
  }

  /** Everything was delivered: the file has no reason to exist. */
  remove(): void {
    if (this.started) rmSync(this.file, { force: true });
    this.started = false;
  }
}

/** Parses a spool file; throws a readable error for anything that is not one. */
export function readSpool(file: string): Spool {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const parsed = lines.map((line, i) => {
    try { return JSON.parse(line) as Record<string, unknown>; } catch { throw new Error(`${file}:${i + 1}: not JSON`); }
  });
  const header = parsed[0] as SpoolHeader | undefined;
  if (!header || header.kind !== SPOOL_FORMAT) throw new Error(`${file} is not an Agnox spool file`);
  if (header.version !== SPOOL_VERSION) throw new Error(`${file}: unsupported spool version ${String(header.version)}`);
  const spool: Spool = { header, batches: [] };
  const seen = new Set<string>();
  for (const [i, line] of parsed.slice(1).entries()) {
    if (line.kind === 'batch' && typeof line.batchId === 'string' && Array.isArray(line.events)) {
      // A batch appended during the run and again at the end is sent once.
      if (!seen.has(line.batchId)) spool.batches.push({ batchId: line.batchId, events: line.events as IngestEvent[] });
      seen.add(line.batchId);
    } else if (line.kind === 'teardown') {
      const { kind: _kind, ...teardown } = line;
      spool.teardown = teardown as SpoolTeardown;
    } else {
      throw new Error(`${file}:${i + 2}: unexpected line`);
    }
  }
  return spool;
}
