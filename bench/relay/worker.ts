// A bare relay: /agent and /viewer WebSockets meet in one Durable Object, which forwards every
// agent message to every viewer unchanged. No auth, no storage, no parsing: what the runtime alone
// costs for the fan-out that bench/active-runs.ts measures through Agnox.
import { DurableObject } from 'cloudflare:workers';

type Env = { RELAY: DurableObjectNamespace<Relay> };

export class Relay extends DurableObject<Env> {
  override async fetch(request: Request): Promise<Response> {
    const role = new URL(request.url).pathname === '/agent' ? 'agent' : 'viewer';
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [role]);
    return new Response(null, { status: 101, webSocket: client });
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    if (!this.ctx.getTags(ws).includes('agent')) return;
    for (const viewer of this.ctx.getWebSockets('viewer')) viewer.send(message);
  }
}

export default {
  fetch(request: Request, env: Env): Response | Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('ok');
    return env.RELAY.get(env.RELAY.idFromName('bench')).fetch(request);
  },
};
