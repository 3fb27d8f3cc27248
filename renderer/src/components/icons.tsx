/** Small inline SVG icons (no icon font, nothing fetched). */
import type { ChangeKind } from '../../../app/control/protocol';

interface IconProps {
  className?: string;
  title?: string;
}

function Svg({ children, className, title }: IconProps & { children: React.ReactNode }) {
  return (
    <svg
      className={`icon ${className ?? ''}`}
      viewBox="0 0 16 16"
      width="16"
      height="16"
      aria-hidden={title ? undefined : true}
      role={title ? 'img' : undefined}
      focusable="false"
    >
      {title ? <title>{title}</title> : null}
      {children}
    </svg>
  );
}

export function FolderIcon(props: IconProps & { open?: boolean }) {
  return (
    <Svg {...props}>
      {props.open ? (
        <path d="M1.5 3.5h4l1.5 1.5h6.5v1.5H4.2L2 12.5h-.5z M4.2 6.5h11l-2.2 6H2z" fill="currentColor" opacity="0.9" />
      ) : (
        <path d="M1.5 3h4.2l1.6 1.6h7.2v8.4H1.5z" fill="currentColor" opacity="0.9" />
      )}
    </Svg>
  );
}

export function FileIcon(props: IconProps) {
  return (
    <Svg {...props}>
      <path d="M3.5 1.5h6l3 3v10h-9z" fill="none" stroke="currentColor" strokeWidth="1.2" />
      <path d="M9.5 1.5v3h3" fill="none" stroke="currentColor" strokeWidth="1.2" />
    </Svg>
  );
}

export function LinkIcon(props: IconProps) {
  return (
    <Svg {...props}>
      <path d="M6.5 9.5l3-3 M5 7.5L3.5 9a2.1 2.1 0 003 3L8 10.5 M8 5.5L9.5 4a2.1 2.1 0 013 3L11 8.5" fill="none" stroke="currentColor" strokeWidth="1.3" strokeLinecap="round" />
    </Svg>
  );
}

export function DiscIcon(props: IconProps) {
  return (
    <Svg {...props}>
      <circle cx="8" cy="8" r="6.3" fill="none" stroke="currentColor" strokeWidth="1.3" />
      <circle cx="8" cy="8" r="1.8" fill="currentColor" />
      <path d="M8 3.2a4.8 4.8 0 014.8 4.8" fill="none" stroke="currentColor" strokeWidth="1" opacity="0.6" />
    </Svg>
  );
}

export function ChevronIcon(props: IconProps & { open: boolean }) {
  return (
    <Svg {...props} className={`chevron ${props.open ? 'open' : ''} ${props.className ?? ''}`}>
      <path d="M6 4l4 4-4 4" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round" />
    </Svg>
  );
}

export function PlusIcon(props: IconProps) {
  return (
    <Svg {...props}>
      <path d="M8 3v10M3 8h10" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" />
    </Svg>
  );
}

export function UndoIcon(props: IconProps) {
  return (
    <Svg {...props}>
      <path d="M4 6h6a3.5 3.5 0 010 7H6" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" />
      <path d="M6.5 3.2L3.7 6l2.8 2.8" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" strokeLinejoin="round" />
    </Svg>
  );
}

export function ExternalIcon(props: IconProps) {
  return (
    <Svg {...props}>
      <path d="M9 2.5h4.5V7 M13.5 2.5L7.5 8.5 M11.5 9.5v4h-9v-9h4" fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round" strokeLinejoin="round" />
    </Svg>
  );
}

export function SearchIcon(props: IconProps) {
  return (
    <Svg {...props}>
      <circle cx="7" cy="7" r="4.3" fill="none" stroke="currentColor" strokeWidth="1.5" />
      <path d="M10.2 10.2L14 14" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" />
    </Svg>
  );
}

/** The per-kind glyph: plus (new), dot (modified), minus (deleted), arrow (renamed). */
export function KindIcon({ kind, mixed }: { kind: ChangeKind; mixed?: boolean }) {
  return (
    <Svg className={`kind-icon kind-${kind}${mixed ? ' mixed' : ''}`}>
      <rect x="1.5" y="1.5" width="13" height="13" rx="3" fill="none" stroke="currentColor" strokeWidth="1.3" />
      {kind === 'created' ? <path d="M8 4.5v7M4.5 8h7" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" /> : null}
      {kind === 'modified' ? <circle cx="8" cy="8" r={mixed ? 1.6 : 2.4} fill="currentColor" /> : null}
      {kind === 'deleted' ? <path d="M4.5 8h7" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" /> : null}
      {kind === 'renamed' ? (
        <path d="M4.5 8h6.5M8.5 5.3L11.2 8 8.5 10.7" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" strokeLinejoin="round" />
      ) : null}
    </Svg>
  );
}
