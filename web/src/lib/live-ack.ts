// Tells a run's room how far this page has applied its log (ViewerAck in worker/contracts/live.ts):
// at most once per VIEWER_ACK_INTERVAL_MS while log arrives, and once more after it stops. The room
// drops a viewer that leaves too much unacknowledged (a `resync`, then the LIVE_RESYNC close), so
// acks sent from the message handler itself keep coming even when a background tab's timers are slowed.
import { VIEWER_ACK_INTERVAL_MS, type ViewerAck } from '../../../worker/contracts/live';

export function roomAcks(send: (text: string) => void, intervalMs = VIEWER_ACK_INTERVAL_MS) {
  let latest = 0;
  let acked = 0;
  let sentAt = 0;
  let trailing: ReturnType<typeof setTimeout> | null = null;
  const ack = () => {
    trailing = null;
    if (latest === acked) return;
    acked = latest;
    sentAt = Date.now();
    send(JSON.stringify({ type: 'ack', seq: latest } satisfies ViewerAck));
  };
  return {
    /** The log now holds everything up to `seq`. */
    applied(seq: number) {
      latest = seq;
      const wait = sentAt + intervalMs - Date.now();
      if (wait <= 0) ack();
      else trailing ??= setTimeout(ack, wait);
    },
    stop() {
      if (trailing) clearTimeout(trailing);
    },
  };
}
