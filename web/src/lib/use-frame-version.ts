// A render counter bumped at most once per animation frame: a burst of log frames (hundreds a second
// on a busy run) costs one render, not one per frame.
import { useRef, useState } from 'preact/hooks';

/** The current version, and the function that asks for the next one before the next paint. */
export function useFrameVersion(): [number, () => void] {
  const [version, setVersion] = useState(0);
  const scheduled = useRef(false);
  const bump = () => {
    if (scheduled.current) return;
    scheduled.current = true;
    requestAnimationFrame(() => {
      scheduled.current = false;
      setVersion((v) => v + 1);
    });
  };
  return [version, bump];
}
