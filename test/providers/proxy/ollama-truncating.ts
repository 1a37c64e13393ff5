// An Ollama-shaped engine that truncates silently, as Ollama does: a prompt longer than the window is cut to
// it and answered with HTTP 200, the final line counting only the kept tokens. Its "tokenizer" is a fixed
// 3.6 characters per token of prompt text (so a learned ratio has a known truth to converge to). The window
// is `options.num_ctx` on /api/* when sent, else the loaded model's `context_length` (its /v1 ignores num_ctx).
// /api/ps and /api/version answer from the recorded Ollama responses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENGINE_FIXTURES } from '../../support/data';
import { sleep, startEngine, type Engine } from './engine';

export const CHARS_PER_TOKEN = 3.6;
const fx = (name: string) => JSON.parse(readFileSync(join(ENGINE_FIXTURES, 'ollama', name), 'utf8')) as Record<string, unknown>;

interface Msg {
  role?: string;
  content?: string;
}

export function tokensOf(body: { messages?: Msg[]; prompt?: string; system?: string }): number {
  let chars = (body.prompt?.length ?? 0) + (body.system?.length ?? 0);
  for (const m of body.messages ?? []) chars += (m.content?.length ?? 0) + (m.role?.length ?? 0);
  return Math.round(chars / CHARS_PER_TOKEN);
}

export interface TruncatingEngine extends Engine {
  /** Generation requests that reached the engine. */
  generations(): number;
  /** Set the loaded model's window (as after a reload). */
  setWindow(n: number): void;
}


export async function startTruncatingOllama(opts: { window: number; replyDelayMs?: number; model?: string; loaded?: boolean }): Promise<TruncatingEngine> {
  let window = opts.window;
  // Like Ollama, a generation request loads the model: /api/ps lists it from then on.
  let loaded = opts.loaded ?? true;
  const model = opts.model ?? 'gemma4';
  const ps = fx('api_ps.json') as { models: Record<string, unknown>[] };
  const final = fx('api_chat_final.json');
  let gens = 0;
  const engine = await startEngine(async (req, res, raw) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/api/ps') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ models: loaded ? [{ ...ps.models[0], name: model, model, context_length: window }] : [] }));
      return;
    }
    if (req.method === 'GET' && path === '/api/version') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ version: '0.12.6' }));
      return;
    }
    if (req.method === 'POST' && (path === '/api/chat' || path === '/api/generate' || path === '/v1/chat/completions')) {
      gens++;
      loaded = true;
      const body = JSON.parse(raw.toString('utf8')) as { messages?: Msg[]; prompt?: string; options?: { num_ctx?: number } };
      const ctx = path.startsWith('/api/') ? (body.options?.num_ctx ?? window) : window;
      const kept = Math.min(tokensOf(body), ctx);
      if (path === '/v1/chat/completions') {
        res.writeHead(200, { 'content-type': 'application/json' });
        await sleep(opts.replyDelayMs ?? 0);
        res.end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', model, system_fingerprint: 'fp_ollama', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: kept, completion_tokens: 2, total_tokens: kept + 2 } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`${JSON.stringify({ model, created_at: final.created_at, message: { role: 'assistant', content: 'ok' }, done: false })}\n`);
      await sleep(opts.replyDelayMs ?? 0);
      res.end(`${JSON.stringify({ ...final, model, prompt_eval_count: kept })}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('404 page not found');
  });
  return Object.assign(engine, { generations: () => gens, setWindow: (n: number) => void (window = n) });
}
