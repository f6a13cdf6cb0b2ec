// A TCP proxy in front of the control plane that can drop the network: `reset()` kills every open
// connection (like a link going down), `blackhole()` keeps connections open but silently drops
// all bytes both ways (a half-open link: no FIN, no RST), `cut()` kills every connection and
// refuses new ones (the host unreachable), `restore()` heals it.
import net from 'node:net';

export type FlakyProxy = {
  url: string;
  reset: () => void;
  blackhole: () => void;
  cut: () => Promise<void>;
  restore: () => Promise<void>;
  /** Refuse WebSocket upgrades (a proxy that only speaks plain HTTP). */
  blockWebSockets: (block: boolean) => void;
  connections: () => number;
  close: () => Promise<void>;
};

export async function startFlakyProxy(target: string): Promise<FlakyProxy> {
  const { hostname, port } = new URL(target);
  let mode: 'pass' | 'blackhole' = 'pass';
  const open = new Set<net.Socket>();
  let total = 0;
  let noWebSockets = false;
  const server = net.createServer((client) => {
    total++;
    const upstream = net.connect(Number(port), hostname);
    open.add(client);
    open.add(upstream);
    let first = true;
    client.on('data', (d: Buffer) => {
      if (first && noWebSockets && /^upgrade:\s*websocket/im.test(d.toString('latin1'))) {
        client.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
        upstream.destroy();
      } else if (mode === 'pass') upstream.write(d);
      first = false;
    });
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on('data', (d) => {
        if (mode === 'pass') to.write(d);
      });
    forward(upstream, client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port: own } = server.address() as net.AddressInfo;
  const resetAll = () => {
    for (const s of open) s.resetAndDestroy();
    open.clear();
  };
  return {
    url: `http://127.0.0.1:${own}`,
    reset: resetAll,
    blackhole: () => {
      mode = 'blackhole';
    },
    blockWebSockets: (block) => {
      noWebSockets = block;
    },
    cut: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      resetAll();
      await closed;
    },
    // Bytes were dropped, so the old streams are corrupt: end them, as a NAT timeout would.
    restore: async () => {
      mode = 'pass';
      resetAll();
      if (!server.listening) await new Promise<void>((r) => server.listen(own, '127.0.0.1', r));
    },
    connections: () => total,
    close: () =>
      new Promise<void>((r) => {
        resetAll();
        if (server.listening) server.close(() => r());
        else r();
      }),
  };
}
