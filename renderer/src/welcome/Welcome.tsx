import { useState } from 'react';
import { errorText } from '../api/bridge';
import { DiscIcon, FolderIcon } from '../components/icons';

export function Welcome({ onSample, onNew }: { onSample: () => Promise<void>; onNew: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <section className="welcome" aria-labelledby="welcome-title">
      <div className="welcome-card">
        <h1 id="welcome-title">A writable view of anything read-only</h1>
        <p className="lead">
          minifo lays a copy-on-write layer over a folder or a disc image. Programs change files through the mount
          as usual; minifo keeps every change apart, shows you exactly what changed, and reverts any of it.
        </p>
        <div className="welcome-actions">
          <button
            type="button"
            className="btn primary solid big"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              setError(null);
              try {
                await onSample();
              } catch (e) {
                setError(errorText(e));
              } finally {
                setBusy(false);
              }
            }}
          >
            <DiscIcon /> {busy ? 'Mounting the sample…' : 'Try a sample image'}
          </button>
          <button type="button" className="btn big" onClick={onNew}>
            <FolderIcon /> New overlay…
          </button>
        </div>
        {error ? (
          <p className="notice error" role="alert">
            {error}
          </p>
        ) : null}
        <ol className="steps">
          <li>
            <strong>Mount</strong> a folder or an .iso: it appears, writable, at <code>~/minifo/NAME</code>.
          </li>
          <li>
            <strong>Change</strong> files there with any program; each change shows up here within a second.
          </li>
          <li>
            <strong>Review and revert</strong>: diffs, metadata side by side, one-click revert with undo.
          </li>
        </ol>
      </div>
    </section>
  );
}
