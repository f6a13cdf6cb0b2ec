// One hub per organization: every dashboard of the org holds a WebSocket here (hibernation API),
// and every execution status change is published to it and fanned out as `execution-updated`.
import { DurableObject } from 'cloudflare:workers';
import type { HubMessage } from '../worker/contracts/live';
import type { Env } from '../worker/env';

export class OrgHub extends DurableObject<Env> {
  /** The Worker forwards `/api/live` upgrades here after authenticating the member. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket', { status: 426 });
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    pair[1].send(JSON.stringify({ type: 'hello' }));
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  async publish(message: HubMessage): Promise<number> {
    const text = JSON.stringify(message);
    const sockets = this.ctx.getWebSockets();
    for (const ws of sockets) {
      try { ws.send(text); } catch { /* closing; the dashboard refetches on reconnect */ }
    }
    return sockets.length;
  }

  async sockets(): Promise<number> {
    return this.ctx.getWebSockets().length;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
    if (message === 'ping') ws.send('pong');
  }

  override async webSocketClose(ws: WebSocket, code: number) {
    try { ws.close(code === 1005 ? 1000 : code, 'closing'); } catch { /* already closed */ }
  }
}
