// The install kit: the script detects arm64/amd64 and lays out the service (dry run: it prints the
// steps and changes nothing); the systemd unit drains on stop and passes systemd's own checks.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const INSTALL = path.resolve(import.meta.dirname, '../install');
const dryRun = (env: Record<string, string>) =>
  spawnSync('bash', [path.join(INSTALL, 'install.sh')], { encoding: 'utf8', env: { PATH: process.env.PATH!, AGNOX_DRY_RUN: '1', AGNOX_URL: 'https://agnox.example', AGNOX_TOKEN: 'agr_test', ...env } });

describe('install.sh', () => {
  it.each([['aarch64', 'arm64'], ['arm64', 'arm64'], ['x86_64', 'amd64']])('maps uname -m %s to %s', (uname, arch) => {
    const res = dryRun({ AGNOX_UNAME_M: uname });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toContain(`architecture: ${arch} (Docker platform linux/${arch})`);
    expect(res.stdout).toContain('npm install --prefix /opt/agnox-agent --omit=dev --no-audit --no-fund @agnox/agent@latest');
    expect(res.stdout).toContain('usermod -aG docker agnox');
    expect(res.stdout).toMatch(/install .*agnox-agent\.service as \/etc\/systemd\/system\/agnox-agent\.service with ExecStart=\S*node \/opt\/agnox-agent\/node_modules\/@agnox\/agent\/bin\/agnox-agent\.js/);
    expect(res.stdout).toContain('systemctl enable --now agnox-agent');
  });

  it('refuses an unsupported architecture and a missing URL with a clear error', () => {
    const arm32 = dryRun({ AGNOX_UNAME_M: 'armv7l' });
    expect(arm32.status).toBe(1);
    expect(arm32.stderr).toContain('unsupported CPU architecture');
    const noUrl = dryRun({ AGNOX_UNAME_M: 'x86_64', AGNOX_URL: '' });
    expect(noUrl.status).toBe(1);
    expect(noUrl.stderr).toContain('set AGNOX_URL');
  });
});

describe('systemd unit', () => {
  const unit = readFileSync(path.join(INSTALL, 'agnox-agent.service'), 'utf8');

  it('drains on stop: SIGTERM to the agent only, and a stop timeout long enough for a job', () => {
    expect(unit).toMatch(/^KillMode=mixed$/m);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    const minutes = Number(/^TimeoutStopSec=(\d+)min$/m.exec(unit)?.[1]);
    expect(minutes).toBeGreaterThanOrEqual(60);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^Environment=AGNOX_AGENT_HOME=\/var\/lib\/agnox-agent$/m);
    expect(unit).toMatch(/^StateDirectoryMode=0700$/m);
  });

  it('passes systemd-analyze verify once installed paths are filled in', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agnox-unit-'));
    const file = path.join(dir, 'agnox-agent.service');
    writeFileSync(file, unit.replaceAll('@NODE@', process.execPath).replaceAll('@AGENT_BIN@', path.resolve(import.meta.dirname, '../bin/agnox-agent.js')));
    expect(existsSync('/usr/bin/systemd-analyze'), 'systemd-analyze (package systemd) is needed for this check').toBe(true);
    const res = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stderr).not.toMatch(/agnox-agent\.service:\d+:/);
  });
});
