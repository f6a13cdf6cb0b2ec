// `agnox run` sends the org's API key: like the agent, it refuses plain http to another machine.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ciMain } from '../src/ci/ci-run';
import { insecureAllowed, refusesPlainHttp } from '../src/config';

const capture = () => {
  const lines: string[] = [];
  return { lines, out: { log: (t: string) => lines.push(t), info: (l: string) => lines.push(l) } };
};
const args = (url: string, ...more: string[]) => ['run', '--project', 'prj_1', '--url', url, '--api-key', 'agx_test', ...more];

describe('agnox run --url', () => {
  it('refuses plain http to another machine before sending the API key, and says how to proceed', async () => {
    for (const url of ['http://10.0.0.5:8787', 'http://agnox.example.com', 'http://localhost.evil.example']) {
      const { lines, out } = capture();
      expect(await ciMain(args(url), {}, out)).toBe(2);
      expect(lines.join('\n')).toMatch(/plain http to another machine.*--insecure/);
    }
  });

  it('lets plain http to another machine through with --insecure or AGNOX_INSECURE=1 (the rule ciMain applies)', () => {
    const far = new URL('http://10.0.0.5:8787');
    expect(refusesPlainHttp(far, insecureAllowed(undefined, {}))).toBe(true);
    expect(refusesPlainHttp(far, insecureAllowed(true, {}))).toBe(false);
    expect(refusesPlainHttp(far, insecureAllowed(undefined, { AGNOX_INSECURE: '1' }))).toBe(false);
    expect(refusesPlainHttp(new URL('https://10.0.0.5'), false)).toBe(false);
  });

  it('talks plain http to loopback', async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['x-api-key']}`);
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ success: false, error: 'Invalid API key', code: 'UNAUTHORIZED' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const { lines, out } = capture();
      expect(await ciMain(args(url), {}, out)).toBe(2); // the fake server refuses the key
      expect(lines.join('\n')).not.toMatch(/plain http/);
      expect(seen).toEqual(['POST /api/ci/trigger agx_test']);
    } finally {
      server.close();
    }
  });
});
