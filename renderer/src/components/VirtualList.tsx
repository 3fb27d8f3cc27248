import type { ReactNode } from 'react';
import { useVirtual } from './useVirtual';

export interface VirtualListProps {
  count: number;
  rowHeight: number;
  renderRow: (index: number) => ReactNode;
  className?: string;
  label: string;
  role?: string;
  /** Fixed height in px (default: fill the positioned parent). */
  height?: number;
}

/** A fixed-row-height virtual list: only the visible rows (plus a few) are in the DOM. */
export function VirtualList({ count, rowHeight, renderRow, className, label, role, height }: VirtualListProps) {
  const { ref, win } = useVirtual(count, rowHeight);
  const rows: ReactNode[] = [];
  for (let i = win.start; i < win.end; i += 1) rows.push(renderRow(i));
  return (
    <div ref={ref} className={`vlist ${className ?? ''}`} tabIndex={0} aria-label={label} role={role} style={height !== undefined ? { height } : undefined}>
      <div className="vlist-spacer" style={{ height: win.totalHeight }}>
        <div className="vlist-window" style={{ transform: `translateY(${win.offsetTop}px)` }}>
          {rows}
        </div>
      </div>
    </div>
  );
}
