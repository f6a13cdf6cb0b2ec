// The scroll state of a virtualised log: which lines are in (or near) the viewport, and following the
// tail until the user scrolls up. Lines have a fixed height, so positions are arithmetic.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

export const LINE_HEIGHT = 20;
/** Lines rendered beyond each edge of the viewport, so a fast scroll does not show blank space. */
const OVERSCAN = 30;

/** `count` lines in the log; `version` changes when lines are added (the tail may have moved). */
export function useLogViewport(count: number, version: number) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(480);
  const [follow, setFollow] = useState(true);
  /** Set when we moved the scroll position ourselves, so that scroll event does not stop following. */
  const programmatic = useRef(false);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Follow the tail: after new lines render, jump to the bottom (unless the user scrolled up).
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || !follow) return;
    programmatic.current = true;
    el.scrollTop = el.scrollHeight;
    setScrollTop(el.scrollTop);
  }, [version, follow, count]);

  /** Centres a line (0-based) in the viewport and stops following the tail. */
  const scrollToLine = (line: number) => {
    const el = scroller.current;
    if (!el) return;
    setFollow(false);
    el.scrollTop = Math.max(0, line * LINE_HEIGHT - el.clientHeight / 2);
    setScrollTop(el.scrollTop);
  };

  const onScroll = () => {
    const el = scroller.current!;
    setScrollTop(el.scrollTop);
    if (programmatic.current) {
      programmatic.current = false;
      return;
    }
    setFollow(el.scrollTop + el.clientHeight >= el.scrollHeight - LINE_HEIGHT);
  };

  const first = Math.max(0, Math.floor(scrollTop / LINE_HEIGHT) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scrollTop + height) / LINE_HEIGHT) + OVERSCAN);
  return { scroller, first, last, follow, setFollow, scrollToLine, onScroll };
}
