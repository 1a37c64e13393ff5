// Continue (continue.dev): route the models its config serves from the engine through the metering proxy.
// `~/.continue/config.yaml` (`models:` list) and the legacy `config.json` (`models`, `tabAutocompleteModel`,
// `embeddingsProvider`, `reranker`). A model is the engine's when its `apiBase` points there, or when it names a
// local provider (`ollama`, `lmstudio`, `llama.cpp`) without `apiBase` and that provider's default is the engine;
// then `apiBase` is added. Pure: text in, edits out.
import { isMap, isSeq, type Document, type YAMLMap } from 'yaml';
import { deref, findPair, insertPairAfter, parseSource, replaceScalar, stringValue, type Change, type TextEdit } from './text-edit';
import { PROVIDER_DEFAULT_BASE, servedBy, throughProxy } from './urls';

export interface ConnectTargets {
  /** The engine's base URL(s) (what the proxy forwards to). */
  targets: readonly string[];
  /** The proxy's URL, e.g. `http://127.0.0.1:11435`. */
  proxy: string;
}

export interface Plan {
  changes: Change[];
  edits: TextEdit[];
  /** Models seen and left alone, and why (for the user: "openai gpt-4o: not this engine"). */
  skipped: string[];
}

type Entry = { path: string; map: YAMLMap };

function entries(doc: Document.Parsed, json: boolean): Entry[] {
  const root = deref(doc, doc.contents);
  if (!isMap(root)) return [];
  const out: Entry[] = [];
  const keys = json ? ['models', 'tabAutocompleteModel', 'embeddingsProvider', 'reranker'] : ['models'];
  for (const key of keys) {
    const v = deref(doc, findPair(doc, root, key)?.value);
    if (isSeq(v)) v.items.forEach((it, i) => { const m = deref(doc, it); if (isMap(m)) out.push({ path: `${key}[${i}]`, map: m }); });
    else if (isMap(v)) out.push({ path: key, map: v });
  }
  return out;
}

/** The engine the URL belongs to, or undefined. */
function engineFor(url: string, targets: readonly string[]): string | undefined {
  return targets.find((t) => servedBy(url, t));
}

export function planContinue(text: string, format: 'yaml' | 'json', to: ConnectTargets): Plan {
  const doc = parseSource(text, format === 'json' ? 'the Continue config.json' : 'the Continue config.yaml');
  const json = format === 'json';
  const plan: Plan = { changes: [], edits: [], skipped: [] };
  // An anchored map or URL shared by several models is edited once, where it is defined.
  const done = new Set<unknown>();
  for (const { path, map } of entries(doc, json)) {
    const provider = stringValue(doc, findPair(doc, map, 'provider'))?.value;
    const name = stringValue(doc, findPair(doc, map, 'name'))?.value ?? stringValue(doc, findPair(doc, map, 'title'))?.value ?? stringValue(doc, findPair(doc, map, 'model'))?.value ?? path;
    const baseNode = stringValue(doc, findPair(doc, map, 'apiBase'));
    if (baseNode) {
      const from = baseNode.value;
      const target = engineFor(from, to.targets);
      if (!target) {
        plan.skipped.push(`${name}: ${from} is not the engine`);
        continue;
      }
      if (done.has(baseNode)) continue;
      done.add(baseNode);
      const next = throughProxy(from, target, to.proxy);
      if (next === from) continue;
      plan.edits.push(replaceScalar(baseNode, next));
      plan.changes.push({ path: `${path}.apiBase`, from, to: next });
      continue;
    }
    const def = provider ? PROVIDER_DEFAULT_BASE[provider] : undefined;
    const target = def ? engineFor(def, to.targets) : undefined;
    if (!def || !target) {
      plan.skipped.push(`${name}: provider ${provider ?? '(none)'}${def ? ` (${def})` : ''} is not the engine`);
      continue;
    }
    if (done.has(map)) continue;
    done.add(map);
    const providerPair = map.items.find((p) => (p.key as { value?: unknown } | null)?.value === 'provider');
    const next = throughProxy(def, target, to.proxy);
    const edit = providerPair ? insertPairAfter(text, map, providerPair, 'apiBase', next, json) : undefined;
    if (!edit) {
      plan.skipped.push(`${name}: cannot add apiBase here (provider comes from a merged map); add apiBase: ${next} by hand`);
      continue;
    }
    plan.edits.push(edit);
    plan.changes.push({ path: `${path}.apiBase`, from: null, to: next });
  }
  return plan;
}
