// The agent's own diagnostic output (not job logs): one line per event, timestamped, to stderr.
export type Logger = { info: (msg: string) => void; warn: (msg: string) => void; error: (msg: string) => void };

export function consoleLogger(prefix = 'agnox-agent'): Logger {
  const line = (level: string, msg: string) => process.stderr.write(`${new Date().toISOString()} ${prefix} ${level} ${msg}\n`);
  return { info: (m) => line('info', m), warn: (m) => line('warn', m), error: (m) => line('error', m) };
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
