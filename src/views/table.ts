// Sorting of the alternatives table. Pure and shared by the webview (click/keyboard on a header) and tests.
import type { AlternativeRow } from './protocol';

export const SORT_KEYS = ['label', 'memoryBytes', 'decodeTokPerSec', 'fits'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export interface SortState {
  key: SortKey;
  dir: 'asc' | 'desc';
}

/** Stable sort; rows without a value (no speed estimate) always go last, whatever the direction. */
export function sortRows(rows: readonly AlternativeRow[], s: SortState): AlternativeRow[] {
  const sign = s.dir === 'asc' ? 1 : -1;
  const val = (r: AlternativeRow): string | number | undefined => {
    switch (s.key) {
      case 'label':
        return r.label.toLowerCase();
      case 'memoryBytes':
        return r.memoryBytes;
      case 'decodeTokPerSec':
        return r.decodeTokPerSec;
      case 'fits':
        return r.fits ? 1 : 0;
    }
  };
  return rows
    .map((r, i) => ({ r, i, v: val(r) }))
    .sort((a, b) => {
      if (a.v === undefined || b.v === undefined) return a.v === b.v ? a.i - b.i : a.v === undefined ? 1 : -1;
      if (a.v < b.v) return -sign;
      if (a.v > b.v) return sign;
      return a.i - b.i;
    })
    .map((x) => x.r);
}

/** Clicking the sorted column flips it; another column starts in its natural direction. */
export function nextSort(current: SortState, key: SortKey): SortState {
  if (current.key === key) return { key, dir: current.dir === 'asc' ? 'desc' : 'asc' };
  return { key, dir: key === 'label' || key === 'memoryBytes' ? 'asc' : 'desc' };
}
