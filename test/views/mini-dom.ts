// A deliberately tiny DOM, just enough to run the real panel bundle (media/build/panel.js) in Node and
// inspect what it builds. It records structure honestly: text set via textContent/text nodes stays text, so a
// hostile string can only become an element if the script itself created one.

export class MiniNode {
  parent: MiniElement | undefined;
}

export class MiniText extends MiniNode {
  constructor(public data: string) {
    super();
  }
  get textContent(): string {
    return this.data;
  }
}

export class MiniElement extends MiniNode {
  readonly attrs = new Map<string, string>();
  children: MiniNode[] = [];
  private readonly listeners = new Map<string, ((e: unknown) => void)[]>();
  constructor(
    readonly doc: MiniDocument,
    readonly tagName: string,
    readonly ns = 'http://www.w3.org/1999/xhtml',
  ) {
    super();
  }
  setAttribute(k: string, v: string): void {
    this.attrs.set(k, String(v));
  }
  get id(): string {
    return this.attrs.get('id') ?? '';
  }
  getAttribute(k: string): string | null {
    return this.attrs.get(k) ?? null;
  }
  append(...nodes: (MiniNode | string)[]): void {
    for (const n of nodes) {
      const node = typeof n === 'string' ? new MiniText(n) : n;
      node.parent?.remove(node);
      node.parent = this;
      this.children.push(node);
    }
  }
  remove(child: MiniNode): void {
    this.children = this.children.filter((c) => c !== child);
  }
  replaceChildren(...nodes: (MiniNode | string)[]): void {
    for (const c of this.children) c.parent = undefined;
    this.children = [];
    this.append(...nodes);
  }
  replaceWith(node: MiniNode): void {
    const p = this.parent!;
    const i = p.children.indexOf(this);
    node.parent?.remove(node);
    node.parent = p;
    p.children[i] = node;
    this.parent = undefined;
  }
  set textContent(v: string) {
    this.replaceChildren(new MiniText(v));
  }
  get textContent(): string {
    return this.children.map((c) => (c as MiniElement | MiniText).textContent).join('');
  }
  addEventListener(type: string, fn: (e: unknown) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  click(): void {
    for (const fn of this.listeners.get('click') ?? []) fn({ type: 'click', target: this });
  }
  focus(): void {
    this.doc.activeElement = this;
  }
  /** Depth-first list of descendant elements. */
  all(): MiniElement[] {
    const out: MiniElement[] = [];
    for (const c of this.children) if (c instanceof MiniElement) out.push(c, ...c.all());
    return out;
  }
}

export class MiniDocument {
  activeElement: MiniElement | undefined;
  readonly body = new MiniElement(this, 'body');
  createElement(tag: string): MiniElement {
    return new MiniElement(this, tag.toLowerCase());
  }
  createElementNS(ns: string, tag: string): MiniElement {
    return new MiniElement(this, tag, ns);
  }
  createTextNode(s: string): MiniText {
    return new MiniText(s);
  }
  getElementById(id: string): MiniElement | null {
    return this.body.all().find((e) => e.getAttribute('id') === id) ?? null;
  }
  /** Supports `tag`, `.class` and `tag.class` selectors. */
  querySelector(sel: string): MiniElement | null {
    const [tag, cls] = sel.split('.');
    return this.body.all().find((e) => (!tag || e.tagName === tag) && (!cls || (e.getAttribute('class') ?? '').split(' ').includes(cls))) ?? null;
  }
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Serialises like innerHTML would: text escaped, attributes quoted. */
export function serialize(n: MiniNode): string {
  if (n instanceof MiniText) return esc(n.data);
  const e = n as MiniElement;
  const attrs = [...e.attrs].map(([k, v]) => ` ${k}="${esc(v)}"`).join('');
  return `<${e.tagName}${attrs}>${e.children.map(serialize).join('')}</${e.tagName}>`;
}
