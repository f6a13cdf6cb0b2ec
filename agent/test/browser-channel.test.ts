// ARM64 agents refuse jobs that ask for Google Chrome or Microsoft Edge.
import { describe, expect, it } from 'vitest';
import { ARM64_CHANNEL_MESSAGE, refusalFor, requestedProprietaryChannel } from '../src/browser-channel';

const job = (command: string | null, envVars: Record<string, string> = {}, tests: string[] = []) => ({ command, envVars, tests });

describe('browser channel on ARM64', () => {
  it.each([
    ['pytest --browser-channel chrome', 'chrome'],
    ['npx playwright test --browser-channel=msedge', 'msedge'],
    ['node -e "use({ channel: \'chrome-beta\' })"', 'chrome'],
    ['npx playwright test --project=chromium', null],
    ['pytest --browser chromium', null],
  ])('%s → %s', (command, channel) => {
    expect(requestedProprietaryChannel(job(command))).toBe(channel);
  });

  it('sees the channel in job variables too', () => {
    expect(requestedProprietaryChannel(job('npm test', { BROWSER_CHANNEL: 'msedge' }))).toBe('msedge');
  });

  it('refuses on arm64 only, with the known-limitation text', () => {
    const j = job('pytest --browser-channel chrome');
    expect(refusalFor(j, 'arm64')).toBe(ARM64_CHANNEL_MESSAGE);
    expect(ARM64_CHANNEL_MESSAGE).toMatch(/Google Chrome and Microsoft Edge do not support Linux ARM64/);
    expect(ARM64_CHANNEL_MESSAGE).toMatch(/--browser chromium/);
    expect(refusalFor(j, 'amd64')).toBeNull();
  });
});
