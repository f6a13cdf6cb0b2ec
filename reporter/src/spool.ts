// The spool: batches the server has not acknowledged, saved to a JSON-lines file so that a run
// whose network blipped can still be completed later (`npx agnox-report upload`).
// The files live in `.agnox/spool/` beside the Playwright config, not in Playwright's output folder,
// which Playwright empties when the next run starts.
// Line 1 is the header (where to send, the setup payload with its runId), then one line per batch
// in send order, then the teardown. Replaying is idempotent: setup joins the run by runId, the
// server ignores batch ids it has applied, teardown of a finished run changes nothing.
// The API key is never written: the upload command reads it from AGNOX_API_KEY.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { IngestEvent, SetupBody, TeardownBody } from './wire';

export const SPOOL_FORMAT = 'agnox-spool';
export const SPOOL_VERSION = 1;
/** The spool folder, relative to the Playwright config's folder (and to where `agnox-report upload` runs). */
export const DEFAULT_SPOOL_DIR = path.join('.agnox', 'spool');
const SPOOL_FILE_NAME = /^agnox-spool-.*\.jsonl$/;

/** The folder `agnox-report upload` sends from when no file is named: AGNOX_SPOOL_DIR, else `.agnox/spool` here. */
export function uploadDir(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): string {
  return path.resolve(cwd, env.AGNOX_SPOOL_DIR?.trim() || DEFAULT_SPOOL_DIR);
}

/** The spool files in `dir`, oldest run first (by the time in their header; unreadable ones last). */
export function listSpools(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const startedAt = (file: string) => {
    try {
      const header = JSON.parse(readFileSync(file, 'utf8').split('\n', 1)[0]!) as Partial<SpoolHeader>;
      return typeof header.createdAt === 'number' ? header.createdAt : Infinity;
    } catch {
      return Infinity;
    }
  };
  return readdirSync(dir)
    .filter((f) => SPOOL_FILE_NAME.test(f))
    .map((f) => path.join(dir, f))
    .map((file) => ({ file, at: startedAt(file) }))
    .sort((a, b) => a.at - b.at || a.file.localeCompare(b.file))
    .map((s) => s.file);
}

/** Creates the spool folder; one the reporter created itself gets a `.gitignore` so saved runs are never committed. */
function ensureDir(dir: string): void {
  if (mkdirSync(dir, { recursive: true }) === undefined) return;
  writeFileSync(path.join(dir, '.gitignore'), '# Runs saved by @agnox/playwright-reporter, waiting for `npx agnox-report upload`.\n*\n');
}

export type Batch = { batchId: string; events: IngestEvent[] };
export type SpoolHeader = { kind: typeof SPOOL_FORMAT; version: number; baseUrl: string; setup: SetupBody; createdAt: number };
export type SpoolTeardown = Omit<TeardownBody, 'sessionId'>;
export type Spool = { header: SpoolHeader; batches: Batch[]; teardown?: SpoolTeardown };

export class SpoolFile {
  private started = false;
  private readonly written = new Set<string>();

  constructor(
    readonly file: string,
    private readonly header: SpoolHeader,
  ) {}

  /** Appends batches not yet in the file (cheap, synchronous: survives a killed process). */
  append(batches: Batch[]): void {
    const fresh = batches.filter((b) => !this.written.has(b.batchId));
    if (!fresh.length) return;
    if (!this.started) {
      ensureDir(path.dirname(this.file));
      writeFileSync(this.file, `${JSON.stringify(this.header)}\n`);
      this.started = true;
    }
    appendFileSync(this.file, fresh.map((b) => `${JSON.stringify({ kind: 'batch', ...b })}\n`).join(''));
    for (const b of fresh) this.written.add(b.batchId);
  }

  /** Replaces the file with exactly what is still undelivered (atomically: write, then rename). */
  finalize(batches: Batch[], teardown: SpoolTeardown): void {
    ensureDir(path.dirname(this.file));
    const lines = [this.header, ...batches.map((b) => ({ kind: 'batch', ...b })), { kind: 'teardown', ...teardown }];
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
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
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const parsed = lines.map((line, i) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`${file}:${i + 1}: not JSON`);
    }
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
