import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { scrollToReveal, virtualWindow, type VirtualWindow } from '../lib/virtual';

/** Tracks a scroll container's size and position and gives the rows to render. */
export function useVirtual(count: number, rowHeight: number, overscan = 8) {
  const ref = useRef<HTMLDivElement | null>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setHeight(el.clientHeight || 600);
    const ro = new ResizeObserver(() => setHeight(el.clientHeight || 600));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let frame = 0;
    const onScroll = (): void => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setScrollTop(el.scrollTop);
      });
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    return () => {
      el.removeEventListener('scroll', onScroll);
      if (frame) cancelAnimationFrame(frame);
    };
  }, []);

  const win: VirtualWindow = virtualWindow(count, rowHeight, scrollTop, height, overscan);

  const reveal = useCallback(
    (index: number) => {
      const el = ref.current;
      if (!el || index < 0) return;
      const next = scrollToReveal(index, rowHeight, el.scrollTop, el.clientHeight);
      if (next !== el.scrollTop) {
        el.scrollTop = next;
        setScrollTop(next);
      }
    },
    [rowHeight],
  );

  return { ref, win, height, reveal };
}
