// A unified diff of two texts (what `headroom connect` changes). Pure. Config files are small: the common head
// and tail are trimmed, and the rest is matched line by line with an LCS table (capped; past the cap the middle
// is shown as one replaced block, still a correct diff).
const CONTEXT = 3;
const MAX_CELLS = 4_000_000;

type Op = { kind: ' ' | '-' | '+'; line: string };

function ops(a: string[], b: string[]): Op[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  const out: Op[] = a.slice(0, head).map((line) => ({ kind: ' ', line }));
  if (am.length * bm.length > MAX_CELLS) {
    out.push(...am.map((line) => ({ kind: '-' as const, line })), ...bm.map((line) => ({ kind: '+' as const, line })));
  } else {
    const n = am.length;
    const m = bm.length;
    const t = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) t[i * (m + 1) + j] = am[i] === bm[j] ? t[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(t[(i + 1) * (m + 1) + j]!, t[i * (m + 1) + j + 1]!);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) { out.push({ kind: ' ', line: am[i]! }); i++; j++; }
      else if (i < n && (j === m || t[(i + 1) * (m + 1) + j]! >= t[i * (m + 1) + j + 1]!)) out.push({ kind: '-', line: am[i++]! });
      else out.push({ kind: '+', line: bm[j++]! });
    }
  }
  out.push(...a.slice(a.length - tail).map((line) => ({ kind: ' ' as const, line })));
  return out;
}

function lines(s: string): string[] {
  if (s === '') return [];
  const l = s.split('\n');
  if (l[l.length - 1] === '') l.pop();
  return l;
}

/** `--- a/file` / `+++ b/file` and @@ hunks; '' when the texts are equal. */
export function unifiedDiff(before: string, after: string, file: string): string {
  if (before === after) return '';
  const all = ops(lines(before), lines(after));
  const out = [`--- ${file}`, `+++ ${file} (through the Headroom proxy)`];
  let k = 0;
  while (k < all.length) {
    if (all[k]!.kind === ' ') { k++; continue; }
    // A hunk: from CONTEXT lines before the first change to CONTEXT after the last change within reach.
    let start = Math.max(0, k - CONTEXT);
    let end = k;
    for (;;) {
      while (end < all.length && all[end]!.kind !== ' ') end++;
      let next = end;
      while (next < all.length && all[next]!.kind === ' ') next++;
      if (next < all.length && next - end <= 2 * CONTEXT) { end = next; continue; }
      end = Math.min(all.length, end + CONTEXT);
      break;
    }
    let aLine = 1;
    let bLine = 1;
    for (let i = 0; i < start; i++) { if (all[i]!.kind !== '+') aLine++; if (all[i]!.kind !== '-') bLine++; }
    const hunk = all.slice(start, end);
    const aCount = hunk.filter((o) => o.kind !== '+').length;
    const bCount = hunk.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${aCount ? aLine : aLine - 1},${aCount} +${bCount ? bLine : bLine - 1},${bCount} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.line.replace(/\r$/, '')}`);
    k = end;
    start = end;
  }
  return out.join('\n') + '\n';
}
