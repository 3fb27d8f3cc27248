import { useId, useState } from 'react';
import type { Capabilities, OverlayView } from '../../../main/gui/api';
import { errorText, getBridge } from '../api/bridge';
import { ChooseButton, Field } from '../components/Field';
import { OverlayFields, useOverlayFields } from '../new-overlay/OverlayFields';
import { ActionDialog } from './ActionDialog';
import { useAction } from './useAction';

export interface ImportDialogProps {
  caps: Capabilities;
  onDone: (overlay: OverlayView) => void;
  onClose: () => void;
}

const IMPORT_PHASES = { archive: 'Unpacking the archive' };

/** Import: an exported changes archive becomes a new overlay over a chosen base, then mounts. */
export function ImportDialog({ caps, onDone, onClose }: ImportDialogProps) {
  const bridge = getBridge();
  const idp = useId();
  const action = useAction();
  const [archive, setArchive] = useState('');
  // The new overlay's fields get the same inline checks as "New overlay"; its name is suggested from the archive's.
  const fields = useOverlayFields({ nameSource: archive.replace(/\.tar(\.gz|\.zst)?$/, ''), checkWhen: 'both' });
  const { errors, setErrors } = fields;
  const typed = caps.typedPaths;

  const chooseArchive = async (): Promise<void> => {
    try {
      const p = await bridge.chooseArchive();
      if (p) setArchive(p);
    } catch (e) {
      setErrors({ form: errorText(e) });
    }
  };

  const start = async (): Promise<void> => {
    setErrors({});
    try {
      const v = await action.run((id) => bridge.importArchive(id, { ...fields.request(), archive }));
      onDone(v);
    } catch (e) {
      setErrors({ form: errorText(e) });
    }
  };

  const fieldErrors = Object.keys(errors).filter((k) => k !== 'form').length > 0;
  const ready = !!archive && !!fields.base && !!fields.name && !fieldErrors && !fields.checking && !action.running;

  return (
    <ActionDialog
      title="Import changes"
      action={action}
      startButton={
        <button type="button" className="btn primary solid" disabled={!ready} onClick={() => void start()}>
          Import and mount
        </button>
      }
      cancelLabel="Cancel import"
      progressLabel="Import progress"
      phaseWords={IMPORT_PHASES}
      error={errors.form}
      onClose={onClose}
    >
      <p>
        Puts the changes from an archive made by Export into a new overlay over the base you choose, and mounts it, so
        you can review them here.
      </p>
      <Field
        id={`${idp}-archive`}
        label="Changes archive (.tar, .tar.gz or .tar.zst)"
        value={archive}
        placeholder={typed ? '/path/to/changes.tar.gz' : 'Choose the archive'}
        readOnly={!typed || action.running}
        error={errors.archive}
        onChange={setArchive}
      >
        {caps.dialogs ? (
          <ChooseButton busy={action.running} onClick={() => void chooseArchive()}>
            Choose…
          </ChooseButton>
        ) : null}
      </Field>
      <OverlayFields
        fields={fields}
        caps={caps}
        idPrefix={idp}
        busy={action.running}
        labels={{
          base: 'Base the changes apply to: a folder, or an image (.iso)',
          baseToChoose: 'Choose a folder or an image',
          name: 'Name of the new overlay',
          namePlaceholder: 'imported-changes',
          storage: 'Storage folder (new or empty)',
          mountpoint: 'Mountpoint',
        }}
      />
    </ActionDialog>
  );
}
