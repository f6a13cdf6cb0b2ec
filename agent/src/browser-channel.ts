// Google Chrome and Microsoft Edge have no Linux ARM64 builds. A job that asks for them on an ARM64
// agent would fail deep inside Playwright; it is refused before any container starts, with the
// known-limitation text users already know (seed 000), so they can switch to Chromium or route
// the project to an amd64 agent with the label `arch=amd64`.
import type { Job } from '../../worker/contracts/agent';

export const ARM64_CHANNEL_MESSAGE =
  'Google Chrome and Microsoft Edge do not support Linux ARM64, so this job cannot run on this ARM64 agent ' +
  "(it would fail with: BrowserType.launch: Chromium distribution 'chrome' is not found). " +
  'Workaround: remove --browser-channel chrome (or msedge) from your pytest/Playwright config and use --browser chromium instead; ' +
  'Chromium is fully supported on ARM64. Or run this project on an amd64 agent by giving the job the label arch=amd64.';

// `--browser-channel chrome`, `--browser-channel=msedge`, `channel: 'chrome-beta'`, `BROWSER_CHANNEL=msedge`, …
const CHANNEL_PATTERNS = [/--browser-channel(?:\s+|=)["']?(chrome|msedge)[\w-]*/i, /\bchannel["']?\s*[:=]\s*["'](chrome|msedge)[\w-]*["']/i];
const CHANNEL_VARS = /^(BROWSER_CHANNEL|PLAYWRIGHT_CHANNEL|PW_CHANNEL|CHANNEL)$/i;

/** The proprietary channel the job asks for ('chrome' / 'msedge'), or null. */
export function requestedProprietaryChannel(job: Pick<Job, 'command' | 'tests' | 'envVars'>): string | null {
  const texts = [job.command ?? '', ...job.tests];
  for (const text of texts) {
    for (const re of CHANNEL_PATTERNS) {
      const m = re.exec(text);
      if (m) return m[1]!.toLowerCase();
    }
  }
  for (const [name, value] of Object.entries(job.envVars)) {
    if (CHANNEL_VARS.test(name) && /^(chrome|msedge)/i.test(value.trim())) return value.trim().toLowerCase();
  }
  return null;
}

/** The refusal message when `arch` cannot run the job, else null. */
export function refusalFor(job: Pick<Job, 'command' | 'tests' | 'envVars'>, arch: string): string | null {
  if (arch !== 'arm64') return null;
  return requestedProprietaryChannel(job) ? ARM64_CHANNEL_MESSAGE : null;
}
