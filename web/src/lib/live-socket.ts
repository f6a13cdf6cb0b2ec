// Reconnecting WebSockets (partysocket) to the org's hub and to one run's room. Each (re)connect
// fetches a fresh single-use ticket, and a room connects with since=<last seq seen>, so the server
// replays exactly what was missed: no gap, and the log buffer drops any overlap.
import ReconnectingWebSocket from 'partysocket/ws';
import { api } from './api';

export type LiveState = 'connecting' | 'open' | 'reconnecting' | 'closed';

type Options<M> = {
  /** `/api/live` or `/api/executions/:taskId/live`. */
  path: string;
  taskId?: string;
  /** Read at every (re)connect. */
  since?: () => number;
  onMessage: (message: M) => void;
  onState?: (state: LiveState) => void;
  /** Return false to stop reconnecting after a close (e.g. the run finished and the room closed normally). */
  shouldReconnect?: (code: number) => boolean;
};

export function openLive<M>({ path, taskId, since, onMessage, onState, shouldReconnect }: Options<M>): {
  close: () => void;
  reconnect: () => void;
  /** Sends on the open socket; dropped while (re)connecting. */
  send: (text: string) => void;
} {
  const url = async () => {
    const { ticket } = await api<{ ticket: string }>('/api/auth/ws-ticket', { method: 'POST', body: taskId ? { taskId } : {} });
    const u = new URL(path, location.href);
    u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    u.searchParams.set('ticket', ticket);
    if (since) u.searchParams.set('since', String(since()));
    return u.toString();
  };
  const ws = new ReconnectingWebSocket(url, null, {
    minReconnectionDelay: 250 + Math.random() * 500,
    maxReconnectionDelay: 8000,
    connectionTimeout: 8000,
    shouldReconnectOnClose: (e) => e.code !== 4401 && e.code !== 4403 && e.code !== 4404 && (shouldReconnect?.(e.code) ?? true),
  });
  onState?.('connecting');
  ws.addEventListener('open', () => onState?.('open'));
  ws.addEventListener('close', () => onState?.(ws.shouldReconnect ? 'reconnecting' : 'closed'));
  ws.addEventListener('message', (e: MessageEvent) => {
    if (typeof e.data !== 'string') return;
    let message: M;
    try {
      message = JSON.parse(e.data) as M;
    } catch {
      return;
    }
    onMessage(message);
  });
  return {
    close: () => ws.close(1000, 'viewer left'),
    reconnect: () => ws.reconnect(),
    send: (text) => {
      if (ws.readyState === ws.OPEN) ws.send(text);
    },
  };
}
