// A tiny, inert description of SVG: the chart builders return these trees (pure, testable in Node) and the
// webview turns them into DOM with createElementNS/setAttribute/textContent. Only whitelisted tags and
// attributes exist, so data can never become markup or an event handler.

export const SVG_TAGS = ['svg', 'g', 'rect', 'path', 'line', 'text', 'title', 'circle', 'polyline'] as const;
export type SvgTag = (typeof SVG_TAGS)[number];

export const SVG_ATTRS = [
  'viewBox', 'width', 'height', 'x', 'y', 'x1', 'y1', 'x2', 'y2', 'cx', 'cy', 'r', 'd', 'points',
  'class', 'text-anchor', 'dominant-baseline', 'role', 'aria-label', 'focusable', 'preserveAspectRatio',
] as const;
export type SvgAttr = (typeof SVG_ATTRS)[number];

export interface SvgNode {
  tag: SvgTag;
  attrs?: Partial<Record<SvgAttr, string | number>>;
  /** Text content (for `text` and `title`), set with textContent. */
  text?: string;
  children?: SvgNode[];
}

export function el(tag: SvgTag, attrs: SvgNode['attrs'] = {}, children: SvgNode[] = [], text?: string): SvgNode {
  return text === undefined ? { tag, attrs, children } : { tag, attrs, children, text };
}

/** Rounds to 0.1 px: keeps `d` strings short and stable. */
export function r1(n: number): number {
  return Math.round(n * 10) / 10;
}
