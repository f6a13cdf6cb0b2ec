// Flags and AGNOX_* variables, and the identity file's permissions.
import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LOG_MAX_BYTES } from '../../worker/contracts/agent';
import { ConfigError, DEFAULT_OUTPUT_MAX_BYTES, parseAgentConfig, parseSize } from '../src/config';
import { StateStore } from '../src/state';
import { AGENT_VERSION } from '../src/version';
import { dockerArch, hostInfo } from '../src/platform';

describe('agent config', () => {
  it('reads flags, with AGNOX_* variables as fallback and flags winning', () => {
    const cfg = parseAgentConfig(['--url', 'https://cp.example:8787/', '--concurrency', '3', '--labels', 'pool=lab, gpu=none'], {
      AGNOX_URL: 'http://ignored',
      AGNOX_TOKEN: 'reg-token-123',
      AGNOX_NAME: 'box-1',
      AGNOX_AGENT_HOME: '/tmp/agent-a',
      AGNOX_MEMORY: '512m',
    });
    expect(cfg).toMatchObject({
      url: 'https://cp.example:8787',
      token: 'reg-token-123',
      name: 'box-1',
      concurrency: 3,
      stateDir: '/tmp/agent-a',
      labels: { pool: 'lab', gpu: 'none' },
      memoryBytes: 512 * 1024 * 1024,
    });
  });

  it('defaults the state directory to ~/.agnox-agent', () => {
    const cfg = parseAgentConfig(['--url', 'https://x.test'], { HOME: '/home/ada' });
    expect(cfg !== 'help' && cfg.stateDir.endsWith('.agnox-agent')).toBe(true);
  });

  it.each([
    [[], /--url/],
    [['--url', 'ftp://x'], /not an http/],
    [['--url', 'https://x', '--concurrency', '0'], /--concurrency/],
    [['--url', 'https://x', '--labels', 'novalue'], /key=value/],
    [['--url', 'https://x', '--bogus'], /bogus/],
    [['--url', 'https://x', '--memory', 'lots'], /size/],
    [['--url', 'https://x', '--log-max', '1k'], /--log-max: at least 64k/],
  ])('rejects %j with a clear message', (argv, message) => {
    expect(() => parseAgentConfig(argv as string[], {})).toThrow(ConfigError);
    expect(() => parseAgentConfig(argv as string[], {})).toThrow(message);
  });

  it("forwards job output up to 19m by default, 1 MiB under the room's cap so the agent's own closing lines are stored; --log-max changes it", () => {
    expect(DEFAULT_OUTPUT_MAX_BYTES).toBe(DEFAULT_LOG_MAX_BYTES - 1024 * 1024);
    expect((parseAgentConfig(['--url', 'https://x'], {}) as { logMaxBytes: number }).logMaxBytes).toBe(19 * 1024 * 1024);
    expect((parseAgentConfig(['--url', 'https://x'], { AGNOX_LOG_MAX: '2m' }) as { logMaxBytes: number }).logMaxBytes).toBe(2 * 1024 * 1024);
  });

  it.each([
    'http://cp.example:8787',
    'http://10.0.0.5',
    'http://192.168.1.10:8787',
    'http://[fe80::1]:8787',
    'http://128.0.0.1',
    'http://localhost.evil.example',
    'http://127.0.0.1.nip.io',
  ])('refuses plain http to another machine (%s), saying why and how', (url) => {
    expect(() => parseAgentConfig(['--url', url], {})).toThrow(ConfigError);
    expect(() => parseAgentConfig(['--url', url], {})).toThrow(
      /is plain http to another machine: the agent's token, your jobs' secrets and their logs would cross the network unencrypted.*Use https:\/\/, or pass --insecure \(AGNOX_INSECURE=1\)/,
    );
    expect(() => parseAgentConfig([], { AGNOX_URL: url })).toThrow(/--insecure/);
  });

  it('allows plain http to this machine (localhost, 127.0.0.0/8, ::1), https anywhere, and http anywhere with --insecure or AGNOX_INSECURE=1', () => {
    for (const url of [
      'http://127.0.0.1:8787',
      'http://127.9.8.7',
      'http://localhost:8787',
      'http://LOCALHOST.',
      'http://[::1]:8787',
      'https://cp.example',
      'https://10.0.0.5',
    ]) {
      expect((parseAgentConfig(['--url', url], {}) as { url: string }).url).toBe(url.replace(/\/$/, ''));
    }
    expect((parseAgentConfig(['--url', 'http://cp.example:8787', '--insecure'], {}) as { url: string }).url).toBe('http://cp.example:8787');
    expect((parseAgentConfig([], { AGNOX_URL: 'http://10.0.0.5', AGNOX_INSECURE: '1' }) as { url: string }).url).toBe('http://10.0.0.5');
    expect(() => parseAgentConfig([], { AGNOX_URL: 'http://10.0.0.5', AGNOX_INSECURE: '0' })).toThrow(/--insecure/);
  });

  it('parses sizes', () => {
    expect(parseSize('4g', 'x')).toBe(4 * 1024 ** 3);
    expect(parseSize('1.5G', 'x')).toBe(1.5 * 1024 ** 3);
  });

  it('maps Node arch names to Docker platforms and keeps the version in step with package.json', () => {
    expect(dockerArch('x64')).toBe('amd64');
    expect(dockerArch('arm64')).toBe('arm64');
    expect(hostInfo('arm64').platform).toBe('linux/arm64');
    const pkg = JSON.parse(readFileSync(path.join(import.meta.dirname, '../package.json'), 'utf8'));
    expect(AGENT_VERSION).toBe(pkg.version);
  });
});

describe('state store', () => {
  it('stores the identity readable only by its user and reads it back', () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'agnox-home-')), 'nested');
    const store = new StateStore(dir);
    expect(store.load()).toBeNull();
    const identity = { agentId: 'ag_1', agentToken: 'tok', url: 'http://x', name: 'n', queue: 'org_1', labels: {}, registeredAt: 1 };
    store.save(identity);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
    chmodSync(store.file, 0o644);
    expect(new StateStore(dir).load()).toEqual(identity);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
  });

  it('explains a corrupt identity file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agnox-home-'));
    writeFileSync(path.join(dir, 'agent.json'), '{oops');
    expect(() => new StateStore(dir).load()).toThrow(/not valid JSON.*remove it/);
  });
});
