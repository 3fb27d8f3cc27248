import { useMemo, useState } from 'react';
import type { Change } from '../../../app/control/protocol';
import { KindBadge } from '../components/KindBadge';
import { Modal } from '../components/Modal';
import { ConfirmationList } from '../components/ConfirmationList';
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
          <ConfirmationList
            variant="revert"
            label="Changes that will be discarded"
            items={discarded}
            row={(c) => ({ key: c.path, kind: c.kind, path: c.path, from: c.from, lead: <KindBadge kind={c.kind} /> })}
          />
        </>
      )}
    </Modal>
  );
}
