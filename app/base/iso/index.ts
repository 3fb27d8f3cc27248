export { openIsoImage, looksLikeIsoImage, IsoImage, DEFAULT_MAX_CACHED_ENTRIES } from './iso-image';
export type { IsoOpenOptions, IsoTree } from './iso-image';
export type { ReadStats } from './reader';
