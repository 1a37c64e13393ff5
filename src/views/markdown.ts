// Escaping for text that lands in a Markdown tooltip or notification. Engine-supplied strings (model names)
// are untrusted: a name like `[x](command:...)` or `<img onerror=...>` must render as the literal text.

const MD_SPECIAL = /[\\`*_{}[\]()#+\-.!|<>~&"'$]/g;

/** Backslash-escapes every Markdown/HTML-significant character so the text renders literally. */
export function escapeMarkdown(text: string): string {
  // Newlines would start a new block (a heading, a table row); flatten them.
  return text.replace(/[\r\n]+/g, ' ').replace(MD_SPECIAL, (c) => `\\${c}`);
}

/**
 * For plain-text UI strings that VS Code still interprets a little: notifications turn `[text](target)` into
 * links (command: links included) and quick-picks/status text render `$(icon)`. A zero-width space breaks
 * both patterns while the text reads the same.
 */
export function neutralize(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/\$\(/g, '$\u200b(').replace(/\]\(/g, ']\u200b(');
}
