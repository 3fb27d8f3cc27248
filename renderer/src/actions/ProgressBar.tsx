import type { Progress } from '../../../main/gui/api';
import { formatBytes, formatCount } from '../lib/format';

const PHASE_WORDS: Readonly<Record<string, string>> = {
  prepare: 'Copying new and changed files next to the base',
  apply: 'Applying the changes to the base',
  archive: 'Writing the archive',
  collect: 'Gathering the merged view',
  image: 'Writing the image',
};

function amount(p: Progress): string {
  const f = p.unit === 'bytes' ? formatBytes : p.unit === 'percent' ? (n: number) => `${Math.round(n)} %` : formatCount;
  if (p.unit === 'percent') return f(p.done);
  return p.total > 0 ? `${f(p.done)} of ${f(p.total)}` : `${f(p.done)}${p.unit === 'entries' ? ' entries' : ''}`;
}

/** A labelled progress bar; indeterminate (striped) until the action reports a total. */
export function ProgressBar({ progress, label, phaseWords }: { progress: Progress | null; label: string; phaseWords?: Record<string, string> }) {
  const determinate = progress !== null && progress.total > 0;
  const percent = determinate ? Math.min(100, Math.floor((progress.done / progress.total) * 100)) : undefined;
  const words = progress ? (phaseWords?.[progress.phase] ?? PHASE_WORDS[progress.phase] ?? progress.phase) : 'Starting…';
  return (
    <div className="progress">
      <div className="progress-text">
        <span>{words}</span>
        <span className="muted">{progress ? amount(progress) : ''}</span>
      </div>
      <div
        className="progress-track"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={progress ? `${words}: ${amount(progress)}` : words}
      >
        <div className={`progress-fill${determinate ? '' : ' indeterminate'}`} style={determinate ? { width: `${percent}%` } : undefined} />
      </div>
    </div>
  );
}
