// agnox-agent's settings: flags, each with an AGNOX_* environment variable (flags win). Bad input
// gives one clear line and the usage, never a stack trace.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_LOG_MAX_BYTES } from '../../worker/contracts/agent';
import { LabelMap } from '../../worker/contracts/common';

/** Job output forwarded per run: 1 MiB under the room's cap, so the agent's marker and closing lines are still stored. */
export const DEFAULT_OUTPUT_MAX_BYTES = DEFAULT_LOG_MAX_BYTES - 1024 * 1024;

export const AGENT_USAGE = `Usage: agnox-agent --url <control plane> --token <registration token> [options]

  --url <url>            control plane URL                         AGNOX_URL
  --token <token>        registration token (first run only)       AGNOX_TOKEN
  --name <name>          agent name (default: host name)           AGNOX_NAME
  --labels k=v,...       extra labels, e.g. pool=lab,gpu=none      AGNOX_LABELS
  --concurrency <n>      jobs at once (default 1)                  AGNOX_CONCURRENCY
  --state-dir <dir>      where the agent keeps its identity        AGNOX_AGENT_HOME (default ~/.agnox-agent)
  --memory <size>        memory per job container (default 4g)     AGNOX_MEMORY
  --cpus <n>             CPUs per job container (default 2)        AGNOX_CPUS
  --pids <n>             process limit per job container (4096)    AGNOX_PIDS
  --stop-grace <s>       seconds between SIGTERM and SIGKILL (10)  AGNOX_STOP_GRACE
  --log-max <size>       job output forwarded per run (19m)        AGNOX_LOG_MAX
  --once                 exit after one job (for scripts)          AGNOX_ONCE
  --insecure             allow a plain http:// control plane that   AGNOX_INSECURE=1
                         is not on this machine (loopback is allowed)
  -h, --help             this text

Labels arch=<arm64|amd64> and os=<os> are added automatically.
SIGTERM/SIGINT drains (finishes running jobs, then exits); a second signal cancels them.`;

export type AgentConfig = {
  url: string;
  token?: string;
  name: string;
  labels: Record<string, string>;
  concurrency: number;
  stateDir: string;
  memoryBytes: number;
  cpus: number;
  pids: number;
  stopGraceSeconds: number;
  /** Bytes of a job's output forwarded to the control plane; the rest is read and dropped. */
  logMaxBytes: number;
  once: boolean;
  /** Tuning for tests: heartbeat interval and the poll hold (ms). */
  heartbeatIntervalMs?: number;
  pollWaitMs?: number;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const FLAGS = {
  url: { type: 'string' },
  token: { type: 'string' },
  name: { type: 'string' },
  labels: { type: 'string' },
  concurrency: { type: 'string' },
  'state-dir': { type: 'string' },
  memory: { type: 'string' },
  cpus: { type: 'string' },
  pids: { type: 'string' },
  'stop-grace': { type: 'string' },
  'log-max': { type: 'string' },
  once: { type: 'boolean' },
  insecure: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--labels: "${part}" is not key=value`);
    labels[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  const checked = LabelMap.safeParse(labels);
  if (!checked.success) throw new ConfigError(`--labels: ${checked.error.issues[0]?.message ?? 'invalid'} (keys: letters, digits, . _ / -; at most 32)`);
  return checked.data;
}

/** "4g", "512m", "1073741824" → bytes, at least `min` (Docker's minimum memory by default). */
export function parseSize(text: string, flag: string, min = { bytes: 6 * 1024 * 1024, text: "6m (Docker's minimum)" }): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)b?$/i.exec(text.trim());
  if (!m) throw new ConfigError(`${flag}: "${text}" is not a size like 512m or 4g`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = Math.round(Number(m[1]) * mult);
  if (bytes < min.bytes) throw new ConfigError(`${flag}: at least ${min.text}`);
  return bytes;
}

function number(text: string, flag: string, min: number, max: number, integer = true): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)))
    throw new ConfigError(`${flag}: "${text}" must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  return n;
}

/** localhost, 127.0.0.0/8 and ::1: traffic that never leaves this machine (`hostname` as URL gives it). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Whether plain http to another machine was allowed: `--insecure` or AGNOX_INSECURE (the agent's and `agnox run`'s rule). */
export const insecureAllowed = (flag: unknown, env: NodeJS.ProcessEnv) => flag === true || /^(1|true|yes)$/i.test(env.AGNOX_INSECURE ?? '');

/** True when `url` would send credentials in the clear off this machine without the person having said so. */
export const refusesPlainHttp = (url: URL, insecure: boolean) => url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !insecure;

export function parseAgentConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): AgentConfig | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (values.help) return 'help';
  const pick = (flag: string, envName: string): string | undefined => {
    const v = values[flag] ?? env[envName];
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  };
  const url = pick('url', 'AGNOX_URL');
  if (!url) throw new ConfigError('--url (or AGNOX_URL) is required: the control plane address, e.g. https://agnox.example.com');
  let parsed: URL;
  try {
    parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error();
  } catch {
    throw new ConfigError(`--url: "${url}" is not an http(s) URL`);
  }
  if (refusesPlainHttp(parsed, insecureAllowed(values.insecure, env))) {
    throw new ConfigError(
      `--url: "${url}" is plain http to another machine: the agent's token, your jobs' secrets and their logs would cross the network unencrypted, and anyone on the path could hand this agent jobs. Use https://, or pass --insecure (AGNOX_INSECURE=1) for a network you trust. Plain http is allowed to this machine (localhost, 127.0.0.0/8, ::1).`,
    );
  }
  const name = pick('name', 'AGNOX_NAME') ?? os.hostname();
  if (name.length > 100) throw new ConfigError('--name: at most 100 characters');
  const home = pick('state-dir', 'AGNOX_AGENT_HOME') ?? path.join(os.homedir(), '.agnox-agent');
  const once = values.once === true || /^(1|true|yes)$/i.test(env.AGNOX_ONCE ?? '');
  return {
    url: url.replace(/\/+$/, ''),
    token: pick('token', 'AGNOX_TOKEN'),
    name,
    labels: parseLabels(pick('labels', 'AGNOX_LABELS') ?? ''),
    concurrency: number(pick('concurrency', 'AGNOX_CONCURRENCY') ?? '1', '--concurrency', 1, 64),
    stateDir: path.resolve(home),
    memoryBytes: parseSize(pick('memory', 'AGNOX_MEMORY') ?? '4g', '--memory'),
    cpus: number(pick('cpus', 'AGNOX_CPUS') ?? String(Math.min(2, os.availableParallelism())), '--cpus', 0.1, 1024, false),
    pids: number(pick('pids', 'AGNOX_PIDS') ?? '4096', '--pids', 16, 1_000_000),
    stopGraceSeconds: number(pick('stop-grace', 'AGNOX_STOP_GRACE') ?? '10', '--stop-grace', 0, 3600),
    logMaxBytes: parseSize(pick('log-max', 'AGNOX_LOG_MAX') ?? String(DEFAULT_OUTPUT_MAX_BYTES), '--log-max', { bytes: 64 * 1024, text: '64k' }),
    once,
    heartbeatIntervalMs: env.AGNOX_HEARTBEAT_MS ? number(env.AGNOX_HEARTBEAT_MS, 'AGNOX_HEARTBEAT_MS', 100, 60_000) : undefined,
    pollWaitMs: env.AGNOX_POLL_WAIT_MS ? number(env.AGNOX_POLL_WAIT_MS, 'AGNOX_POLL_WAIT_MS', 0, 25_000) : undefined,
  };
}
