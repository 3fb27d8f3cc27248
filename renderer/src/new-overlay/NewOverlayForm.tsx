import { useEffect, useId, useState } from 'react';
import type { Capabilities, OverlayView } from '../../../main/gui/api';
import { errorText, getBridge } from '../api/bridge';
import { OverlayFields, useOverlayFields } from './OverlayFields';

export interface NewOverlayFormProps {
  caps: Capabilities;
  initialBase?: string;
  onCreated: (overlay: OverlayView) => void;
  onCancel: () => void;
}

export function NewOverlayForm({ caps, initialBase, onCreated, onCancel }: NewOverlayFormProps) {
  const idp = useId();
  const fields = useOverlayFields({ initialBase, checkWhen: 'either' });
  const [remount, setRemount] = useState(false);
  const [creating, setCreating] = useState(false);
  const bridge = getBridge();
  const { name, base, errors, setErrors, checking } = fields;

  // An .iso dropped on the window while the form is open becomes its base.
  useEffect(() => {
    if (initialBase) fields.setBase(initialBase);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [initialBase]);

  const create = async (): Promise<void> => {
    setCreating(true);
    try {
      const v = await bridge.addOverlay({ ...fields.request(), remountAtStart: remount });
      onCreated(v);
    } catch (e) {
      setErrors({ form: errorText(e) });
    } finally {
      setCreating(false);
    }
  };

  const hasErrors = Object.keys(errors).length > 0;
  const ready = !!name && !!base && !hasErrors && !checking;

  return (
    <section className="new-overlay" aria-labelledby={`${idp}-title`}>
      <form
        className="form-card"
        onSubmit={(e) => {
          e.preventDefault();
          if (ready && !creating) void create();
        }}
      >
        <h2 id={`${idp}-title`}>New overlay</h2>
        <p className="muted">
          A writable view of a read-only folder or image. Every change lands in the storage folder; the base is
          never written.
        </p>
        <OverlayFields
          fields={fields}
          caps={caps}
          idPrefix={idp}
          labels={{
            base: 'Base: a folder, or an image (.iso)',
            baseToChoose: 'Choose a folder or an image, or drop an .iso here',
            baseHint: caps.dropPaths ? 'You can also drop an .iso file on the window.' : undefined,
            name: 'Name',
            namePlaceholder: 'my-overlay',
            storage: 'Storage folder (where the changes are kept)',
            mountpoint: 'Mountpoint (where the merged view appears)',
          }}
        />
        <label className="check">
          <input type="checkbox" checked={remount} onChange={(e) => setRemount(e.target.checked)} />
          <span>Mount it again whenever minifo starts</span>
        </label>
        {errors.form ? (
          <p className="notice error" role="alert">
            {errors.form}
          </p>
        ) : null}
        <div className="form-actions">
          <button type="button" className="btn" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="btn primary solid" disabled={!ready || creating}>
            {creating ? 'Mounting…' : 'Create and mount'}
          </button>
        </div>
      </form>
    </section>
  );
}
