import type { ChangeKind } from '../../../app/control/protocol';
import { KIND_LETTER, KIND_WORD } from '../changes/tree';
import { KindIcon } from './icons';

/** Icon, colour and letter together, so no kind is told by colour alone. */
export function KindBadge({ kind, mixed, showWord }: { kind: ChangeKind; mixed?: boolean; showWord?: boolean }) {
  const word = mixed ? 'contains changes' : KIND_WORD[kind];
  return (
    <span className={`kind-badge kind-${kind}${mixed ? ' mixed' : ''}`} title={word}>
      <KindIcon kind={kind} mixed={mixed} />
      <span className="kind-letter" aria-hidden="true">
        {mixed ? '•' : KIND_LETTER[kind]}
      </span>
      {showWord ? <span className="kind-word">{word}</span> : <span className="sr-only">{word}</span>}
    </span>
  );
}
