import { useEffect, useId, useRef, useState } from 'react';
import type { Capabilities, OverlayDefaults, OverlayView, ValidationField } from '../../../main/gui/api';
import { errorText, getBridge } from '../api/bridge';
import { DiscIcon, FolderIcon } from '../components/icons';
import { Modal } from '../components/Modal';
import { Field, nameFromBase } from '../new-overlay/NewOverlayForm';
import { ProgressBar } from './ProgressBar';
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
  const [base, setBase] = useState('');
  const [name, setName] = useState('');
  const [nameTouched, setNameTouched] = useState(false);
  const [storage, setStorage] = useState('');
  const [mountpoint, setMountpoint] = useState('');
  const [defaults, setDefaults] = useState<OverlayDefaults | null>(null);
  const [errors, setErrors] = useState<Partial<Record<ValidationField | 'form', string>>>({});
  const [checking, setChecking] = useState(false);
  const seq = useRef(0);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const typed = caps.typedPaths;

  useEffect(() => {
    if (action.running) cancelRef.current?.focus();
  }, [action.running]);

  useEffect(() => {
    if (!nameTouched) setName(nameFromBase(archive.replace(/\.tar(\.gz|\.zst)?$/, '')));
  }, [archive, nameTouched]);

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

  const overlayRequest = () => ({ name, base, storage: storage || undefined, mountpoint: mountpoint || undefined, mount: true });

  // The new overlay's fields get the same inline checks as "New overlay".
  useEffect(() => {
    if (!name || !base) {
      setErrors({});
      return;
    }
    const mine = ++seq.current;
    setChecking(true);
    const timer = setTimeout(() => {
      bridge.validateOverlay(overlayRequest()).then(
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

  const choose = async (what: 'archive' | 'folder' | 'image' | 'storage' | 'mountpoint'): Promise<void> => {
    try {
      if (what === 'archive') {
        const p = await bridge.chooseArchive();
        if (p) setArchive(p);
      } else if (what === 'folder' || what === 'image') {
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

  const start = async (): Promise<void> => {
    setErrors({});
    try {
      const v = await action.run((id) => bridge.importArchive(id, { ...overlayRequest(), archive }));
      onDone(v);
    } catch (e) {
      setErrors({ form: errorText(e) });
    }
  };

  const fieldErrors = Object.keys(errors).filter((k) => k !== 'form').length > 0;
  const ready = !!archive && !!base && !!name && !fieldErrors && !checking && !action.running;
  const locked = !typed || action.running;

  return (
    <Modal
      title="Import changes"
      onClose={action.running ? () => undefined : onClose}
      wide
      actions={
        action.running ? (
          <button type="button" className="btn" ref={cancelRef} onClick={action.cancel}>
            Cancel import
          </button>
        ) : (
          <>
            <button type="button" className="btn" onClick={onClose}>
              Close
            </button>
            <button type="button" className="btn primary solid" disabled={!ready} onClick={() => void start()}>
              Import and mount
            </button>
          </>
        )
      }
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
        readOnly={locked}
        error={errors.archive}
        onChange={setArchive}
      >
        {caps.dialogs ? (
          <button type="button" className="btn" disabled={action.running} onClick={() => void choose('archive')}>
            Choose…
          </button>
        ) : null}
      </Field>
      <Field
        id={`${idp}-base`}
        label="Base the changes apply to: a folder, or an image (.iso)"
        value={base}
        placeholder={typed ? '/path/to/folder or /path/to/image.iso' : 'Choose a folder or an image'}
        readOnly={locked}
        error={errors.base}
        onChange={setBase}
      >
        {caps.dialogs ? (
          <>
            <button type="button" className="btn" disabled={action.running} onClick={() => void choose('folder')}>
              <FolderIcon /> Folder…
            </button>
            <button type="button" className="btn" disabled={action.running} onClick={() => void choose('image')}>
              <DiscIcon /> Image…
            </button>
          </>
        ) : null}
      </Field>
      <Field
        id={`${idp}-name`}
        label="Name of the new overlay"
        value={name}
        placeholder="imported-changes"
        readOnly={action.running}
        error={errors.name}
        onChange={(v) => {
          setNameTouched(true);
          setName(v);
        }}
      />
      <Field
        id={`${idp}-storage`}
        label="Storage folder (new or empty)"
        value={storage}
        placeholder={defaults?.storage ?? 'in the app’s data folder'}
        readOnly={locked}
        error={errors.storage}
        onChange={setStorage}
      >
        {caps.dialogs ? (
          <button type="button" className="btn" disabled={action.running} onClick={() => void choose('storage')}>
            Choose…
          </button>
        ) : null}
      </Field>
      <Field
        id={`${idp}-mountpoint`}
        label="Mountpoint"
        value={mountpoint}
        placeholder={defaults?.mountpoint ?? '~/minifo/NAME'}
        readOnly={locked}
        error={errors.mountpoint}
        onChange={setMountpoint}
      >
        {caps.dialogs ? (
          <button type="button" className="btn" disabled={action.running} onClick={() => void choose('mountpoint')}>
            Choose…
          </button>
        ) : null}
      </Field>
      {action.running ? <ProgressBar progress={action.progress} label="Import progress" phaseWords={IMPORT_PHASES} /> : null}
      {errors.form ? (
        <p className="notice error" role="alert">
          {errors.form}
        </p>
      ) : null}
    </Modal>
  );
}
