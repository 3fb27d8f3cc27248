import { useMemo, useState } from 'react';
import type { Change } from '../../../app/control/protocol';
import { KindBadge } from '../components/KindBadge';
import { Modal } from '../components/Modal';
import { VirtualList } from '../components/VirtualList';
import { changesUnder, countKinds, KIND_WORD, KINDS } from '../changes/tree';
import { formatCount } from '../lib/format';

export interface RevertDialogProps {
  overlayName: string;
  paths: string[] | 'all';
  changes: Change[];
  onConfirm: () => Promise<void>;
  onClose: () => void;
}

/** Says exactly what a revert discards, then does it. */
export function RevertDialog({ overlayName, paths, changes, onConfirm, onClose }: RevertDialogProps) {
  const discarded = useMemo(() => (paths === 'all' ? changes : changesUnder(changes, paths)), [paths, changes]);
  const counts = countKinds(discarded);
  const [busy, setBusy] = useState(false);
  const what =
    paths === 'all' ? `all changes in “${overlayName}”` : paths.length === 1 ? paths[0] : `${paths.length} paths`;
  const summary = KINDS.filter((k) => counts[k] > 0)
    .map((k) => `${formatCount(counts[k])} ${KIND_WORD[k]}`)
    .join(', ');
  return (
    <Modal
      title={`Revert ${what}?`}
      onClose={busy ? () => undefined : onClose}
      wide
      actions={
        <>
          <button type="button" className="btn" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button
            type="button"
            className="btn danger solid"
            data-autofocus
            disabled={busy || discarded.length === 0}
            onClick={async () => {
              setBusy(true);
              try {
                await onConfirm();
              } finally {
                setBusy(false);
              }
            }}
          >
            {busy ? 'Reverting…' : `Discard ${formatCount(discarded.length)} ${discarded.length === 1 ? 'change' : 'changes'}`}
          </button>
        </>
      }
    >
      {discarded.length === 0 ? (
        <p>Nothing to revert here: this path has no local changes.</p>
      ) : (
        <>
          <p>
            These local changes will be discarded ({summary}). The mount shows the base’s content again right away.
            The discarded copies go to this overlay’s trash, so <strong>Undo revert</strong> can bring them back.
          </p>
          <VirtualList
            className="revert-list"
            height={Math.min(discarded.length * 26 + 2, 300)}
            label="Changes that will be discarded"
            count={discarded.length}
            rowHeight={26}
            renderRow={(i) => {
              const c = discarded[i];
              return (
                <div key={c.path} className={`revert-row kind-${c.kind}`} style={{ height: 26 }}>
                  <KindBadge kind={c.kind} />
                  <span className="name mono">{c.path}</span>
                  {c.from ? <span className="from">← {c.from}</span> : null}
                </div>
              );
            }}
          />
        </>
      )}
    </Modal>
  );
}
