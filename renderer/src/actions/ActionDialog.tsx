import { useEffect, useRef, type ReactNode } from 'react';
import { Modal } from '../components/Modal';
import { ProgressBar } from './ProgressBar';
import type { ActionRunner } from './useAction';

export interface ActionDialogProps {
  title: string;
  action: ActionRunner;
  /** The button that starts the action, shown beside Close until it runs. */
  startButton: ReactNode;
  /** The button that replaces both while it runs, e.g. "Cancel export". */
  cancelLabel: string;
  /** The progress bar's accessible name, e.g. "Export progress". */
  progressLabel: string;
  /** Words for this action's own progress phases, where the shared ones do not fit. */
  phaseWords?: Record<string, string>;
  /** Why the last attempt failed (shown below the progress). */
  error?: string | null;
  onClose: () => void;
  children: ReactNode;
}

/**
 * The frame of a long action (merge, export, import): a wide modal that cannot be closed while the action runs,
 * a progress bar meanwhile, and Close plus the start button, which give way to Cancel while it runs.
 */
export function ActionDialog({ title, action, startButton, cancelLabel, progressLabel, phaseWords, error, onClose, children }: ActionDialogProps) {
  const cancelRef = useRef<HTMLButtonElement>(null);

  // The start button goes away while the action runs: keep the keyboard focus in the dialog, on Cancel.
  useEffect(() => {
    if (action.running) cancelRef.current?.focus();
  }, [action.running]);

  return (
    <Modal
      title={title}
      onClose={action.running ? () => undefined : onClose}
      wide
      actions={
        action.running ? (
          <button type="button" className="btn" ref={cancelRef} onClick={action.cancel}>
            {cancelLabel}
          </button>
        ) : (
          <>
            <button type="button" className="btn" onClick={onClose}>
              Close
            </button>
            {startButton}
          </>
        )
      }
    >
      {children}
      {action.running ? <ProgressBar progress={action.progress} label={progressLabel} phaseWords={phaseWords} /> : null}
      {error ? (
        <p className="notice error" role="alert">
          {error}
        </p>
      ) : null}
    </Modal>
  );
}
