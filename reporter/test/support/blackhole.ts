// A server address that drops connection attempts, as a firewall or a vanished host does: a
// listener in a child process whose event loop is blocked, so it never accepts; once its accept
// queue (backlog 1) is full, the kernel drops further SYNs and `connect` neither succeeds nor fails.
import { spawn } from 'node:child_process';
import net from 'node:net';

const LISTENER = `
const net = require('node:net'), fs = require('node:fs');
const server = net.createServer();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  fs.writeSync(1, server.address().port + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // block forever: never accept
});`;

export type Blackhole = { url: string; close: () => void };

export async function startBlackhole(): Promise<Blackhole> {
  const child = spawn(process.execPath, ['-e', LISTENER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', (code) => reject(new Error(`blackhole listener exited (${code})`)));
  });
  // Fill the accept queue: connect until an attempt stays pending.
  const fillers: net.Socket[] = [];
  for (;;) {
    const socket = net.connect(port, '127.0.0.1');
    fillers.push(socket);
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 300);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
      socket.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (!connected) break;
    if (fillers.length > 64) throw new Error('the blackhole listener kept accepting');
  }
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
    },
  };
}
