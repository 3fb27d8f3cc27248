import type { ReactNode } from 'react';

/** A labelled one-line text input with room for buttons beside it, and an error (or else a hint) below. */
export function Field(props: {
  id: string;
  label: string;
  value: string;
  placeholder?: string;
  readOnly: boolean;
  error?: string;
  hint?: string;
  onChange: (v: string) => void;
  children?: ReactNode;
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

/** A button beside a Field that opens a native dialog; disabled while an action runs. */
export function ChooseButton({ busy = false, onClick, children }: { busy?: boolean; onClick: () => void; children: ReactNode }) {
  return (
    <button type="button" className="btn" disabled={busy} onClick={onClick}>
      {children}
    </button>
  );
}
