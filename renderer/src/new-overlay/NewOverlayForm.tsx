import { useEffect, useId, useRef, useState } from 'react';
import type { Capabilities, OverlayDefaults, OverlayView, ValidationField } from '../../../main/gui/api';
import { errorText, getBridge } from '../api/bridge';
import { DiscIcon, FolderIcon } from '../components/icons';

export interface NewOverlayFormProps {
  caps: Capabilities;
  initialBase?: string;
  onCreated: (overlay: OverlayView) => void;
  onCancel: () => void;
}

/** A name derived from the base's file name: "Ubuntu 24.04.iso" -> "Ubuntu-24.04". */
export function nameFromBase(base: string): string {
  const file = base.replace(/\/+$/, '').split('/').pop() ?? '';
  const stem = file.replace(/\.(iso|img)$/i, '');
  const cleaned = stem.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return cleaned;
}

export function Field(props: {
  id: string;
  label: string;
  value: string;
  placeholder?: string;
  readOnly: boolean;
  error?: string;
  hint?: string;
  onChange: (v: string) => void;
  children?: React.ReactNode;
}) {
  const errId = `${props.id}-err`;
  return (
    <div className={`field${props.error ? ' invalid' : ''}`}>
      <label htmlFor={props.id}>{props.label}</label>
      <div className="field-row">
        <input
          id={props.id}
          name={props.id}
          type="text"
          spellCheck={false}
          autoComplete="off"
          value={props.value}
          placeholder={props.placeholder}
          readOnly={props.readOnly}
          aria-invalid={!!props.error}
          aria-describedby={props.error ? errId : undefined}
          onChange={(e) => props.onChange(e.target.value)}
        />
        {props.children}
      </div>
      {props.error ? (
        <div className="field-error" id={errId} role="alert">
          {props.error}
        </div>
      ) : props.hint ? (
        <div className="field-hint">{props.hint}</div>
      ) : null}
    </div>
  );
}

export function NewOverlayForm({ caps, initialBase, onCreated, onCancel }: NewOverlayFormProps) {
  const idp = useId();
  const [base, setBase] = useState(initialBase ?? '');
  const [name, setName] = useState(initialBase ? nameFromBase(initialBase) : '');
  const [nameTouched, setNameTouched] = useState(false);
  const [storage, setStorage] = useState('');
  const [mountpoint, setMountpoint] = useState('');
  const [remount, setRemount] = useState(false);
  const [defaults, setDefaults] = useState<OverlayDefaults | null>(null);
  const [errors, setErrors] = useState<Partial<Record<ValidationField | 'form', string>>>({});
  const [checking, setChecking] = useState(false);
  const [creating, setCreating] = useState(false);
  const seq = useRef(0);
  const bridge = getBridge();

  useEffect(() => {
    if (initialBase) {
      setBase(initialBase);
      if (!nameTouched) setName(nameFromBase(initialBase));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [initialBase]);

  useEffect(() => {
    if (!nameTouched) setName(nameFromBase(base));
  }, [base, nameTouched]);

  useEffect(() => {
    let live = true;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
      setDefaults(null);
      return;
    }
    bridge.defaultsFor(name).then((d) => live && setDefaults(d), () => live && setDefaults(null));
    return () => {
      live = false;
    };
  }, [name, bridge]);

  const request = () => ({
    name,
    base,
    storage: storage || undefined,
    mountpoint: mountpoint || undefined,
    remountAtStart: remount,
    mount: true,
  });

  // The CLI's validation, shown inline as you type.
  useEffect(() => {
    if (!name && !base) {
      setErrors({});
      return;
    }
    const mine = ++seq.current;
    setChecking(true);
    const timer = setTimeout(() => {
      bridge.validateOverlay(request()).then(
        (r) => {
          if (mine !== seq.current) return;
          setChecking(false);
          setErrors(r.ok ? {} : { [r.field ?? 'form']: r.message });
        },
        (e: unknown) => {
          if (mine !== seq.current) return;
          setChecking(false);
          setErrors({ form: errorText(e) });
        },
      );
    }, 300);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [name, base, storage, mountpoint]);

  const create = async (): Promise<void> => {
    setCreating(true);
    try {
      const v = await bridge.addOverlay(request());
      onCreated(v);
    } catch (e) {
      setErrors({ form: errorText(e) });
    } finally {
      setCreating(false);
    }
  };

  const choose = async (what: 'folder' | 'image' | 'storage' | 'mountpoint'): Promise<void> => {
    try {
      if (what === 'folder' || what === 'image') {
        const p = await bridge.chooseBase(what);
        if (p) setBase(p);
      } else {
        const p = await bridge.chooseFolder(what);
        if (p) (what === 'storage' ? setStorage : setMountpoint)(p);
      }
    } catch (e) {
      setErrors({ form: errorText(e) });
    }
  };

  const typed = caps.typedPaths;
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
        <Field
          id={`${idp}-base`}
          label="Base: a folder, or an image (.iso)"
          value={base}
          placeholder={typed ? '/path/to/folder or /path/to/image.iso' : 'Choose a folder or an image, or drop an .iso here'}
          readOnly={!typed}
          error={errors.base}
          hint={caps.dropPaths ? 'You can also drop an .iso file on the window.' : undefined}
          onChange={setBase}
        >
          {caps.dialogs ? (
            <>
              <button type="button" className="btn" onClick={() => void choose('folder')}>
                <FolderIcon /> Folder…
              </button>
              <button type="button" className="btn" onClick={() => void choose('image')}>
                <DiscIcon /> Image…
              </button>
            </>
          ) : null}
        </Field>
        <Field
          id={`${idp}-name`}
          label="Name"
          value={name}
          placeholder="my-overlay"
          readOnly={false}
          error={errors.name}
          onChange={(v) => {
            setNameTouched(true);
            setName(v);
          }}
        />
        <Field
          id={`${idp}-storage`}
          label="Storage folder (where the changes are kept)"
          value={storage}
          placeholder={defaults?.storage ?? 'in the app’s data folder'}
          readOnly={!typed}
          error={errors.storage}
          onChange={setStorage}
        >
          {caps.dialogs ? (
            <button type="button" className="btn" onClick={() => void choose('storage')}>
              Choose…
            </button>
          ) : null}
        </Field>
        <Field
          id={`${idp}-mountpoint`}
          label="Mountpoint (where the merged view appears)"
          value={mountpoint}
          placeholder={defaults?.mountpoint ?? '~/minifo/NAME'}
          readOnly={!typed}
          error={errors.mountpoint}
          onChange={setMountpoint}
        >
          {caps.dialogs ? (
            <button type="button" className="btn" onClick={() => void choose('mountpoint')}>
              Choose…
            </button>
          ) : null}
        </Field>
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
