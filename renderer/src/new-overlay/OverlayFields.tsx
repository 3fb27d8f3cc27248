import { useEffect, useRef, useState } from 'react';
import type { Capabilities, NewOverlayRequest, OverlayDefaults, ValidationField } from '../../../main/gui/api';
import { errorText, getBridge } from '../api/bridge';
import { ChooseButton, Field } from '../components/Field';
import { DiscIcon, FolderIcon } from '../components/icons';

/** A name derived from the base's file name: "Ubuntu 24.04.iso" -> "Ubuntu-24.04". */
export function nameFromBase(base: string): string {
  const file = base.replace(/\/+$/, '').split('/').pop() ?? '';
  const stem = file.replace(/\.(iso|img)$/i, '');
  const cleaned = stem.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return cleaned;
}

/** Messages by field; 'form' is for what belongs to no one field (a failed dialog, a failed create). */
export type OverlayFormErrors = Partial<Record<ValidationField | 'form', string>>;

export interface OverlayFieldsOptions {
  initialBase?: string;
  /** What the name is suggested from until the user types one: the base unless given (Import uses the archive). */
  nameSource?: string;
  /**
   * When the back end's checks start: once the name or the base is filled in ('either'), or only once both are
   * ('both': where the name is suggested from something else, a missing base is not yet a mistake).
   */
  checkWhen: 'either' | 'both';
}

export interface OverlayFieldsState {
  base: string;
  setBase: (base: string) => void;
  name: string;
  /** For the name the user types: from then on it is no longer suggested. */
  typeName: (name: string) => void;
  storage: string;
  setStorage: (storage: string) => void;
  mountpoint: string;
  setMountpoint: (mountpoint: string) => void;
  /** Where storage and mountpoint go when left empty, for this name; shown as placeholders. */
  defaults: OverlayDefaults | null;
  errors: OverlayFormErrors;
  setErrors: (errors: OverlayFormErrors) => void;
  /** A check is pending or running: its errors are not known yet. */
  checking: boolean;
  /** The new overlay as the back end takes it; empty storage and mountpoint mean the defaults. */
  request: () => NewOverlayRequest;
  chooseWithDialog: (what: 'folder' | 'image' | 'storage' | 'mountpoint') => Promise<void>;
}

/** The state of a new overlay's base, name, storage and mountpoint, checked by the back end as the user types. */
export function useOverlayFields({ initialBase, nameSource, checkWhen }: OverlayFieldsOptions): OverlayFieldsState {
  const bridge = getBridge();
  const [base, setBase] = useState(initialBase ?? '');
  const suggestFrom = nameSource ?? base;
  const [name, setName] = useState(() => nameFromBase(suggestFrom));
  const [nameTouched, setNameTouched] = useState(false);
  const [storage, setStorage] = useState('');
  const [mountpoint, setMountpoint] = useState('');
  const [defaults, setDefaults] = useState<OverlayDefaults | null>(null);
  const [errors, setErrors] = useState<OverlayFormErrors>({});
  const [checking, setChecking] = useState(false);
  const seq = useRef(0);

  useEffect(() => {
    if (!nameTouched) setName(nameFromBase(suggestFrom));
  }, [suggestFrom, nameTouched]);

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

  const request = (): NewOverlayRequest => ({
    name,
    base,
    storage: storage || undefined,
    mountpoint: mountpoint || undefined,
    mount: true,
  });

  // The CLI's validation, shown inline as you type; only the latest answer counts.
  const worthChecking = checkWhen === 'both' ? !!name && !!base : !!name || !!base;
  useEffect(() => {
    if (!worthChecking) {
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

  const chooseWithDialog = async (what: 'folder' | 'image' | 'storage' | 'mountpoint'): Promise<void> => {
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

  const typeName = (typed: string): void => {
    setNameTouched(true);
    setName(typed);
  };

  return {
    base,
    setBase,
    name,
    typeName,
    storage,
    setStorage,
    mountpoint,
    setMountpoint,
    defaults,
    errors,
    setErrors,
    checking,
    request,
    chooseWithDialog,
  };
}

/** The words that differ between "New overlay" and "Import changes". */
export interface OverlayFieldLabels {
  base: string;
  /** The base's placeholder where paths cannot be typed, only chosen. */
  baseToChoose: string;
  baseHint?: string;
  name: string;
  namePlaceholder: string;
  storage: string;
  mountpoint: string;
}

export interface OverlayFieldsProps {
  fields: OverlayFieldsState;
  caps: Capabilities;
  /** Prefix of the inputs' ids (from useId). */
  idPrefix: string;
  labels: OverlayFieldLabels;
  /** An action is running: nothing may change meanwhile. */
  busy?: boolean;
}

/** The base, name, storage and mountpoint inputs of a new overlay, with their Choose buttons and errors. */
export function OverlayFields({ fields, caps, idPrefix, labels, busy = false }: OverlayFieldsProps) {
  const typed = caps.typedPaths;
  const locked = !typed || busy;
  const choose = (what: 'folder' | 'image' | 'storage' | 'mountpoint') => () => void fields.chooseWithDialog(what);
  return (
    <>
      <Field
        id={`${idPrefix}-base`}
        label={labels.base}
        value={fields.base}
        placeholder={typed ? '/path/to/folder or /path/to/image.iso' : labels.baseToChoose}
        readOnly={locked}
        error={fields.errors.base}
        hint={labels.baseHint}
        onChange={fields.setBase}
      >
        {caps.dialogs ? (
          <>
            <ChooseButton busy={busy} onClick={choose('folder')}>
              <FolderIcon /> Folder…
            </ChooseButton>
            <ChooseButton busy={busy} onClick={choose('image')}>
              <DiscIcon /> Image…
            </ChooseButton>
          </>
        ) : null}
      </Field>
      <Field
        id={`${idPrefix}-name`}
        label={labels.name}
        value={fields.name}
        placeholder={labels.namePlaceholder}
        readOnly={busy}
        error={fields.errors.name}
        onChange={fields.typeName}
      />
      <Field
        id={`${idPrefix}-storage`}
        label={labels.storage}
        value={fields.storage}
        placeholder={fields.defaults?.storage ?? 'in the app’s data folder'}
        readOnly={locked}
        error={fields.errors.storage}
        onChange={fields.setStorage}
      >
        {caps.dialogs ? (
          <ChooseButton busy={busy} onClick={choose('storage')}>
            Choose…
          </ChooseButton>
        ) : null}
      </Field>
      <Field
        id={`${idPrefix}-mountpoint`}
        label={labels.mountpoint}
        value={fields.mountpoint}
        placeholder={fields.defaults?.mountpoint ?? '~/minifo/NAME'}
        readOnly={locked}
        error={fields.errors.mountpoint}
        onChange={fields.setMountpoint}
      >
        {caps.dialogs ? (
          <ChooseButton busy={busy} onClick={choose('mountpoint')}>
            Choose…
          </ChooseButton>
        ) : null}
      </Field>
    </>
  );
}
