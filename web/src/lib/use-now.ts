// The current time, refreshed every second while `ticking` (so running durations count up).
import { useEffect, useState } from 'preact/hooks';

export function useNow(ticking: boolean, everyMs = 1000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (!ticking) return;
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [ticking, everyMs]);
  return ticking ? now : Date.now();
}
