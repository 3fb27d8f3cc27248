import { useEffect, useState } from 'react';
import type { MergeResult, MergeStep, OverlayView } from '../../../main/gui/api';
import { errorText, getBridge } from '../api/bridge';
import { ConfirmationList } from '../components/ConfirmationList';
import { formatCount } from '../lib/format';
import { ActionDialog } from './ActionDialog';
import { useAction } from './useAction';

export interface MergeDialogProps {
  overlay: OverlayView;
  /** Bumped on every live change: the preview is read again, so it always shows what a merge would do now. */
  version: number;
  onDone: (result: MergeResult) => void;
  onClose: () => void;
}

const ACTION_WORD: Readonly<Record<MergeStep['action'], string>> = {
  create: 'create',
  replace: 'replace',
  update: 'update',
  delete: 'delete',
  rename: 'rename',
};

const ACTION_KIND: Readonly<Record<MergeStep['action'], string>> = {
  create: 'created',
  replace: 'modified',
  update: 'modified',
  delete: 'deleted',
  rename: 'renamed',
};

/** Merge: a dry-run preview of every step, a confirmation, then the merge with progress and cancel. */
export function MergeDialog({ overlay, version, onDone, onClose }: MergeDialogProps) {
  const bridge = getBridge();
  const action = useAction();
  const [preview, setPreview] = useState<MergeResult | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (action.running) return;
    let live = true;
    bridge.mergePreview(overlay.name).then(
      (r) => {
        if (!live) return;
        setPreview(r);
        setPreviewError(null);
      },
      (e: unknown) => live && setPreviewError(errorText(e)),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [bridge, overlay.name, version]);

  const steps = preview?.steps ?? [];
  const counts = new Map<MergeStep['action'], number>();
  for (const s of steps) counts.set(s.action, (counts.get(s.action) ?? 0) + 1);
  const summary = [...counts].map(([a, n]) => `${formatCount(n)} ${ACTION_WORD[a]}`).join(', ');

  const merge = async (): Promise<void> => {
    setError(null);
    try {
      const result = await action.run((id) => bridge.merge(overlay.name, id));
      onDone(result);
    } catch (e) {
      setError(errorText(e));
    }
  };

  let body;
  if (previewError) {
    body = (
      <p className="notice error" role="alert">
        {previewError}
      </p>
    );
  } else if (!preview) {
    body = <p className="muted">Working out what a merge would do…</p>;
  } else if (steps.length === 0) {
    body = <p>There is nothing to merge: this overlay has no changes.</p>;
  } else {
    body = (
      <>
        <p>
          Merging writes these changes into the base folder <code>{overlay.base}</code> ({summary}). The merged view stays
          the same, and afterwards the overlay lists no changes. <strong>minifo cannot undo a merge.</strong>
        </p>
        <ConfirmationList
          variant="merge"
          label="What the merge will do to the base"
          items={steps}
          row={(step) => ({
            key: `${step.action}:${step.path}`,
            kind: ACTION_KIND[step.action],
            path: step.path,
            from: step.from,
            action: step.action,
            lead: (
              <>
                <span className="merge-action">{ACTION_WORD[step.action]}</span>
                <span className="merge-type muted">{step.type}</span>
              </>
            ),
          })}
        />
      </>
    );
  }

  return (
    <ActionDialog
      title={`Merge “${overlay.name}” into its base?`}
      action={action}
      startButton={
        <button
          type="button"
          className="btn danger solid"
          data-autofocus
          disabled={!preview || !!previewError || steps.length === 0}
          onClick={() => void merge()}
        >
          {`Merge ${formatCount(steps.length)} ${steps.length === 1 ? 'step' : 'steps'} into the base`}
        </button>
      }
      cancelLabel="Cancel merge"
      progressLabel="Merge progress"
      error={error}
      onClose={onClose}
    >
      {body}
    </ActionDialog>
  );
}
