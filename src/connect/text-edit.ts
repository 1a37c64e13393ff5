// Minimal text edits located by the `yaml` parser's source ranges: the file is never re-serialised, so comments,
// ordering, anchors, quoting and line endings outside the edited spans stay byte-identical. Pure.
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';

/** Replace `text[start, end)` with `insert`. */
export interface TextEdit {
  start: number;
  end: number;
  insert: string;
}

/** One value the connect step changes, in the CLI's `--json` shape. */
export interface Change {
  /** Where in the file, e.g. `models[1].apiBase` or `set-env[0]`. */
  path: string;
  /** Previous value; null when the key was added (the client used its default). */
  from: string | null;
  to: string;
}

export class ConfigParseError extends Error {
  override readonly name = 'ConfigParseError';
}

/** Applies non-overlapping edits (any order). Throws on overlap: two edits of one span would corrupt the file. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const sorted = [...edits].sort((a, b) => a.start - b.start || a.end - b.end);
  let out = '';
  let at = 0;
  for (const e of sorted) {
    if (e.start < at) throw new Error(`overlapping edits at offset ${e.start}`);
    out += text.slice(at, e.start) + e.insert;
    at = e.end;
  }
  return out + text.slice(at);
}

/** Parses YAML (or JSON, which YAML 1.2 reads) keeping source ranges; a syntax error is a ConfigParseError. */
export function parseSource(text: string, what: string): Document.Parsed {
  const doc = parseDocument(text, { keepSourceTokens: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0] ? ` (line ${e.linePos[0].line}, column ${e.linePos[0].col})` : '';
    throw new ConfigParseError(`cannot parse ${what}${line}: ${e.message.split('\n')[0]}`);
  }
  return doc;
}

/** The node an alias points to (anchors are edited where they are defined, once). */
export function deref(doc: Document.Parsed, n: unknown): Node | undefined {
  if (isAlias(n)) return (n.resolve(doc) as Node | undefined) ?? undefined;
  return (n ?? undefined) as Node | undefined;
}

/** The pair for `key` in a map, looking through `<<` merge keys when the map itself has none. */
export function findPair(doc: Document.Parsed, map: YAMLMap, key: string, seen = new Set<unknown>()): Pair | undefined {
  if (seen.has(map)) return undefined;
  seen.add(map);
  for (const p of map.items) if (isScalar(p.key) && p.key.value === key) return p as Pair;
  for (const p of map.items) {
    if (!(isScalar(p.key) && p.key.value === '<<')) continue;
    const v = deref(doc, p.value);
    const sources = isSeq(v) ? v.items.map((i) => deref(doc, i)) : [v];
    for (const s of sources) if (isMap(s)) {
      const hit = findPair(doc, s, key, seen);
      if (hit) return hit;
    }
  }
  return undefined;
}

/** A string scalar behind a pair's value (through an alias), or undefined. */
export function stringValue(doc: Document.Parsed, p: Pair | undefined): Scalar<string> | undefined {
  const v = deref(doc, p?.value);
  return isScalar(v) && typeof v.value === 'string' && v.range ? (v as Scalar<string>) : undefined;
}

/** The scalar written back in the style it had (plain stays plain when it can; quotes keep their kind). */
export function scalarText(style: Scalar['type'] | undefined, value: string): string {
  if (style === 'QUOTE_SINGLE') return `'${value.replace(/'/g, "''")}'`;
  if (style === 'PLAIN' && /^[A-Za-z0-9_./:@%+=?&~-]+$/.test(value) && !/: |:$| #/.test(value)) return value;
  return JSON.stringify(value);
}

/** Edit that replaces a scalar's value text (range[0]..range[1]: not its anchor, tag or trailing comment). */
export function replaceScalar(s: Scalar, value: string): TextEdit {
  const [start, end] = s.range!;
  return { start, end, insert: scalarText(s.type, value) };
}

export function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

export function lineEnd(text: string, offset: number): number {
  const i = text.indexOf('\n', offset);
  return i < 0 ? text.length : i > 0 && text[i - 1] === '\r' ? i - 1 : i;
}

/** The file's line break (CRLF files get CRLF insertions). */
export function eol(text: string): string {
  return /\r\n/.test(text) ? '\r\n' : '\n';
}

/**
 * Adds `key: value` to a map next to an existing pair `after` (a scalar-valued pair of the same map):
 * a block map gets a new line at the same indentation, a flow map (and JSON) `, key: value` after the pair.
 * `json` quotes the key and value as JSON does.
 */
export function insertPairAfter(text: string, map: YAMLMap, after: Pair, key: string, value: string, json: boolean): TextEdit | undefined {
  const k = after.key as Node | undefined;
  const v = after.value as Node | undefined;
  if (!k?.range || !v?.range) return undefined;
  const keyStart = k.range[0];
  const ls = lineStart(text, keyStart);
  const indent = text.slice(ls, keyStart);
  const keyText = json ? JSON.stringify(key) : key;
  const valueText = json ? JSON.stringify(value) : scalarText('PLAIN', value);
  const nl = eol(text);
  if (!map.flow) {
    // The key must start its line (after the indentation or a `- `), else the column is not the map's.
    if (!/^[ ]*(- +)*$/.test(indent)) return undefined;
    const at = lineEnd(text, v.range[1]);
    return { start: at, end: at, insert: `${nl}${' '.repeat(indent.length)}${keyText}: ${valueText}` };
  }
  const at = v.range[1];
  // Quoted key in the source (JSON style) → quote ours; a key first on its line → our own line, same indent.
  const quoted = json || (isScalar(after.key) && after.key.type === 'QUOTE_DOUBLE');
  const kt = quoted ? JSON.stringify(key) : key;
  const vt = quoted ? JSON.stringify(value) : valueText;
  if (/^[ \t]*$/.test(indent)) return { start: at, end: at, insert: `,${nl}${indent}${kt}: ${vt}` };
  return { start: at, end: at, insert: `, ${kt}: ${vt}` };
}
