// The reporter's options: from playwright.config.ts, each one also from an AGNOX_* variable.
// Explicit options win; an option left undefined (`apiKey: process.env.X` with X unset) falls back
// to the variable.

export interface AgnoxReporterOptions {
  /** API key (Agnox → Settings → API keys). Env: AGNOX_API_KEY. */
  apiKey?: string;
  /** The Agnox project the run belongs to. Env: AGNOX_PROJECT_ID. */
  projectId?: string;
  /** Control plane URL. Env: AGNOX_BASE_URL. Default https://dev.agnox.dev. */
  baseUrl?: string;
  /** Name shown in the dashboard. Env: AGNOX_RUN_NAME. */
  runName?: string;
  /** Target environment (staging, production, …). Env: AGNOX_ENVIRONMENT. */
  environment?: string;
  /** Send buffered events at least this often (ms). Env: AGNOX_FLUSH_INTERVAL_MS. Default 2000. */
  flushIntervalMs?: number;
  /** Events per request. Env: AGNOX_MAX_BATCH_SIZE. Default 50. */
  maxBatchSize?: number;
  /** Print what the reporter does to stderr. Env: AGNOX_DEBUG. */
  debug?: boolean;
  /** Shards and spool replays with the same runId land in one execution. Env: AGNOX_RUN_ID.
   *  Default: the CI build id when the run is sharded, else a fresh id per run. */
  runId?: string;
  /** Where undeliverable batches are saved. Env: AGNOX_SPOOL_DIR. Default: `.agnox/spool` beside the Playwright config. */
  spoolDir?: string;
  /** The most time `onEnd` waits for a server that answers, slowly (ms); one that does not answer at all
   *  gets 0.5 s. Env: AGNOX_END_TIMEOUT_MS. Default 30000. */
  endTimeoutMs?: number;
  /** Per-request timeout while tests run (ms). Env: AGNOX_REQUEST_TIMEOUT_MS. Default 10000. */
  requestTimeoutMs?: number;
  /** Upload screenshots and other file attachments. Env: AGNOX_UPLOAD_ATTACHMENTS. Default true. */
  uploadAttachments?: boolean;
  /** Total attachment bytes uploaded per run. Env: AGNOX_ATTACHMENT_BUDGET_BYTES. Default 25 MB. */
  attachmentBudgetBytes?: number;
}

export type ResolvedOptions = Required<Omit<AgnoxReporterOptions, 'apiKey' | 'projectId' | 'runName' | 'environment' | 'runId' | 'spoolDir'>> &
  Pick<AgnoxReporterOptions, 'runName' | 'environment' | 'runId' | 'spoolDir'> & { apiKey: string; projectId: string };

export const DEFAULT_BASE_URL = 'https://dev.agnox.dev';

type Env = Record<string, string | undefined>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

const toNumber = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN);

/** The explicit number if it is one, else the variable's, else the default; clamped to [min, max]. */
function num(explicit: unknown, fromEnv: unknown, fallback: number, min: number, max: number): number {
  const n = [toNumber(explicit), toNumber(fromEnv)].find(Number.isFinite);
  return n === undefined ? fallback : Math.min(max, Math.max(min, Math.round(n)));
}

function bool(v: unknown, fallback: boolean): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && v.trim() !== '') return !/^(0|false|no|off)$/i.test(v.trim());
  return fallback;
}

/** The options, or the reason the reporter stays off (missing key or project). */
export function resolveOptions(opts: AgnoxReporterOptions = {}, env: Env = process.env): { options: ResolvedOptions } | { disabled: string } {
  const apiKey = str(opts.apiKey) ?? str(env.AGNOX_API_KEY);
  const projectId = str(opts.projectId) ?? str(env.AGNOX_PROJECT_ID);
  const missing = [!apiKey && 'apiKey (AGNOX_API_KEY)', !projectId && 'projectId (AGNOX_PROJECT_ID)'].filter(Boolean);
  if (!apiKey || !projectId) return { disabled: `missing ${missing.join(' and ')}` };
  return {
    options: {
      apiKey,
      projectId,
      baseUrl: (str(opts.baseUrl) ?? str(env.AGNOX_BASE_URL) ?? DEFAULT_BASE_URL).replace(/\/+$/, ''),
      runName: str(opts.runName) ?? str(env.AGNOX_RUN_NAME),
      environment: str(opts.environment) ?? str(env.AGNOX_ENVIRONMENT),
      flushIntervalMs: num(opts.flushIntervalMs, env.AGNOX_FLUSH_INTERVAL_MS, 2000, 50, 60_000),
      maxBatchSize: num(opts.maxBatchSize, env.AGNOX_MAX_BATCH_SIZE, 50, 1, 500),
      debug: bool(opts.debug ?? env.AGNOX_DEBUG, false),
      runId: str(opts.runId) ?? str(env.AGNOX_RUN_ID),
      spoolDir: str(opts.spoolDir) ?? str(env.AGNOX_SPOOL_DIR),
      endTimeoutMs: num(opts.endTimeoutMs, env.AGNOX_END_TIMEOUT_MS, 30_000, 0, 600_000),
      requestTimeoutMs: num(opts.requestTimeoutMs, env.AGNOX_REQUEST_TIMEOUT_MS, 10_000, 100, 600_000),
      uploadAttachments: bool(opts.uploadAttachments ?? env.AGNOX_UPLOAD_ATTACHMENTS, true),
      attachmentBudgetBytes: num(opts.attachmentBudgetBytes, env.AGNOX_ATTACHMENT_BUDGET_BYTES, 25 * 1024 * 1024, 0, 10 * 1024 ** 3),
    },
  };
}
