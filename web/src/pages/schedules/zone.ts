// Time zones for schedules: the browser's own (a new schedule's default) and a time as a zone's clock
// shows it.
import { dateTime } from '../../lib/format';

export const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** A run time as the schedule's own clock shows it (that is what the expression means). */
export function inZone(ts: number, timeZone: string) {
  try {
    return new Date(ts).toLocaleString(undefined, { timeZone, weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  } catch {
    // An unknown zone name: the browser's clock is better than nothing.
    return dateTime(ts);
  }
}
