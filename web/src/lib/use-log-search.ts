// Search in a log buffer with next/previous: what is typed, the query it settles into after a pause,
// the matching line indexes and which of them is current.
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { LogBuffer } from './log-buffer';

export type LogSearch = ReturnType<typeof useLogSearch>;

/** `version` changes when the buffer gains lines, so the hits are searched again. */
export function useLogSearch(buffer: LogBuffer, version: number) {
  const [query, setQuery] = useState('');
  const [typed, setTyped] = useState('');
  const [hitIndex, setHitIndex] = useState(0);

  const hits = useMemo(() => (query.length >= 2 ? buffer.search(query) : []), [query, version, buffer]);
  const currentHit = hits.length ? hits[Math.min(hitIndex, hits.length - 1)] : undefined;

  // Search after a pause in typing, not on every key.
  useEffect(() => {
    const t = setTimeout(() => {
      setQuery(typed);
      setHitIndex(0);
    }, 150);
    return () => clearTimeout(t);
  }, [typed]);

  /** Moves to the next (1) or previous (-1) hit, wrapping around. */
  const step = (delta: number) => {
    if (!hits.length) return;
    setHitIndex((i) => (Math.min(i, hits.length - 1) + delta + hits.length) % hits.length);
  };

  return { typed, setTyped, query, hits, hitIndex, setHitIndex, currentHit, step };
}
