import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { ChevronIcon, FileIcon, FolderIcon, LinkIcon } from '../components/icons';
import { KindBadge } from '../components/KindBadge';
import { useVirtual } from '../components/useVirtual';
import { clampIndex, pageSize } from '../lib/virtual';
import { formatCount } from '../lib/format';
import { parentRowIndex, type TreeRow } from './tree';

export const ROW_HEIGHT = 28;

export interface ChangeTreeProps {
  rows: TreeRow[];
  selectedPath: string | null;
  onSelect: (row: TreeRow) => void;
  onToggle: (row: TreeRow, expand: boolean) => void;
  label: string;
}

/**
 * A virtualized ARIA tree (role=tree/treeitem, aria-level/setsize/posinset/expanded) with a roving
 * tabindex: one row is tabbable; arrows, Home/End and PageUp/PageDown move it, Right/Left expand,
 * collapse and move between parent and child, Enter/Space select. Selection follows focus.
 */
export function ChangeTree({ rows, selectedPath, onSelect, onToggle, label }: ChangeTreeProps) {
  const { ref, win, height, reveal } = useVirtual(rows.length, ROW_HEIGHT, 10);
  const [activePath, setActivePath] = useState<string | null>(selectedPath);
  const focusPending = useRef(false);

  const indexOf = useMemo(() => {
    const map = new Map<string, number>();
    rows.forEach((r, i) => map.set(r.path, i));
    return map;
  }, [rows]);

  const activeIndex = activePath !== null && indexOf.has(activePath) ? (indexOf.get(activePath) as number) : rows.length > 0 ? 0 : -1;

  useEffect(() => {
    if (selectedPath !== null && indexOf.has(selectedPath)) setActivePath(selectedPath);
  }, [selectedPath, indexOf]);

  useEffect(() => {
    if (!focusPending.current || activeIndex < 0) return;
    const el = ref.current?.querySelector<HTMLElement>(`[data-index="${activeIndex}"]`);
    if (el) {
      focusPending.current = false;
      el.focus({ preventScroll: true });
    }
  });

  const moveTo = (index: number, select = true): void => {
    const i = clampIndex(index, rows.length);
    if (i < 0) return;
    focusPending.current = true;
    setActivePath(rows[i].path);
    reveal(i);
    if (select) onSelect(rows[i]);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    if (rows.length === 0) return;
    const row = rows[activeIndex];
    const page = pageSize(ROW_HEIGHT, height);
    switch (e.key) {
      case 'ArrowDown':
        moveTo(activeIndex + 1);
        break;
      case 'ArrowUp':
        moveTo(activeIndex - 1);
        break;
      case 'Home':
        moveTo(0);
        break;
      case 'End':
        moveTo(rows.length - 1);
        break;
      case 'PageDown':
        moveTo(activeIndex + page);
        break;
      case 'PageUp':
        moveTo(activeIndex - page);
        break;
      case 'ArrowRight':
        if (row?.isFolder && !row.expanded) onToggle(row, true);
        else if (row?.isFolder && rows[activeIndex + 1]?.level === row.level + 1) moveTo(activeIndex + 1);
        break;
      case 'ArrowLeft':
        if (row?.isFolder && row.expanded) onToggle(row, false);
        else {
          const parent = parentRowIndex(rows, activeIndex);
          if (parent >= 0) moveTo(parent);
        }
        break;
      case 'Enter':
      case ' ':
        if (row) {
          onSelect(row);
          if (row.isFolder && e.key === 'Enter') onToggle(row, !row.expanded);
        }
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const items = [];
  for (let i = win.start; i < win.end; i += 1) {
    const row = rows[i];
    const selected = row.path === selectedPath;
    const icon =
      row.isFolder || row.entryType === 'dir' ? (
        <FolderIcon className="entry-icon" open={row.expanded} />
      ) : row.entryType === 'symlink' ? (
        <LinkIcon className="entry-icon" />
      ) : (
        <FileIcon className="entry-icon" />
      );
    items.push(
      <div
        key={row.path}
        role="treeitem"
        id={`row-${i}`}
        data-index={i}
        data-path={row.path}
        data-kind={row.kind ?? 'unchanged'}
        aria-level={row.level}
        aria-setsize={row.setsize}
        aria-posinset={row.posinset}
        aria-expanded={row.isFolder ? row.expanded : undefined}
        aria-selected={selected}
        tabIndex={i === activeIndex ? 0 : -1}
        className={`tree-row${selected ? ' selected' : ''}${row.kind ? ` kind-${row.kind}` : ' unchanged'}${row.mixed ? ' mixed' : ''}`}
        style={{ height: ROW_HEIGHT, paddingLeft: 8 + (row.level - 1) * 16 }}
        onClick={() => {
          setActivePath(row.path);
          onSelect(row);
        }}
        onDoubleClick={() => row.isFolder && onToggle(row, !row.expanded)}
      >
        <span
          className="twisty"
          onClick={(e) => {
            e.stopPropagation();
            if (row.isFolder) onToggle(row, !row.expanded);
          }}
        >
          {row.isFolder ? <ChevronIcon open={row.expanded} /> : null}
        </span>
        {icon}
        <span className="name" title={row.path}>
          {row.name}
        </span>
        {row.from ? (
          <span className="from" title={`renamed from ${row.from}`}>
            ← {row.from}
          </span>
        ) : null}
        {row.loading ? <span className="muted small">reading…</span> : null}
        {row.error ? <span className="row-error">{row.error}</span> : null}
        <span className="spacer" />
        {row.isFolder && row.descendantChanges > 0 ? (
          <span className="count-pill" title={`${row.descendantChanges} changes inside`}>
            {formatCount(row.descendantChanges)}
          </span>
        ) : null}
        {row.kind ? <KindBadge kind={row.kind} mixed={row.mixed} /> : <span className="kind-placeholder" />}
      </div>,
    );
  }

  return (
    <div
      ref={ref}
      className="tree"
      role="tree"
      aria-label={label}
      aria-multiselectable={false}
      tabIndex={activeIndex < 0 || activeIndex < win.start || activeIndex >= win.end ? 0 : -1}
      onKeyDown={onKeyDown}
      onFocus={(e) => {
        // Focus landed on the container (the active row is scrolled away): bring the active row back.
        if (e.target === e.currentTarget && activeIndex >= 0) moveTo(activeIndex, false);
      }}
    >
      <div className="vlist-spacer" role="none" style={{ height: win.totalHeight }}>
        <div className="vlist-window" role="none" style={{ transform: `translateY(${win.offsetTop}px)` }}>
          {items}
        </div>
      </div>
    </div>
  );
}
