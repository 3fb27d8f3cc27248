import { useId, useState } from 'react';
import type { Capabilities, ExportFormat, ExportResult, OverlayView } from '../../../main/gui/api';
import { errorText, getBridge } from '../api/bridge';
import { ChooseButton, Field } from '../components/Field';
import { ActionDialog } from './ActionDialog';
import { useAction } from './useAction';

export interface ExportDialogProps {
  overlay: OverlayView;
  caps: Capabilities;
  /** The whole merged view as an ISO image, instead of the changes as an archive. */
  iso: boolean;
  onDone: (result: ExportResult) => void;
  onClose: () => void;
}

const ARCHIVE_FORMATS: ReadonlyArray<{ format: ExportFormat; label: string; hint: string }> = [
  { format: 'tar', label: '.tar', hint: 'no compression, fastest' },
  { format: 'tar.gz', label: '.tar.gz', hint: 'gzip, opens everywhere' },
  { format: 'tar.zst', label: '.tar.zst', hint: 'zstd, small and fast' },
];

function suggestedName(overlay: string, format: ExportFormat): string {
  return format === 'iso' ? `${overlay}.iso` : `${overlay}-changes.${format}`;
}

/** Puts `format`'s extension on a typed path in place of another export extension. */
function withExtension(p: string, format: ExportFormat): string {
  const stem = p.replace(/\.(tar\.gz|tar\.zst|tar|iso)$/, '');
  return p === '' ? p : `${stem}.${format}`;
}

/** Export: the changes as a .tar / .tar.gz / .tar.zst archive, or the merged view as an ISO, with progress and cancel. */
export function ExportDialog({ overlay, caps, iso, onDone, onClose }: ExportDialogProps) {
  const bridge = getBridge();
  const idp = useId();
  const action = useAction();
  const [format, setFormat] = useState<ExportFormat>(iso ? 'iso' : 'tar.gz');
  // Web mode types a path (the back end expands "~/"); Electron takes it from the save dialog only.
  const [out, setOut] = useState(caps.typedPaths ? `~/${suggestedName(overlay.name, iso ? 'iso' : 'tar.gz')}` : '');
  const [error, setError] = useState<string | null>(null);

  const what = iso ? 'the merged view as an ISO image' : 'the changes as an archive';

  const choose = async (): Promise<void> => {
    try {
      const p = await bridge.chooseExportPath(format, suggestedName(overlay.name, format));
      if (p) setOut(p);
    } catch (e) {
      setError(errorText(e));
    }
  };

  const start = async (): Promise<void> => {
    setError(null);
    try {
      const result = await action.run((id) => bridge.exportOverlay(overlay.name, id, out.trim(), format));
      onDone(result);
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <ActionDialog
      title={iso ? `Export “${overlay.name}” as an ISO image` : `Export the changes of “${overlay.name}”`}
      action={action}
      startButton={
        <button type="button" className="btn primary solid" disabled={out.trim() === ''} onClick={() => void start()}>
          Export
        </button>
      }
      cancelLabel="Cancel export"
      progressLabel="Export progress"
      error={error}
      onClose={onClose}
    >
      <p>
        {iso
          ? 'Writes every file the overlay shows (base and changes together) as a new ISO 9660 image with Rock Ridge and Joliet, ready to mount or burn.'
          : 'Writes the new and modified files, with a list of deletions and renames, as one archive. Import it elsewhere to get the same changes over the same base.'}
      </p>
      {iso ? null : (
        <fieldset className="format-choice" disabled={action.running}>
          <legend>Format</legend>
          {ARCHIVE_FORMATS.map((f) => (
            <label key={f.format} className="check">
              <input
                type="radio"
                name={`${idp}-format`}
                value={f.format}
                checked={format === f.format}
                onChange={() => {
                  setFormat(f.format);
                  setOut((p) => withExtension(p, f.format));
                }}
              />
              <span>
                <code>{f.label}</code> <span className="muted">— {f.hint}</span>
              </span>
            </label>
          ))}
        </fieldset>
      )}
      <Field
        id={`${idp}-out`}
        label={`Write ${what} to`}
        value={out}
        placeholder={caps.typedPaths ? `/path/to/${suggestedName(overlay.name, format)}` : 'Choose where to save it'}
        readOnly={!caps.typedPaths || action.running}
        hint={caps.typedPaths ? 'A new file outside every overlay’s mountpoint and storage; “~/” is your home folder.' : undefined}
        onChange={setOut}
      >
        {caps.dialogs ? (
          <ChooseButton busy={action.running} onClick={() => void choose()}>
            Choose…
          </ChooseButton>
        ) : null}
      </Field>
    </ActionDialog>
  );
}
