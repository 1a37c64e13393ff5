// aider: route it through the metering proxy. `.aider.conf.yml` has `openai-api-base:` and `set-env:` entries
// (`OLLAMA_API_BASE=...`, `OPENAI_API_BASE=...`); aider also reads a `.env` file with the same variables.
// An `ollama/` or `ollama_chat/` model with no OLLAMA_API_BASE uses litellm's default http://localhost:11434:
// then `set-env: - OLLAMA_API_BASE=<proxy>` is added. Pure: text in, edits out.
import { isMap, isScalar, isSeq, type Scalar } from 'yaml';
import type { ConnectTargets, Plan } from './continue';
import { deref, eol, findPair, lineEnd, lineStart, parseSource, replaceScalar, stringValue, type TextEdit } from './text-edit';
import { PROVIDER_DEFAULT_BASE, servedBy, throughProxy } from './urls';

const URL_VARS = ['OLLAMA_API_BASE', 'OPENAI_API_BASE', 'OPENAI_BASE_URL'] as const;

function engineFor(url: string, targets: readonly string[]): string | undefined {
  return targets.find((t) => servedBy(url, t));
}

export function planAiderYaml(text: string, to: ConnectTargets): Plan {
  const doc = parseSource(text, 'the aider config');
  const plan: Plan = { changes: [], edits: [], skipped: [] };
  const root = deref(doc, doc.contents);
  if (root == null || (isScalar(root) && root.value == null)) return addOllamaBase(text, undefined, plan, to, false);
  if (!isMap(root)) throw new Error('the aider config is not a YAML mapping');

  const rewrite = (path: string, s: Scalar<string>, from: string, wrap: (url: string) => string) => {
    const target = engineFor(from, to.targets);
    if (!target) return void plan.skipped.push(`${path}: ${from} is not the engine`);
    const next = throughProxy(from, target, to.proxy);
    if (next === from) return;
    plan.edits.push(replaceScalar(s, wrap(next)));
    plan.changes.push({ path, from, to: next });
  };

  const apiBase = stringValue(doc, findPair(doc, root, 'openai-api-base'));
  if (apiBase) rewrite('openai-api-base', apiBase, apiBase.value, (u) => u);

  let hasOllamaBase = false;
  const setEnv = deref(doc, findPair(doc, root, 'set-env')?.value);
  const items: (Scalar<string> | undefined)[] = isSeq(setEnv) ? setEnv.items.map((i) => { const n = deref(doc, i); return isScalar(n) && typeof n.value === 'string' ? (n as Scalar<string>) : undefined; }) : isScalar(setEnv) && typeof setEnv.value === 'string' ? [setEnv as Scalar<string>] : [];
  items.forEach((s, i) => {
    const m = s && /^\s*([A-Z_]+)\s*=\s*(.*?)\s*$/.exec(s.value);
    if (!s || !m || !(URL_VARS as readonly string[]).includes(m[1]!)) return;
    if (m[1] === 'OLLAMA_API_BASE') hasOllamaBase = true;
    rewrite(isSeq(setEnv) ? `set-env[${i}]` : 'set-env', s, m[2]!, (u) => `${m[1]}=${u}`);
  });

  const model = stringValue(doc, findPair(doc, root, 'model'))?.value ?? '';
  if (/^ollama(_chat)?\//.test(model) && !hasOllamaBase) return addOllamaBase(text, setEnv, plan, to, true);
  return plan;
}

/** `set-env: - OLLAMA_API_BASE=<proxy>` for an Ollama model that relies on the default base URL. */
function addOllamaBase(text: string, setEnv: unknown, plan: Plan, to: ConnectTargets, wanted: boolean): Plan {
  if (!wanted) return plan;
  const def = PROVIDER_DEFAULT_BASE.ollama!;
  const target = engineFor(def, to.targets);
  if (!target) {
    plan.skipped.push(`model uses Ollama's default ${def}, which is not the engine`);
    return plan;
  }
  const value = `OLLAMA_API_BASE=${throughProxy(def, target, to.proxy)}`;
  const nl = eol(text);
  let edit: TextEdit | undefined;
  if (setEnv === undefined) {
    const sep = text.length === 0 || text.endsWith('\n') ? '' : nl;
    edit = { start: text.length, end: text.length, insert: `${sep}set-env:${nl}  - ${value}${nl}` };
  } else if (isSeq(setEnv) && !setEnv.flow && setEnv.items.length > 0) {
    const last = setEnv.items[setEnv.items.length - 1] as { range?: [number, number, number] };
    const first = setEnv.items[0] as { range?: [number, number, number] };
    if (last.range && first.range) {
      const ls = lineStart(text, first.range[0]);
      const dash = text.slice(ls, first.range[0]);
      const at = lineEnd(text, last.range[1]);
      edit = { start: at, end: at, insert: `${nl}${dash}${value}` };
    }
  }
  if (!edit) {
    plan.skipped.push(`cannot add to this set-env: add ${value} by hand`);
    return plan;
  }
  plan.edits.push(edit);
  plan.changes.push({ path: 'set-env[+]', from: null, to: value.slice('OLLAMA_API_BASE='.length) });
  return plan;
}

/** A `.env` file: `[export ]NAME=value` lines, value optionally quoted. Other lines are never touched. */
export function planDotEnv(text: string, to: ConnectTargets): Plan {
  const plan: Plan = { changes: [], edits: [], skipped: [] };
  const re = /^([ \t]*(?:export[ \t]+)?)([A-Z_][A-Z0-9_]*)([ \t]*=[ \t]*)(["']?)([^"'\r\n#]*?)\4([ \t]*(?:#.*)?)$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const name = m[2]!;
    if (!(URL_VARS as readonly string[]).includes(name)) continue;
    const from = m[5]!;
    const target = engineFor(from, to.targets);
    if (!target) {
      plan.skipped.push(`${name}: ${from} is not the engine`);
      continue;
    }
    const next = throughProxy(from, target, to.proxy);
    if (next === from) continue;
    const start = m.index + m[1]!.length + name.length + m[3]!.length + m[4]!.length;
    plan.edits.push({ start, end: start + from.length, insert: next });
    plan.changes.push({ path: name, from, to: next });
  }
  return plan;
}
