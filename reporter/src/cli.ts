// `agnox-report upload [<spool-file>…]`: sends runs saved by the reporter when the server could not
// be reached. With no file, every run saved in the spool folder (AGNOX_SPOOL_DIR, else
// `.agnox/spool`), oldest first, each file removed once the server has taken the whole run. The key
// comes from AGNOX_API_KEY (never from the file); the URL from --url, AGNOX_BASE_URL or the file.
import { rmSync } from 'node:fs';
import { listSpools, uploadDir } from './spool';
import { uploadSpool } from './upload';
import { VERSION } from './version';

const USAGE = `agnox-report ${VERSION}
Usage: agnox-report upload [--url <baseUrl>] [<spool-file>...]
  Sends runs saved by @agnox/playwright-reporter when the server did not answer in time.
  With no file: every run in .agnox/spool (or AGNOX_SPOOL_DIR), oldest first, removing each one
  once sent; files that could not be sent stay for the next try.
  Needs AGNOX_API_KEY. Sending a run again changes nothing.`;

export async function main(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v') {
    console.log(VERSION);
    return 0;
  }
  if (command !== 'upload') {
    console.error(USAGE);
    return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
  }
  let baseUrl = env.AGNOX_BASE_URL;
  const named: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--url') baseUrl = rest[++i];
    else if (rest[i] === '--help' || rest[i] === '-h') {
      console.error(USAGE);
      return 0;
    } else named.push(rest[i]!);
  }
  const apiKey = env.AGNOX_API_KEY;
  if (!apiKey) {
    console.error('agnox-report: set AGNOX_API_KEY');
    return 2;
  }
  const dir = named.length ? undefined : uploadDir(env);
  const files = dir ? listSpools(dir) : named;
  if (dir && !files.length) {
    console.log(`agnox-report: no saved runs in ${dir}`);
    return 0;
  }
  let failed = 0;
  for (const file of files) {
    try {
      const r = await uploadSpool(file, { apiKey, baseUrl, log: (m) => console.error(`agnox-report: ${m}`) });
      console.log(
        `${file}: execution ${r.taskId}, ${r.batches} batches (${r.duplicates} already there)${r.tornDown ? `, status ${r.status}` : ', no teardown in file (run incomplete)'}`,
      );
      // A file without its teardown may belong to a run still going: only a finished one is removed.
      if (dir && r.tornDown) rmSync(file, { force: true });
    } catch (err) {
      failed++;
      console.error(`agnox-report: ${file}: ${err instanceof Error ? err.message : String(err)}${dir ? ' (kept; run the command again to retry)' : ''}`);
    }
  }
  if (failed && dir) console.error(`agnox-report: ${failed} of ${files.length} saved runs could not be sent; they stay in ${dir}`);
  return failed ? 1 : 0;
}
