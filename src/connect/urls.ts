// Which agent base URLs point at the engine, and what they become behind the proxy. Pure.
// An agent's URL keeps its own path (`/v1`, `/api`): only the origin moves to the proxy, which forwards to the
// engine unchanged. `localhost`, 127.x, ::1 and 0.0.0.0 all mean "this machine".

/** Where a provider talks to when its config names no base URL (the clients' own defaults). */
export const PROVIDER_DEFAULT_BASE: Readonly<Record<string, string>> = {
  ollama: 'http://localhost:11434',
  lmstudio: 'http://localhost:1234/v1',
  'llama.cpp': 'http://localhost:8080',
  llamacpp: 'http://localhost:8080',
};

function parse(url: string): URL | undefined {
  try {
    const u = new URL(url.trim());
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : undefined;
  } catch {
    return undefined;
  }
}

function isThisMachine(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h.startsWith('127.') || h === '::1' || h === '0.0.0.0' || h === '::';
}

function port(u: URL): string {
  return u.port || (u.protocol === 'https:' ? '443' : '80');
}

/** Same server: scheme, port and host (any loopback spelling counts as one host). */
export function sameServer(a: string, b: string): boolean {
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return false;
  if (x.protocol !== y.protocol || port(x) !== port(y)) return false;
  const hx = x.hostname.toLowerCase();
  const hy = y.hostname.toLowerCase();
  return hx === hy || (isThisMachine(hx) && isThisMachine(hy));
}

/** True when `url` is served by the engine at `target` (same server, and under the target's base path). */
export function servedBy(url: string, target: string): boolean {
  if (!sameServer(url, target)) return false;
  const base = parse(target)!.pathname.replace(/\/+$/, '');
  const path = parse(url)!.pathname;
  return base === '' || path === base || path.startsWith(`${base}/`);
}

/**
 * The URL the agent should use instead: the proxy's origin, and the path the agent used with the target's base
 * path taken off (the proxy adds it back when forwarding). A trailing slash is kept as the agent wrote it.
 */
export function throughProxy(url: string, target: string, proxy: string): string {
  const u = parse(url)!;
  const p = parse(proxy);
  if (!p) throw new Error(`invalid proxy URL '${proxy}'`);
  const base = parse(target)!.pathname.replace(/\/+$/, '');
  const rest = base && u.pathname.startsWith(base) ? u.pathname.slice(base.length) : u.pathname;
  const proxyBase = p.pathname.replace(/\/+$/, '');
  let path = `${proxyBase}${rest}`;
  // `new URL('http://h:1')` has pathname '/': keep the agent's "no path" spelling.
  if (path === '/' && !/^[a-z]+:\/\/[^/]+\//i.test(url.trim())) path = '';
  return `${p.protocol}//${p.host}${path}${u.search}`;
}

/** Validates a URL given on the command line or in a setting; throws a one-line message. */
export function checkHttpUrl(name: string, url: string): string {
  if (!parse(url)) throw new Error(`${name} must be an http(s) URL, got '${url}'`);
  return url.trim().replace(/\/+$/, '');
}
