// `agnox-report upload <spool-file>…`: sends runs saved by the reporter when the server could not
// be reached. The key comes from AGNOX_API_KEY (never from the file); the URL from --url,
// AGNOX_BASE_URL or the file.
import { uploadSpool } from './upload';
import { VERSION } from './version';

const USAGE = `agnox-report ${VERSION}
Usage: agnox-report upload [--url <baseUrl>] <spool-file>...
  Sends a run saved by @agnox/playwright-reporter (agnox-spool-*.jsonl in the output folder).
  Needs AGNOX_API_KEY. Running it again changes nothing.`;

export async function main(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v') { console.log(VERSION); return 0; }
  if (command !== 'upload') { console.error(USAGE); return command === undefined || command === '--help' || command === '-h' ? 0 : 2; }
  let baseUrl = env.AGNOX_BASE_URL;
  const files: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--url') baseUrl = rest[++i];
    else files.push(rest[i]!);
  }
  const apiKey = env.AGNOX_API_KEY;
  if (!apiKey) { console.error('agnox-report: set AGNOX_API_KEY'); return 2; }
  if (!files.length) { console.error(USAGE); return 2; }
  let failed = 0;
  for (const file of files) {
    try {
      const r = await uploadSpool(file, { apiKey, baseUrl, log: (m) => console.error(`agnox-report: ${m}`) });
      console.log(`${file}: execution ${r.taskId}, ${r.batches} batches (${r.duplicates} already there)${r.tornDown ? `, status ${r.status}` : ', no teardown in file (run incomplete)'}`);
    } catch (err) {
      failed++;
      console.error(`agnox-report: ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return failed ? 1 : 0;
}
