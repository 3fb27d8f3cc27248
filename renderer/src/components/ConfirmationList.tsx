import type { ReactNode } from 'react';
import { VirtualList } from './VirtualList';

const ROW_HEIGHT = 26;
/** Short lists show whole; longer ones scroll inside this height, so the dialog's buttons stay in view. */
const MAX_HEIGHT = 300;

export interface ConfirmationRow {
  key: string;
  /** The change's kind (created, modified, deleted, renamed): colours the row. */
  kind: string;
  path: string;
  /** Where a renamed path came from. */
  from?: string;
  /** What stands before the path: the kind's badge, or the merge's action and file type. */
  lead: ReactNode;
  /** The merge step's action, as data-action (the browser tests read it). */
  action?: string;
}

export interface ConfirmationListProps<T> {
  /** 'merge' or 'revert': shared confirm-list styles, plus `${variant}-list` / `${variant}-row` for what differs. */
  variant: 'merge' | 'revert';
  label: string;
  items: readonly T[];
  row: (item: T) => ConfirmationRow;
}

/** The paths a confirmation dialog (merge, revert) is about to change, one row each. */
export function ConfirmationList<T>({ variant, label, items, row }: ConfirmationListProps<T>) {
  return (
    <VirtualList
      className={`confirm-list ${variant}-list`}
      height={Math.min(items.length * ROW_HEIGHT + 2, MAX_HEIGHT)}
      label={label}
      count={items.length}
      rowHeight={ROW_HEIGHT}
      renderRow={(i) => {
        const r = row(items[i]);
        return (
          <div key={r.key} className={`confirm-row ${variant}-row kind-${r.kind}`} style={{ height: ROW_HEIGHT }} data-action={r.action}>
            {r.lead}
            <span className="name mono">{r.path}</span>
            {r.from ? <span className="from">← {r.from}</span> : null}
          </div>
        );
      }}
    />
  );
}
