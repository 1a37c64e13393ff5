// Constructors for provenance-tagged values, so every provider labels numbers the same way.
import type { Fact } from './types';

/** The engine reported this value (field named in `via`). */
export function reported<T>(value: T, via: string): Fact<T> {
  return { value, source: 'engine', via };
}

/** We derived this value; `via` says from what and under which assumption. */
export function estimated<T>(value: T, via: string): Fact<T> {
  return { value, source: 'estimated', via };
}

/** `reported` when value is present, else undefined: keeps optional fields optional. */
export function maybe<T>(value: T | null | undefined, via: string): Fact<T> | undefined {
  return value === undefined || value === null ? undefined : reported(value, via);
}
