// "Front door": the engine moves to another port and the metering proxy takes its usual one, so every client
// that talks to the engine's usual address is metered with no config change. Pure plan + a check with an
// injected prober (the extension passes a real HTTP GET with a timeout).

export interface FrontDoorPlan {
  /** The engine's usual address, where the proxy will listen, e.g. http://127.0.0.1:11434. */
  usual: string;
  /** Where the engine moves to, e.g. http://127.0.0.1:11435. */
  moved: string;
  /** What to set and how to restart, per platform, in plain lines. */
  steps: string[];
  /** The one value to copy (e.g. `OLLAMA_HOST=127.0.0.1:11435`). */
  copy: string;
}

function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname === 'localhost' ? '127.0.0.1' : u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
}

/** The move for an engine on `usual`: the next port up unless it is taken by `avoid` (e.g. the proxy's own). */
export function frontDoorPlan(engine: 'ollama' | 'llama.cpp' | string, usual: string, platform: NodeJS.Platform, avoid: readonly number[] = []): FrontDoorPlan {
  const { host, port } = hostPort(usual);
  let next = port + 1;
  while (avoid.includes(next)) next++;
  const moved = `http://${host}:${next}`;
  if (engine === 'ollama') {
    const copy = `OLLAMA_HOST=${host}:${next}`;
    const restart =
      platform === 'darwin'
        ? [`In Terminal: launchctl setenv OLLAMA_HOST ${host}:${next}`, 'Quit Ollama from the menu bar and open it again.']
        : platform === 'win32'
          ? [`In PowerShell: setx OLLAMA_HOST ${host}:${next}`, 'Quit Ollama from the tray and start it again.']
          : [`As a service: sudo systemctl edit ollama.service, add [Service] Environment="${copy}", then sudo systemctl restart ollama`, `By hand: stop it, then ${copy} ollama serve`];
    return { usual, moved, copy, steps: [...restart, `Then Headroom's proxy listens on ${host}:${port} and forwards to ${host}:${next}.`] };
  }
  const copy = `--port ${next}`;
  return { usual, moved, copy, steps: [`Restart ${engine} with ${copy} (it now answers on ${host}:${next}).`, `Then Headroom's proxy listens on ${host}:${port} and forwards to ${host}:${next}.`] };
}

/** Answers a GET: status and body, or undefined when nothing listens / it timed out. */
export type Prober = (url: string) => Promise<{ status: number; body: string } | undefined>;

export type FrontDoorState =
  /** Nothing answers on the moved port; the engine still sits on its usual one. */
  | { state: 'not-moved'; message: string }
  /** Nothing answers anywhere. */
  | { state: 'no-engine'; message: string }
  /** The engine answers on the moved port and the usual one is free or already the proxy: switch the proxy over. */
  | { state: 'ready'; message: string }
  /** The proxy on the usual port relays the engine on the moved one. */
  | { state: 'working'; message: string };

const PROBE_PATH: Record<string, string> = { ollama: '/api/version' };

/**
 * Where things stand. `proxyOnUsual`: Headroom's proxy is listening on the usual port right now. Working means:
 * the usual address answers with exactly what the moved engine answers (the proxy relays it byte for byte).
 */
export async function checkFrontDoor(plan: FrontDoorPlan, engine: string, probe: Prober, proxyOnUsual: boolean): Promise<FrontDoorState> {
  const path = PROBE_PATH[engine] ?? '/v1/models';
  const [moved, usual] = await Promise.all([probe(plan.moved + path), probe(plan.usual + path)]);
  const movedOk = moved !== undefined && moved.status < 500;
  if (!movedOk) {
    if (usual && !proxyOnUsual) return { state: 'not-moved', message: `The engine still answers on ${plan.usual} and nothing on ${plan.moved}: set ${plan.copy} and restart it.` };
    return { state: 'no-engine', message: `Nothing answers on ${plan.moved}${proxyOnUsual ? '' : ` or ${plan.usual}`}: is the engine running?` };
  }
  if (proxyOnUsual && usual && usual.status === moved.status && usual.body === moved.body) {
    return { state: 'working', message: `It worked: every client of ${plan.usual} now goes through Headroom's proxy to the engine on ${plan.moved}.` };
  }
  if (usual && !proxyOnUsual) return { state: 'not-moved', message: `The engine answers on ${plan.moved}, but something else still holds ${plan.usual}: stop it (an old engine process?) so the proxy can listen there.` };
  return { state: 'ready', message: `The engine answers on ${plan.moved} and ${plan.usual} is free.` };
}
