// Flag parsing shared by every sub-command: strict (unknown flags are errors), one clear message.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './errors';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<T extends Options>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals });
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message.replace(/\s+/g, ' ') : String(err));
  }
}

/** A positive integer flag (e.g. `--ctx 32768`, also `32k`); rejects absurd values clearly. */
export function intFlag(name: string, raw: string | undefined, def: number, min = 1, max = 2 ** 31): number {
  if (raw === undefined) return def;
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(raw.trim());
  if (!m) throw new CliError(`--${name} expects a whole number, got '${raw}'`);
  const mult = m[2] === '' ? 1 : m[2]!.toLowerCase() === 'k' ? 1024 : 1024 * 1024;
  const v = Math.round(Number(m[1]) * mult);
  if (!Number.isFinite(v) || v < min || v > max) throw new CliError(`--${name} must be between ${min} and ${max}, got '${raw}'`);
  return v;
}

/** A positive number flag (e.g. `--capacity-gb 96`). */
export function numFlag(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new CliError(`--${name} must be a number between ${min} and ${max}, got '${raw}'`);
  return v;
}
